#include "fracstudy/exec/coordinator.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>

#include "fracstudy/exec/protocol.hpp"

namespace fracstudy::exec {
namespace {

using Clock = std::chrono::steady_clock;
using Seconds = std::chrono::duration<double>;

/// Seconds since construction: the scheduler's notion of time.
class Stopwatch {
 public:
  double now_s() const { return Seconds(Clock::now() - start_).count(); }

 private:
  Clock::time_point start_ = Clock::now();
};

/// Calls the observer when the checkpoint interval has passed and something changed. The
/// first checkpoint comes within a second, so that readers see the run's first results
/// (and what it computes) at once rather than after a whole interval.
class CheckpointTimer {
 public:
  CheckpointTimer(ProgressObserver& observer, double interval_s)
      : observer_(observer), interval_s_(interval_s), next_s_(std::min(interval_s, kFirstS)) {}

  void maybe_checkpoint(sched::Scheduler& scheduler, double now_s) {
    if (now_s < next_s_) return;
    if (!scheduler.has_changes()) {  // nothing to save: look again within a second
      next_s_ = now_s + std::min(interval_s_, kFirstS);
      return;
    }
    next_s_ = now_s + interval_s_;
    observer_.checkpoint(scheduler, false);
  }
  double seconds_until_due(double now_s) const { return std::max(0.0, next_s_ - now_s); }
  /// The next look comes at once (a drain saves what it has before it waits).
  void due_now() { next_s_ = 0; }

 private:
  static constexpr double kFirstS = 1.0;
  ProgressObserver& observer_;
  double interval_s_;
  double next_s_;
};

/// The coordinator's loop state: the scheduler plus what each worker is doing.
class Coordinator {
 public:
  Coordinator(sched::Scheduler& scheduler, transport::Transport& transport,
              ProgressObserver& observer, const LoopOptions& options,
              const std::vector<int>& children)
      : scheduler_(scheduler),
        transport_(transport),
        observer_(observer),
        options_(options),
        timer_(observer, options.checkpoint_interval_s),
        states_(static_cast<std::size_t>(transport.size()), WorkerState::Stopped),
        children_(children) {
    for (const int child : children_)
      state(child) = WorkerState::Busy;  // until it asks for work
  }

  RunEnd run() {
    while (active_workers() > 0) {
      if (auto message = transport_.receive(Seconds(wait_s()))) handle(*message);
      check_drain();
      serve_idle_workers();
      timer_.maybe_checkpoint(scheduler_, clock_.now_s());
      observer_.tick(scheduler_);
    }
    for (const int child : children_)
      scheduler_.release_worker(child);
    observer_.checkpoint(scheduler_, true);
    // Unfinished without a drain: results a relay kept were not found at the end.
    return scheduler_.finished() ? RunEnd::Finished : RunEnd::Interrupted;
  }

 private:
  WorkerState& state(int worker) { return states_[static_cast<std::size_t>(worker)]; }

  int active_workers() const {
    return static_cast<int>(std::count_if(states_.begin(), states_.end(),
                                          [](WorkerState s) { return s != WorkerState::Stopped; }));
  }

  /// How long to wait for a message: until the next checkpoint or retry, at most 1 s.
  double wait_s() const {
    double wait = timer_.seconds_until_due(clock_.now_s());
    if (auto retry_at = scheduler_.next_retry_time()) {
      wait = std::min(wait, std::max(0.0, *retry_at - clock_.now_s()));
    }
    if (draining_) wait = std::min(wait, std::max(0.0, drain_deadline_s_ - clock_.now_s()));
    return std::clamp(wait, 0.001, 1.0);
  }

  void handle(const transport::Message& message) {
    if (options_.coordinator_messages) ++*options_.coordinator_messages;
    const auto tag = static_cast<Tag>(message.tag);
    if (tag != Tag::WorkRequest && tag != Tag::Results && tag != Tag::Stopped) {
      throw std::runtime_error("coordinator got an unexpected message");
    }
    auto report = decode_report(message.payload);
    // (A relay that is leaving gets no answer.)
    if (report.journal_token != 0 && tag != Tag::Stopped) {
      check_relay_journal(message.source, report.journal_token);
    }
    if (!report.kept.empty() && !journal_seen_.contains(message.source)) {
      throw std::runtime_error("coordinator got results kept in a journal it has not read");
    }
    const double now_s = clock_.now_s();  // one clock read per message, not per result
    for (const auto& result : report.kept)
      scheduler_.record_kept(message.source, result, now_s);
    for (auto& outcome : report.outcomes) {
      const bool recorded = scheduler_.record(message.source, outcome, now_s);
      if (recorded && outcome.succeeded && !outcome.cluster.positions.empty()) {
        observer_.keep_cluster(outcome.task, std::move(outcome.cluster));
      }
    }
    for (const std::size_t task : report.running)
      scheduler_.started(message.source, task);
    WorkerState& worker = state(message.source);
    if (tag == Tag::Stopped) {
      scheduler_.release_worker(message.source);  // its unfinished attempts cost no retry
      worker = WorkerState::Stopped;
    } else if (tag == Tag::WorkRequest && worker == WorkerState::Busy) {
      worker = WorkerState::Idle;
      idle_.push_back(message.source);
    }
    // A WorkRequest crossing a Drain or Abort needs no answer: the worker answers those
    // with Stopped.
  }

  /// A relay offers to keep its group's results in its journal: taken once rank 0 reads
  /// the same journal (a directory not shared between their nodes shows here), else the
  /// relay goes on passing them up whole and offering again. Looked at most once a second
  /// per relay (a shared file system may show a new file late).
  void check_relay_journal(int relay, std::uint64_t token) {
    if (!options_.relay_journal_seen || journal_seen_.contains(relay)) return;
    const double now_s = clock_.now_s();
    const auto last = journal_checked_at_.find(relay);
    if (last != journal_checked_at_.end() && now_s - last->second < 1.0) return;
    journal_checked_at_[relay] = now_s;
    if (!options_.relay_journal_seen(relay, token)) return;
    journal_seen_.insert(relay);
    send(transport_, relay, Tag::JournalSeen, journal_seen_payload(token));
  }

  void serve_idle_workers() {
    std::deque<int> still_idle;  // nothing is ready for them now (delayed retries)
    for (const int worker : idle_) {
      if (scheduler_.finished() || draining_) {
        send(transport_, worker, Tag::Stop,
             stop_payload(draining_ ? StopReason::Drained : StopReason::Done));
        state(worker) = WorkerState::Stopped;
        continue;
      }
      auto chunk = scheduler_.next_chunk(worker, clock_.now_s());
      if (chunk.empty()) {
        still_idle.push_back(worker);
        continue;
      }
      send(transport_, worker, Tag::Assignment, encode_assignments(chunk));
      state(worker) = WorkerState::Busy;
    }
    idle_ = std::move(still_idle);
  }

  /// A drain stops handing out work, lets attempts finish within the grace time, then
  /// kills what still runs. Idle children get the Drain too: a relay that waits for work
  /// may still have busy workers below it.
  void check_drain() {
    if (!draining_ && options_.drain_requested() && !scheduler_.finished()) {
      draining_ = true;
      drain_deadline_s_ = clock_.now_s() + options_.drain_grace_s;
      // Save what has finished before waiting for what runs: whoever sent the signal may
      // not wait for the grace time (mpirun kills the ranks a second after its SIGTERM).
      timer_.due_now();
      for (const int child : children_) {
        if (state(child) == WorkerState::Busy || state(child) == WorkerState::Idle) {
          send(transport_, child, Tag::Drain);
          state(child) = WorkerState::DrainSent;
        }
      }
      idle_.clear();
    }
    if (draining_ && clock_.now_s() >= drain_deadline_s_) {
      for (const int child : children_) {
        if (state(child) == WorkerState::DrainSent) {
          send(transport_, child, Tag::Abort);
          state(child) = WorkerState::AbortSent;
        }
      }
    }
  }

  sched::Scheduler& scheduler_;
  transport::Transport& transport_;
  ProgressObserver& observer_;
  const LoopOptions& options_;
  const Stopwatch clock_;
  CheckpointTimer timer_;
  std::vector<WorkerState> states_;  // per rank; ranks that are not children: Stopped
  std::vector<int> children_;
  std::deque<int> idle_;  // asked for work that was not ready yet
  bool draining_ = false;
  double drain_deadline_s_ = 0;
  std::map<int, double> journal_checked_at_;  // relays whose journal was looked at, when
  std::set<int> journal_seen_;                // relays whose journal rank 0 reads
};

/// The worker's side: runs chunks, watching for Drain and Abort while it does.
class Worker {
 public:
  Worker(transport::Transport& transport, const ChunkExecutor& executor, const LoopOptions& options,
         int parent)
      : transport_(transport), executor_(executor), options_(options), parent_(parent) {}

  RunEnd run() {
    send(transport_, parent_, Tag::WorkRequest, encode_report({}));
    while (true) {
      auto message = transport_.receive(Seconds(3600));
      if (!message) continue;
      const auto tag = static_cast<Tag>(message->tag);
      if (tag == Tag::Stop) return end_of(stop_reason(*message));
      if (tag == Tag::Drain || tag == Tag::Abort) {  // crossed our WorkRequest
        send(transport_, parent_, Tag::Stopped, encode_report({}));
        return RunEnd::Interrupted;
      }
      if (tag != Tag::Assignment) throw std::runtime_error("worker got an unexpected message");
      if (run_chunk(decode_assignments(message->payload))) {
        return failed_coordinator_ ? RunEnd::Failed : RunEnd::Interrupted;
      }
    }
  }

 private:
  /// Runs one chunk; returns true when a drain stopped it (Stopped was sent).
  bool run_chunk(const std::vector<sched::Assignment>& chunk) {
    chunk_ = &chunk;
    current_ = 0;  // the attempts run in chunk order: the next unreported one is computing
    current_since_ = last_flush_ = Clock::now();
    current_announced_ = false;
    auto report = [&](const sched::Outcome& outcome) {
      unsent_.push_back(outcome);
      unsent_.back().rank = transport_.rank();
      ++current_;
      current_since_ = Clock::now();
      current_announced_ = false;
      if (Seconds(Clock::now() - last_flush_).count() >= options_.result_flush_s) flush();
    };
    const auto result = executor_.run(chunk, report, [this] { return poll_stop(); });
    const bool stopped = result.stopped != StopRequest::None || stop_ != StopRequest::None;
    chunk_ = nullptr;
    if (failed_coordinator_) return true;  // nobody listens any more
    send(transport_, parent_, stopped ? Tag::Stopped : Tag::WorkRequest,
         encode_report({std::move(unsent_), {}}));
    unsent_.clear();
    return stopped;
  }

  /// The task being computed now, if any.
  std::optional<std::size_t> current_task() const {
    if (!chunk_ || current_ >= chunk_->size()) return std::nullopt;
    return (*chunk_)[current_].task;
  }

  /// Sends the finished outcomes and the task being computed.
  void flush() {
    Report report{std::move(unsent_), {}};
    if (const auto task = current_task()) {
      report.running.push_back(*task);
      current_announced_ = true;
    }
    send(transport_, parent_, Tag::Results, encode_report(report));
    unsent_.clear();
    last_flush_ = Clock::now();
  }

  /// A task that computes for a while is announced even with nothing else to report, so
  /// the file shows it RUNNING (and only it): what a job's death interrupts.
  void announce_a_long_task() {
    if (current_announced_ || !current_task()) return;
    if (Seconds(Clock::now() - current_since_).count() >= options_.result_flush_s) flush();
  }

  /// Looks for a Drain or Abort without waiting: the coordinator sends nothing else to a
  /// busy worker. Called about every 50 ms while an attempt runs.
  StopRequest poll_stop() {
    announce_a_long_task();
    if (auto message = transport_.receive(Seconds(0))) {
      const auto tag = static_cast<Tag>(message->tag);
      if (tag == Tag::Drain) stop_ = std::max(stop_, StopRequest::AfterCurrent);
      if (tag == Tag::Abort) stop_ = StopRequest::Now;
      if (tag == Tag::Stop && stop_reason(*message) == StopReason::CoordinatorFailed) {
        failed_coordinator_ = true;
        stop_ = StopRequest::Now;
      }
    }
    return stop_;
  }

  static RunEnd end_of(StopReason reason) {
    switch (reason) {
      case StopReason::Done:
        return RunEnd::Finished;
      case StopReason::Drained:
        return RunEnd::Interrupted;
      case StopReason::CoordinatorFailed:
        return RunEnd::Failed;
    }
    return RunEnd::Failed;
  }

  transport::Transport& transport_;
  const ChunkExecutor& executor_;
  const LoopOptions& options_;
  int parent_;  // rank 0 or the relay of this worker's group
  std::vector<sched::Outcome> unsent_;
  const std::vector<sched::Assignment>* chunk_ = nullptr;  // the chunk being run
  std::size_t current_ = 0;                                // its attempt being computed
  Clock::time_point current_since_ = Clock::now();
  Clock::time_point last_flush_ = Clock::now();
  bool current_announced_ = false;
  StopRequest stop_ = StopRequest::None;
  bool failed_coordinator_ = false;
};

}  // namespace

RunEnd run_coordinator(sched::Scheduler& scheduler, transport::Transport& transport,
                       ProgressObserver& observer, const LoopOptions& options,
                       const sched::Topology& topology) {
  return Coordinator(scheduler, transport, observer, options, topology.children(0)).run();
}

RunEnd run_coordinator(sched::Scheduler& scheduler, transport::Transport& transport,
                       ProgressObserver& observer, const LoopOptions& options) {
  return run_coordinator(scheduler, transport, observer, options,
                         sched::Topology::flat(transport.size()));
}

void stop_workers_after_failure(transport::Transport& transport) {
  for (int worker = 1; worker < transport.size(); ++worker) {
    send(transport, worker, Tag::Stop, stop_payload(StopReason::CoordinatorFailed));
  }
}

RunEnd run_worker(transport::Transport& transport, const ChunkExecutor& executor,
                  const LoopOptions& options, int parent) {
  return Worker(transport, executor, options, parent).run();
}

RunEnd run_serial(sched::Scheduler& scheduler, const ChunkExecutor& executor,
                  ProgressObserver& observer, const LoopOptions& options) {
  const Stopwatch clock;
  CheckpointTimer timer(observer, options.checkpoint_interval_s);
  constexpr int kSelf = 0;
  std::optional<double> drain_deadline_s;
  auto poll_stop = [&] {
    if (!drain_deadline_s && options.drain_requested()) {
      drain_deadline_s = clock.now_s() + options.drain_grace_s;
    }
    if (!drain_deadline_s) return StopRequest::None;
    return clock.now_s() >= *drain_deadline_s ? StopRequest::Now : StopRequest::AfterCurrent;
  };
  std::vector<sched::Assignment> chunk;
  std::size_t current = 0;  // the attempts run in chunk order: this one is computing
  auto report = [&](const sched::Outcome& outcome) {
    const bool recorded = scheduler.record(kSelf, outcome, clock.now_s());
    if (recorded && outcome.succeeded && !outcome.cluster.positions.empty()) {
      observer.keep_cluster(outcome.task, outcome.cluster);
    }
    if (++current < chunk.size()) scheduler.started(kSelf, chunk[current].task);
    timer.maybe_checkpoint(scheduler, clock.now_s());
    observer.tick(scheduler);
  };
  while (!scheduler.finished() && poll_stop() == StopRequest::None) {
    chunk = scheduler.next_chunk(kSelf, clock.now_s());
    if (chunk.empty()) {  // only delayed retries are left
      const double ready_at = scheduler.next_retry_time().value_or(clock.now_s());
      std::this_thread::sleep_for(Seconds(std::clamp(ready_at - clock.now_s(), 0.0, 0.1)));
      continue;
    }
    current = 0;  // the scheduler marked the first RUNNING
    executor.run(chunk, report, poll_stop);
    scheduler.release_worker(kSelf);  // what a drain left unrun goes back, retries intact
  }
  observer.checkpoint(scheduler, true);
  return drain_deadline_s && !scheduler.finished() ? RunEnd::Interrupted : RunEnd::Finished;
}

}  // namespace fracstudy::exec
