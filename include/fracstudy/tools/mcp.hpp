#pragma once
/// The Model Context Protocol server: JSON-RPC 2.0 over stdio, one message per line.
#include <cstddef>
#include <iosfwd>

#include "fracstudy/tools/tools.hpp"

namespace fracstudy::tools {

/// The protocol versions this server speaks, newest first.
inline constexpr const char* kMcpProtocolVersions[] = {"2025-06-18", "2025-03-26", "2024-11-05"};

/// The largest message read: one MCP line, or the arguments of `fracstudy tool`. The
/// tools' arguments are a few hundred bytes; a client that sends megabytes is broken or
/// hostile, and is answered without holding its message in memory.
inline constexpr std::size_t kMaxMessageBytes = std::size_t{1} << 20;

/// Serves `initialize`, `ping`, `tools/list` and `tools/call` until `in` ends. Only
/// protocol goes to `out`; diagnostics go to `log`. A line longer than kMaxMessageBytes is
/// skipped and answered with an invalid-request error. Returns 0.
int serve_mcp(ToolServer& server, std::istream& in, std::ostream& out, std::ostream& log);

}  // namespace fracstudy::tools
