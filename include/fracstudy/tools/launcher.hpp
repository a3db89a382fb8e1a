#pragma once
/// Starting study runs for the AI tools: detached `mpirun` on this machine, or `sbatch`.
/// Commands are argument vectors passed to exec: no caller string ever reaches a shell.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace fracstudy::tools {

/// Where studies run.
enum class LauncherKind { Local, Slurm };

/// What was started, as stored in a study's launch.json.
struct LaunchRecord {
  std::string launcher;  ///< "local" or "slurm"
  long pid = 0;          ///< local: the detached process (mpirun or fracstudy)
  /// local: when that process started (clock ticks after boot, /proc/PID/stat): with the
  /// pid, an identity a recycled pid cannot take over; 0 when it was gone at once.
  std::uint64_t start_ticks = 0;
  bool has_start_ticks = true;       ///< false in records written before start_ticks existed
  std::string job_id;                ///< slurm: the job id sbatch printed
  std::vector<std::string> command;  ///< the argument vector that was executed
  std::string started_at;            ///< ISO 8601 UTC
  /// The token of the queue entry this run was started from ("" when none): an entry whose
  /// study shows it was started already is never started again.
  std::string queue_token;

  nlohmann::json to_json() const;
  static LaunchRecord from_json(const nlohmann::json& json);
};

/// How the operator wants runs started.
struct LauncherOptions {
  LauncherKind kind = LauncherKind::Local;
  int ranks = 2;                         ///< MPI ranks per study (local)
  std::vector<std::string> sbatch_args;  ///< extra sbatch arguments (slurm)
  std::string fracstudy_exe;             ///< this program
  std::string sbatch_script;             ///< slurm/fracstudy.sbatch
};

/// What one launch adds to the operator's options.
struct LaunchExtras {
  /// Local: a command run once the run has ended (whatever ended it), detached, its output
  /// appended to the run's log: the tools start the next waiting study with it.
  std::vector<std::string> after_exit;
  /// Slurm: extra sbatch arguments of this launch (its priority's).
  std::vector<std::string> sbatch_args;
};

/// Starts, watches and drains study runs.
class Launcher {
 public:
  explicit Launcher(LauncherOptions options) : options_(std::move(options)) {}

  /// Starts `fracstudy ARGS...` (locally under mpirun, detached, output appended to
  /// `log`; or as a batch job) in `workdir`. Throws std::runtime_error when it cannot.
  /// `slurm_args` are the batch script's own arguments.
  LaunchRecord launch(const std::vector<std::string>& fracstudy_args,
                      const std::vector<std::string>& slurm_args,
                      const std::vector<std::string>& slurm_env, const std::filesystem::path& log,
                      const std::filesystem::path& workdir, const LaunchExtras& extras = {}) const;

  /// Whether the run is still going (or waiting in the batch queue).
  bool is_active(const LaunchRecord& record) const;

  /// Asks the run to drain (SIGUSR1): it checkpoints and exits 3. False if not active.
  bool cancel(const LaunchRecord& record) const;

  const LauncherOptions& options() const { return options_; }

 private:
  LaunchRecord launch_local(const std::vector<std::string>& fracstudy_args,
                            const std::filesystem::path& log, const std::filesystem::path& workdir,
                            const std::vector<std::string>& after_exit) const;
  LaunchRecord launch_slurm(const std::vector<std::string>& slurm_args,
                            const std::vector<std::string>& slurm_env,
                            const std::filesystem::path& log, const std::filesystem::path& workdir,
                            const std::vector<std::string>& priority_args) const;

  LauncherOptions options_;
};

/// Runs a program (argument vector, no shell) and returns its exit code and stdout.
int run_program(const std::vector<std::string>& argv, std::string& output);

}  // namespace fracstudy::tools
