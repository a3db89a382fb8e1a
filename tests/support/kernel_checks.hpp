#pragma once
// Helpers shared by the kernels' unit tests: distances between particles, the checks every
// kernel's contract repeats, and the mean and standard error of a small ensemble.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "fracstudy/kernels/simulation.hpp"

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

/// Two runs of the same parameters and seed gave the same cluster, to the last bit.
inline void expect_identical(const kernels::SimulationResult& a,
                             const kernels::SimulationResult& b) {
  EXPECT_EQ(a.positions, b.positions);
  EXPECT_EQ(a.rg, b.rg);
  EXPECT_EQ(a.fit.df, b.fit.df);
  EXPECT_EQ(a.fit.kf, b.fit.kf);
}

/// The cluster holds exactly the `n` particles asked for.
inline void expect_particle_count(const kernels::SimulationResult& result, int dimension,
                                  std::int64_t n) {
  EXPECT_EQ(result.n_particles, n);
  EXPECT_EQ(result.positions.size(), static_cast<std::size_t>(n * dimension));
  EXPECT_GE(result.rg, 0.0);
}

/// Brute force over all pairs of an off-lattice cluster grown one particle at a time: the
/// seed sits at the origin, each later particle touches one before it (it stuck to the
/// cluster as it was), and none overlaps another.
inline void expect_grown_by_contact(const kernels::SimulationResult& result, int dimension,
                                    double radius) {
  const auto count = static_cast<std::size_t>(result.n_particles);
  for (std::size_t k = 0; k < static_cast<std::size_t>(dimension); ++k) {
    EXPECT_EQ(result.positions[k], 0.0) << "the seed sits at the origin";
  }
  for (std::size_t i = 1; i < count; ++i) {
    double nearest_earlier = std::numeric_limits<double>::infinity();
    for (std::size_t j = 0; j < count; ++j) {
      if (j == i) continue;
      const double d = distance(result.positions, dimension, i, j);
      ASSERT_GE(d, 2 * radius - 1e-9) << "particles " << i << " and " << j << " overlap";
      if (j < i) nearest_earlier = std::min(nearest_earlier, d);
    }
    ASSERT_LE(nearest_earlier, 2 * radius * (1 + 1e-6)) << "particle " << i << " floats";
  }
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
