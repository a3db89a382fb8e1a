#pragma once
/// Estimators of the fractal dimension from the final cluster, besides the growth fit:
/// the mass-radius relation and what light and X-ray scattering measure (the structure
/// factor). Both are pure functions of the particle centres.
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

namespace fracstudy::kernels {

/// A dimension from a log-log fit, its standard error (subwindow_df_error) and the
/// window it was fitted over.
struct DimensionEstimate {
  double df = std::numeric_limits<double>::quiet_NaN();
  double df_err = std::numeric_limits<double>::quiet_NaN();
  double window_min = std::numeric_limits<double>::quiet_NaN();  ///< r/a, or q*Rg
  double window_max = std::numeric_limits<double>::quiet_NaN();
  std::int64_t n_points = 0;
};

/// The mass-radius window: max(4 a, Rg/10) <= r <= Rg/2. Its lower end keeps out the
/// first shells of neighbours (touching spheres, not yet a fractal); its upper end the
/// cluster's edge, where M(r) bends over. Fitted only when it spans a factor 3 or more.
inline constexpr double kMassRadiusInnerRadius = 4.0;    ///< in particle radii a
inline constexpr double kMassRadiusInnerFraction = 0.1;  ///< of Rg
inline constexpr double kMassRadiusOuterFraction = 0.5;  ///< of Rg

/// The structure-factor window: q Rg >= 5 (past the Guinier knee at q Rg ~ 1 and the
/// dip that follows it for a single cluster) and q a <= 0.3 (below the first peak of
/// touching spheres, at q ~ pi / (2a)). Fitted only when it spans a factor 2.5 or more.
inline constexpr double kStructureFactorMinQRg = 5.0;
inline constexpr double kStructureFactorMaxQa = 0.3;

/// The estimators of df from a final cluster.
struct ClusterDimensions {
  /// M(r) ~ r^df, M(r) the particles within r of a particle, averaged over every particle
  /// (the cumulative pair correlation). About the centre of mass alone, a loose cluster
  /// (CCA) often has nothing near its centre, and M(r) then read 3.0-3.7 for DLCA clusters
  /// of 2000 particles whose dimension is 1.8; averaged over the particles it reads 1.8.
  DimensionEstimate mass_radius;
  /// S(q) - 1 ~ q^-df, the orientation-averaged structure factor (what light and X-ray
  /// scattering measure on soot and colloids) by the Debye formula, S(q) = 1 + (N-1)
  /// <sin(q r)/(q r)> over pairs: the kernel of an aggregate that turns freely in 3D space,
  /// which is how a planar (2D) aggregate scatters too.
  DimensionEstimate structure_factor;
};

/// Both estimators, from one histogram of the pair distances (bins of a/5, so q dr <=
/// 0.06 over the window): all pairs up to 10^6 of them, else 10^6 pairs drawn by a
/// generator seeded from N, so the estimates are a pure function of the cluster. Cost
/// O(min(N^2, 10^6) + bins * q values), where the Debye sum costs O(N^2) per q.
/// `centres` are in particle radii, `dimension` coordinates each; `rg` in particle radii.
ClusterDimensions cluster_dimensions(std::span<const double> centres, int dimension, double rg);

/// S(q) itself, for saved clusters: S(q) - 1 (the pairs' part, as the estimator fits it) on a
/// fixed grid of q Rg, 10 points a decade from 0.1 to 1000, so that curves of clusters of
/// any size lie on one axis. NaN where q a > 2: past the scale of one particle the point
/// centres' S(q) says nothing of the cluster's shape.
inline constexpr int kStructureFactorGridPerDecade = 10;
inline constexpr double kStructureFactorCurveMaxQa = 2.0;
std::vector<double> structure_factor_grid();
std::vector<double> structure_factor_curve(std::span<const double> centres, int dimension,
                                           double rg);

}  // namespace fracstudy::kernels
