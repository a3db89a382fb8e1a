#include "fracstudy/study/statistics.hpp"

#include <algorithm>
#include <cmath>

namespace fracstudy::study {
namespace {

constexpr std::string_view kMomentNames[] = {"mean", "std", "sem"};
constexpr std::string_view kRangeNames[] = {"min", "max"};

// The statistics are computed over `count` values read by `value(i)`, skipping NaN (and
// infinities): a summary reads the records in place, with no copy of the values.

template <typename Value>
Moments moments_of(std::size_t count, Value value) {
  double sum = 0;
  std::int64_t n = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const double v = value(i);
    if (std::isfinite(v)) {
      sum += v;
      ++n;
    }
  }
  Moments result;
  if (n == 0) return result;
  result.mean = sum / static_cast<double>(n);
  if (n < 2) return result;
  double squares = 0;  // two-pass for accuracy
  for (std::size_t i = 0; i < count; ++i) {
    const double v = value(i);
    if (std::isfinite(v)) squares += (v - result.mean) * (v - result.mean);
  }
  result.std = std::sqrt(squares / static_cast<double>(n - 1));
  result.sem = result.std / std::sqrt(static_cast<double>(n));
  return result;
}

template <typename Value>
std::vector<double> range_of(std::size_t count, Value value) {
  std::vector<double> range = {kNoValue, kNoValue};
  for (std::size_t i = 0; i < count; ++i) {
    const double v = value(i);
    if (!std::isfinite(v)) continue;
    range[0] = std::isnan(range[0]) ? v : std::min(range[0], v);
    range[1] = std::isnan(range[1]) ? v : std::max(range[1], v);
  }
  return range;
}

template <typename Value>
std::vector<double> aggregate_of(kernels::Aggregation aggregation, std::size_t count, Value value) {
  switch (aggregation) {
    case kernels::Aggregation::Moments: {
      const Moments m = moments_of(count, value);
      return {m.mean, m.std, m.sem};
    }
    case kernels::Aggregation::Range:
      return range_of(count, value);
  }
  return {};
}

}  // namespace

Moments moments(std::span<const double> values) {
  return moments_of(values.size(), [values](std::size_t i) { return values[i]; });
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
  return aggregate_of(aggregation, values.size(), [values](std::size_t i) { return values[i]; });
}

PointSummary summarize_point(std::size_t point, std::span<const TaskRecord> own) {
  PointSummary summary;
  summary.point = point;
  for (const TaskRecord& record : own) {
    summary.n_samples += record.status == TaskStatus::Completed;
    summary.n_failed += record.status == TaskStatus::Failed;
  }
  for (std::size_t m = 0; m < kernels::kMetricCount; ++m) {
    // Only completed tasks have values; the others count as missing.
    summary.statistics[m] =
        aggregate_of(kernels::kMetrics[m].aggregation, own.size(), [own, m](std::size_t i) {
          return own[i].status == TaskStatus::Completed ? own[i].metrics[m] : kNoValue;
        });
  }
  return summary;
}

std::vector<PointSummary> summarize(const StudySpec& study, std::span<const TaskRecord> records) {
  const auto repetitions = static_cast<std::size_t>(std::max(1, study.repetitions));
  std::vector<PointSummary> summaries;
  summaries.reserve(study.points.size());
  for (std::size_t p = 0; p < study.points.size(); ++p) {
    const std::size_t first = std::min(records.size(), p * repetitions);
    summaries.push_back(
        summarize_point(p, records.subspan(first, std::min(repetitions, records.size() - first))));
  }
  return summaries;
}

}  // namespace fracstudy::study
