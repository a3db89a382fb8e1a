#pragma once
/// Task and study status, as stored in result files.
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "fracstudy/kernels/metrics.hpp"

namespace fracstudy::study {

/// Where one task stands.
enum class TaskStatus { Pending, Running, Completed, Failed };

/// Where one study stands: CREATED -> QUEUED -> RUNNING -> COMPLETED | PARTIALLY_FAILED | FAILED.
/// A study stopped before its end is CANCELLED (asked to stop: cancel_study, the stop
/// file) or INTERRUPTED (drained by a signal, killed, lost); both continue with --resume or
/// `retry`.
enum class StudyStatus {
  Created,
  Queued,
  Running,
  Completed,
  PartiallyFailed,
  Failed,
  Interrupted,
  Cancelled
};

/// "PENDING", "RUNNING", ...
std::string_view name_of(TaskStatus status);
/// "CREATED", "PARTIALLY_FAILED", ...
std::string_view name_of(StudyStatus status);
/// Parses a task status name; nullopt when unknown.
std::optional<TaskStatus> task_status_from_name(std::string_view name);
/// Every study status's name, in the enum's order.
std::span<const std::string_view> study_status_names();
/// Parses a study status name; nullopt when unknown.
std::optional<StudyStatus> study_status_from_name(std::string_view name);

/// The final status of a study whose tasks all ended: COMPLETED when none failed,
/// FAILED when none completed, PARTIALLY_FAILED otherwise.
StudyStatus final_status(std::int64_t completed, std::int64_t failed);

inline constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

/// What is known of one task: its status, its attempts and, once completed, its metrics.
struct TaskRecord {
  TaskStatus status = TaskStatus::Pending;
  int attempts = 0;               ///< attempts started so far
  int worker_rank = -1;           ///< rank of the last attempt; -1 before any
  std::string host;               ///< the node of the last attempt ("" before any)
  double wall_time_s = kNoValue;  ///< duration of the last attempt
  std::string error;  ///< every failed attempt: "attempt 1: timeout; attempt 2: ..." ("" if none)
  int interruptions = 0;          ///< times the job ended (killed) while this task was running
  kernels::MetricValues metrics;  ///< once completed, every metric (NaN until then)
};

/// What a task's record counted as in a tally or a summary that no longer holds the record
/// (the checkpoint journal writes it with each task's new record): its status, and the
/// reason of its last failure if it failed.
struct CountedState {
  TaskStatus status = TaskStatus::Pending;
  std::string failure_reason;  ///< last_reason of its error, when FAILED
};

}  // namespace fracstudy::study
