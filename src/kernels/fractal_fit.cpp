#include "fracstudy/kernels/fractal_fit.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <map>
#include <stdexcept>

namespace fracstudy::kernels {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Whether a sample can enter a log-log fit: both logarithms must exist.
bool is_loggable(const GrowthSample& sample) {
  return sample.n > 0 && sample.rg > 0 && std::isfinite(sample.rg);
}

/// A straight line y = intercept + slope x and its residual sum of squares.
struct Line {
  double intercept, slope, residual;
};

/// Least-squares line through the points (x, y), from centred sums.
Line fit_line(std::span<const double> x, std::span<const double> y) {
  const auto count = static_cast<double>(x.size());
  double mean_x = 0, mean_y = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    mean_x += x[i] / count;
    mean_y += y[i] / count;
  }
  double sxx = 0, sxy = 0, syy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxx += (x[i] - mean_x) * (x[i] - mean_x);
    sxy += (x[i] - mean_x) * (y[i] - mean_y);
    syy += (y[i] - mean_y) * (y[i] - mean_y);
  }
  const double slope = sxy / sxx;
  return {mean_y - slope * mean_x, slope, std::max(0.0, syy - slope * sxy)};
}

/// The line of Rg against N^exponent through the samples.
Line fit_offset_line(std::span<const double> n, std::span<const double> rg, double exponent) {
  std::vector<double> powers(n.size());
  for (std::size_t i = 0; i < n.size(); ++i) {
    powers[i] = std::pow(n[i], exponent);
  }
  return fit_line(powers, rg);
}

/// log N and log Rg of the loggable samples in [n_min, n_max].
void log_samples(std::span<const GrowthSample> samples, std::int64_t n_min, std::int64_t n_max,
                 std::vector<double>& log_n, std::vector<double>& log_rg) {
  for (const GrowthSample& sample : samples) {
    if (sample.n < n_min || sample.n > n_max || !is_loggable(sample)) continue;
    log_n.push_back(std::log(static_cast<double>(sample.n)));
    log_rg.push_back(std::log(sample.rg));
  }
}

}  // namespace

double least_squares_slope(std::span<const double> x, std::span<const double> y) {
  return fit_line(x, y).slope;
}

double dimension_of_slope(double slope, SlopeMeaning meaning) {
  switch (meaning) {
    case SlopeMeaning::InverseDimension:
      return slope > 0 ? 1.0 / slope : kNaN;
    case SlopeMeaning::Dimension:
      return slope > 0 ? slope : kNaN;
    case SlopeMeaning::NegativeDimension:
      return slope < 0 ? -slope : kNaN;
  }
  return kNaN;
}

double subwindow_df_error(std::span<const double> x, std::span<const double> y,
                          SlopeMeaning meaning, int pieces) {
  if (x.size() != y.size() || x.size() < 4 || pieces < 2) return kNaN;
  const auto [low, high] = std::minmax_element(x.begin(), x.end());
  const double width = (*high - *low) / pieces;
  if (!(width > 0)) return kNaN;
  std::vector<double> dimensions;
  for (int k = 0; k < pieces; ++k) {
    // Window k holds low + k*width <= x < low + (k+1)*width (the last one closed).
    std::vector<double> xs, ys;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const int piece = std::min(pieces - 1, static_cast<int>((x[i] - *low) / width));
      if (piece != k) continue;
      xs.push_back(x[i]);
      ys.push_back(y[i]);
    }
    if (xs.size() < 2 || *std::max_element(xs.begin(), xs.end()) == xs.front()) continue;
    const double df = dimension_of_slope(fit_line(xs, ys).slope, meaning);
    if (std::isfinite(df)) dimensions.push_back(df);
  }
  if (dimensions.size() < 2) return kNaN;
  const auto count = static_cast<double>(dimensions.size());
  double mean = 0;
  for (double df : dimensions)
    mean += df / count;
  double squares = 0;
  for (double df : dimensions)
    squares += (df - mean) * (df - mean);
  return std::sqrt(squares / (count - 1)) / std::sqrt(count);
}

PowerLawFit fit_power_law(std::span<const GrowthSample> samples, std::int64_t n_min,
                          std::int64_t n_max) {
  // Centred sums (mean first, then deviations) keep the slope accurate even though
  // log N and log Rg are far from zero.
  double sum_x = 0, sum_y = 0;
  std::int64_t count = 0, used_min = 0, used_max = 0;
  for (const GrowthSample& sample : samples) {
    if (sample.n < n_min || sample.n > n_max || !is_loggable(sample)) continue;
    sum_x += std::log(static_cast<double>(sample.n));
    sum_y += std::log(sample.rg);
    used_min = count == 0 ? sample.n : std::min(used_min, sample.n);
    used_max = count == 0 ? sample.n : std::max(used_max, sample.n);
    ++count;
  }
  PowerLawFit fit{kNaN, kNaN, used_min, used_max, count};
  if (count < 2 || used_min == used_max) return fit;  // one size fixes no slope

  const double mean_x = sum_x / static_cast<double>(count);
  const double mean_y = sum_y / static_cast<double>(count);
  double sxx = 0, sxy = 0;
  for (const GrowthSample& sample : samples) {
    if (sample.n < n_min || sample.n > n_max || !is_loggable(sample)) continue;
    const double dx = std::log(static_cast<double>(sample.n)) - mean_x;
    sxx += dx * dx;
    sxy += dx * (std::log(sample.rg) - mean_y);
  }
  const double slope = sxy / sxx;  // d log Rg / d log N = 1 / df
  if (!(slope > 0)) return fit;    // Rg not growing with N: no fractal power law
  fit.df = 1.0 / slope;
  // log N = log kf + df log Rg holds at the centroid (mean_x, mean_y) of the fit.
  fit.kf = std::exp(mean_x - fit.df * mean_y);
  std::vector<double> log_n, log_rg;
  log_samples(samples, n_min, n_max, log_n, log_rg);
  fit.df_err = subwindow_df_error(log_n, log_rg, SlopeMeaning::InverseDimension);
  return fit;
}

OffsetPowerLawFit fit_power_law_with_offset(std::span<const GrowthSample> samples,
                                            std::int64_t n_min, std::int64_t n_max) {
  std::vector<double> n, rg;
  for (const GrowthSample& sample : samples) {
    if (sample.n < n_min || sample.n > n_max || !is_loggable(sample)) continue;
    if (!n.empty() && static_cast<double>(sample.n) == n.back()) continue;  // one per size
    n.push_back(static_cast<double>(sample.n));
    rg.push_back(sample.rg);
  }
  OffsetPowerLawFit fit{{kNaN, kNaN, 0, 0}, kNaN};
  if (n.empty()) return fit;
  fit.power_law.n_min = static_cast<std::int64_t>(*std::min_element(n.begin(), n.end()));
  fit.power_law.n_max = static_cast<std::int64_t>(*std::max_element(n.begin(), n.end()));
  fit.power_law.n_points = static_cast<std::int64_t>(n.size());
  if (n.size() < 3) return fit;  // three parameters need three sizes

  // Golden-section search for the exponent 1/df in [1/20, 1]; the residual of the best
  // line is smooth and, for data near a power law, has a single minimum there.
  constexpr double kLowest = 1.0 / 20, kHighest = 1.0;
  constexpr int kIterations = 80;  // shrinks the bracket by 0.618^80 ~ 2e-17
  const double ratio = (std::sqrt(5.0) - 1.0) / 2.0;
  double lo = kLowest, hi = kHighest;
  double a = hi - ratio * (hi - lo), b = lo + ratio * (hi - lo);
  double residual_a = fit_offset_line(n, rg, a).residual;
  double residual_b = fit_offset_line(n, rg, b).residual;
  for (int i = 0; i < kIterations; ++i) {
    if (residual_a <= residual_b) {
      hi = b;
      b = a;
      residual_b = residual_a;
      a = hi - ratio * (hi - lo);
      residual_a = fit_offset_line(n, rg, a).residual;
    } else {
      lo = a;
      a = b;
      residual_a = residual_b;
      b = lo + ratio * (hi - lo);
      residual_b = fit_offset_line(n, rg, b).residual;
    }
  }
  const double exponent = 0.5 * (lo + hi);
  const double edge = 1e-6;
  if (exponent < kLowest + edge || exponent > kHighest - edge) return fit;  // no interior minimum
  const Line line = fit_offset_line(n, rg, exponent);
  if (!(line.slope > 0)) return fit;  // Rg not growing with N
  fit.power_law.df = 1.0 / exponent;
  fit.power_law.kf = std::pow(line.slope, -fit.power_law.df);
  fit.offset = line.intercept;
  // The error of the local slope d log(Rg - B) / d log N over the same window.
  std::vector<double> log_n, log_rg;
  for (std::size_t i = 0; i < n.size(); ++i) {
    if (!(rg[i] - fit.offset > 0)) continue;
    log_n.push_back(std::log(n[i]));
    log_rg.push_back(std::log(rg[i] - fit.offset));
  }
  fit.power_law.df_err = subwindow_df_error(log_n, log_rg, SlopeMeaning::InverseDimension);
  return fit;
}

PowerLawFit fit_power_law_binned(std::span<const GrowthSample> samples, std::int64_t n_min,
                                 std::int64_t n_max, int per_decade) {
  if (per_decade < 1) throw std::invalid_argument("fit_power_law_binned: per_decade must be >= 1");
  // Bin k holds 10^(k/per_decade) <= n < 10^((k+1)/per_decade); each bin contributes the
  // means of log N and log Rg over its samples.
  struct Bin {
    double sum_log_n = 0, sum_log_rg = 0;
    std::int64_t count = 0;
  };
  std::map<std::int64_t, Bin> bins;
  std::int64_t used_min = 0, used_max = 0, used = 0;
  for (const GrowthSample& sample : samples) {
    if (sample.n < n_min || sample.n > n_max || !is_loggable(sample)) continue;
    const auto n = static_cast<double>(sample.n);
    Bin& bin = bins[static_cast<std::int64_t>(
        std::floor(static_cast<double>(per_decade) * std::log10(n)))];
    bin.sum_log_n += std::log(n);
    bin.sum_log_rg += std::log(sample.rg);
    ++bin.count;
    used_min = used == 0 ? sample.n : std::min(used_min, sample.n);
    used_max = used == 0 ? sample.n : std::max(used_max, sample.n);
    ++used;
  }
  PowerLawFit fit{kNaN, kNaN, used_min, used_max, static_cast<std::int64_t>(bins.size())};
  if (used_min == used_max) return fit;  // one size (or none) fixes no slope
  std::vector<double> log_n, log_rg;
  for (const auto& [k, bin] : bins) {
    log_n.push_back(bin.sum_log_n / static_cast<double>(bin.count));
    log_rg.push_back(bin.sum_log_rg / static_cast<double>(bin.count));
  }
  const Line line = fit_line(log_n, log_rg);  // log Rg = intercept + log N / df
  if (!(line.slope > 0)) return fit;          // Rg not growing with N: no fractal power law
  fit.df = 1.0 / line.slope;
  fit.kf = std::exp(-fit.df * line.intercept);  // log N = log kf + df log Rg
  fit.df_err = subwindow_df_error(log_n, log_rg, SlopeMeaning::InverseDimension);
  return fit;
}

std::vector<std::int64_t> log_spaced_sizes(std::int64_t n_final, int per_decade) {
  if (per_decade < 1) throw std::invalid_argument("log_spaced_sizes: per_decade must be >= 1");
  std::vector<std::int64_t> sizes;
  for (int k = 0;; ++k) {
    const double exponent = static_cast<double>(k) / static_cast<double>(per_decade);
    const std::int64_t size = std::llround(std::pow(10.0, exponent));
    if (size >= n_final) break;
    // Below per_decade the rounded sizes repeat; keep each once.
    if (sizes.empty() || size > sizes.back()) sizes.push_back(size);
  }
  if (n_final >= 1) sizes.push_back(n_final);
  return sizes;
}

double radius_of_gyration(std::span<const double> positions, int dimension) {
  if (dimension < 1 || positions.size() % static_cast<std::size_t>(dimension) != 0) {
    throw std::invalid_argument("radius_of_gyration: positions must hold whole points");
  }
  const auto d = static_cast<std::size_t>(dimension);
  const std::size_t n = positions.size() / d;
  if (n == 0) return kNaN;
  // Two passes (centre of mass, then spread about it) avoid the cancellation of
  // <x^2> - <x>^2 for clusters far from the origin.
  std::vector<double> centre(d, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t k = 0; k < d; ++k) {
      centre[k] += positions[i * d + k];
    }
  }
  for (double& c : centre) {
    c /= static_cast<double>(n);
  }
  double sum_sq = 0;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t k = 0; k < d; ++k) {
      const double delta = positions[i * d + k] - centre[k];
      sum_sq += delta * delta;
    }
  }
  return std::sqrt(sum_sq / static_cast<double>(n));
}

}  // namespace fracstudy::kernels
