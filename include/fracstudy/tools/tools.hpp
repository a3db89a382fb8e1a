#pragma once
/// The AI tools: JSON-schema definitions and the server that carries out calls, shared by
/// `fracstudy tool` and the MCP server.
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

#include "fracstudy/tools/launcher.hpp"
#include "fracstudy/tools/workspace.hpp"

namespace fracstudy::tools {

/// Limits the operator sets and a caller cannot exceed.
struct ToolLimits {
  std::int64_t max_tasks_per_study = 10000;  ///< parameter points x repetitions
  std::int64_t max_particles = 100000;       ///< n_particles of any one task
  int max_running_studies = 4;               ///< studies running (or queued) at once
  int max_calls_per_minute = 60;             ///< tool calls over the last 60 s, all callers
};

/// Everything the operator decides: where, how, how much.
struct ToolServerOptions {
  std::string workspace;
  LauncherOptions launcher;
  ToolLimits limits;
};

/// The outcome of one tool call: a JSON value, or an error
/// `{"error": {"field": ..., "message": ...}}`.
struct ToolResult {
  nlohmann::json value;
  bool is_error = false;
  bool bad_arguments = false;  ///< the caller's fault (exit 2): schema, limits, unknown ids

  static ToolResult ok(nlohmann::json value) { return {std::move(value), false, false}; }
  static ToolResult invalid(const std::string& field, const std::string& message);
  static ToolResult failure(const std::string& message);
};

class ToolServer;

/// One tool: its name, its definition (description, inputSchema, outputSchema) and the
/// ToolServer member that carries it out. ToolServer::tools() lists every tool; nothing
/// else names them.
struct ToolEntry {
  std::string_view name;
  nlohmann::json (*definition)();
  ToolResult (ToolServer::*handler)(const nlohmann::json& arguments);
};

/// The definitions of every tool: name, description, inputSchema, outputSchema.
const nlohmann::json& tool_definitions();

/// Carries out tool calls within one workspace.
class ToolServer {
 public:
  explicit ToolServer(ToolServerOptions options);

  /// Every tool, in the order `tools` and `tools/list` show them.
  static std::span<const ToolEntry> tools();
  /// The tool of this name; nullptr when there is none.
  static const ToolEntry* find_tool(std::string_view name);

  /// Validates the arguments against the tool's schema and the limits, then runs it.
  /// Never throws for anything a caller sends.
  ToolResult call(const std::string& name, const nlohmann::json& arguments);

 private:
  ToolResult run_parametric_study(const nlohmann::json& arguments);
  ToolResult check_study_status(const nlohmann::json& arguments);
  ToolResult retry_failed_simulations(const nlohmann::json& arguments);
  ToolResult list_studies(const nlohmann::json& arguments);
  ToolResult get_study_results(const nlohmann::json& arguments);
  ToolResult cancel_study(const nlohmann::json& arguments);

  /// The status JSON of one study, from its files and its launch.
  nlohmann::json status_of(const std::string& id) const;
  bool is_active(const std::string& id) const;
  int active_studies() const;
  /// The refusal of a start when max_running_studies run already; nullopt when one fits.
  std::optional<ToolResult> refuse_when_full() const;
  ToolResult start(const std::string& id, const std::vector<std::string>& fracstudy_args,
                   const std::vector<std::string>& slurm_env);

  ToolServerOptions options_;
  Workspace workspace_;
  Launcher launcher_;
};

}  // namespace fracstudy::tools
