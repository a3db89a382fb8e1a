// `fracstudy run`: rank 0 validates and coordinates, ranks 1..N-1 compute.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "fracstudy/cli/cli.hpp"
#include "fracstudy/exec/coordinator.hpp"
#include "fracstudy/io/result_file.hpp"
#include "fracstudy/study/errors.hpp"
#include "fracstudy/study/parser.hpp"
#include "fracstudy/transport/mpi_transport.hpp"
#include "options.hpp"
#include "report.hpp"

namespace fracstudy::cli {
namespace {

namespace fs = std::filesystem;
using study::InputError;

/// What rank 0 decided before anything starts.
struct RunPlan {
  study::StudyFile file;
  std::string output;
  std::vector<study::TaskRecord> records;  ///< resumed results; empty for a fresh run
  std::vector<std::string> created_at;     ///< per study, kept across resumes
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

/// Loads what an earlier run of the same study file saved.
void load_resume_state(RunPlan& plan) {
  const auto data = io::read_result_file(plan.output);
  if (data.study_yaml != plan.file.text) {
    throw InputError(plan.output + ": was written from a different study file than " +
                     plan.file.path + "; --resume needs the same file (use --force to start over)");
  }
  for (std::size_t s = 0; s < plan.file.studies.size(); ++s) {
    const auto& spec = plan.file.studies[s];
    if (s >= data.studies.size() || data.studies[s].name != spec.name ||
        data.studies[s].total != spec.task_count()) {
      throw InputError(plan.output + ": its studies do not match " + plan.file.path);
    }
    auto records = io::records_of(data.studies[s]);
    plan.records.insert(plan.records.end(), records.begin(), records.end());
    plan.created_at.push_back(data.studies[s].created_at);
  }
}

/// Parses the command line and checks everything on rank 0; nullopt after --help.
std::optional<RunPlan> prepare(const std::vector<std::string>& args) {
  CommandSpec spec{"fracstudy run STUDY.yaml [-o OUT.h5] [--resume] [--force]",
                   "Runs every study in the file. Under `mpirun -n N`, rank 0 hands out chunks\n"
                   "of tasks to ranks 1..N-1 and saves results to OUT.h5 at every checkpoint;\n"
                   "alone, it runs the tasks itself. An existing OUT.h5 is never overwritten\n"
                   "unless --force is given; --resume finishes its unfinished tasks.",
                   "  mpirun -n 4 fracstudy run configs/examples/dla_sweep.yaml -o dla.h5\n"
                   "  fracstudy run configs/examples/dla_sweep.yaml -o dla.h5 --resume"};
  spec.options.add_options()("study", po::value<std::string>()->required(), "the study file")(
      "output,o", po::value<std::string>(),
      "result file (default: the file's `output:`, else "
      "STUDY.h5 in the current directory)")("resume",
                                            "finish the unfinished tasks of an existing OUT.h5")(
      "force", "replace an existing OUT.h5 and start over");
  spec.positional.add("study", 1);
  const auto values = parse_command(args, spec);
  if (!values) return std::nullopt;
  RunPlan plan;
  plan.file = study::load_study_file((*values)["study"].as<std::string>());
  const bool resume = values->count("resume") > 0, force = values->count("force") > 0;
  if (resume && force) throw InputError("use either --resume or --force, not both");
  plan.output = values->count("output") ? (*values)["output"].as<std::string>()
                                        : plan.file.output.value_or(default_output(plan.file.path));
  if (fs::exists(plan.output)) {
    if (!resume && !force) {
      throw InputError(plan.output +
                       ": already exists; use --resume to finish its unfinished "
                       "tasks or --force to start over");
    }
    if (resume) load_resume_state(plan);
  }
  check_writable(plan.output);
  return plan;
}

/// Saves the result file at each checkpoint and knows each study's status and times.
class ResultWriter final : public exec::ProgressObserver {
 public:
  ResultWriter(const RunPlan& plan, const std::vector<study::Task>& tasks, int ranks)
      : plan_(plan), tasks_(tasks), ranks_(ranks) {
    const std::string now = io::utc_now_iso8601();
    runs_.resize(plan.file.studies.size());
    for (std::size_t s = 0; s < runs_.size(); ++s) {
      runs_[s].created_at = s < plan.created_at.size() ? plan.created_at[s] : now;
      runs_[s].status = study::StudyStatus::Queued;
    }
  }

  /// Marks the moment the scheduler's clock starts.
  void start_clock() { clock_start_ = std::chrono::system_clock::now(); }

  void checkpoint(const sched::Scheduler& scheduler, bool final) override {
    update_runs(scheduler);
    try {
      write(scheduler.records());
    } catch (const std::exception& error) {
      if (final) throw;
      // The previous checkpoint stays valid; the next one tries again.
      std::cerr << "fracstudy run: warning: checkpoint failed: " << error.what() << "\n";
    }
  }

  void write(const std::vector<study::TaskRecord>& records) const {
    io::ResultSnapshot snapshot{&plan_.file, &tasks_, &records, runs_, ranks_};
    snapshot.elapsed_s =
        std::chrono::duration<double>(std::chrono::system_clock::now() - clock_start_).count();
    snapshot.coordinator_cpu_s = process_cpu_seconds();
    io::write_result_file(plan_.output, snapshot);
  }

 private:
  std::string at(double seconds) const {
    return io::utc_iso8601(clock_start_ +
                           std::chrono::duration_cast<std::chrono::system_clock::duration>(
                               std::chrono::duration<double>(seconds)));
  }

  void update_runs(const sched::Scheduler& scheduler) {
    for (std::size_t s = 0; s < runs_.size(); ++s) {
      const auto counts = scheduler.counts(s);
      io::StudyRun& run = runs_[s];
      if (run.started_at.empty() && counts.started_s) run.started_at = at(*counts.started_s);
      if (counts.ended()) {
        run.status = study::final_status(counts.completed, counts.failed);
        if (run.completed_at.empty()) {
          run.completed_at = at(counts.ended_s.value_or(0));
          if (run.started_at.empty()) run.started_at = run.completed_at;
        }
      } else if (counts.started_s || counts.completed + counts.failed > 0) {
        run.status = study::StudyStatus::Running;
      }
    }
  }

  const RunPlan& plan_;
  const std::vector<study::Task>& tasks_;
  int ranks_;
  std::vector<io::StudyRun> runs_;
  std::chrono::system_clock::time_point clock_start_ = std::chrono::system_clock::now();
};

int coordinate(RunPlan& plan, const std::vector<study::Task>& tasks,
               transport::Transport& transport) {
  const auto& execution = plan.file.execution;
  std::vector<std::size_t> study_of_task;
  study_of_task.reserve(tasks.size());
  for (const auto& task : tasks)
    study_of_task.push_back(task.study);
  if (plan.records.empty()) plan.records.resize(tasks.size());
  sched::SchedulerOptions options;
  options.worker_count = std::max(1, transport.size() - 1);
  options.chunk_size = execution.chunk_size;
  options.max_retries = execution.max_retries;
  sched::Scheduler scheduler(std::move(study_of_task), std::move(plan.records),
                             plan.file.studies.size(), options);
  ResultWriter writer(plan, tasks, transport.size());
  writer.write(scheduler.records());  // the file exists, readable, before any task runs
  const exec::LoopOptions loop{execution.checkpoint_interval_s, 1.0};
  const auto start = std::chrono::steady_clock::now();
  writer.start_clock();
  if (transport.size() == 1) {
    const exec::TaskRunner runner(plan.file, tasks);
    exec::run_serial(
        scheduler, [&runner](const auto& a) { return runner.run(a); }, writer, loop);
  } else {
    exec::run_coordinator(scheduler, transport, writer, loop);
  }
  const double elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto data = io::read_result_file(plan.output);
  print_summaries(std::cout, data);
  std::int64_t completed = 0, failed = 0;
  for (const auto& study : data.studies) {
    completed += study.completed;
    failed += study.failed;
  }
  std::cout << "\nwrote " << plan.output << ": " << completed << " completed, " << failed
            << " failed, " << transport.size() << (transport.size() == 1 ? " rank, " : " ranks, ")
            << duration_in_words(elapsed_s) << "\n";
  return completed == 0 && failed > 0 ? kFailure : kSuccess;
}

}  // namespace

int run_command(int argc, char** argv, const std::vector<std::string>& args) {
  transport::MpiEnvironment mpi(argc, argv);
  transport::MpiTransport transport;
  // Rank 0 checks everything first; every rank learns the verdict before any work
  // starts, so a bad study file never leaves ranks waiting for each other.
  std::optional<RunPlan> plan;
  int verdict = kSuccess;
  if (transport.rank() == 0) {
    try {
      plan = prepare(args);
    } catch (const InputError& error) {
      std::cerr << "fracstudy run: " << error.what() << "\n";
      verdict = kBadInput;
    } catch (const po::error& error) {
      std::cerr << "fracstudy run: " << error.what() << " (see fracstudy run --help)\n";
      verdict = kBadInput;
    } catch (const std::exception& error) {
      std::cerr << "fracstudy run: error: " << error.what() << "\n";
      verdict = kFailure;
    }
  }
  const std::string shared_verdict = transport.broadcast(plan ? "go" : std::to_string(verdict));
  if (shared_verdict != "go") return std::stoi(shared_verdict);
  const std::string text = transport.broadcast(transport.rank() == 0 ? plan->file.text : "");
  const std::string path = transport.broadcast(transport.rank() == 0 ? plan->file.path : "");
  try {
    if (transport.rank() == 0) {
      const auto tasks = study::expand_tasks(plan->file);
      return coordinate(*plan, tasks, transport);
    }
    const auto file = study::parse_study_text(text, path);
    const auto tasks = study::expand_tasks(file);
    const exec::TaskRunner runner(file, tasks);
    exec::run_worker(
        transport, [&runner](const auto& a) { return runner.run(a); }, exec::LoopOptions{});
    return kSuccess;
  } catch (const std::exception& error) {
    // Other ranks would wait forever for this one: end the job.
    std::cerr << "fracstudy run: rank " << transport.rank() << ": error: " << error.what() << "\n";
    if (transport.size() == 1) return kFailure;
    transport::MpiEnvironment::abort(kFailure);
  }
}

}  // namespace fracstudy::cli
