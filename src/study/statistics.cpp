#include "fracstudy/study/statistics.hpp"

#include <algorithm>
#include <cmath>

namespace fracstudy::study {
namespace {

constexpr std::string_view kMomentNames[] = {"mean", "std", "sem"};
constexpr std::string_view kRangeNames[] = {"min", "max"};

}  // namespace

void RunningStatistics::add(double value) {
  if (!std::isfinite(value)) return;
  ++n_;
  const double deviation = value - mean_;
  mean_ += deviation / static_cast<double>(n_);
  squares_ += deviation * (value - mean_);
  min_ = n_ == 1 ? value : std::min(min_, value);
  max_ = n_ == 1 ? value : std::max(max_, value);
}

Moments RunningStatistics::moments() const {
  Moments result;
  if (n_ == 0) return result;
  result.mean = mean_;
  if (n_ < 2) return result;
  result.std = std::sqrt(squares_ / static_cast<double>(n_ - 1));
  result.sem = result.std / std::sqrt(static_cast<double>(n_));
  return result;
}

std::vector<double> RunningStatistics::of(kernels::Aggregation aggregation) const {
  switch (aggregation) {
    case kernels::Aggregation::Moments: {
      const Moments m = moments();
      return {m.mean, m.std, m.sem};
    }
    case kernels::Aggregation::Range:
      return {min_, max_};
  }
  return {};
}

Moments moments(std::span<const double> values) {
  RunningStatistics statistics;
  for (double value : values)
    statistics.add(value);
  return statistics.moments();
}

std::span<const std::string_view> statistic_names(kernels::Aggregation aggregation) {
  switch (aggregation) {
    case kernels::Aggregation::Moments:
      return kMomentNames;
    case kernels::Aggregation::Range:
      return kRangeNames;
  }
  return {};
}

std::string statistic_column(std::string_view statistic, const kernels::MetricDefinition& metric) {
  return std::string(statistic) + "_" + std::string(metric.name);
}

std::vector<double> aggregate(kernels::Aggregation aggregation, std::span<const double> values) {
  RunningStatistics statistics;
  for (double value : values)
    statistics.add(value);
  return statistics.of(aggregation);
}

void PointAccumulator::add(const TaskRecord& record) {
  n_samples_ += record.status == TaskStatus::Completed;
  n_failed_ += record.status == TaskStatus::Failed;
  // Only completed tasks have values; the others count as missing.
  if (record.status != TaskStatus::Completed) return;
  for (std::size_t m = 0; m < kernels::kMetricCount; ++m)
    metrics_[m].add(record.metrics[m]);
}

PointAccumulator::PointAccumulator(const State& state)
    : point_(state.point), n_samples_(state.n_samples), n_failed_(state.n_failed) {
  for (std::size_t m = 0; m < kernels::kMetricCount; ++m)
    metrics_[m] = RunningStatistics(state.metrics[m]);
}

PointAccumulator::State PointAccumulator::state() const {
  State state{point_, n_samples_, n_failed_, {}};
  for (std::size_t m = 0; m < kernels::kMetricCount; ++m)
    state.metrics[m] = metrics_[m].state();
  return state;
}

bool PointAccumulator::replace(const CountedState& before, const TaskRecord& after) {
  if (before.status == TaskStatus::Completed) return after.status == TaskStatus::Completed;
  n_failed_ -= before.status == TaskStatus::Failed;
  add(after);
  return true;
}

PointSummary PointAccumulator::summary() const {
  PointSummary summary;
  summary.point = point_;
  summary.n_samples = n_samples_;
  summary.n_failed = n_failed_;
  for (std::size_t m = 0; m < kernels::kMetricCount; ++m)
    summary.statistics[m] = metrics_[m].of(kernels::kMetrics[m].aggregation);
  return summary;
}

PointSummary summarize_point(std::size_t point, RecordsView own) {
  PointAccumulator accumulator(point);
  own.for_each([&accumulator](const TaskRecord& record) { accumulator.add(record); });
  return accumulator.summary();
}

std::vector<PointSummary> summarize(const StudySpec& study, RecordsView records) {
  const auto repetitions = static_cast<std::size_t>(std::max(1, study.repetitions));
  std::vector<PointSummary> summaries;
  summaries.reserve(study.points.size());
  for (std::size_t p = 0; p < study.points.size(); ++p) {
    summaries.push_back(summarize_point(p, records.subview(p * repetitions, repetitions)));
  }
  return summaries;
}

}  // namespace fracstudy::study
