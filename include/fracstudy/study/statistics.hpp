#pragma once
/// Per-point statistics of a study (the "chord" that follows the group of tasks).
#include <cstdint>
#include <span>
#include <vector>

#include "fracstudy/study/status.hpp"
#include "fracstudy/study/tasks.hpp"

namespace fracstudy::study {

/// Mean, sample standard deviation and standard error of the mean of finite values.
struct Moments {
  double mean = kNoValue;
  double std = kNoValue;  ///< sample standard deviation (n - 1); NaN when n < 2
  double sem = kNoValue;  ///< std / sqrt(n); NaN when n < 2
};

/// Moments of the finite values (NaNs are skipped).
Moments moments(std::span<const double> values);

/// The summary of one parameter point.
struct PointSummary {
  std::size_t point = 0;       ///< index into StudySpec::points
  std::int64_t n_samples = 0;  ///< completed tasks at this point
  std::int64_t n_failed = 0;   ///< failed tasks at this point
  Moments df, rg, kf;
};

/// One summary per point of `study`, from the records of its tasks. `tasks` and
/// `records` are the study's own, in task_id order.
std::vector<PointSummary> summarize(const StudySpec& study, std::span<const Task> tasks,
                                    std::span<const TaskRecord> records);

}  // namespace fracstudy::study
