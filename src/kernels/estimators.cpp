#include "fracstudy/kernels/estimators.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "fracstudy/kernels/fractal_fit.hpp"
#include "fracstudy/kernels/random.hpp"

namespace fracstudy::kernels {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kPointsPerDecade = 10;
constexpr std::int64_t kMaxPairs = 1'000'000;
constexpr double kBinWidth = 0.2;  // in particle radii
constexpr double kBinsPerRadius = 1 / kBinWidth;

/// Log-spaced values from `low` to `high`, kPointsPerDecade a decade, both ends included.
std::vector<double> log_spaced(double low, double high) {
  const int steps =
      std::max(1, static_cast<int>(std::ceil(kPointsPerDecade * std::log10(high / low))));
  std::vector<double> values;
  for (int k = 0; k <= steps; ++k) {
    values.push_back(low * std::pow(high / low, static_cast<double>(k) / steps));
  }
  return values;
}

/// The slope fit of log y against log x, its sub-window error and window.
DimensionEstimate fit_dimension(const std::vector<double>& x, const std::vector<double>& y,
                                SlopeMeaning meaning, double window_min, double window_max) {
  DimensionEstimate estimate;
  estimate.window_min = window_min;
  estimate.window_max = window_max;
  std::vector<double> log_x, log_y;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!(x[i] > 0) || !(y[i] > 0)) continue;
    log_x.push_back(std::log(x[i]));
    log_y.push_back(std::log(y[i]));
  }
  estimate.n_points = static_cast<std::int64_t>(log_x.size());
  if (log_x.size() < 3) return estimate;
  estimate.df = dimension_of_slope(least_squares_slope(log_x, log_y), meaning);
  estimate.df_err = subwindow_df_error(log_x, log_y, meaning);
  return estimate;
}

/// The distance of centres i and j. `dims` is a std::size_t or, for 2 and 3 dimensions, a
/// compile-time constant (a tight inner loop, a third faster in the drawn-pair loop,
/// measured): with_dims passes the one that fits.
template <typename Dims>
double distance(std::span<const double> centres, Dims dims, std::size_t i, std::size_t j) {
  double sum = 0;
  for (std::size_t k = 0; k < dims; ++k) {
    const double delta = centres[i * dims + k] - centres[j * dims + k];
    sum += delta * delta;
  }
  return std::sqrt(sum);
}

/// Calls body(dims) with the dimension count as a compile-time constant for 2 and 3.
template <typename Body>
void with_dims(std::size_t d, Body&& body) {
  if (d == 2) {
    body(std::integral_constant<std::size_t, 2>{});
  } else if (d == 3) {
    body(std::integral_constant<std::size_t, 3>{});
  } else {
    body(d);
  }
}

/// The length of the diagonal of the centres' bounding box: no pair is further apart.
double bounding_diagonal(std::span<const double> centres, std::size_t d) {
  double sum = 0;
  for (std::size_t k = 0; k < d; ++k) {
    double low = std::numeric_limits<double>::infinity(), high = -low;
    for (std::size_t i = k; i < centres.size(); i += d) {
      low = std::min(low, centres[i]);
      high = std::max(high, centres[i]);
    }
    sum += (high - low) * (high - low);
  }
  return std::sqrt(sum);
}

/// Pair distances in bins of kBinWidth: how many pairs each bin holds and their mean
/// distance. The Debye sum takes each bin at its mean, not its centre: on a lattice (Eden)
/// every pair of a bin has the same distance, often at the bin's edge, and the centre put
/// S(q) 7 % off at q Rg = 10 (measured on a 500-particle Eden cluster).
struct PairHistogram {
  std::vector<double> counts;
  std::vector<double> mean_distance;
};

/// The histogram of pair distances: all pairs, or kMaxPairs drawn.
PairHistogram pair_distance_histogram(std::span<const double> centres, std::size_t d) {
  const std::size_t n = centres.size() / d;
  // Integer counts, sized once from the bounding box's diagonal (no distance is longer):
  // the increment is then a single integer add, the loop's bottleneck (measured).
  const auto bins = static_cast<std::size_t>(bounding_diagonal(centres, d) * kBinsPerRadius) + 2;
  std::vector<std::uint32_t> counts(bins, 0);
  std::vector<double> sums(bins, 0.0);
  const auto add = [&counts, &sums](double r) {
    const auto bin = static_cast<std::size_t>(r * kBinsPerRadius);
    ++counts[bin];
    sums[bin] += r;
  };
  const auto histogram = [&counts, &sums] {
    PairHistogram result{{counts.begin(), counts.end()}, std::move(sums)};
    for (std::size_t bin = 0; bin < counts.size(); ++bin) {
      if (counts[bin] > 0) result.mean_distance[bin] /= counts[bin];
    }
    return result;
  };
  const auto pairs = static_cast<double>(n) * static_cast<double>(n - 1) / 2;
  if (pairs <= static_cast<double>(kMaxPairs)) {
    with_dims(d, [&](auto dims) {
      for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = i + 1; j < n; ++j)
          add(distance(centres, dims, i, j));
      }
    });
    return histogram();
  }
  // Stratified over the first particle of a pair: every particle (or, past kMaxPairs
  // particles, evenly spaced ones) starts the same number of pairs, kMaxPairs / N rounded
  // down, and only the partner is drawn. Each pair is as likely as in uniform drawing, the
  // variance from particle to particle (core against rim) is sampled evenly, and the first
  // particle's coordinates are read in order, not from a random place of memory.
  Rng rng(0x5eedf00d ^ static_cast<std::uint64_t>(n));
  const auto firsts = std::min<std::size_t>(n, kMaxPairs);
  const auto step = static_cast<double>(n) / static_cast<double>(firsts);
  const auto pairs_each = static_cast<std::size_t>(kMaxPairs) / firsts;
  with_dims(d, [&](auto dims) {
    for (std::size_t k = 0; k < firsts; ++k) {
      const auto i = static_cast<std::size_t>(static_cast<double>(k) * step);
      for (std::size_t drawn = 0; drawn < pairs_each; ++drawn) {
        auto j = static_cast<std::size_t>(rng.below(n - 1));
        j += j >= i;  // any particle but i
        add(distance(centres, dims, i, j));
      }
    }
  });
  return histogram();
}

/// S(q) - 1, the pairs' part of the Debye formula, (N-1) <sin(q r)/(q r)> over the pairs of
/// the histogram, each bin at its mean distance.
double pairs_part(const PairHistogram& histogram, std::size_t n, double q) {
  double sum = 0, pairs = 0;
  for (std::size_t bin = 0; bin < histogram.counts.size(); ++bin) {
    const double count = histogram.counts[bin];
    if (count == 0) continue;
    const double x = q * histogram.mean_distance[bin];
    sum += count * std::sin(x) / x;
    pairs += count;
  }
  return static_cast<double>(n - 1) * sum / pairs;
}

}  // namespace

std::vector<double> structure_factor_grid() {
  std::vector<double> q_rg;
  for (int k = -kStructureFactorGridPerDecade; k <= 3 * kStructureFactorGridPerDecade; ++k)
    q_rg.push_back(std::pow(10.0, static_cast<double>(k) / kStructureFactorGridPerDecade));
  return q_rg;
}

std::vector<double> structure_factor_curve(std::span<const double> centres, int dimension,
                                           double rg) {
  const auto d = static_cast<std::size_t>(dimension);
  const std::size_t n = centres.size() / d;
  auto curve = structure_factor_grid();
  if (n < 2 || !(rg > 0)) {
    std::fill(curve.begin(), curve.end(), kNaN);
    return curve;
  }
  const auto histogram = pair_distance_histogram(centres, d);
  for (double& point : curve) {
    const double q = point / rg;
    point = q <= kStructureFactorCurveMaxQa ? pairs_part(histogram, n, q) : kNaN;
  }
  return curve;
}

ClusterDimensions cluster_dimensions(std::span<const double> centres, int dimension, double rg) {
  const auto d = static_cast<std::size_t>(dimension);
  const std::size_t n = centres.size() / d;
  ClusterDimensions dimensions;
  const double inner = std::max(kMassRadiusInnerRadius, kMassRadiusInnerFraction * rg);
  const double outer = kMassRadiusOuterFraction * rg;
  const double q_min = kStructureFactorMinQRg / rg, q_max = kStructureFactorMaxQa;
  dimensions.mass_radius = {kNaN, kNaN, inner, outer, 0};
  dimensions.structure_factor = {kNaN, kNaN, kStructureFactorMinQRg, q_max * rg, 0};
  const bool mass_radius_fits = outer >= 3 * inner;
  const bool structure_factor_fits = q_max >= 2.5 * q_min;
  if (n < 10 || !(mass_radius_fits || structure_factor_fits)) return dimensions;
  const auto histogram = pair_distance_histogram(centres, d);
  double pairs = 0;
  for (double count : histogram.counts)
    pairs += count;
  const double others = static_cast<double>(n - 1);
  if (mass_radius_fits) {
    // M(r) = (N-1) F(r), F the fraction of pairs closer than r: cumulative bins.
    const auto& counts = histogram.counts;
    std::vector<double> cumulative(counts.size() + 1, 0.0);
    for (std::size_t bin = 0; bin < counts.size(); ++bin)
      cumulative[bin + 1] = cumulative[bin] + counts[bin];
    const auto r = log_spaced(inner, outer);
    std::vector<double> mass;
    for (double radius : r) {
      const auto bins = std::min(counts.size(), static_cast<std::size_t>(radius / kBinWidth));
      mass.push_back(others * cumulative[bins] / pairs);
    }
    dimensions.mass_radius = fit_dimension(r, mass, SlopeMeaning::Dimension, inner, outer);
  }
  if (structure_factor_fits) {
    const auto q = log_spaced(q_min, q_max);
    std::vector<double> q_rg, s;
    for (double wave : q) {
      q_rg.push_back(wave * rg);
      s.push_back(pairs_part(histogram, n, wave));
    }
    dimensions.structure_factor =
        fit_dimension(q_rg, s, SlopeMeaning::NegativeDimension, kStructureFactorMinQRg, q_max * rg);
  }
  return dimensions;
}

}  // namespace fracstudy::kernels
