#pragma once
/// Fractal dimension from the growth history: a least-squares line through
/// log Rg against log N.
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

namespace fracstudy::kernels {

/// One point of the growth history: the cluster's radius of gyration at size n.
struct GrowthSample {
  std::int64_t n;  ///< particles in the cluster
  double rg;       ///< its radius of gyration in particle radii
};

/// The fitted power law N = kf (Rg/a)^df and the range it was fitted over.
struct PowerLawFit {
  double df = 0;
  double kf = 0;
  std::int64_t n_min = 0;
  std::int64_t n_max = 0;
  std::int64_t n_points = 0;  ///< points the line was fitted through (sizes, or size bins)
  /// Standard error of df from the scatter of the sub-window fits (subwindow_df_error).
  double df_err = std::numeric_limits<double>::quiet_NaN();
};

/// How a dimension follows from the slope of a log-log fit.
enum class SlopeMeaning {
  InverseDimension,   ///< log Rg against log N: slope 1/df
  Dimension,          ///< log M against log r: slope df
  NegativeDimension,  ///< log S against log q: slope -df
};

/// The slope of the least-squares line through the points (x, y).
double least_squares_slope(std::span<const double> x, std::span<const double> y);

/// The dimension a slope means; NaN for a slope of the wrong sign.
double dimension_of_slope(double slope, SlopeMeaning meaning);

/// The standard error of a dimension fitted as the slope of y against x (logarithms), from
/// the scatter of the dimensions fitted in `pieces` sub-windows of equal width in x:
/// std(df_k) / sqrt(K) over the K sub-windows that hold two points or more (NaN under 2).
/// Why not the fit's own residuals: the points of a growth history (or of a mass-radius
/// curve) are cumulative, each holds all the ones before, so their errors are strongly
/// correlated and the textbook slope error, which assumes independent points, is far too
/// small. What is independent are the increments: the slope of a sub-window of width W/K
/// then varies K times more than that of the whole window W, and std(df_k)/sqrt(K)
/// estimates the whole window's error (tests/physics checks it against the spread of df
/// over an ensemble).
double subwindow_df_error(std::span<const double> x, std::span<const double> y,
                          SlopeMeaning meaning, int pieces = 4);

/// Fits log N = log kf + df log(Rg/a) over the samples with n_min <= n <= n_max
/// (regressing log Rg on log N, then inverting, as is usual for growth fits). Rg is in
/// units of the particle radius a. Needs two distinct sizes; returns NaNs otherwise.
PowerLawFit fit_power_law(std::span<const GrowthSample> samples, std::int64_t n_min,
                          std::int64_t n_max);

/// Fits the same power law to a population of clusters (one sample per cluster, many of
/// similar size): the samples with n_min <= n <= n_max are first averaged (log N and log Rg)
/// in bins `per_decade` to a decade of N, so that every bin of sizes weighs the same in the
/// fit however many clusters it holds. Needs two distinct sizes; returns NaNs otherwise.
PowerLawFit fit_power_law_binned(std::span<const GrowthSample> samples, std::int64_t n_min,
                                 std::int64_t n_max, int per_decade);

/// A power law with a constant offset in Rg, Rg = a (N/kf)^(1/df) + offset (a = 1), and
/// the range it was fitted over.
struct OffsetPowerLawFit {
  PowerLawFit power_law;  ///< df, kf and the range: N = kf ((Rg - offset)/a)^df
  double offset = 0;      ///< the constant part of Rg, in particle radii
};

/// Fits Rg = A N^(1/df) + B over the samples with n_min <= n <= n_max, by least squares in
/// Rg: for each trial exponent a straight line in N^(1/df), the exponent minimising the
/// residual found by golden-section search over 1 <= df <= 20. The offset B absorbs a
/// surface layer of constant thickness, which bends log Rg against log N for compact
/// clusters (Eden) far beyond the sizes one can grow. kf = A^-df. Needs three distinct
/// sizes; returns NaNs otherwise, or when the best exponent lies on the search's edge.
OffsetPowerLawFit fit_power_law_with_offset(std::span<const GrowthSample> samples,
                                            std::int64_t n_min, std::int64_t n_max);

/// Sizes at which to record the growth history: about `per_decade` log-spaced sizes
/// per decade from 1 to n_final, always ending at n_final.
std::vector<std::int64_t> log_spaced_sizes(std::int64_t n_final, int per_decade);

/// Radius of gyration of points (row-major, `dimension` coordinates each).
double radius_of_gyration(std::span<const double> positions, int dimension);

}  // namespace fracstudy::kernels
