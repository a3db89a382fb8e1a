#pragma once
/// The AI tools: JSON-schema definitions and the server that carries out calls, shared by
/// `fracstudy tool` and the MCP server.
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fracstudy/tools/launcher.hpp"
#include "fracstudy/tools/queue.hpp"
#include "fracstudy/tools/workspace.hpp"

namespace fracstudy::tools {

/// Limits the operator sets and a caller cannot exceed.
struct ToolLimits {
  std::int64_t max_tasks_per_study = 10000;  ///< parameter points x repetitions
  std::int64_t max_particles = 100000;       ///< n_particles of any one task
  int max_running_studies = 4;               ///< studies running (or starting) at once
  /// Studies waiting for a slot when max_running_studies run (0: a start over the cap is
  /// refused). With the slurm launcher, Slurm's queue holds them: this many may be pending.
  int max_queued_studies = 20;
  int max_high_per_client = 1;    ///< high-priority studies of one client, waiting or running
  int max_calls_per_minute = 60;  ///< tool calls over the last 60 s, per client
  /// Budgets of single tools, per client (the product brief's rate_limit='10/m' for the
  /// simulation task).
  std::vector<CallBudget> tool_budgets = {{"run_simulation", 10, 60}};
  /// run_simulation's caps: it runs while the caller waits, beside the studies.
  std::int64_t max_simulation_particles = 20000;
  int max_simulations_at_once = 4;  ///< run_simulation calls running at once, per workspace
  double simulation_time_limit_s = 60;
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
  /// Whether the workspace is made when it is not there (false: `dispatch-queue`, which
  /// only looks at a workspace that exists).
  bool create_workspace = true;
  LauncherOptions launcher;
  ToolLimits limits;
  /// The command that draws figures (python and fracstudy-plot); empty: no figures.
  std::vector<std::string> plot_command;
  /// The command that starts waiting studies when a local run ends (`fracstudy
  /// dispatch-queue` with these options); empty: only later calls and servers start them.
  std::vector<std::string> dispatch_command;
  /// Slurm: the sbatch arguments of each priority (default --nice 0, 100, 1000).
  std::map<Priority, std::vector<std::string>> priority_sbatch_args;
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

  /// The studies this server started or queued (for --on-exit cancel).
  std::vector<std::string> started_studies() const;
  /// Cancels a study if what this server submitted still waits or runs (not a later
  /// retry of it by another client); true when a cancel was made.
  bool cancel_if_own(const std::string& id) const;
  /// Asks a study's run to stop (the durable cancel), or takes a waiting study out of the
  /// queue; false when it neither runs nor waits.
  bool request_cancel(const std::string& id) const;

  /// Whether a run of the study is going (its launch, or its rank 0).
  bool study_is_active(const std::string& id) const { return is_active(id); }

  /// Starts waiting studies while fewer than max_running_studies run, highest priority
  /// first, then oldest; each exactly once, whichever process of the workspace calls it.
  /// Returns how many started. Cheap when nothing waits.
  int dispatch_queue();

 private:
  ToolResult run_parametric_study(const nlohmann::json& arguments, const CallContext& context);
  ToolResult check_study_status(const nlohmann::json& arguments, const CallContext& context);
  ToolResult wait_for_study(const nlohmann::json& arguments, const CallContext& context);
  ToolResult retry_failed_simulations(const nlohmann::json& arguments, const CallContext& context);
  ToolResult list_studies(const nlohmann::json& arguments, const CallContext& context);
  ToolResult get_study_results(const nlohmann::json& arguments, const CallContext& context);
  ToolResult cancel_study(const nlohmann::json& arguments, const CallContext& context);
  ToolResult run_simulation(const nlohmann::json& arguments, const CallContext& context);

  /// The status JSON of one study, from its files and its launch.
  nlohmann::json status_of(const std::string& id) const;
  /// The same, with the queue as already read.
  nlohmann::json status_of(const std::string& id, const std::vector<QueuedStudy>& waiting) const;
  /// The status of the study's runs (without its place in the queue; `queued`: it has one,
  /// so it is waiting, not being created).
  nlohmann::json run_status_of(const std::string& id, bool queued) const;
  /// Whether a run of the study is going: its launch (mpirun, or the batch job) or its
  /// rank 0 (the result file's lock), which outlives a killed mpirun for a while.
  bool is_active(const std::string& id) const;
  /// The study's id for a call without a name, created (its folder made) under the
  /// admission lock: two calls at the same moment get different ids.
  std::optional<std::string> create_generated_study(const nlohmann::json& arguments) const;
  int active_studies() const;
  /// Whether the queue is full.
  std::optional<ToolResult> refuse_when_full(std::size_t waiting) const;
  /// Puts a study in the queue (or, with the slurm launcher, submits it at once) and
  /// starts what fits; under the admission lock. Returns its place in the queue, nullopt
  /// when it started.
  /// `new_study`: the study's folder was made by this call, and goes when queueing fails.
  std::optional<std::size_t> submit(const std::string& id, Priority priority,
                                    const std::string& client, bool retry, bool new_study);
  /// Records a study as this server's (for --on-exit cancel).
  void own(const std::string& id, const std::string& token);
  /// Starts waiting studies while slots are free; under the admission lock. A failure to
  /// start `rethrow_for` is thrown (others are written to their logs).
  int start_waiting(const std::string& rethrow_for = "");
  /// The waiting studies in start order, without entries of studies gone or started;
  /// with `prune` (only under the admission lock) those entries are taken out.
  std::vector<QueuedStudy> waiting_studies(bool prune) const;
  /// Takes a waiting study out of the queue for good (CANCELLED, never started); false when
  /// it did not wait.
  bool take_out_of_queue(const std::string& id) const;
  bool take_out_of_queue_locked(const std::string& id) const;
  /// A study's place in the queue (1 = next), nullopt when it does not wait.
  std::optional<std::size_t> queue_position(const std::string& id) const;
  /// A study's place (1 = next) in a queue as read; nullopt when it is not there.
  static std::optional<std::size_t> position_in(const std::vector<QueuedStudy>& waiting,
                                                const std::string& id);
  /// The refusal of a high-priority study over the caller's cap; nullopt when it fits.
  std::optional<ToolResult> refuse_high(const std::string& client,
                                        const std::vector<QueuedStudy>& waiting) const;
  ToolResult start(const std::string& id, const std::vector<std::string>& fracstudy_args,
                   const std::vector<std::string>& slurm_env, Priority priority,
                   const std::string& queue_token = "");
  /// Whether the study's launch record shows this entry was started already (a process
  /// that started it died before it took the entry out).
  bool was_started(const QueuedStudy& study) const;

  /// fracstudy-plot's figures of a study (the metric against the varied parameter, and a
  /// saved cluster): their paths and PNG bytes; none when they cannot be drawn.
  std::vector<std::pair<std::filesystem::path, std::string>> draw_figures(
      const std::string& id) const;

  ToolServerOptions options_;
  Workspace workspace_;
  Launcher launcher_;
  nlohmann::json definitions_;
  mutable std::mutex started_mutex_;
  std::map<std::string, std::string> started_;  ///< id -> the token of its submission
};

}  // namespace fracstudy::tools
