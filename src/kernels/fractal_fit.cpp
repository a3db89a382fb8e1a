#include "fracstudy/kernels/fractal_fit.hpp"

#include <algorithm>
#include <cmath>
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

/// One point of a log-log fit: (log N, log Rg).
struct LogPoint {
  double log_n, log_rg;
};

/// Sets fit.df and fit.kf from the least-squares line log Rg = c + log N / df through the
/// points; leaves them NaN when the points fix no positive slope.
void fit_line(const std::vector<LogPoint>& points, PowerLawFit& fit) {
  if (points.size() < 2) return;
  // Centred sums (mean first, then deviations) keep the slope accurate even though
  // log N and log Rg are far from zero.
  double sum_x = 0, sum_y = 0;
  for (const LogPoint& point : points) {
    sum_x += point.log_n;
    sum_y += point.log_rg;
  }
  const auto count = static_cast<double>(points.size());
  const double mean_x = sum_x / count;
  const double mean_y = sum_y / count;
  double sxx = 0, sxy = 0;
  for (const LogPoint& point : points) {
    const double dx = point.log_n - mean_x;
    sxx += dx * dx;
    sxy += dx * (point.log_rg - mean_y);
  }
  const double slope = sxy / sxx;  // d log Rg / d log N = 1 / df
  if (!(slope > 0)) return;        // Rg not growing with N: no fractal power law
  fit.df = 1.0 / slope;
  // log N = log kf + df log Rg holds at the centroid (mean_x, mean_y) of the fit.
  fit.kf = std::exp(mean_x - fit.df * mean_y);
}

}  // namespace

PowerLawFit fit_power_law(std::span<const GrowthSample> samples, std::int64_t n_min,
                          std::int64_t n_max) {
  std::vector<LogPoint> points;
  std::int64_t used_min = 0, used_max = 0;
  for (const GrowthSample& sample : samples) {
    if (sample.n < n_min || sample.n > n_max || !is_loggable(sample)) continue;
    points.push_back({std::log(static_cast<double>(sample.n)), std::log(sample.rg)});
    used_min = points.size() == 1 ? sample.n : std::min(used_min, sample.n);
    used_max = points.size() == 1 ? sample.n : std::max(used_max, sample.n);
  }
  PowerLawFit fit{kNaN, kNaN, used_min, used_max};
  if (used_min == used_max) return fit;  // one size (or none) fixes no slope
  fit_line(points, fit);
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
    const double log_n = std::log(static_cast<double>(sample.n));
    const auto k = static_cast<std::int64_t>(
        std::floor(static_cast<double>(per_decade) * std::log10(static_cast<double>(sample.n))));
    Bin& bin = bins[k];
    bin.sum_log_n += log_n;
    bin.sum_log_rg += std::log(sample.rg);
    ++bin.count;
    used_min = used == 0 ? sample.n : std::min(used_min, sample.n);
    used_max = used == 0 ? sample.n : std::max(used_max, sample.n);
    ++used;
  }
  PowerLawFit fit{kNaN, kNaN, used_min, used_max};
  if (used_min == used_max) return fit;  // one size (or none) fixes no slope
  std::vector<LogPoint> points;
  for (const auto& [k, bin] : bins) {
    const auto count = static_cast<double>(bin.count);
    points.push_back({bin.sum_log_n / count, bin.sum_log_rg / count});
  }
  fit_line(points, fit);
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
