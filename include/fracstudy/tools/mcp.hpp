#pragma once
/// The Model Context Protocol server: JSON-RPC 2.0 over stdio, one message per line.
#include <cstddef>
#include <iosfwd>

#include "fracstudy/tools/tools.hpp"

namespace fracstudy::tools {

/// The protocol versions this server speaks, newest first. Only the one whose rules it
/// follows: 2025-03-26 required JSON-RPC batches, which it does not take, and 2024-11-05 and
/// 2025-03-26 have no `resource_link` content, which get_study_results returns. A client that
/// asks for another version is offered this one (MCP's negotiation) and decides.
inline constexpr const char* kMcpProtocolVersions[] = {"2025-06-18"};

/// The largest message read: one MCP line, or the arguments of `fracstudy tool`. The
/// tools' arguments are a few hundred bytes; a client that sends megabytes is broken or
/// hostile, and is answered without holding its message in memory.
inline constexpr std::size_t kMaxMessageBytes = std::size_t{1} << 20;

/// How the MCP server behaves, as the operator chose.
struct McpOptions {
  /// At the end of the session (stdin closed), cancel the studies it started; by default
  /// they run on, and a later session (or `fracstudy status`) sees them end.
  bool cancel_on_exit = false;
  std::size_t max_calls_in_flight = 16;  ///< tools/call requests running at once
};

/// Serves `initialize`, `ping`, `tools/list` and `tools/call` until `in` ends; requests
/// other than ping before `initialize` are refused. Each tools/call runs on a thread of its
/// own, so ping and other calls are answered while one waits; `notifications/cancelled`
/// stops a call (it is then not answered), and a call with `_meta.progressToken` gets
/// `notifications/progress`. Only protocol goes to `out`; diagnostics go to `log`. A line
/// longer than kMaxMessageBytes is skipped and answered with an invalid-request error.
/// Returns 0 once every call has ended.
int serve_mcp(ToolServer& server, std::istream& in, std::ostream& out, std::ostream& log,
              const McpOptions& options = {});

}  // namespace fracstudy::tools
