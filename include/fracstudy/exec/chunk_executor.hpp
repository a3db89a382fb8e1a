#pragma once
/// Runs the attempts of a chunk, by default in a forked child process, so that a task that
/// crashes, aborts, runs out of memory or hangs fails alone instead of taking its rank
/// (and, with Open MPI, the whole job) down.
#include <functional>
#include <vector>

#include "fracstudy/sched/scheduler.hpp"

namespace fracstudy::exec {

/// Runs one attempt and reports what happened (TaskRunner::run in production).
using AttemptFunction = std::function<sched::Outcome(const sched::Assignment&)>;

/// Where attempts run.
enum class Isolation {
  Process,  ///< in a child process forked per chunk (crash- and hang-proof)
  None,     ///< in the calling process (cheapest; a crash ends the job)
};

/// How urgently a running chunk must stop.
enum class StopRequest {
  None,          ///< go on
  AfterCurrent,  ///< finish the attempt in progress, start no other
  Now,           ///< kill the attempt in progress
};

/// What a chunk run did.
struct ChunkReport {
  std::vector<sched::Assignment> not_run;   ///< attempts that were not (or not fully) run
  StopRequest stopped = StopRequest::None;  ///< the stop that ended it early, if any
};

/// Runs chunks of attempts, isolated as configured.
class ChunkExecutor {
 public:
  /// `time_limit_s` (0: none) is the attempt's own deadline; an isolated attempt still
  /// running max(1 s, 10%) after it is killed and fails with reason "timeout".
  ChunkExecutor(AttemptFunction attempt, Isolation isolation, double time_limit_s);

  /// Runs `chunk` in order. `report` receives each outcome as soon as it is known;
  /// `poll_stop` is asked between attempts and about every 50 ms while one runs.
  ChunkReport run(const std::vector<sched::Assignment>& chunk,
                  const std::function<void(const sched::Outcome&)>& report,
                  const std::function<StopRequest()>& poll_stop) const;

  /// The grace after the time limit before an isolated attempt is killed.
  double hard_limit_s() const;

 private:
  ChunkReport run_in_process(const std::vector<sched::Assignment>& chunk,
                             const std::function<void(const sched::Outcome&)>& report,
                             const std::function<StopRequest()>& poll_stop) const;
  ChunkReport run_isolated(const std::vector<sched::Assignment>& chunk,
                           const std::function<void(const sched::Outcome&)>& report,
                           const std::function<StopRequest()>& poll_stop) const;

  AttemptFunction attempt_;
  Isolation isolation_;
  double time_limit_s_;
};

}  // namespace fracstudy::exec
