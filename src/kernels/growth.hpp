#pragma once
/// What every growth kernel shares (private to the kernels): the running radius of
/// gyration and growth history, the deadline check, the conversion of a grown cluster into
/// a SimulationResult, and the one driver of the particle–cluster models.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "brownian.hpp"
#include "fracstudy/kernels/fractal_fit.hpp"
#include "fracstudy/kernels/models.hpp"
#include "fracstudy/kernels/simulation.hpp"

namespace fracstudy::kernels::detail {

/// Growth-history samples per decade of N.
inline constexpr int kSamplesPerDecade = 10;

/// The radius of gyration of a growing set of points, from running sums, recorded at
/// chosen sizes.
template <std::size_t D>
class GrowthHistory {
 public:
  /// Records Rg whenever the size reaches one of `sample_sizes` (ascending).
  explicit GrowthHistory(std::vector<std::int64_t> sample_sizes)
      : sample_sizes_(std::move(sample_sizes)) {}

  /// Adds a point; records Rg when the new size is a sample size.
  void add(const Vec<D>& x) {
    for (std::size_t k = 0; k < D; ++k) {
      sum_position_[k] += x[k];
    }
    sum_norm_sq_ += dot<D>(x, x);
    ++size_;
    while (next_sample_ < sample_sizes_.size() && sample_sizes_[next_sample_] <= size_) {
      if (sample_sizes_[next_sample_] == size_) samples_.push_back({size_, rg()});
      ++next_sample_;
    }
  }

  /// Points added so far.
  std::int64_t size() const { return size_; }
  /// Rg at the sample sizes reached so far.
  const std::vector<GrowthSample>& samples() const { return samples_; }

  /// Rg from the running sums: Rg^2 = <|x|^2> - |<x>|^2.
  double rg() const {
    const auto n = static_cast<double>(size_);
    const Vec<D> mean = scaled<D>(1.0 / n, sum_position_);
    return std::sqrt(std::max(0.0, sum_norm_sq_ / n - dot<D>(mean, mean)));
  }

 private:
  std::vector<std::int64_t> sample_sizes_;
  std::size_t next_sample_ = 0;
  std::int64_t size_ = 0;
  Vec<D> sum_position_{};
  double sum_norm_sq_ = 0;
  std::vector<GrowthSample> samples_;
};

/// Counts units of work and, every `period` of them, throws DeadlineExceeded if the
/// deadline has passed: reading the clock that rarely costs nothing measurable.
class DeadlineCheck {
 public:
  /// Checks `deadline` every `period` calls of tick().
  DeadlineCheck(Deadline deadline, std::int64_t period)
      : deadline_(deadline), period_(period), left_(period) {}

  /// Counts one unit of work.
  void tick() {
    if (--left_ > 0) return;
    left_ = period_;
    if (deadline_.expired()) throw DeadlineExceeded();
  }

 private:
  Deadline deadline_;
  std::int64_t period_;
  std::int64_t left_;
};

/// The smallest size in the df fit of an off-lattice particle–cluster aggregate of n
/// particles (DLA, BALLISTIC): the last two decades of growth, max(100, N/100) <= n <= N.
///  - The floor of 100 drops the first particles, whose Rg reflects the seed's
///    neighbourhood more than the fractal: fitting 3D DLA clusters of 10^4 from n = 10 reads
///    df = 2.42, from n = 30 2.47, from 100 or more 2.49-2.50 (60 clusters, sem 0.01).
///  - Two decades keep enough lever arm for a stable slope; a window ending at N follows
///    the cluster as it grows. Measured DLA ensemble means (2D, 100 clusters of 10^4) were
///    1.704, 1.706 and 1.712 (sem 0.005) for windows starting at 100, 300 and 1000, and
///    1.703 / 1.699 for 16 clusters of 10^5 starting at 100 / 1000: not critical.
/// Clusters under 1000 particles have no two decades to fit: they get their last decade,
/// max(10, N/10) <= n <= N (continuous with the rule above at N = 1000), so a sweep that
/// starts at small sizes still reads a df, with the small-cluster bias that physically
/// belongs to it. Under 10 particles df is NaN.
inline std::int64_t two_decade_fit_start(std::int64_t n) {
  constexpr std::int64_t kFitFloor = 100;
  constexpr std::int64_t kFitSpan = 100;  // the fit starts at N / 100: two decades below N
  constexpr std::int64_t kSmallClusterLimit = 1000;
  constexpr std::int64_t kSmallFitFloor = 10;
  constexpr std::int64_t kSmallFitSpan = 10;  // small clusters: one decade below N
  if (n < kSmallClusterLimit) return std::max(kSmallFitFloor, n / kSmallFitSpan);
  return std::max(kFitFloor, n / kFitSpan);
}

/// The centres as one row-major array of coordinates (the result's positions).
template <std::size_t D>
std::vector<double> flattened(std::span<const Vec<D>> centres) {
  std::vector<double> positions;
  positions.reserve(centres.size() * D);
  for (const Vec<D>& centre : centres) {
    positions.insert(positions.end(), centre.begin(), centre.end());
  }
  return positions;
}

/// The result of a cluster grown with particle radius 1, from its centres' coordinates
/// (row-major): positions and rg scaled by `particle_radius` at the very end (so rg is
/// exactly proportional to it for a seed), df and kf from `fit` (both in units of the
/// radius).
template <std::size_t D>
SimulationResult cluster_result(std::vector<double> positions, double particle_radius,
                                const PowerLawFit& fit) {
  SimulationResult result;
  result.n_particles = static_cast<std::int64_t>(positions.size() / D);
  result.positions = std::move(positions);
  const double rg = radius_of_gyration(result.positions, static_cast<int>(D));
  result.rg = rg * particle_radius;
  // The other estimators of df, from the cluster in units of the particle radius.
  const auto dimensions = cluster_dimensions(result.positions, static_cast<int>(D), rg);
  result.mass_radius = dimensions.mass_radius;
  result.structure_factor = dimensions.structure_factor;
  for (double& coordinate : result.positions) {
    coordinate *= particle_radius;
  }
  result.fit = fit;
  return result;
}

/// The df fit of DLA and BALLISTIC: a straight line through log Rg against log N over the
/// last two decades of growth (see two_decade_fit_start).
inline PowerLawFit fit_last_two_decades(std::span<const GrowthSample> history, std::int64_t n) {
  return fit_power_law(history, two_decade_fit_start(n), n);
}

/// Calls `body(std::integral_constant<std::size_t, D>{})` with D the simulation's dimension,
/// 2 or 3 (checked before): the kernels are templates on the dimension.
template <typename Body>
SimulationResult in_dimension(int dimension, Body&& body) {
  if (dimension == 2) return body(std::integral_constant<std::size_t, 2>{});
  return body(std::integral_constant<std::size_t, 3>{});
}

/// The one driver of the particle–cluster models (DLA, BALLISTIC, EDEN): checks the
/// parameters against the model's rules, grows the aggregate with Growth<D>, fits df with
/// Growth<D>::fit over its growth history, and returns the cluster with its metrics.
///
/// Growth<D> is constructed from (parameters, seed, deadline) and has grow(n), history()
/// (Rg at log-spaced sizes), take_centres() (in particle radii; ends the growth) and a
/// static fit(history, n).
template <template <std::size_t> class Growth>
SimulationResult grow_and_measure(Algorithm algorithm, const SimulationParameters& parameters,
                                  std::uint64_t seed, Deadline deadline) {
  check_parameters(algorithm, parameters);
  if (deadline.expired()) throw DeadlineExceeded();
  return in_dimension(parameters.dimension, [&](auto dimension) {
    constexpr std::size_t D = decltype(dimension)::value;
    PowerLawFit fit;
    // The growth's structures (an occupancy grid: gigabytes at 10^8) are freed before the
    // cluster is measured: only its centres are kept.
    // The centres are copied into the result's positions and freed before the estimators
    // run (at 10^8 in 2D, centres, positions and the estimators' arrays together were the
    // run's peak).
    std::vector<double> positions = [&] {
      Growth<D> growth(parameters, seed, deadline);
      growth.grow(parameters.n_particles);
      fit = Growth<D>::fit(growth.history(), parameters.n_particles);
      const auto centres = growth.take_centres();
      return flattened<D>(centres);
    }();
    return cluster_result<D>(std::move(positions), parameters.particle_radius, fit);
  });
}

}  // namespace fracstudy::kernels::detail
