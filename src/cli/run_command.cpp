// `fracstudy run` and `fracstudy retry`: rank 0 validates and coordinates, ranks 1..N-1
// compute.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "commands.hpp"
#include "fracstudy/cli/cli.hpp"
#include "fracstudy/exec/coordinator.hpp"
#include "fracstudy/exec/drain.hpp"
#include "fracstudy/exec/task_runner.hpp"
#include "fracstudy/io/journal.hpp"
#include "fracstudy/io/result_file.hpp"
#include "fracstudy/kernels/models.hpp"
#include "fracstudy/study/errors.hpp"
#include "fracstudy/study/parser.hpp"
#include "fracstudy/tools/status.hpp"
#include "fracstudy/transport/mpi_transport.hpp"
#include "options.hpp"
#include "progress.hpp"
#include "report.hpp"

namespace fracstudy::cli {
namespace {

namespace fs = std::filesystem;
using study::InputError;

/// What rank 0 decided before anything starts.
struct RunPlan {
  study::StudyFile file;
  std::string output;
  std::vector<study::TaskRecord> records;  ///< earlier results; empty for a fresh run
  std::vector<io::StudyRun> earlier_runs;  ///< per study, from the file being continued
  double drain_grace_s = 30;
  sched::RelayPolicy relays;             ///< how ranks are grouped under sub-coordinators
  double progress_interval_s = 30;       ///< between plain progress lines (not a terminal)
  bool quiet = false;                    ///< no progress and no summary: errors only
  bool continues_file = false;           ///< --resume or retry: the file's clusters stay
  std::string resume_hint;               ///< the command that continues an interrupted run
  std::shared_ptr<void> lock;            ///< the output lock, held by rank 0 until the run ends
  bool fresh_retry_budget = false;       ///< `retry`: earlier attempts do not use up retries
  std::uint64_t earlier_generation = 0;  ///< of the file being continued (journal.hpp)
};

/// CPU time this process used so far: the coordinator's overhead.
double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec);
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

/// An exclusive lock on OUT.h5.lock for the whole run, so two runs never write the same
/// result file (the kernel releases it when the process ends, however it ends).
class OutputLock {
 public:
  explicit OutputLock(const std::string& output) {
    // Hidden, beside the result file; left in place (only the lock on it matters).
    const fs::path target(output);
    const std::string path =
        (target.parent_path() / ("." + target.filename().string() + ".lock")).string();
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);
    if (fd_ < 0) {
      throw InputError(path + ": cannot create the lock file (" + std::strerror(errno) + ")");
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      fd_ = -1;
      throw InputError(output + ": another run is writing this file now (or its ranks are still " +
                       "running after their mpirun was killed); wait for it or stop it first");
    }
  }
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;
  ~OutputLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  int fd_ = -1;
};

/// Fails unless `path` can be created (checked before any work starts).
void check_writable(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  std::error_code ignored;
  if (!parent.empty()) fs::create_directories(parent, ignored);
  const std::string probe = path + ".tmp";
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0 && errno != EEXIST) {
    throw InputError(path + ": cannot write the result file here (" + std::strerror(errno) + ")");
  }
  if (fd >= 0) {
    ::close(fd);
    ::unlink(probe.c_str());
  }
}

std::string default_output(const std::string& study_path) {
  return fs::path(study_path).stem().string() + ".h5";
}

/// The first line where two texts differ, for a message that says what changed.
std::string first_difference(const std::string& before, const std::string& after) {
  std::istringstream a(before), b(after);
  std::string line_a, line_b;
  for (int line = 1;; ++line) {
    const bool more_a = static_cast<bool>(std::getline(a, line_a));
    const bool more_b = static_cast<bool>(std::getline(b, line_b));
    if (!more_a && !more_b) return "they differ in whitespace";
    if (!more_a || !more_b || line_a != line_b) {
      return "line " + std::to_string(line) + " was '" + (more_a ? line_a : "") + "', now '" +
             (more_b ? line_b : "") + "'";
    }
  }
}

/// Takes the records and timestamps of the studies in a result file of the same study file.
void load_earlier_results(RunPlan& plan, const io::ResultData& data) {
  for (std::size_t s = 0; s < plan.file.studies.size(); ++s) {
    const auto& spec = plan.file.studies[s];
    if (s >= data.studies.size() || data.studies[s].name != spec.name ||
        data.studies[s].total != spec.task_count()) {
      throw InputError(plan.output + ": its studies do not match " + plan.file.path);
    }
    plan.earlier_generation = data.generation;
    auto records = io::records_of(data.studies[s]);
    plan.records.insert(plan.records.end(), records.begin(), records.end());
    const auto& earlier = data.studies[s];
    plan.earlier_runs.push_back(io::StudyRun{study::StudyStatus::Queued, earlier.created_at,
                                             earlier.started_at, earlier.completed_at});
  }
  plan.continues_file = true;
}

/// Loads what an earlier run of the same study file saved, for --resume.
void load_resume_state(RunPlan& plan) {
  const auto data = io::read_result_file(plan.output);
  if (data.study_yaml != plan.file.text) {
    throw InputError(plan.output + ": was written from a different study file than " +
                     plan.file.path + " (" + first_difference(data.study_yaml, plan.file.text) +
                     "); --resume needs the same file, or use --force to start over");
  }
  load_earlier_results(plan, data);
}

void add_run_options(CommandSpec& spec) {
  spec.options.add_options()("drain-grace", po::value<double>()->default_value(30),
                             "after SIGUSR1/SIGTERM, seconds running tasks may take to finish "
                             "before they are stopped and the run exits with code 3")(
      "progress-interval", po::value<double>()->default_value(30),
      "seconds between progress lines on stderr when it is not a terminal (a terminal "
      "gets a live line per study)")("quiet,q", "print nothing but errors")(
      "relays", po::value<std::string>()->default_value("auto"),
      "sub-coordinators that take work from rank 0 for a group of ranks: `node` (one per "
      "node), N (one per N ranks), `none`, or `auto` (per node from 512 workers on "
      "several nodes)");
}

/// Reads what add_run_options declared into the plan, checking each value.
void read_run_options(const po::variables_map& values, RunPlan& plan) {
  plan.drain_grace_s = values["drain-grace"].as<double>();
  if (!(plan.drain_grace_s >= 0)) {
    throw InputError("--drain-grace: must be a number of seconds >= 0");
  }
  plan.quiet = values.count("quiet") > 0;
  plan.progress_interval_s = values["progress-interval"].as<double>();
  if (!(plan.progress_interval_s > 0)) {
    throw InputError("--progress-interval: must be a number of seconds > 0");
  }
  const auto relays = values["relays"].as<std::string>();
  const auto policy = sched::RelayPolicy::parse(relays);
  if (!policy) {
    throw InputError("--relays: '" + relays + "' is not none, node, auto or a group size >= 2");
  }
  plan.relays = *policy;
}

/// Parses `run`'s command line and checks everything on rank 0; nullopt after --help.
std::optional<RunPlan> prepare_run(const std::vector<std::string>& args) {
  CommandSpec spec{
      "fracstudy run STUDY.yaml [-o OUT.h5] [--resume] [--force]",
      "Runs every study in the file. Under `mpirun -n N`, rank 0 hands out chunks\n"
      "of tasks to ranks 1..N-1 and saves results to OUT.h5 at every checkpoint;\n"
      "alone, it runs the tasks itself. An existing OUT.h5 is never overwritten\n"
      "unless --force is given; --resume finishes its unfinished tasks. SIGUSR1 or\n"
      "SIGTERM drain the run: exit code 3 after a clean checkpoint.",
      "  mpirun -n 4 fracstudy run configs/examples/dla_sweep.yaml -o dla.h5\n"
      "  mpirun -n 4 fracstudy run configs/examples/dla_sweep.yaml -o dla.h5 --resume\n"
      "  mpirun -n 4 fracstudy run study.yaml -o out.h5 --progress-interval 60 2> run.log\n"
      "  mpirun -n 4096 fracstudy run study.yaml -o out.h5 --relays node --quiet"};
  spec.options.add_options()("study", po::value<std::string>()->required(), "the study file")(
      "output,o", po::value<std::string>(),
      "result file (default: the file's `output:`, else STUDY.h5 in the current directory)")(
      "resume", "finish the unfinished tasks of an existing OUT.h5")(
      "force", "replace an existing OUT.h5 and start over");
  add_run_options(spec);
  spec.positional.add("study", 1);
  const auto values = parse_command(args, spec);
  if (!values) return std::nullopt;
  RunPlan plan;
  read_run_options(*values, plan);
  plan.file = study::load_study_file((*values)["study"].as<std::string>());
  const bool resume = values->count("resume") > 0, force = values->count("force") > 0;
  if (resume && force) throw InputError("use either --resume or --force, not both");
  plan.output = values->count("output") ? (*values)["output"].as<std::string>()
                                        : plan.file.output.value_or(default_output(plan.file.path));
  if (fs::exists(plan.output)) {
    if (!resume && !force) {
      throw InputError(plan.output + ": already exists; use --resume to finish its unfinished " +
                       "tasks or --force to start over");
    }
    if (resume) load_resume_state(plan);
  }
  check_writable(plan.output);
  plan.lock = std::make_shared<OutputLock>(plan.output);
  plan.resume_hint = "fracstudy run " + plan.file.path + " -o " + plan.output + " --resume";
  return plan;
}

/// Parses `retry`'s command line: the study comes from the result file itself.
std::optional<RunPlan> prepare_retry(const std::vector<std::string>& args) {
  CommandSpec spec{"fracstudy retry OUT.h5",
                   "Runs the failed (and never finished) tasks of a result file again, with a\n"
                   "fresh retry budget, and updates their rows, the summaries and the study\n"
                   "status in place. The study is the one stored in the file.",
                   "  mpirun -n 4 fracstudy retry results/dla_sweep.h5"};
  spec.options.add_options()("file", po::value<std::string>()->required(), "the result file");
  add_run_options(spec);
  spec.positional.add("file", 1);
  const auto values = parse_command(args, spec);
  if (!values) return std::nullopt;
  RunPlan plan;
  read_run_options(*values, plan);
  plan.output = (*values)["file"].as<std::string>();
  const auto data = io::read_result_file(plan.output);
  plan.file = study::parse_study_text(data.study_yaml, data.study_path);
  load_earlier_results(plan, data);
  for (auto& record : plan.records) {
    if (record.status != study::TaskStatus::Failed) continue;
    record.status = study::TaskStatus::Pending;
    record.interruptions = 0;
  }
  plan.fresh_retry_budget = true;  // attempts keep counting; earlier ones cost nothing
  check_writable(plan.output);
  plan.lock = std::make_shared<OutputLock>(plan.output);
  plan.resume_hint = "fracstudy retry " + plan.output;
  return plan;
}

/// Saves the result file at each checkpoint and knows each study's status and times.
class ResultWriter final : public exec::ProgressObserver {
 public:
  ResultWriter(const RunPlan& plan, const std::vector<study::Task>& tasks, int ranks)
      : plan_(plan),
        tasks_(tasks),
        ranks_(ranks),
        runs_(plan.earlier_runs),
        generation_(plan.earlier_generation) {
    runs_.resize(plan.file.studies.size());
    if (!plan.quiet) {
      std::vector<std::string> names;
      for (const auto& study : plan.file.studies)
        names.push_back(study.name);
      progress_.emplace(std::cerr, stderr_reaches_a_terminal(), plan.progress_interval_s,
                        std::move(names));
    }
    const std::string now = io::utc_now_iso8601();
    for (auto& run : runs_) {
      if (run.created_at.empty()) run.created_at = now;
    }
  }

  /// Marks the moment the scheduler's clock starts.
  void start_clock() { clock_start_ = std::chrono::system_clock::now(); }

  /// A full rewrite when it is cheap next to the time since the last one (small files:
  /// always), else only the changed records appended to the journal (large files): a
  /// checkpoint then costs time in proportion to the new results.
  void keep_cluster(std::size_t task, std::vector<float> positions) override {
    clusters_[task] = std::move(positions);
    unsaved_clusters_ = true;
  }

  void tick(const sched::Scheduler& scheduler) override {
    if (progress_) progress_->update(scheduler);
  }

  void checkpoint(sched::Scheduler& scheduler, bool final) override {
    if (final && progress_) progress_->update(scheduler, true);
    update_runs(scheduler);
    const auto changed = scheduler.take_changed_tasks();
    try {
      if (final || full_write_due()) {
        write(scheduler.records(), final);
      } else {
        journaled_rows_ += io::append_to_journal(plan_.output, changed, scheduler.records());
      }
    } catch (const std::exception& error) {
      // The previous checkpoint stays valid (files are replaced atomically, journal
      // records carry checksums); the next checkpoint writes everything again.
      force_full_write_ = true;
      if (final) final_error_ = error.what();
      std::cerr << "fracstudy: warning: checkpoint failed: " << error.what() << "\n";
    }
  }

  /// Messages rank 0 received so far (counted by the coordinator loop).
  std::uint64_t coordinator_messages = 0;
  /// Ranks that relay work rather than compute.
  int relay_ranks = 0;

  /// Rows appended to the journal so far (the incremental checkpoints' whole cost).
  std::size_t journaled_rows() const { return journaled_rows_; }

  /// Why the final checkpoint could not be written ("" when it was).
  const std::string& final_error() const { return final_error_; }

  /// Rewrites the whole file (a new generation) and starts its journal afresh; the final
  /// write leaves no journal.
  void write(const std::vector<study::TaskRecord>& records, bool final) {
    const auto start = std::chrono::steady_clock::now();
    io::ResultSnapshot snapshot{&plan_.file, &tasks_, &records, runs_, ranks_};
    snapshot.elapsed_s =
        std::chrono::duration<double>(std::chrono::system_clock::now() - clock_start_).count();
    snapshot.coordinator_cpu_s = process_cpu_seconds();
    snapshot.coordinator_messages = coordinator_messages;
    snapshot.relay_ranks = relay_ranks;
    snapshot.generation = ++generation_;
    snapshot.clusters = &clusters_;
    io::write_result_file(plan_.output, snapshot);
    unsaved_clusters_ = false;
    if (final) {
      io::remove_journal(plan_.output);
    } else {
      io::start_journal(plan_.output, generation_);
    }
    last_full_write_end_ = std::chrono::steady_clock::now();
    last_full_write_s_ = std::chrono::duration<double>(last_full_write_end_ - start).count();
    force_full_write_ = false;
  }

  void update_runs(const sched::Scheduler& scheduler) {
    for (std::size_t s = 0; s < runs_.size(); ++s) {
      const auto counts = scheduler.counts(s);
      io::StudyRun& run = runs_[s];
      if (run.started_at.empty() && counts.started_s) run.started_at = at(*counts.started_s);
      if (!counts.all_ended()) {
        run.completed_at.clear();  // a retry or resume reopened it
        const bool begun = counts.started_s || counts.completed + counts.failed > 0;
        run.status = begun ? study::StudyStatus::Running : study::StudyStatus::Queued;
        continue;
      }
      run.status = study::final_status(counts.completed, counts.failed);
      if (run.completed_at.empty()) {
        run.completed_at = counts.ended_s ? at(*counts.ended_s) : io::utc_now_iso8601();
      }
      if (run.started_at.empty()) run.started_at = run.completed_at;
    }
  }

 private:
  std::string at(double seconds) const {
    return io::utc_iso8601(clock_start_ +
                           std::chrono::duration_cast<std::chrono::system_clock::duration>(
                               std::chrono::duration<double>(seconds)));
  }

  const RunPlan& plan_;
  const std::vector<study::Task>& tasks_;
  int ranks_;
  std::optional<ProgressReporter> progress_;
  // Clusters not yet in the file. They only go into whole rewrites (the journal holds
  // records), so while any wait, the next checkpoint rewrites the file.
  // Every saved cluster (those of the file being continued too): each whole rewrite
  // writes them all. (Copying them from the old file with H5Ocopy crashed HDF5 1.10 when
  // the disk filled up; `save_clusters: all` therefore costs rank 0 their memory.)
  std::map<std::size_t, std::vector<float>> clusters_ =
      plan_.continues_file ? io::read_clusters(plan_.output, plan_.file)
                           : std::map<std::size_t, std::vector<float>>{};
  bool unsaved_clusters_ = false;
  std::vector<io::StudyRun> runs_;
  std::chrono::system_clock::time_point clock_start_ = std::chrono::system_clock::now();
  std::string final_error_;
  std::uint64_t generation_ = 0;
  std::size_t journaled_rows_ = 0;
  bool force_full_write_ = false;
  double last_full_write_s_ = 0;
  std::chrono::steady_clock::time_point last_full_write_end_ = std::chrono::steady_clock::now();

  /// A full rewrite may take at most this share of the time between two of them.
  static constexpr double kFullWriteShare = 0.05;

  bool full_write_due() const {
    const double since_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - last_full_write_end_)
            .count();
    return force_full_write_ || unsaved_clusters_ ||
           last_full_write_s_ <= kFullWriteShare * since_s;
  }
};

exec::LoopOptions loop_options(const RunPlan& plan) {
  exec::LoopOptions loop;
  loop.checkpoint_interval_s = plan.file.execution.checkpoint_interval_s;
  // A result waits at most this long at its worker, so it reaches the disk within about
  // one checkpoint interval.
  loop.result_flush_s = std::min(1.0, plan.file.execution.checkpoint_interval_s / 4);
  loop.drain_grace_s = plan.drain_grace_s;
  loop.drain_requested = exec::drain_requested;
  return loop;
}

exec::ChunkExecutor make_executor(const exec::TaskRunner& runner, const study::StudyFile& file) {
  return exec::ChunkExecutor(
      [&runner](const auto& a) { return runner.run(a); },
      file.execution.isolate_tasks ? exec::Isolation::Process : exec::Isolation::None,
      file.execution.task_time_limit_s);
}

int report_end(const RunPlan& plan, exec::RunEnd end, int ranks, double elapsed_s) {
  const auto data = io::read_result_summaries(plan.output);
  std::ostringstream discarded;
  std::ostream& out = plan.quiet ? discarded : std::cout;
  print_summaries(out, data);
  std::int64_t completed = 0, failed = 0, total = 0;
  for (const auto& study : data.studies) {
    completed += study.completed;
    failed += study.failed;
    total += study.total;
  }
  out << "\nwrote " << plan.output << ": " << completed << " completed, " << failed << " failed, "
      << ranks << (ranks == 1 ? " rank, " : " ranks, ") << tools::duration_in_words(elapsed_s)
      << "\n";
  if (end == exec::RunEnd::Interrupted) {
    std::cerr << "fracstudy: interrupted by signal " << exec::drain_signal() << " after a clean "
              << "checkpoint: " << total - completed - failed << " of " << total
              << " tasks unfinished; continue with: " << plan.resume_hint << "\n";
    return kInterrupted;
  }
  for (const auto& study : data.studies) {
    if (study.status != study::StudyStatus::Completed) {
      std::cerr << "fracstudy: study " << study.name << " ended " << study::name_of(study.status)
                << " (" << study.failed << " of " << study.total << " tasks failed; see `fracstudy "
                << "status " << plan.output << "`, rerun them with `fracstudy retry " << plan.output
                << "`)\n";
    }
  }
  return completed == 0 && failed > 0 ? kFailure : kSuccess;
}

int coordinate(RunPlan& plan, const std::vector<study::Task>& tasks,
               transport::Transport& transport, const sched::Topology& topology) {
  const auto& execution = plan.file.execution;
  std::vector<std::size_t> study_of_task;
  study_of_task.reserve(tasks.size());
  for (const auto& task : tasks)
    study_of_task.push_back(task.study);
  if (plan.records.empty()) plan.records.resize(tasks.size());
  sched::SchedulerOptions options;
  options.worker_count = topology.compute_ranks();
  for (int rank = 0; rank < topology.ranks(); ++rank)
    options.worker_capacity.push_back(topology.capacity(rank));
  options.chunk_size = execution.chunk_size;
  options.max_retries = execution.max_retries;
  options.fresh_retry_budget = plan.fresh_retry_budget;
  options.task_cost.reserve(tasks.size());
  for (const auto& task : tasks) {
    const auto& spec = plan.file.studies[task.study];
    options.task_cost.push_back(kernels::estimated_cost(spec.algorithm, spec.points[task.point]));
  }
  sched::Scheduler scheduler(std::move(study_of_task), std::move(plan.records),
                             plan.file.studies.size(), options);
  ResultWriter writer(plan, tasks, transport.size());
  writer.relay_ranks = topology.relay_count();
  writer.update_runs(scheduler);
  scheduler.take_changed_tasks();            // the first write holds them all
  writer.write(scheduler.records(), false);  // the file exists, readable, before any task runs
  auto loop = loop_options(plan);
  loop.coordinator_messages = &writer.coordinator_messages;
  const auto start = std::chrono::steady_clock::now();
  writer.start_clock();
  exec::RunEnd end;
  if (transport.size() == 1) {
    const exec::TaskRunner runner(plan.file, tasks);
    end = exec::run_serial(scheduler, make_executor(runner, plan.file), writer, loop);
  } else {
    end = exec::run_coordinator(scheduler, transport, writer, loop, topology);
  }
  const double elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!writer.final_error().empty()) {
    std::cerr << "fracstudy: error: the final results could not be saved (" << writer.final_error()
              << "); " << plan.output << " holds the last good checkpoint; make room and "
              << "continue with: " << plan.resume_hint << "\n";
    return kFailure;
  }
  return report_end(plan, end, transport.size(), elapsed_s);
}

exec::RunEnd work_or_relay(const study::StudyFile& file, transport::Transport& transport,
                           const exec::LoopOptions& loop, const sched::Topology& topology) {
  if (topology.is_relay(transport.rank())) return exec::run_relay(transport, topology, loop);
  const auto tasks = study::expand_tasks(file);
  const exec::TaskRunner runner(file, tasks);
  return exec::run_worker(transport, make_executor(runner, file), loop,
                          topology.parent(transport.rank()));
}

int work(const study::StudyFile& file, transport::Transport& transport,
         const exec::LoopOptions& loop, const sched::Topology& topology) {
  switch (work_or_relay(file, transport, loop, topology)) {
    case exec::RunEnd::Finished:
      return kSuccess;
    case exec::RunEnd::Interrupted:
      return kInterrupted;
    case exec::RunEnd::Failed:
      return kFailure;
  }
  return kFailure;
}

/// Every rank builds the same tree of ranks from rank 0's `--relays` (collective).
sched::Topology agree_on_topology(transport::MpiTransport& transport,
                                  const sched::RelayPolicy* coordinator_policy) {
  const auto text = transport.broadcast(coordinator_policy ? coordinator_policy->to_string() : "");
  const auto policy = sched::RelayPolicy::parse(text).value_or(sched::RelayPolicy{});
  const bool needs_nodes = policy.kind == sched::RelayPolicy::Kind::PerNode ||
                           policy.kind == sched::RelayPolicy::Kind::Automatic;
  const auto nodes = needs_nodes ? transport.node_of_rank()
                                 : std::vector<int>(static_cast<std::size_t>(transport.size()), 0);
  return sched::Topology::from_policy(policy, nodes);
}

/// The part `run` and `retry` share: agree on the plan, then coordinate or compute.
int execute(int argc, char** argv, const std::vector<std::string>& args, const char* name,
            std::optional<RunPlan> (*prepare)(const std::vector<std::string>&)) {
  // Before MPI starts: a drain signal that arrives during start-up must not kill the rank.
  exec::install_drain_signal_handlers();
  transport::MpiEnvironment mpi(argc, argv);
  transport::MpiTransport transport;
  // Past a file-size limit, writes should fail (and be reported), not kill the process.
  std::signal(SIGXFSZ, SIG_IGN);
  // Rank 0 checks everything first; every rank learns the verdict before any work
  // starts, so bad input never leaves ranks waiting for each other.
  std::optional<RunPlan> plan;
  int verdict = kSuccess;
  if (transport.rank() == 0) {
    try {
      plan = prepare(args);
    } catch (const InputError& error) {
      std::cerr << "fracstudy " << name << ": " << error.what() << "\n";
      verdict = kBadInput;
    } catch (const po::error& error) {
      std::cerr << "fracstudy " << name << ": " << error.what() << " (see fracstudy " << name
                << " --help)\n";
      verdict = kBadInput;
    } catch (const std::exception& error) {
      std::cerr << "fracstudy " << name << ": error: " << error.what() << "\n";
      verdict = kFailure;
    }
  }
  const std::string shared_verdict = transport.broadcast(plan ? "go" : std::to_string(verdict));
  if (shared_verdict != "go") return std::stoi(shared_verdict);
  const bool coordinator = transport.rank() == 0;
  const std::string text = transport.broadcast(coordinator ? plan->file.text : "");
  const std::string path = transport.broadcast(coordinator ? plan->file.path : "");
  const auto topology = agree_on_topology(transport, coordinator ? &plan->relays : nullptr);
  try {
    if (coordinator) {
      const auto tasks = study::expand_tasks(plan->file);
      return coordinate(*plan, tasks, transport, topology);
    }
    const auto file = study::parse_study_text(text, path);
    RunPlan worker_plan;
    worker_plan.file = file;
    return work(file, transport, loop_options(worker_plan), topology);
  } catch (const std::exception& error) {
    std::cerr << "fracstudy " << name << ": error: " << error.what() << "\n";
    if (transport.size() == 1) return kFailure;
    // The workers would wait forever for rank 0: tell them to leave. A worker that fails
    // cannot be helped that way (rank 0 waits for its messages): end the job.
    if (coordinator) {
      exec::stop_workers_after_failure(transport);
      return kFailure;
    }
    transport::MpiEnvironment::abort(kFailure);
  }
}

}  // namespace

int run_command(int argc, char** argv, const std::vector<std::string>& args) {
  return execute(argc, argv, args, "run", prepare_run);
}

int retry_command(int argc, char** argv, const std::vector<std::string>& args) {
  return execute(argc, argv, args, "retry", prepare_retry);
}

}  // namespace fracstudy::cli
