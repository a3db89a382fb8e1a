#pragma once
/// Per-point statistics of a study (the "chord" that follows the group of tasks): for every
/// metric of kernels/metrics.hpp, the statistics its aggregation names.
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fracstudy/kernels/metrics.hpp"
#include "fracstudy/study/records.hpp"
#include "fracstudy/study/spec.hpp"
#include "fracstudy/study/status.hpp"

namespace fracstudy::study {

/// Mean, sample standard deviation and standard error of the mean of finite values.
struct Moments {
  double mean = kNoValue;
  double std = kNoValue;  ///< sample standard deviation (n - 1); NaN when n < 2
  double sem = kNoValue;  ///< std / sqrt(n); NaN when n < 2
};

/// Moments of the finite values (NaNs are skipped).
Moments moments(std::span<const double> values);

/// The moments and the range of finite values gathered one at a time, without keeping
/// them (Welford's update: as accurate as two passes), so a point of ten million
/// repetitions is summarized in constant memory.
class RunningStatistics {
 public:
  /// Everything it holds, to be saved and restored (the checkpoint journal).
  struct State {
    std::int64_t n = 0;
    double mean = 0, squares = 0, min = kNoValue, max = kNoValue;
  };
  RunningStatistics() = default;
  explicit RunningStatistics(const State& state)
      : n_(state.n), mean_(state.mean), squares_(state.squares), min_(state.min), max_(state.max) {}
  State state() const { return {n_, mean_, squares_, min_, max_}; }

  /// Takes one value; NaN and infinities are skipped.
  void add(double value);
  Moments moments() const;
  /// The statistics an aggregation gives, in statistic_names order.
  std::vector<double> of(kernels::Aggregation aggregation) const;

 private:
  std::int64_t n_ = 0;
  double mean_ = 0, squares_ = 0;  // squares_: the sum of squared deviations from the mean
  double min_ = kNoValue, max_ = kNoValue;
};

/// The statistics an aggregation gives, in column order: mean, std, sem (Moments) or
/// min, max (Range).
std::span<const std::string_view> statistic_names(kernels::Aggregation aggregation);

/// The summary column of one statistic of one metric, e.g. "mean_df".
std::string statistic_column(std::string_view statistic, const kernels::MetricDefinition& metric);

/// The statistics of the finite values (NaNs are skipped), in statistic_names order; NaN
/// where a statistic is undefined (no values; a spread of one value).
std::vector<double> aggregate(kernels::Aggregation aggregation, std::span<const double> values);

/// The summary of one parameter point.
struct PointSummary {
  std::size_t point = 0;       ///< index into StudySpec::points
  std::int64_t n_samples = 0;  ///< completed tasks at this point
  std::int64_t n_failed = 0;   ///< failed tasks at this point
  /// Per metric (kMetrics order), its statistics in statistic_names order.
  std::array<std::vector<double>, kernels::kMetricCount> statistics;
};

/// A point's summary gathered one task record at a time.
class PointAccumulator {
 public:
  /// Everything it holds, to be saved and restored (the checkpoint journal).
  struct State {
    std::size_t point = 0;
    std::int64_t n_samples = 0, n_failed = 0;
    std::array<RunningStatistics::State, kernels::kMetricCount> metrics;
  };

  explicit PointAccumulator(std::size_t point = 0) : point_(point) {}
  explicit PointAccumulator(const State& state);
  State state() const;
  std::size_t point() const { return point_; }

  void add(const TaskRecord& record);
  /// A task added as `before` has the record `after` now. False, changing nothing, when a
  /// COMPLETED task is no longer (its values cannot be taken back); COMPLETED to COMPLETED
  /// changes nothing (a completed task's values never change).
  bool replace(const CountedState& before, const TaskRecord& after);
  PointSummary summary() const;

 private:
  std::size_t point_;
  std::int64_t n_samples_ = 0, n_failed_ = 0;
  std::array<RunningStatistics, kernels::kMetricCount> metrics_;
};

/// The summary of parameter point `point` from the records of its tasks.
PointSummary summarize_point(std::size_t point, RecordsView own);

/// One summary per point of `study`, from the records of its tasks in task_id order
/// (task i belongs to point i / repetitions).
std::vector<PointSummary> summarize(const StudySpec& study, RecordsView records);

}  // namespace fracstudy::study
