#pragma once
/// The coordinator (rank 0) and worker loops, written against Transport so they run over
/// MPI and over in-process threads alike.
#include <functional>

#include "fracstudy/exec/task_runner.hpp"
#include "fracstudy/sched/scheduler.hpp"
#include "fracstudy/transport/transport.hpp"

namespace fracstudy::exec {

/// Receives the coordinator's progress: where results are saved and progress shown.
class ProgressObserver {
 public:
  virtual ~ProgressObserver() = default;
  /// Called at least every checkpoint interval while results come in, and once at the
  /// end with `final` set.
  virtual void checkpoint(const sched::Scheduler& scheduler, bool final) = 0;
};

/// Runs one attempt and reports what happened (TaskRunner::run in production).
using AttemptFunction = std::function<sched::Outcome(const sched::Assignment&)>;

/// Timing of the loops.
struct LoopOptions {
  double checkpoint_interval_s = 10;  ///< longest time a finished result waits for disk
  double result_flush_s = 1.0;        ///< a worker reports finished results at least this often
};

/// Rank 0 of several: hands out chunks on request until every task ended, then stops
/// the workers. Returns when all workers were told to stop.
void run_coordinator(sched::Scheduler& scheduler, transport::Transport& transport,
                     ProgressObserver& observer, const LoopOptions& options);

/// Ranks 1..N-1: ask for work, run it, report, until told to stop.
void run_worker(transport::Transport& transport, const AttemptFunction& attempt,
                const LoopOptions& options);

/// One rank alone: rank 0 runs every task itself.
void run_serial(sched::Scheduler& scheduler, const AttemptFunction& attempt,
                ProgressObserver& observer, const LoopOptions& options);

}  // namespace fracstudy::exec
