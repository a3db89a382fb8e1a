#pragma once
/// The coordinator (rank 0) and worker loops, written against Transport so they run over
/// MPI and over in-process threads alike.
#include <functional>

#include "fracstudy/exec/chunk_executor.hpp"
#include "fracstudy/sched/scheduler.hpp"
#include "fracstudy/transport/transport.hpp"

namespace fracstudy::exec {

/// Receives the coordinator's progress: where results are saved and progress shown.
class ProgressObserver {
 public:
  virtual ~ProgressObserver() = default;
  /// Called at least every checkpoint interval while results come in, and once at the
  /// end with `final` set.
  virtual void checkpoint(sched::Scheduler& scheduler, bool final) = 0;
};

/// Timing of the loops, and how a run is asked to stop early.
struct LoopOptions {
  double checkpoint_interval_s = 10;  ///< longest time a finished result waits for disk
  double result_flush_s = 1.0;        ///< a worker reports finished results at least this often
  double drain_grace_s = 30;          ///< after a drain request, how long attempts may finish
  std::function<bool()> drain_requested = [] { return false; };  ///< e.g. SIGUSR1 arrived
};

/// How a run ended.
enum class RunEnd {
  Finished,     ///< every task ended (completed or failed)
  Interrupted,  ///< a drain stopped it; the unfinished tasks wait for --resume
  Failed,       ///< the coordinator failed and told the workers to leave
};

/// Tells every worker to leave at once because the coordinator failed (rank 0 only).
void stop_workers_after_failure(transport::Transport& transport);

/// Rank 0 of several: hands out chunks on request until every task ended or a drain
/// stops the run, then stops the workers. Returns when every worker has left.
RunEnd run_coordinator(sched::Scheduler& scheduler, transport::Transport& transport,
                       ProgressObserver& observer, const LoopOptions& options);

/// Ranks 1..N-1: ask for work, run it, report, until told to stop.
RunEnd run_worker(transport::Transport& transport, const ChunkExecutor& executor,
                  const LoopOptions& options);

/// One rank alone: rank 0 runs every task itself.
RunEnd run_serial(sched::Scheduler& scheduler, const ChunkExecutor& executor,
                  ProgressObserver& observer, const LoopOptions& options);

}  // namespace fracstudy::exec
