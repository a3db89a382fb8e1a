#pragma once
/// The AI tools: JSON-schema definitions and the server that carries out calls, shared by
/// `fracstudy tool` and the MCP server.
#include <atomic>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fracstudy/tools/launcher.hpp"
#include "fracstudy/tools/workspace.hpp"

namespace fracstudy::tools {

/// Limits the operator sets and a caller cannot exceed.
struct ToolLimits {
  std::int64_t max_tasks_per_study = 10000;  ///< parameter points x repetitions
  std::int64_t max_particles = 100000;       ///< n_particles of any one task
  int max_running_studies = 4;               ///< studies running (or queued) at once
  int max_calls_per_minute = 60;             ///< tool calls over the last 60 s, per client
  /// Seconds one attempt of one simulation may take before it is stopped (and retried):
  /// a pathological parameter (sticking_probability 1e-9) cannot hold a slot forever.
  double task_time_limit_s = 600;
  /// Seconds one run of a study (a start or a retry) may take; then it stops cleanly,
  /// INTERRUPTED, and retry_failed_simulations continues it with a fresh budget.
  double study_time_limit_s = 4 * 3600;
  double max_wait_s = 300;       ///< the longest wait_for_study call
  int max_rows_per_page = 1000;  ///< per-simulation rows in one get_study_results call
};

/// What one call may use besides its arguments: who calls (the rate limit is counted per
/// client), a channel for progress, and whether the caller gave up on it.
struct CallContext {
  std::string client = "cli";  ///< e.g. "mcp:<name>:<pid>"; "cli" for `fracstudy tool`
  /// Reports progress (completed, total, a message) while a long call runs; may be empty.
  std::function<void(double, double, const std::string&)> progress;
  /// Set when the caller cancelled the request (MCP notifications/cancelled).
  const std::atomic<bool>* cancelled = nullptr;

  bool is_cancelled() const { return cancelled && cancelled->load(); }
};

/// Everything the operator decides: where, how, how much.
struct ToolServerOptions {
  std::string workspace;
  LauncherOptions launcher;
  ToolLimits limits;
  /// The command that draws figures (python and fracstudy-plot); empty: no figures.
  std::vector<std::string> plot_command;
};

/// The outcome of one tool call: a JSON value, or an error
/// `{"error": {"field": ..., "message": ...}}`.
struct ToolResult {
  nlohmann::json value;
  bool is_error = false;
  bool bad_arguments = false;  ///< the caller's fault (exit 2): schema, limits, unknown ids
  /// MCP content besides the JSON text: resource links to the study's files, a figure.
  nlohmann::json extra_content = nlohmann::json::array();

  static ToolResult ok(nlohmann::json value) {
    return {std::move(value), false, false, nlohmann::json::array()};
  }
  static ToolResult invalid(const std::string& field, const std::string& message);
  static ToolResult failure(const std::string& message);
};

class ToolServer;

/// One tool: its name, its definition (description, inputSchema, outputSchema) and the
/// ToolServer member that carries it out. ToolServer::tools() lists every tool; nothing
/// else names them.
struct ToolEntry {
  std::string_view name;
  nlohmann::json (*definition)(const ToolLimits& limits);
  ToolResult (ToolServer::*handler)(const nlohmann::json& arguments, const CallContext& context);
};

/// The definitions of every tool under these limits: name, title, description,
/// inputSchema, outputSchema and annotations. The operator's limits are in the schemas
/// (maximum n_particles) and the descriptions, so a model knows them before a refusal.
nlohmann::json tool_definitions(const ToolLimits& limits);

/// Carries out tool calls within one workspace.
class ToolServer {
 public:
  explicit ToolServer(ToolServerOptions options);

  /// Every tool, in the order `tools` and `tools/list` show them.
  static std::span<const ToolEntry> tools();
  /// The tool of this name; nullptr when there is none.
  static const ToolEntry* find_tool(std::string_view name);

  /// Validates the arguments against the tool's schema and the limits, then runs it.
  /// Never throws for anything a caller sends. Safe to call from several threads.
  ToolResult call(const std::string& name, const nlohmann::json& arguments,
                  const CallContext& context = {});

  /// This server's tool definitions (tool_definitions of its limits).
  const nlohmann::json& definitions() const { return definitions_; }

  /// The studies this server started (for --on-exit cancel).
  std::vector<std::string> started_studies() const;
  /// Asks a study's run to stop (the durable cancel); false when it is not running.
  bool request_cancel(const std::string& id) const;

 private:
  ToolResult run_parametric_study(const nlohmann::json& arguments, const CallContext& context);
  ToolResult check_study_status(const nlohmann::json& arguments, const CallContext& context);
  ToolResult wait_for_study(const nlohmann::json& arguments, const CallContext& context);
  ToolResult retry_failed_simulations(const nlohmann::json& arguments, const CallContext& context);
  ToolResult list_studies(const nlohmann::json& arguments, const CallContext& context);
  ToolResult get_study_results(const nlohmann::json& arguments, const CallContext& context);
  ToolResult cancel_study(const nlohmann::json& arguments, const CallContext& context);

  /// The status JSON of one study, from its files and its launch.
  nlohmann::json status_of(const std::string& id) const;
  /// Whether a run of the study is going: its launch (mpirun, or the batch job) or its
  /// rank 0 (the result file's lock), which outlives a killed mpirun for a while.
  bool is_active(const std::string& id) const;
  /// The study's id for a call without a name, created (its folder made) under the
  /// admission lock: two calls at the same moment get different ids.
  std::optional<std::string> create_generated_study(const nlohmann::json& arguments) const;
  int active_studies() const;
  /// The refusal of a start when max_running_studies run already; nullopt when one fits.
  std::optional<ToolResult> refuse_when_full() const;
  ToolResult start(const std::string& id, const std::vector<std::string>& fracstudy_args,
                   const std::vector<std::string>& slurm_env);

  /// fracstudy-plot's figures of a study (the metric against the varied parameter, and a
  /// saved cluster): their paths and PNG bytes; none when they cannot be drawn.
  std::vector<std::pair<std::filesystem::path, std::string>> draw_figures(
      const std::string& id) const;

  ToolServerOptions options_;
  Workspace workspace_;
  Launcher launcher_;
  nlohmann::json definitions_;
  mutable std::mutex started_mutex_;
  std::vector<std::string> started_;
};

}  // namespace fracstudy::tools
