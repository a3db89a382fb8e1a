#include "fracstudy/kernels/metrics.hpp"

#include <cmath>
#include <cstdio>

namespace fracstudy::kernels {
namespace {

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

}  // namespace

std::optional<std::string> check_completed(const MetricValues& values) {
  for (std::size_t m = 0; m < kMetricCount; ++m) {
    const MetricDefinition& metric = kMetrics[m];
    const double value = values[m];
    if (std::isnan(value)) {
      if (metric.in_every_completed_task) return std::string(metric.name) + " is missing";
      continue;
    }
    if (!(value >= metric.lowest && value <= metric.highest)) {
      return std::string(metric.name) + " is " + number(value) + ", outside [" +
             number(metric.lowest) + ", " + number(metric.highest) + "]";
    }
  }
  return std::nullopt;
}

}  // namespace fracstudy::kernels
