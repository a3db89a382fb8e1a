// Running a plan: rank 0 coordinates (or, alone, computes) and saves the result file
// through io::ResultWriter; the other ranks compute or relay.
#include "coordinate.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include "fracstudy/cli/cli.hpp"
#include "fracstudy/exec/drain.hpp"
#include "fracstudy/exec/task_runner.hpp"
#include "fracstudy/io/metric_spill.hpp"
#include "fracstudy/io/relay_journal.hpp"
#include "fracstudy/io/result_writer.hpp"
#include "fracstudy/kernels/models.hpp"
#include "fracstudy/tools/status.hpp"
#include "fracstudy/version.hpp"
#include "progress.hpp"
#include "report.hpp"

namespace fracstudy::cli {
namespace {

/// Why a run stops early besides a signal: its stop file, or its time limit.
struct StopWatch {
  std::string stop_file;
  std::optional<std::chrono::steady_clock::time_point> deadline;
  std::chrono::steady_clock::time_point next_look{};
  bool file_seen = false;
  bool out_of_time = false;

  /// A drain signal, the stop file (looked for at most every 0.2 s: the loop asks often),
  /// or the deadline passed.
  bool stop_requested() {
    if (exec::drain_requested() || file_seen || out_of_time) return true;
    const auto now = std::chrono::steady_clock::now();
    if (deadline && now >= *deadline) out_of_time = true;
    if (!stop_file.empty() && now >= next_look) {
      next_look = now + std::chrono::milliseconds(200);
      std::error_code error;
      file_seen = std::filesystem::exists(stop_file, error);
    }
    return file_seen || out_of_time;
  }

  /// Whether the run was asked to stop (and did not simply finish).
  bool stopped() const { return exec::drain_requested() || file_seen || out_of_time; }

  /// Why the run stopped, for its last words.
  std::string reason(const RunPlan& plan) const {
    if (const int signal = exec::drain_signal(); signal != 0) {
      return "interrupted by signal " + std::to_string(signal);
    }
    if (out_of_time) {
      std::ostringstream words;
      words << "stopped at its time limit of " << plan.time_limit_s << " s";
      return words.str();
    }
    return "stopped as " + plan.stop_file + " asked";
  }
};

std::shared_ptr<StopWatch> stop_watch(const RunPlan& plan) {
  auto watch = std::make_shared<StopWatch>();
  watch->stop_file = plan.stop_file;
  if (plan.time_limit_s > 0) {
    watch->deadline = std::chrono::steady_clock::now() +
                      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                          std::chrono::duration<double>(plan.time_limit_s));
  }
  return watch;
}

/// Reads back the metrics the relays kept, before a whole write: from where the last read
/// of each journal ended. A relay writes a result before rank 0 hears of it, so a result
/// read before its completion arrived waits here for it. A completion rank 0 recorded whose
/// metrics are in no journal (one was deleted) is computed again.
class RelayedMetrics {
 public:
  RelayedMetrics(std::string result_path, sched::Scheduler& scheduler)
      : result_path_(std::move(result_path)), scheduler_(scheduler) {}

  /// Reads back what the relays kept; returns how many results. At the `last` whole
  /// write, what is missing is looked for again for a few seconds: a shared file system
  /// may show a relay's last writes only once the relay closed its journal (NFS's
  /// close-to-open), which it does as it leaves.
  std::size_t read_back(bool last) {
    std::size_t filled = read_new_entries();
    for (int look = 0; last && look < kLastLooks && scheduler_.kept_elsewhere() > 0; ++look) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      filled += read_new_entries();
    }
    missing_ = scheduler_.reopen_unfilled();
    if (missing_ > 0) {
      std::cerr << "fracstudy: warning: " << missing_ << " results kept by relays were not found "
                << "in their journals beside " << result_path_
                << (last ? "; the journals stay for --resume, which takes what they hold and "
                           "computes the rest"
                         : "; they are computed again")
                << "\n";
    }
    return filled;
  }

  /// Results the last read_back did not find (their tasks were reopened).
  std::size_t missing() const { return missing_; }

 private:
  static constexpr int kLastLooks = 25;  // 5 s

  std::size_t read_new_entries() {
    std::size_t filled = 0;
    auto fill = [&](std::size_t task, const kernels::MetricValues& metrics) {
      const bool taken = scheduler_.fill_metrics(task, metrics);
      filled += taken ? 1U : 0U;
      return taken;
    };
    std::erase_if(early_, [&](const auto& result) { return fill(result.first, result.second); });
    auto take = [&](const io::RelayedCompletion& completion) {
      const bool unfinished_here =
          completion.task < scheduler_.records().size() &&
          scheduler_.records().status(completion.task) != study::TaskStatus::Completed;
      if (!fill(completion.task, completion.metrics) && unfinished_here) {
        early_.emplace(completion.task, completion.metrics);
      }
    };
    for (const auto& path : io::relay_journal_paths(result_path_)) {
      auto& [token, offset] = read_up_to_[path];
      const auto current = io::relay_journal_token(path);
      if (!current) continue;
      if (*current != token) {  // another run's (or a new) journal at that path
        token = *current;
        offset = 0;
      }
      offset = io::scan_relay_journal(path, offset, take).end_offset;
    }
    return filled;
  }

  std::string result_path_;
  sched::Scheduler& scheduler_;
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> read_up_to_;  // token, offset
  std::map<std::size_t, kernels::MetricValues> early_;  // read before their completion came
  std::size_t missing_ = 0;
};

/// What the coordinator loop reports goes to the result file and the progress lines.
class RunObserver final : public exec::ProgressObserver {
 public:
  RunObserver(io::ResultWriter& writer, const RunPlan& plan, std::shared_ptr<StopWatch> watch,
              RelayedMetrics* relayed)
      : writer_(writer),
        plan_(plan),
        stop_file_(plan.stop_file),
        watch_(std::move(watch)),
        relayed_(relayed) {
    if (plan.quiet) return;
    std::vector<std::string> names;
    for (const auto& study : plan.file.studies)
      names.push_back(study.name);
    progress_.emplace(std::cerr, stderr_reaches_a_terminal(), plan.progress_interval_s,
                      std::move(names));
  }

  void keep_cluster(std::size_t task, study::KeptCluster cluster) override {
    writer_.keep_cluster(task, std::move(cluster));
  }

  void tick(const sched::Scheduler& scheduler) override {
    note_excluded_hosts(scheduler);
    if (progress_) progress_->update(scheduler);
  }

  void checkpoint(sched::Scheduler& scheduler, bool final) override {
    note_excluded_hosts(scheduler);
    if (final) {  // a study still unfinished stopped early: asked to, or interrupted
      std::error_code error;
      writer_.set_unfinished_status(!stop_file_.empty() &&
                                            std::filesystem::exists(stop_file_, error)
                                        ? study::StudyStatus::Cancelled
                                        : study::StudyStatus::Interrupted);
      if (watch_->stopped()) writer_.set_stop_reason(watch_->reason(plan_));
    }
    // Every metric is in memory (or the scratch file) before the file is written whole.
    if (relayed_ && (final || writer_.whole_write_due())) {
      writer_.relay_kept_results += relayed_->read_back(final);
      if (final && relayed_->missing() > 0) {
        writer_.keep_relay_journals();
        writer_.set_stop_reason(std::to_string(relayed_->missing()) +
                                " results the relays kept were not found in their journals");
      }
    }
    if (final && progress_) progress_->update(scheduler, true);
    update_studies(scheduler);
    // The scheduler's counts are the tallies of its records as they stand: with relays, the
    // journal's end takes them rather than counting each kept result again.
    std::vector<study::ProgressTally> now;
    if (relayed_) {
      for (std::size_t s = 0; s < scheduler.study_count(); ++s) {
        const auto counts = scheduler.counts(s);
        now.push_back({counts, counts.work, {}});
      }
    }
    writer_.checkpoint(scheduler.records(), scheduler.take_changed_tasks(), final, now);
  }

  /// Tells the writer where each study stands.
  void update_studies(const sched::Scheduler& scheduler) {
    for (std::size_t s = 0; s < scheduler.study_count(); ++s) {
      const auto counts = scheduler.counts(s);
      writer_.update_study(s, counts, counts.started_s, counts.ended_s);
    }
  }

  /// A node newly taken out as bad: said at once on stderr, and kept for the file.
  void note_excluded_hosts(const sched::Scheduler& scheduler) {
    const auto& excluded = scheduler.excluded_hosts();
    for (std::size_t i = writer_.excluded_hosts().size(); i < excluded.size(); ++i) {
      std::cerr << "fracstudy: warning: node " << excluded[i]
                << " excluded from the run: " << sched::kBadNodeTasks
                << " different tasks failed there that then succeeded "
                << "on other nodes; its failed attempts are not counted\n";
    }
    writer_.set_excluded_hosts(excluded);
  }

 private:
  io::ResultWriter& writer_;
  const RunPlan& plan_;
  std::string stop_file_;
  std::shared_ptr<StopWatch> watch_;
  RelayedMetrics* relayed_;  // none without relays
  std::optional<ProgressReporter> progress_;
};

exec::ChunkExecutor make_executor(const exec::TaskRunner& runner, const study::StudyFile& file) {
  return exec::ChunkExecutor(
      [&runner](const auto& a) { return runner.run(a); },
      file.execution.isolate_tasks ? exec::Isolation::Process : exec::Isolation::None,
      file.execution.task_time_limit_s);
}

sched::Scheduler make_scheduler(RunPlan& plan, const study::TaskList& tasks,
                                const sched::Topology& topology) {
  const auto& execution = plan.file.execution;
  if (plan.records.empty()) plan.records = study::TaskRecords(tasks.size());
  // Rank 0 reads a task's metrics only to write the file whole: they wait on disk.
  plan.records.keep_metrics_in(io::open_metric_spill(plan.output, tasks.size()));
  sched::SchedulerOptions options;
  options.worker_count = topology.compute_ranks();
  for (int rank = 0; rank < topology.ranks(); ++rank)
    options.worker_capacity.push_back(topology.capacity(rank));
  options.chunk_size = execution.chunk_size;
  options.max_retries = execution.max_retries;
  options.fresh_retry_budget = plan.fresh_retry_budget;
  options.host_of_rank = plan.start.layout.host_of_rank;
  if (execution.isolate_tasks) options.max_interruptions.reset();
  // A point's repetitions are consecutive tasks: one entry per point, not per task.
  sched::RunLength<std::size_t> study_of_task;
  for (std::size_t s = 0; s < plan.file.studies.size(); ++s) {
    const auto& spec = plan.file.studies[s];
    const auto repetitions = static_cast<std::size_t>(spec.repetitions);
    study_of_task.push_run(repetitions * spec.points.size(), s);
    for (const auto& point : spec.points)
      options.task_cost.push_run(repetitions, kernels::estimated_cost(spec.algorithm, point));
  }
  return sched::Scheduler(std::move(study_of_task), std::move(plan.records),
                          plan.file.studies.size(), options);
}

/// Prints the per-value summary (from memory: the file is not read back) and says how the
/// run ended; returns the exit code.
int report_end(const RunPlan& plan, const std::vector<io::StudyData>& studies, exec::RunEnd end,
               int ranks, double elapsed_s, const std::vector<std::string>& excluded_hosts,
               const std::string& stop_reason) {
  std::ostringstream discarded;
  std::ostream& out = plan.quiet ? discarded : std::cout;
  print_summaries(out, studies, plan.file.studies);
  std::int64_t completed = 0, failed = 0, total = 0;
  for (const auto& study : studies) {
    completed += study.completed;
    failed += study.failed;
    total += study.total;
  }
  for (const auto& host : excluded_hosts) {
    out << "\nnode " << host << " was excluded as a bad node: tasks failed there that succeeded "
        << "elsewhere (see the `host` column and the `error` of the tasks table)\n";
  }
  out << "\nwrote " << plan.output << ": " << completed << " completed, " << failed << " failed, "
      << ranks << (ranks == 1 ? " rank, " : " ranks, ") << tools::duration_in_words(elapsed_s)
      << "\n";
  if (end == exec::RunEnd::Interrupted) {
    std::cerr << "fracstudy: " << stop_reason
              << " after a clean checkpoint: " << total - completed - failed << " of " << total
              << " tasks unfinished; continue with: " << plan.resume_hint << "\n";
    return kInterrupted;
  }
  for (const auto& study : studies) {
    if (study.status != study::StudyStatus::Completed) {
      std::cerr << "fracstudy: study " << study.name << " ended " << study::name_of(study.status)
                << " (" << study.failed << " of " << study.total << " tasks failed; see `fracstudy "
                << "status " << plan.output << "`, rerun them with `fracstudy retry " << plan.output
                << "`)\n";
    }
  }
  return completed == 0 && failed > 0 ? kFailure : kSuccess;
}

/// A relay's journal file (io/relay_journal.hpp) as the relay loop's log.
class RelayJournalLog final : public exec::CompletionLog {
 public:
  RelayJournalLog(std::string path, const std::vector<std::string>& host_of_rank)
      : path_(std::move(path)), host_of_rank_(host_of_rank) {}

  std::optional<std::uint64_t> open() override {
    try {
      writer_ = std::make_unique<io::RelayJournalWriter>(path_);
      return writer_->token();
    } catch (const std::exception& error) {  // the results go up whole: slower, not wrong
      std::cerr << "fracstudy: warning: relay results go to rank 0: " << error.what() << "\n";
      return std::nullopt;
    }
  }

  bool keep(std::span<const sched::Outcome> outcomes, std::span<const int> attempts) override {
    std::vector<io::RelayedCompletion> completions;
    completions.reserve(outcomes.size());
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
      const auto& outcome = outcomes[i];
      const auto rank = static_cast<std::size_t>(outcome.rank);
      completions.push_back({outcome.task, attempts[i], outcome.rank, outcome.wall_time_s,
                             rank < host_of_rank_.size() ? host_of_rank_[rank] : std::string(),
                             outcome.metrics});
    }
    try {
      // Written before they are reported: a killed job loses none. On disk about every
      // second: an fdatasync per report would hold a relay of tiny tasks back.
      const auto now = std::chrono::steady_clock::now();
      const bool flush = now - last_flush_ >= std::chrono::seconds(1);
      writer_->append(completions, flush);
      if (flush) last_flush_ = now;
      return true;
    } catch (const std::exception& error) {
      std::cerr << "fracstudy: warning: relay results go to rank 0 from now on: " << error.what()
                << "\n";
      return false;
    }
  }

 private:
  std::string path_;
  const std::vector<std::string>& host_of_rank_;
  std::unique_ptr<io::RelayJournalWriter> writer_;
  std::chrono::steady_clock::time_point last_flush_{};
};

exec::RunEnd work_or_relay(const study::StudyFile& file, transport::Transport& transport,
                           const exec::LoopOptions& loop, const sched::Topology& topology,
                           const RelayJournal& journal) {
  if (topology.is_relay(transport.rank())) {
    RelayJournalLog log(io::relay_journal_path(journal.result_path, transport.rank()),
                        journal.host_of_rank);
    return exec::run_relay(transport, topology, loop, journal.result_path.empty() ? nullptr : &log);
  }
  const exec::TaskRunner runner(file);
  return exec::run_worker(transport, make_executor(runner, file), loop,
                          topology.parent(transport.rank()));
}

}  // namespace

exec::LoopOptions loop_options(const study::ExecutionOptions& execution, double drain_grace_s) {
  exec::LoopOptions loop;
  loop.checkpoint_interval_s = execution.checkpoint_interval_s;
  // A result waits at most this long at its worker, so it reaches the disk within about
  // one checkpoint interval.
  loop.result_flush_s = std::min(1.0, execution.checkpoint_interval_s / 4);
  loop.drain_grace_s = drain_grace_s;
  loop.drain_requested = exec::drain_requested;
  return loop;
}

/// A file continued by another version of fracstudy: the tasks computed now may differ, bit
/// for bit, from what the earlier version would have computed (kernels change between
/// versions; the ensembles do not), and the file will record only this version.
void warn_of_another_version(const RunPlan& plan) {
  if (plan.quiet || plan.earlier_version.empty() || plan.earlier_version == kVersion) return;
  std::cerr << "fracstudy: warning: " << plan.output << " was written by fracstudy "
            << plan.earlier_version << "; this is " << kVersion
            << ": the tasks computed now may differ, bit for bit, from what "
            << plan.earlier_version << " would give, and the file will say " << kVersion << "\n";
}

int coordinate(RunPlan& plan, const study::TaskList& tasks, transport::Transport& transport,
               const sched::Topology& topology) {
  sched::Scheduler scheduler = make_scheduler(plan, tasks, topology);
  plan.start.ranks = transport.size();
  plan.start.relay_ranks = topology.relay_count();
  auto& roles = plan.start.layout.role_of_rank;
  roles.clear();
  for (int rank = 0; rank < transport.size(); ++rank) {
    roles.emplace_back(rank == 0 ? "coordinator" : topology.is_relay(rank) ? "relay" : "worker");
  }
  warn_of_another_version(plan);
  std::optional<RelayedMetrics> relayed;
  if (topology.relay_count() > 0) relayed.emplace(plan.output, scheduler);
  io::ResultWriter writer(plan.output, plan.file, tasks, plan.start);
  const auto watch = stop_watch(plan);
  RunObserver observer(writer, plan, watch, relayed ? &*relayed : nullptr);
  observer.update_studies(scheduler);
  scheduler.take_changed_tasks();            // the first write holds them all
  writer.write(scheduler.records(), false);  // the file exists, readable, before any task runs
  auto loop = loop_options(plan.file.execution, plan.drain_grace_s);
  loop.drain_requested = [watch] { return watch->stop_requested(); };
  loop.coordinator_messages = &writer.coordinator_messages;
  if (relayed) {
    loop.relay_journal_seen = [&plan, &writer](int relay, std::uint64_t token) {
      if (io::relay_journal_token(io::relay_journal_path(plan.output, relay)) != token) {
        return false;
      }
      // The relays' journals now hold the results and rank 0's journal little: the file
      // is written whole at the end (and for clusters), where rank 0 reads back the
      // relays' results once. (Relays that keep nothing leave the 5 % policy in place.)
      writer.set_whole_write_share(0);
      return true;
    };
  }
  const auto start = std::chrono::steady_clock::now();
  writer.start_clock();
  exec::RunEnd end;
  if (transport.size() == 1) {
    const exec::TaskRunner runner(plan.file);
    end = exec::run_serial(scheduler, make_executor(runner, plan.file), observer, loop);
  } else {
    end = exec::run_coordinator(scheduler, transport, observer, loop, topology);
  }
  const double elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!writer.final_error().empty()) {
    std::cerr << "fracstudy: error: the final results could not be saved (" << writer.final_error()
              << "); " << plan.output << " holds the last good checkpoint; make room and "
              << "continue with: " << plan.resume_hint << "\n";
    return kFailure;
  }
  return report_end(plan, writer.studies(scheduler.records()), end, transport.size(), elapsed_s,
                    scheduler.excluded_hosts(),
                    watch->stopped() ? watch->reason(plan)
                                     : "some results the relays kept were not found in their "
                                       "journals (see the warning above)");
}

int work(const study::StudyFile& file, transport::Transport& transport,
         const exec::LoopOptions& loop, const sched::Topology& topology,
         const RelayJournal& journal) {
  switch (work_or_relay(file, transport, loop, topology, journal)) {
    case exec::RunEnd::Finished:
      return kSuccess;
    case exec::RunEnd::Interrupted:
      return kInterrupted;
    case exec::RunEnd::Failed:
      return kFailure;
  }
  return kFailure;
}

}  // namespace fracstudy::cli
