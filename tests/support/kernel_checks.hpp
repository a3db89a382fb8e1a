#pragma once
// Helpers shared by the kernels' unit tests: distances between particles and the mean and
// standard error of a small ensemble.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace fracstudy::testing {

/// Distance between particles i and j of row-major positions.
inline double distance(const std::vector<double>& positions, int dimension, std::size_t i,
                       std::size_t j) {
  const auto d = static_cast<std::size_t>(dimension);
  double sum_sq = 0;
  for (std::size_t k = 0; k < d; ++k) {
    const double delta = positions[i * d + k] - positions[j * d + k];
    sum_sq += delta * delta;
  }
  return std::sqrt(sum_sq);
}

/// Mean and standard error of the mean.
struct Estimate {
  double mean, sem;
};

/// The mean and its standard error over an ensemble.
inline Estimate estimate(const std::vector<double>& values) {
  const auto n = static_cast<double>(values.size());
  double sum = 0, sum_sq = 0;
  for (double v : values) {
    sum += v;
    sum_sq += v * v;
  }
  const double mean = sum / n;
  const double variance = std::max(0.0, (sum_sq - n * mean * mean) / (n - 1));
  return {mean, std::sqrt(variance / n)};
}

}  // namespace fracstudy::testing
