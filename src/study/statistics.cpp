#include "fracstudy/study/statistics.hpp"

#include <algorithm>
#include <cmath>

namespace fracstudy::study {
namespace {

constexpr std::string_view kMomentNames[] = {"mean", "std", "sem"};
constexpr std::string_view kRangeNames[] = {"min", "max"};

std::vector<double> range_of(std::span<const double> values) {
  std::vector<double> range = {kNoValue, kNoValue};
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    range[0] = std::isnan(range[0]) ? v : std::min(range[0], v);
    range[1] = std::isnan(range[1]) ? v : std::max(range[1], v);
  }
  return range;
}

}  // namespace

Moments moments(std::span<const double> values) {
  double sum = 0;
  std::int64_t n = 0;
  for (double v : values) {
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
  for (double v : values) {
    if (std::isfinite(v)) squares += (v - result.mean) * (v - result.mean);
  }
  result.std = std::sqrt(squares / static_cast<double>(n - 1));
  result.sem = result.std / std::sqrt(static_cast<double>(n));
  return result;
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
  switch (aggregation) {
    case kernels::Aggregation::Moments: {
      const Moments m = moments(values);
      return {m.mean, m.std, m.sem};
    }
    case kernels::Aggregation::Range:
      return range_of(values);
  }
  return {};
}

std::vector<PointSummary> summarize(const StudySpec& study, std::span<const TaskRecord> records) {
  const std::size_t points = study.points.size();
  const auto repetitions = static_cast<std::size_t>(std::max(1, study.repetitions));
  std::vector<PointSummary> summaries(points);
  // Per point, per metric: the values of its completed tasks.
  std::vector<std::array<std::vector<double>, kernels::kMetricCount>> values(points);
  for (std::size_t i = 0; i < records.size() && i / repetitions < points; ++i) {
    const std::size_t p = i / repetitions;
    const TaskRecord& record = records[i];
    if (record.status == TaskStatus::Failed) ++summaries[p].n_failed;
    if (record.status != TaskStatus::Completed) continue;
    ++summaries[p].n_samples;
    for (std::size_t m = 0; m < kernels::kMetricCount; ++m) {
      values[p][m].push_back(record.metrics[m]);
    }
  }
  for (std::size_t p = 0; p < points; ++p) {
    summaries[p].point = p;
    for (std::size_t m = 0; m < kernels::kMetricCount; ++m) {
      summaries[p].statistics[m] = aggregate(kernels::kMetrics[m].aggregation, values[p][m]);
    }
  }
  return summaries;
}

}  // namespace fracstudy::study
