#pragma once
/// The coordinator (rank 0) and worker loops, written against Transport so they run over
/// MPI and over in-process threads alike.
#include <cstdint>
#include <functional>
#include <optional>
#include <span>

#include "fracstudy/exec/chunk_executor.hpp"
#include "fracstudy/sched/scheduler.hpp"
#include "fracstudy/sched/topology.hpp"
#include "fracstudy/transport/transport.hpp"

namespace fracstudy::exec {

/// Receives the coordinator's progress: where results are saved and progress shown.
class ProgressObserver {
 public:
  virtual ~ProgressObserver() = default;
  /// Called at least every checkpoint interval while results come in, and once at the
  /// end with `final` set.
  virtual void checkpoint(sched::Scheduler& scheduler, bool final) = 0;
  /// Called on every turn of the loop (at least about once a second): for live progress.
  virtual void tick(const sched::Scheduler& /*scheduler*/) {}
  /// A recorded outcome carried a cluster to keep.
  virtual void keep_cluster(std::size_t /*task*/, study::KeptCluster /*cluster*/) {}
};

/// Timing of the loops, and how a run is asked to stop early.
struct LoopOptions {
  double checkpoint_interval_s = 10;  ///< longest time a finished result waits for disk
  double result_flush_s = 1.0;        ///< a worker reports finished results at least this often
  double drain_grace_s = 30;          ///< after a drain request, how long attempts may finish
  std::function<bool()> drain_requested = [] { return false; };  ///< e.g. SIGUSR1 arrived
  std::uint64_t* coordinator_messages = nullptr;  ///< when set, counts what rank 0 receives
  /// Rank 0: whether it reads the journal of relay `rank` with this token (a relay's
  /// results then stay in that journal, io/relay_journal.hpp); unset: relays pass every
  /// result up whole.
  std::function<bool(int rank, std::uint64_t token)> relay_journal_seen{};
};

/// Where a relay keeps its group's completed results, so that rank 0 gets their task
/// numbers only (io::RelayJournalWriter behind it).
class CompletionLog {
 public:
  virtual ~CompletionLog() = default;
  /// Starts the log (once rank 0 has handed out work, so after it cleared the last run's);
  /// returns the token rank 0 must read in it, nullopt when it cannot be kept.
  virtual std::optional<std::uint64_t> open() = 0;
  /// Keeps these succeeded attempts (with the attempt number of each) on disk before they
  /// are reported; false when it could not (they go up whole, and so does all that follows).
  virtual bool keep(std::span<const sched::Outcome> outcomes, std::span<const int> attempts) = 0;
};

/// Where a child stands, from the side of the rank that hands it work.
enum class WorkerState { Busy, Idle, DrainSent, AbortSent, Stopped };

/// How a run ended.
enum class RunEnd {
  Finished,     ///< every task ended (completed or failed)
  Interrupted,  ///< a drain stopped it; the unfinished tasks wait for --resume
  Failed,       ///< the coordinator failed and told the workers to leave
};

/// Tells every worker to leave at once because the coordinator failed (rank 0 only).
void stop_workers_after_failure(transport::Transport& transport);

/// Rank 0 of several: hands out chunks on request to its children in `topology` (workers
/// and relays) until every task ended or a drain stops the run, then stops them. Returns
/// when every child has left.
RunEnd run_coordinator(sched::Scheduler& scheduler, transport::Transport& transport,
                       ProgressObserver& observer, const LoopOptions& options,
                       const sched::Topology& topology);
/// The same with every rank a worker of rank 0.
RunEnd run_coordinator(sched::Scheduler& scheduler, transport::Transport& transport,
                       ProgressObserver& observer, const LoopOptions& options);

/// A worker: asks `parent` (rank 0 or its relay) for work, runs it, reports, until told
/// to stop.
RunEnd run_worker(transport::Transport& transport, const ChunkExecutor& executor,
                  const LoopOptions& options, int parent = 0);

/// A relay: takes chunks from rank 0 for its group and shares them out among its workers,
/// passing their results up in batches; drains, aborts and stops travel down the same way.
/// With `log`, the group's completed results stay in it once rank 0 has read it.
RunEnd run_relay(transport::Transport& transport, const sched::Topology& topology,
                 const LoopOptions& options, CompletionLog* log = nullptr);

/// One rank alone: rank 0 runs every task itself.
RunEnd run_serial(sched::Scheduler& scheduler, const ChunkExecutor& executor,
                  ProgressObserver& observer, const LoopOptions& options);

}  // namespace fracstudy::exec
