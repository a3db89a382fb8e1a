#include "fracstudy/exec/coordinator.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
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

/// Calls the observer when the checkpoint interval has passed and something changed.
class CheckpointTimer {
 public:
  CheckpointTimer(ProgressObserver& observer, double interval_s)
      : observer_(observer), interval_s_(interval_s) {}

  void maybe_checkpoint(sched::Scheduler& scheduler, double now_s) {
    if (now_s - last_s_ < interval_s_) return;
    last_s_ = now_s;
    if (scheduler.take_change_count() > 0) observer_.checkpoint(scheduler, false);
  }
  double seconds_until_due(double now_s) const {
    return std::max(0.0, last_s_ + interval_s_ - now_s);
  }

 private:
  ProgressObserver& observer_;
  double interval_s_;
  double last_s_ = 0;
};

}  // namespace

void run_coordinator(sched::Scheduler& scheduler, transport::Transport& transport,
                     ProgressObserver& observer, const LoopOptions& options) {
  const Stopwatch clock;
  CheckpointTimer timer(observer, options.checkpoint_interval_s);
  std::deque<int> idle_workers;  // asked for work that was not ready yet
  int stopped = 0;
  const int workers = transport.size() - 1;
  auto serve_idle_workers = [&] {
    while (!idle_workers.empty()) {
      const int worker = idle_workers.front();
      if (scheduler.finished()) {
        transport.send(worker, static_cast<int>(Tag::Stop), {});
        ++stopped;
      } else {
        auto chunk = scheduler.next_chunk(worker, clock.now_s());
        if (chunk.empty()) return;  // only delayed retries are left: wait for them
        transport.send(worker, static_cast<int>(Tag::Assignment), encode_assignments(chunk));
      }
      idle_workers.pop_front();
    }
  };
  while (stopped < workers) {
    double wait_s = timer.seconds_until_due(clock.now_s());
    if (auto retry_at = scheduler.next_retry_time()) {
      wait_s = std::min(wait_s, std::max(0.0, *retry_at - clock.now_s()));
    }
    if (auto message = transport.receive(Seconds(std::clamp(wait_s, 0.001, 1.0)))) {
      const auto tag = static_cast<Tag>(message->tag);
      if (tag != Tag::WorkRequest && tag != Tag::Results) {
        throw std::runtime_error("coordinator got an unexpected message");
      }
      for (const auto& outcome : decode_outcomes(message->payload)) {
        scheduler.record(message->source, outcome, clock.now_s());
      }
      if (tag == Tag::WorkRequest) idle_workers.push_back(message->source);
    }
    serve_idle_workers();
    timer.maybe_checkpoint(scheduler, clock.now_s());
  }
  observer.checkpoint(scheduler, true);
}

void run_worker(transport::Transport& transport, const AttemptFunction& attempt,
                const LoopOptions& options) {
  std::vector<sched::Outcome> unsent;
  transport.send(0, static_cast<int>(Tag::WorkRequest), encode_outcomes(unsent));
  while (true) {
    auto message = transport.receive(Seconds(3600));
    if (!message) continue;
    const auto tag = static_cast<Tag>(message->tag);
    if (tag == Tag::Stop) return;
    if (tag != Tag::Assignment) throw std::runtime_error("worker got an unexpected message");
    auto last_flush = Clock::now();
    for (const auto& assignment : decode_assignments(message->payload)) {
      unsent.push_back(attempt(assignment));
      if (Seconds(Clock::now() - last_flush).count() >= options.result_flush_s) {
        transport.send(0, static_cast<int>(Tag::Results), encode_outcomes(unsent));
        unsent.clear();
        last_flush = Clock::now();
      }
    }
    transport.send(0, static_cast<int>(Tag::WorkRequest), encode_outcomes(unsent));
    unsent.clear();
  }
}

void run_serial(sched::Scheduler& scheduler, const AttemptFunction& attempt,
                ProgressObserver& observer, const LoopOptions& options) {
  const Stopwatch clock;
  CheckpointTimer timer(observer, options.checkpoint_interval_s);
  constexpr int kSelf = 0;
  while (!scheduler.finished()) {
    auto chunk = scheduler.next_chunk(kSelf, clock.now_s());
    if (chunk.empty()) {  // only delayed retries are left
      const double ready_at = scheduler.next_retry_time().value_or(clock.now_s());
      std::this_thread::sleep_for(Seconds(std::max(0.0, ready_at - clock.now_s())));
    }
    for (const auto& assignment : chunk) {
      scheduler.record(kSelf, attempt(assignment), clock.now_s());
      timer.maybe_checkpoint(scheduler, clock.now_s());
    }
  }
  observer.checkpoint(scheduler, true);
}

}  // namespace fracstudy::exec
