// The relay: rank 0's worker above, its group's coordinator below.
#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <stdexcept>
#include <unordered_map>

#include "fracstudy/exec/coordinator.hpp"
#include "fracstudy/exec/protocol.hpp"

namespace fracstudy::exec {
namespace {

using Clock = std::chrono::steady_clock;
using Seconds = std::chrono::duration<double>;

class Relay {
 public:
  Relay(transport::Transport& transport, const sched::Topology& topology,
        const LoopOptions& options, CompletionLog* log)
      : transport_(transport),
        options_(options),
        log_(log),
        parent_(topology.parent(transport.rank())),
        workers_(topology.children(transport.rank())),
        states_(static_cast<std::size_t>(transport.size()), WorkerState::Stopped) {
    for (const int worker : workers_)
      state(worker) = WorkerState::Busy;  // until it asks for work
  }

  RunEnd run() {
    ask_parent_for_work();
    while (live_workers() > 0) {
      if (auto message = transport_.receive(Seconds(wait_s()))) {
        if (message->source == parent_) {
          if (handle_parent(*message)) return RunEnd::Failed;
        } else {
          handle_worker(*message);
        }
      }
      serve_idle_workers();
      if (Seconds(Clock::now() - last_flush_).count() >= options_.result_flush_s) flush_results();
      if (wants_more_work()) ask_parent_for_work();
    }
    if (stop_from_parent_) return end_of(*stop_from_parent_);
    // Drained: the group's results go up with the Stopped; what was never handed out
    // goes back to rank 0's queue when it releases this relay.
    send(transport_, parent_, Tag::Stopped, take_report(false));
    return RunEnd::Interrupted;
  }

 private:
  WorkerState& state(int worker) { return states_[static_cast<std::size_t>(worker)]; }

  int live_workers() const {
    return static_cast<int>(std::count_if(workers_.begin(), workers_.end(), [this](int worker) {
      return states_[static_cast<std::size_t>(worker)] != WorkerState::Stopped;
    }));
  }

  double wait_s() const {
    double wait = options_.result_flush_s - Seconds(Clock::now() - last_flush_).count();
    if (!idle_.empty() && asked_ && !unsent_.empty()) {
      wait = std::min(wait, kStarvedFlushS - starved_for_s());
    }
    return std::clamp(wait, 0.001, 1.0);
  }

  /// Returns true when the coordinator failed: leave at once (rank 0 told the workers).
  bool handle_parent(const transport::Message& message) {
    switch (static_cast<Tag>(message.tag)) {
      case Tag::Assignment: {
        const auto chunk = decode_assignments(message.payload);
        queue_.insert(queue_.end(), chunk.begin(), chunk.end());
        for (const auto& assignment : chunk)
          attempt_of_[assignment.task] = assignment.attempt;
        open_log();
        last_chunk_size_ = chunk.size();
        asked_ = false;
        return false;
      }
      case Tag::Stop:
        if (stop_reason(message) == StopReason::CoordinatorFailed) return true;
        stop_from_parent_ = stop_reason(message);
        asked_ = false;
        return false;
      case Tag::Drain:
        drain_workers();
        return false;
      case Tag::JournalSeen:
        log_seen_ = token_ && journal_seen_token(message) == *token_;
        return false;
      case Tag::Abort:
        for (const int worker : workers_) {
          if (state(worker) != WorkerState::DrainSent) continue;
          send(transport_, worker, Tag::Abort);
          state(worker) = WorkerState::AbortSent;
        }
        return false;
      default:
        throw std::runtime_error("relay got an unexpected message from the coordinator");
    }
  }

  void drain_workers() {
    draining_ = true;
    queue_.clear();
    for (const int worker : workers_) {
      if (state(worker) == WorkerState::Busy || state(worker) == WorkerState::Idle) {
        send(transport_, worker, Tag::Drain);
        state(worker) = WorkerState::DrainSent;
      }
    }
    idle_.clear();
  }

  void handle_worker(const transport::Message& message) {
    const auto tag = static_cast<Tag>(message.tag);
    if (tag != Tag::WorkRequest && tag != Tag::Results && tag != Tag::Stopped) {
      throw std::runtime_error("relay got an unexpected message from a worker");
    }
    auto report = decode_report(message.payload);
    auto& computing = computing_[message.source];
    for (auto& outcome : report.outcomes) {  // moved: positions can be large
      if (outcome.rank < 0) outcome.rank = message.source;
      if (computing == outcome.task) computing.reset();
      unsent_.push_back(std::move(outcome));
    }
    // What each worker computes now, passed up with the group's next report.
    if (!report.running.empty() && computing != report.running.front()) {
      computing = report.running.front();
      computing_changed_ = true;
    }
    WorkerState& worker = state(message.source);
    if (tag == Tag::Stopped || tag == Tag::WorkRequest) computing.reset();
    if (tag == Tag::Stopped) {
      worker = WorkerState::Stopped;
    } else if (tag == Tag::WorkRequest && worker == WorkerState::Busy) {
      worker = WorkerState::Idle;
      idle_.push_back(message.source);
    }
  }

  /// Each idle worker gets a share of the queue that shrinks as the queue does (guided
  /// self-scheduling within the group); rank 0 already sized the chunk by time.
  void serve_idle_workers() {
    std::deque<int> still_idle;
    for (const int worker : idle_) {
      if (stop_from_parent_) {
        send(transport_, worker, Tag::Stop, stop_payload(*stop_from_parent_));
        state(worker) = WorkerState::Stopped;
        continue;
      }
      if (queue_.empty()) {
        still_idle.push_back(worker);
        continue;
      }
      const auto share = std::max<std::size_t>(1, queue_.size() / workers_.size());
      std::vector<sched::Assignment> chunk(queue_.begin(),
                                           queue_.begin() + static_cast<std::ptrdiff_t>(share));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(share));
      send(transport_, worker, Tag::Assignment, encode_assignments(chunk));
      state(worker) = WorkerState::Busy;
    }
    idle_ = std::move(still_idle);
    // Workers wait, and rank 0 has not answered for a while: it has nothing to hand out
    // and may be waiting for these results (to finish, or to retry), so they go up now
    // rather than at the next flush. (A prompt answer needs no extra message.)
    if (starved_for_s() >= kStarvedFlushS && !unsent_.empty()) flush_results();
  }

  /// How long workers have waited on an unanswered request to rank 0 (0: none waits).
  double starved_for_s() const {
    if (idle_.empty() || !asked_) return 0;
    return Seconds(Clock::now() - asked_at_).count();
  }

  /// Asks again before the queue runs dry, so the group never waits for a round trip.
  bool wants_more_work() const {
    return !asked_ && !stop_from_parent_ && !draining_ && queue_.size() * 2 < last_chunk_size_;
  }

  /// Opens the log at the first chunk: rank 0 cleared the last run's journals before it
  /// handed out work. Until rank 0 says it read the log, results go up whole.
  void open_log() {
    if (!log_ || token_ || log_failed_) return;
    token_ = log_->open();
    log_failed_ = !token_;
  }

  /// Keeps the unsent completed results in the log, which rank 0 reads: they go up as task
  /// numbers only (kept_). Those with a cluster go up whole (rank 0 keeps the cluster).
  void keep_completions() {
    std::vector<sched::Outcome> keep;
    std::vector<int> attempts;
    std::vector<sched::Outcome> whole;
    for (auto& outcome : unsent_) {
      const auto attempt = attempt_of_.find(outcome.task);
      const bool keepable = log_seen_ && !log_failed_ && outcome.succeeded &&
                            outcome.cluster.positions.empty() && attempt != attempt_of_.end();
      if (keepable) attempts.push_back(attempt->second);
      if (attempt != attempt_of_.end()) attempt_of_.erase(attempt);  // the attempt ended
      (keepable ? keep : whole).push_back(std::move(outcome));
    }
    unsent_ = std::move(whole);
    if (keep.empty()) return;
    if (!log_->keep(keep, attempts)) {
      log_failed_ = true;  // from now on everything goes up whole
      unsent_.insert(unsent_.end(), std::make_move_iterator(keep.begin()),
                     std::make_move_iterator(keep.end()));
      return;
    }
    for (const auto& outcome : keep)
      kept_.push_back({outcome.task, outcome.rank, outcome.wall_time_s});
  }

  /// The group's report: its workers' outcomes and (`with_running`) the tasks they
  /// compute now.
  std::vector<std::byte> take_report(bool with_running = true) {
    keep_completions();
    Report report{std::move(unsent_), {}};
    unsent_.clear();
    report.kept = std::move(kept_);
    kept_.clear();
    if (token_ && !log_seen_ && !log_failed_) report.journal_token = *token_;
    for (const auto& [worker, task] : computing_) {
      if (task && with_running) report.running.push_back(*task);
    }
    computing_changed_ = false;
    return encode_report(report);
  }

  void ask_parent_for_work() {
    send(transport_, parent_, Tag::WorkRequest, take_report());
    last_flush_ = Clock::now();
    asked_at_ = last_flush_;
    asked_ = true;
  }

  void flush_results() {
    last_flush_ = Clock::now();
    if ((unsent_.empty() && !computing_changed_) || (stop_from_parent_ && !draining_)) return;
    send(transport_, parent_, Tag::Results, take_report());
  }

  static RunEnd end_of(StopReason reason) {
    return reason == StopReason::Done ? RunEnd::Finished : RunEnd::Interrupted;
  }

  transport::Transport& transport_;
  const LoopOptions& options_;
  CompletionLog* log_;                               // none: every result goes up whole
  std::optional<std::uint64_t> token_;               // of the log, once opened
  bool log_seen_ = false;                            // rank 0 read the log: completions stay there
  bool log_failed_ = false;                          // it could not be opened or written
  std::unordered_map<std::size_t, int> attempt_of_;  // handed out, not reported yet
  int parent_;
  std::vector<int> workers_;
  std::vector<WorkerState> states_;      // per rank; ranks outside the group: Stopped
  std::deque<int> idle_;                 // asked for work that the relay does not have yet
  std::deque<sched::Assignment> queue_;  // received from rank 0, not yet handed out
  std::vector<sched::Outcome> unsent_;   // the group's results, not yet passed up
  std::vector<sched::KeptResult> kept_;  // of those, the ones kept in the log
  std::map<int, std::optional<std::size_t>> computing_;  // per worker: the task it computes
  bool computing_changed_ = false;  // a worker started a task rank 0 has not heard of
  std::size_t last_chunk_size_ = 0;
  bool asked_ = false;  // a WorkRequest to rank 0 waits for its answer
  Clock::time_point asked_at_ = Clock::now();
  static constexpr double kStarvedFlushS = 0.01;
  bool draining_ = false;
  std::optional<StopReason> stop_from_parent_;
  Clock::time_point last_flush_ = Clock::now();
};

}  // namespace

RunEnd run_relay(transport::Transport& transport, const sched::Topology& topology,
                 const LoopOptions& options, CompletionLog* log) {
  return Relay(transport, topology, options, log).run();
}

}  // namespace fracstudy::exec
