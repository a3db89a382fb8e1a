#include "fracstudy/kernels/estimators.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "fracstudy/kernels/fractal_fit.hpp"
#include "fracstudy/kernels/random.hpp"

namespace fracstudy::kernels {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kPointsPerDecade = 10;
constexpr std::int64_t kMaxPairs = 1'000'000;
constexpr double kBinWidth = 0.2;  // in particle radii

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

double distance(std::span<const double> centres, std::size_t d, std::size_t i, std::size_t j) {
  double sum = 0;
  for (std::size_t k = 0; k < d; ++k) {
    const double delta = centres[i * d + k] - centres[j * d + k];
    sum += delta * delta;
  }
  return std::sqrt(sum);
}

/// The histogram of pair distances (bins of kBinWidth): all pairs, or kMaxPairs drawn.
std::vector<double> pair_distance_histogram(std::span<const double> centres, std::size_t d) {
  const std::size_t n = centres.size() / d;
  std::vector<double> histogram;
  const auto add = [&histogram](double r) {
    const auto bin = static_cast<std::size_t>(r / kBinWidth);
    if (bin >= histogram.size()) histogram.resize(bin + 1, 0.0);
    histogram[bin] += 1;
  };
  const auto pairs = static_cast<double>(n) * static_cast<double>(n - 1) / 2;
  if (pairs <= static_cast<double>(kMaxPairs)) {
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = i + 1; j < n; ++j)
        add(distance(centres, d, i, j));
    }
    return histogram;
  }
  Rng rng(0x5eedf00d ^ static_cast<std::uint64_t>(n));
  for (std::int64_t drawn = 0; drawn < kMaxPairs;) {
    const auto i = static_cast<std::size_t>(rng.below(n));
    const auto j = static_cast<std::size_t>(rng.below(n));
    if (i == j) continue;
    add(distance(centres, d, i, j));
    ++drawn;
  }
  return histogram;
}

}  // namespace

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
  for (double count : histogram)
    pairs += count;
  const double others = static_cast<double>(n - 1);
  if (mass_radius_fits) {
    // M(r) = (N-1) F(r), F the fraction of pairs closer than r: cumulative bins.
    std::vector<double> cumulative(histogram.size() + 1, 0.0);
    for (std::size_t bin = 0; bin < histogram.size(); ++bin)
      cumulative[bin + 1] = cumulative[bin] + histogram[bin];
    const auto r = log_spaced(inner, outer);
    std::vector<double> mass;
    for (double radius : r) {
      const auto bins = std::min(histogram.size(), static_cast<std::size_t>(radius / kBinWidth));
      mass.push_back(others * cumulative[bins] / pairs);
    }
    dimensions.mass_radius = fit_dimension(r, mass, SlopeMeaning::Dimension, inner, outer);
  }
  if (structure_factor_fits) {
    const auto q = log_spaced(q_min, q_max);
    std::vector<double> q_rg, s;
    for (double wave : q) {
      double sum = 0;  // sum over bins of count * sin(q r)/(q r) at the bin's centre
      for (std::size_t bin = 0; bin < histogram.size(); ++bin) {
        if (histogram[bin] == 0) continue;
        const double x = wave * (static_cast<double>(bin) + 0.5) * kBinWidth;
        sum += histogram[bin] * std::sin(x) / x;
      }
      q_rg.push_back(wave * rg);
      s.push_back(others * sum / pairs);  // S(q) - 1: the pairs' part
    }
    dimensions.structure_factor =
        fit_dimension(q_rg, s, SlopeMeaning::NegativeDimension, kStructureFactorMinQRg, q_max * rg);
  }
  return dimensions;
}

}  // namespace fracstudy::kernels
