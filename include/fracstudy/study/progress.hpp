#pragma once
/// Where a study stands, counted once: task counts by status, and the estimate of the time
/// left that the progress lines, `status` and the tools all show.
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>

#include "fracstudy/study/records.hpp"
#include "fracstudy/study/spec.hpp"
#include "fracstudy/study/status.hpp"

namespace fracstudy::study {

/// The tasks of a study by status.
struct TaskCounts {
  std::int64_t total = 0, pending = 0, running = 0, completed = 0, failed = 0;

  /// Counts one more task.
  void add(TaskStatus status);
  /// Takes a counted task back out.
  void remove(TaskStatus status);
  /// A counted task changed its status.
  void move(TaskStatus from, TaskStatus to);
  /// Tasks that ended, completed or failed.
  std::int64_t ended_tasks() const { return completed + failed; }
  /// No task waits or runs.
  bool all_ended() const { return pending == 0 && running == 0; }
  /// Ended tasks in whole percent (100 for a study without tasks).
  std::int64_t percentage() const { return total > 0 ? 100 * ended_tasks() / total : 100; }
  /// The status of the study these counts describe: RUNNING until every task ended, then
  /// COMPLETED, PARTIALLY_FAILED or FAILED.
  StudyStatus status() const;

 private:
  std::int64_t& slot(TaskStatus status);
};

/// Counts the records by status.
TaskCounts count_tasks(RecordsView records);

/// What the time left is estimated from, in kernels::estimated_cost units.
struct RemainingWork {
  double unfinished_cost = 0;   ///< estimated cost of the tasks that have not ended
  std::int64_t unfinished = 0;  ///< how many tasks that is
  double timed_cost = 0;        ///< estimated cost of the completed tasks with a wall time
  double timed_wall_s = 0;      ///< the wall time those took, summed
  int workers = 1;              ///< ranks that compute

  /// Adds one task and its record.
  void add(double cost, const TaskRecord& record);
  /// The same from a record's status and wall time.
  void add(double cost, TaskStatus status, double wall_time_s);
  /// Takes back what add(cost, record) added (a task whose record changed).
  void remove(double cost, const TaskRecord& record);
  /// The same from a record's status and wall time.
  void remove(double cost, TaskStatus status, double wall_time_s);
};

/// The reason of the last failed attempt in "attempt 1: X; attempt 2: Y".
std::string last_reason(const std::string& history);

/// Everything a study's progress is shown from (`status`, check_study_status), summed over
/// its tasks: kept in the result file, so a reader of ten million tasks need not read them.
struct ProgressTally {
  TaskCounts counts;
  RemainingWork work;
  std::map<std::string, std::int64_t> failures;  ///< by the reason of the last failed attempt

  /// Adds one task of estimated cost `cost` and its record.
  void add(double cost, const TaskRecord& record);
  /// The same from the parts of a record it counts (`error` is read when FAILED).
  void add(double cost, TaskStatus status, double wall_time_s, const std::string& error);
  /// Takes one task's earlier record back out.
  void remove(double cost, const TaskRecord& record);
  /// A task counted as `before` has the record `after` now. False, changing nothing, when
  /// that cannot be counted exactly: a COMPLETED task that is no longer (its wall time is
  /// not known). A completed task's wall time never changes, so COMPLETED to COMPLETED
  /// changes nothing.
  bool replace(double cost, const CountedState& before, const TaskRecord& after);
  /// The same from the parts of `after` it counts (`error` is read when FAILED).
  bool replace(double cost, const CountedState& before, TaskStatus status, double wall_time_s,
               const std::string& error);
  /// The counts add up to the total, none negative, the sums finite and not negative:
  /// what a tally read from a file must be before it is believed.
  bool consistent() const;
};

/// The tally of a study's records (task i at point i / repetitions).
ProgressTally tally_progress(const StudySpec& study, RecordsView records);

/// The work left in a study from its records (task i at point i / repetitions).
RemainingWork remaining_work(const StudySpec& study, RecordsView records, int workers);

/// Seconds until the study ends: its unfinished cost at the measured seconds per unit of
/// cost, shared by the workers (no more of them than tasks are left). 0 when nothing is
/// left; nullopt before any task completed (nothing measured yet).
std::optional<double> estimated_remaining_s(const RemainingWork& work);

}  // namespace fracstudy::study
