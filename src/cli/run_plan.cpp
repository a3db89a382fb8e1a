// Preparing `run` and `retry`: options, the study, the result file and what it holds.
#include "run_plan.hpp"

#include "errors.hpp"

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "fracstudy/io/metric_spill.hpp"
#include "fracstudy/io/result_file.hpp"
#include "fracstudy/study/errors.hpp"
#include "fracstudy/study/parser.hpp"
#include "memory.hpp"
#include "options.hpp"

namespace fracstudy::cli {
namespace {

namespace fs = std::filesystem;

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
void load_earlier_results(RunPlan& plan, const io::ResultReader& reader) {
  const io::ResultData& data = reader.data();
  // The metrics go to disk as they are read: a resumed study of ten million tasks must not
  // hold them at any moment.
  plan.records.keep_metrics_in(
      io::open_metric_spill(plan.output, static_cast<std::size_t>(plan.file.task_count())));
  for (std::size_t s = 0; s < plan.file.studies.size(); ++s) {
    const auto& spec = plan.file.studies[s];
    if (s >= data.studies.size() || data.studies[s].name != spec.name ||
        data.studies[s].total != spec.task_count()) {
      throw UsageError(plan.output + ": its studies do not match " + plan.file.path);
    }
    plan.start.earlier_generation = data.generation;
    reader.for_each_checked_record(s, [&plan](std::size_t, const study::TaskRecord& record) {
      plan.records.push_back(record);
    });
    const auto& earlier = data.studies[s];
    plan.start.earlier_runs.push_back(io::StudyRun{study::StudyStatus::Queued, earlier.created_at,
                                                   earlier.started_at, earlier.completed_at});
  }
  plan.start.continues_file = true;
  plan.earlier_version = data.software_version;
}

/// Loads what an earlier run of the same study file saved, for --resume.
void load_resume_state(RunPlan& plan) {
  io::check_readable(plan.output);  // a damaged file must not crash rank 0
  const io::ResultReader reader(plan.output);
  const io::ResultData& data = reader.data();
  if (data.study_yaml != plan.file.text) {
    throw UsageError(plan.output + ": was written from a different study file than " +
                     plan.file.path + " (" + first_difference(data.study_yaml, plan.file.text) +
                     "); --resume needs the same file, or use --force to start over");
  }
  load_earlier_results(plan, reader);
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
      "several nodes)")(
      "stop-file", po::value<std::string>(),
      "drain as on SIGUSR1 once this file exists, also when it exists at the start "
      "(default: $FRACSTUDY_STOP_FILE); a request that no signal timing can lose")(
      "time-limit", po::value<double>(),
      "drain as on SIGUSR1 once the run has taken this many seconds (a budget: the run "
      "ends INTERRUPTED and --resume or retry continues it; default: $FRACSTUDY_TIME_LIMIT)");
}

/// Reads what add_run_options declared into the plan, checking each value.
void read_run_options(const po::variables_map& values, RunPlan& plan) {
  plan.drain_grace_s = values["drain-grace"].as<double>();
  if (!(plan.drain_grace_s >= 0)) {
    throw UsageError("--drain-grace: must be a number of seconds >= 0");
  }
  plan.quiet = values.count("quiet") > 0;
  plan.progress_interval_s = values["progress-interval"].as<double>();
  if (!(plan.progress_interval_s > 0)) {
    throw UsageError("--progress-interval: must be a number of seconds > 0");
  }
  plan.relays = relay_policy_option(values["relays"].as<std::string>());
  if (values.count("time-limit")) {
    plan.time_limit_s = values["time-limit"].as<double>();
    if (!(plan.time_limit_s > 0)) throw UsageError("--time-limit: must be a number of seconds > 0");
  } else if (const char* limit = std::getenv("FRACSTUDY_TIME_LIMIT"); limit && *limit) {
    char* end = nullptr;
    plan.time_limit_s = std::strtod(limit, &end);
    if (*end != '\0' || !(plan.time_limit_s > 0)) {
      throw UsageError("$FRACSTUDY_TIME_LIMIT: must be a number of seconds > 0, got '" +
                       std::string(limit).substr(0, 64) + "'");
    }
  }
  if (values.count("stop-file")) {
    plan.stop_file = values["stop-file"].as<std::string>();
  } else if (const char* stop_file = std::getenv("FRACSTUDY_STOP_FILE")) {
    plan.stop_file = stop_file;
  }
}

}  // namespace

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
  check_fits_in_memory(plan.file);
  const bool resume = values->count("resume") > 0, force = values->count("force") > 0;
  if (resume && force) throw UsageError("use either --resume or --force, not both");
  const std::string output = values->count("output")
                                 ? (*values)["output"].as<std::string>()
                                 : plan.file.output.value_or(default_output(plan.file.path));
  io::check_output_path(output, plan.file.path);
  plan.output = io::real_output_path(output);
  io::check_companion_files(plan.output);
  if (fs::exists(plan.output)) {
    if (!resume && !force) {
      throw UsageError(plan.output + ": already exists; use --resume to finish its unfinished " +
                       "tasks or --force to start over");
    }
    if (resume) load_resume_state(plan);
  }
  io::check_writable(plan.output);
  plan.lock = std::make_shared<io::OutputLock>(plan.output);
  plan.resume_hint = "fracstudy run " + plan.file.path + " -o " + output + " --resume";
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
  const std::string file = (*values)["file"].as<std::string>();
  plan.output = io::real_output_path(file);
  io::check_companion_files(plan.output);
  io::check_readable(plan.output);  // a damaged file must not crash rank 0
  const io::ResultReader reader(plan.output);
  plan.file = reader.data().study_file;  // parsed once, by the reader
  check_fits_in_memory(plan.file);
  load_earlier_results(plan, reader);
  for (std::size_t task = 0; task < plan.records.size(); ++task) {
    if (plan.records.status(task) != study::TaskStatus::Failed) continue;
    plan.records.set_status(task, study::TaskStatus::Pending);
    plan.records.set_interruptions(task, 0);
  }
  plan.fresh_retry_budget = true;  // attempts keep counting; earlier ones cost nothing
  io::check_writable(plan.output);
  plan.lock = std::make_shared<io::OutputLock>(plan.output);
  plan.resume_hint = "fracstudy retry " + file;
  return plan;
}

sched::RelayPolicy relay_policy_option(const std::string& text) {
  const auto policy = sched::RelayPolicy::parse(text);
  if (!policy) {
    throw UsageError("--relays: '" + text + "' is not none, node, auto or a group size >= 2");
  }
  return *policy;
}

}  // namespace fracstudy::cli
