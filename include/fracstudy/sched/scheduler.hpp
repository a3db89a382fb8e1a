#pragma once
/// The coordinator's bookkeeping as a plain state machine: which tasks wait, which run
/// where, what finished, what to retry and when. No MPI, no clock: time comes in as
/// arguments, so every decision is unit-testable.
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "fracstudy/kernels/huge_pages.hpp"
#include "fracstudy/sched/node_health.hpp"
#include "fracstudy/sched/run_length.hpp"
#include "fracstudy/sched/task_queue.hpp"
#include "fracstudy/study/progress.hpp"
#include "fracstudy/study/records.hpp"
#include "fracstudy/study/status.hpp"
#include "fracstudy/study/tasks.hpp"

namespace fracstudy::sched {

using study::TaskRecord;
using study::TaskStatus;

/// With `isolation: none`, a task that was computing when its job died this many times
/// fails (reason "interrupted"): it may be what ends the job, and must not end every
/// resume. An isolated task cannot end its job (its crash, abort or OOM kill ends only
/// its child, and is charged as that attempt's failure), so its job's deaths are never
/// charged to it however many there are. A kill, a lost node or a walltime costs no retry.
inline constexpr int kMaxInterruptions = 3;

/// How the scheduler hands out and retries work.
struct SchedulerOptions {
  int worker_count = 1;  ///< ranks that compute
  /// Per requesting rank: how many computing ranks a chunk handed to it feeds (a relay's
  /// group); ranks not listed feed one. Such a rank gets chunks that many times larger.
  std::vector<int> worker_capacity;
  std::optional<std::int64_t> chunk_size;  ///< fixed chunk size; nullopt = automatic
  int max_retries = 3;                     ///< further attempts after the first
  double retry_backoff_s = 1.0;            ///< wait before the first retry; doubles each time
  double retry_backoff_max_s = 60.0;       ///< longest wait before a retry
  double target_chunk_s = 1.0;             ///< automatic chunks aim at about this much work
  std::int64_t max_auto_chunk = 4096;      ///< automatic chunks never exceed this
  /// Estimated relative cost of each task (empty: all equal). The queue starts with the
  /// most expensive tasks, so a sweep's big tasks do not finish last, and automatic
  /// chunks are sized by predicted time rather than by count.
  RunLength<double> task_cost;
  bool fresh_retry_budget = false;  ///< earlier attempts do not count (`fracstudy retry`)
  /// The node each rank runs on (its hostname), for the records' `host`; may be empty.
  std::vector<std::string> host_of_rank;
  /// Job deaths under which a task fails (see kMaxInterruptions); nullopt: never.
  std::optional<int> max_interruptions = kMaxInterruptions;
  double avoid_failed_worker_s = 5;  ///< a retry waits this long for another worker to ask
};

/// One attempt handed to a worker.
struct Assignment {
  std::size_t task = 0;  ///< global task index
  int attempt = 1;       ///< 1 for the first attempt
};

/// What a worker reports for one attempt.
struct Outcome {
  std::size_t task = 0;  ///< global task index
  int rank = -1;         ///< the rank that ran it (-1: the one that reports it)
  bool succeeded = false;
  double wall_time_s = 0;
  std::string error;  ///< reason when it failed ("timeout", an exception's message, ...)
  kernels::MetricValues metrics;  ///< what it measured, when it succeeded
  /// The final cluster when the study keeps it (`execution.save_clusters`); empty
  /// positions otherwise.
  study::KeptCluster cluster;
};

/// A successful attempt whose metrics stay in the journal of the relay that passed it up
/// (io/relay_journal.hpp): all that travels of it to rank 0.
struct KeptResult {
  std::size_t task = 0;  ///< global task index
  int rank = -1;         ///< the worker that computed it
  double wall_time_s = 0;
};

/// Where one study stands: its task counts, its times in this run, and the work left
/// (what its estimated time left comes from: study::estimated_remaining_s).
struct StudyCounts : study::TaskCounts {
  std::optional<double> started_s;  ///< when its first task was handed out in this run
  std::optional<double> ended_s;    ///< when its last task ended in this run
  std::int64_t ended_this_run = 0;  ///< tasks that ended (completed or failed) in this run
  study::RemainingWork work;        ///< kept as study::remaining_work would compute it
};

/// Hands out tasks in chunks on request, records outcomes, retries failures.
class Scheduler {
 public:
  /// `study_of_task[i]` is the study of global task i; `records` holds what is already
  /// known (all PENDING for a fresh run; earlier results when resuming).
  Scheduler(RunLength<std::size_t> study_of_task, study::TaskRecords records,
            std::size_t study_count, SchedulerOptions options);

  /// The next chunk for `worker` at time `now_s`; empty when nothing is ready now. The
  /// first task of a worker's chunk is RUNNING (it starts at once); the others stay
  /// PENDING until the worker says it computes one (started) or reports it: a task that
  /// only waits in a chunk is not running, and a job's death costs it nothing.
  std::vector<Assignment> next_chunk(int worker, double now_s);

  /// `worker` says it is computing `task` now: RUNNING, and the attempt counts. Ignored
  /// unless the task waits in that worker's chunk.
  void started(int worker, std::size_t task);

  /// Records the outcome of an attempt that `worker` ran; false when it was stale (the
  /// task had been released or handed elsewhere) and changed nothing.
  bool record(int worker, const Outcome& outcome, double now_s);
  /// The same for a successful attempt whose metrics a relay keeps (metrics_elsewhere).
  bool record_kept(int worker, const KeptResult& result, double now_s);

  /// Sets the metrics of a task that completed with them kept by a relay (record_kept);
  /// false (and nothing changes) for any other task.
  bool fill_metrics(std::size_t task, const kernels::MetricValues& metrics);
  /// Puts every task whose metrics a relay kept and that were not filled back in the queue
  /// (their relay's journal was lost); returns how many.
  std::size_t reopen_unfilled();
  /// How many completed tasks have their metrics kept by a relay, not filled yet.
  std::size_t kept_elsewhere() const;

  /// Returns the tasks `worker` still runs to the queue without using up a retry (the
  /// worker was stopped or lost, which is not the tasks' fault).
  void release_worker(int worker);

  /// No task waits or runs any more.
  bool finished() const { return unfinished_ == 0; }
  /// Some task waits (now or after a backoff).
  bool has_waiting() const {
    return !queue_.empty() || !retries_.empty() || !ready_retries_.empty();
  }
  /// The earliest time a delayed retry becomes ready; nullopt when none waits.
  std::optional<double> next_retry_time() const;

  const study::TaskRecords& records() const { return records_; }
  StudyCounts counts(std::size_t study) const { return counts_[study]; }
  std::size_t study_count() const { return counts_.size(); }
  /// The tasks whose record changed since the last call, each once, in order of first
  /// change: what an incremental checkpoint writes.
  std::vector<std::size_t> take_changed_tasks();
  /// Whether some task's record changed since the last take_changed_tasks().
  bool has_changes() const { return !changed_.empty(); }
  /// The chunk size an automatic request would get now.
  std::int64_t current_chunk_size() const;
  /// Nodes taken out of the run as bad (see NodeHealth), in order; their ranks get no work.
  const std::vector<std::string>& excluded_hosts() const { return health_.excluded_names(); }

 private:
  struct DelayedRetry {
    std::size_t task;
    int failed_on;  // the requesting rank of the failed attempt
    double ready_at_s;
  };
  void move_status(std::size_t task, TaskStatus to);
  void order_by_cost();
  bool recover_interrupted(TaskRecord& record) const;
  static void append_failure(TaskRecord& record, const std::string& reason);
  void append_failure(std::size_t task, const std::string& reason);
  int retries_used(std::size_t task) const;
  std::uint32_t host_id_of(int rank) const;
  void exclude_host(int host);
  void reopen(std::size_t task);
  bool retry_elsewhere(int failed_on, int worker, int capacity) const;
  void promote_ready_retries(double now_s);
  void mark_changed(std::size_t task);
  double cost_of(std::size_t task) const;
  int capacity_of(int worker) const;
  std::size_t chunk_count_limit(int capacity) const;
  bool fits(const std::vector<Assignment>& chunk, double chunk_cost, double task_cost,
            std::size_t limit, int capacity) const;
  void start_attempt(std::size_t task, int worker, double now_s, std::vector<Assignment>& chunk);
  void task_ended(std::size_t task, double now_s);
  void task_ended(std::size_t task, double now_s, double cost);
  bool end_attempt(int worker, std::size_t task, int rank, double wall_time_s);
  void complete(std::size_t task, double now_s);

  RunLength<std::size_t> study_of_task_;
  // The arrays of one entry per task are on huge pages, as the records' are: written task by
  // task after every fork of the result file's writer (kernels/huge_pages.hpp).
  kernels::HugePageVector<int> budget_base_;  // attempts before this run, when the budget is fresh
  study::TaskRecords records_;
  std::vector<std::uint32_t> host_id_of_rank_;  // each rank's host in records_
  std::vector<StudyCounts> counts_;
  SchedulerOptions options_;
  TaskQueue queue_;  // ready to run, in order
  struct ReadyRetry {
    std::size_t task;
    int failed_on;         // the requesting rank of the failed attempt
    double avoid_until_s;  // until then, only other workers get it
  };
  std::deque<ReadyRetry> ready_retries_;              // backoff over, served before the queue
  std::vector<DelayedRetry> retries_;                 // failed attempts waiting for their backoff
  std::vector<std::vector<std::size_t>> running_on_;  // per worker rank (may hold finished)
  kernels::HugePageVector<int> running_worker_;       // per task: its worker, or kNotRunning
  static constexpr int kNotRunning = -1;
  std::size_t unfinished_ = 0;
  std::vector<std::size_t> changed_;  // tasks changed since the last take, each once
  std::vector<bool> changed_flags_;
  double completed_time_s_ = 0;  // summed wall time of successful attempts
  double completed_cost_ = 0;    // their summed estimated cost
  NodeHealth health_;
};

}  // namespace fracstudy::sched
