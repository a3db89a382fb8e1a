#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "../support/kernel_checks.hpp"
#include "fracstudy/kernels/models.hpp"

// The three estimators of df (growth fit, mass-radius, structure factor) over ensembles,
// against the literature and against each other, and the calibration of the per-task
// standard error of the growth fit.
//
// References: DLA 2D 1.715 (Tolman & Meakin, Phys. Rev. A 40, 428 (1989)); ballistic
// aggregation 2D -> 2 (compact at large N; Meakin, J. Colloid Interface Sci. 96, 415
// (1983)); DLCA 3D 1.78 +- 0.05 (Jullien & Botet, "Aggregation and fractal aggregates"
// (1987); Sorensen, Aerosol Sci. Technol. 35, 648 (2001) for S(q) of DLCA soot, 1.8).
//
// Each tolerance is 3 standard errors of the ensemble mean plus a finite-size allowance,
// from values measured while writing this test (Release build, seeds 0..M-1):
//   DLA 2D, N = 10^4, M = 100: df 1.713, df_mr 1.679, df_sq 1.643 (sem 0.005, 0.002, 0.002)
//   BALLISTIC 2D, N = 10^4, M = 30: df 1.947, df_mr 1.909, df_sq 1.945
//   DLCA 3D, N = 2000, phi = 0.001, M = 20: df 1.808, df_mr 1.832, df_sq 1.889 (sem of
//   df_sq 0.031)
// At these sizes the estimators that see the final cluster read a little low for DLA:
// the windows reach the scales where the branches are a few particles thick, and S(q)
// still feels the cluster's edge (q Rg >= 5). Hence an allowance of 0.08 for DLA 2D and
// 0.1 for BALLISTIC 2D (compact at its edge, loose inside).
//   DLA 3D, N = 10^5, M = 8: df 2.490, df_mr 2.440, df_sq 2.143 (sem 0.013, 0.010, 0.030)
// DLA 3D needs 10^5 particles: at 10^4 (Rg = 53 a) the S(q) window q Rg 5..16 lies in the
// knee and its slope reads 1.94. At 10^5 (Rg = 134 a) S(q) still reads low, 2.14 (an
// effective exponent that rises with N, as DLA 2D's 1.65 does; docs/physics.md): for a
// dimension above 2 the Debye integral of r^(df-1) sin(q r)/(q r) does not converge by
// itself, so the cluster's edge feeds the whole window. Hence its allowance of 0.35,
// still narrow enough to fail DLCA (1.8) and compact clusters (3.0).

using namespace fracstudy::kernels;
using fracstudy::testing::Estimate;

namespace {

struct Ensemble {
  std::vector<double> df, df_err, df_mr, df_sq;
};

Ensemble grow(Algorithm algorithm, int dimension, std::int64_t n, int clusters,
              double sticking = 1.0) {
  SimulationParameters p;
  p.dimension = dimension;
  p.n_particles = n;
  p.sticking_probability = sticking;
  Ensemble ensemble;
  for (int seed = 0; seed < clusters; ++seed) {
    const auto result = simulate(algorithm, p, static_cast<std::uint64_t>(seed), Deadline::none());
    ensemble.df.push_back(result.fit.df);
    ensemble.df_err.push_back(result.fit.df_err);
    ensemble.df_mr.push_back(result.mass_radius.df);
    ensemble.df_sq.push_back(result.structure_factor.df);
  }
  return ensemble;
}

double spread(const std::vector<double>& values) {
  const Estimate e = fracstudy::testing::estimate(values);
  return e.sem * std::sqrt(static_cast<double>(values.size()));
}

double mean(const std::vector<double>& values) {
  return fracstudy::testing::estimate(values).mean;
}

/// The ensemble's estimator agrees with `literature` within 3 sem + allowance; returns the
/// tolerance, for checking that another model fails it.
double expect_agrees(const std::vector<double>& values, double literature, double allowance,
                     const char* what) {
  const Estimate e = fracstudy::testing::estimate(values);
  const double tolerance = 3 * e.sem + allowance;
  EXPECT_NEAR(e.mean, literature, tolerance) << what << ": " << e.mean << " +- " << e.sem;
  return tolerance;
}

}  // namespace

TEST(Estimators, DlaTwoDimensionsAllThreeAgreeWithTheLiteratureAndTheErrorIsCalibrated) {
  const Ensemble dla = grow(Algorithm::DLA, 2, 10000, 100);
  const double tolerance_mr = expect_agrees(dla.df_mr, 1.715, 0.08, "df_mr");
  const double tolerance_sq = expect_agrees(dla.df_sq, 1.715, 0.08, "df_sq");
  expect_agrees(dla.df, 1.715, 0.03, "df");
  // Calibration: the spread of df from cluster to cluster is what a single task's df_err
  // claims to be; their ratio was 1.06 here. A factor of 1.5 either way is the test's
  // bound (the sd of 100 values is itself uncertain by 7 %, and the sub-window method is
  // an estimate, not an exact variance).
  const double ratio = spread(dla.df) / mean(dla.df_err);
  EXPECT_GT(ratio, 1 / 1.5);
  EXPECT_LT(ratio, 1.5);
  // A wrong model fails: compact growth (sticking probability 0.01) reads far higher.
  const Ensemble compact = grow(Algorithm::DLA, 2, 10000, 10, 0.01);
  EXPECT_GT(mean(compact.df_mr), 1.715 + tolerance_mr);
  EXPECT_GT(mean(compact.df_sq), 1.715 + tolerance_sq);
}

TEST(Estimators, BallisticTwoDimensionsNearTwo) {
  const Ensemble ballistic = grow(Algorithm::BALLISTIC, 2, 10000, 30);
  expect_agrees(ballistic.df_mr, 2.0, 0.12, "df_mr");
  expect_agrees(ballistic.df_sq, 2.0, 0.1, "df_sq");
  expect_agrees(ballistic.df, 2.0, 0.06, "df");
  // DLA (1.71) is outside the same tolerances.
  const Ensemble dla = grow(Algorithm::DLA, 2, 10000, 10);
  EXPECT_LT(mean(dla.df_mr), 2.0 - 0.12);
  EXPECT_LT(mean(dla.df_sq), 2.0 - 0.1);
}

TEST(Estimators, DlcaThreeDimensionsStructureFactorNearOnePointEight) {
  const Ensemble dlca = grow(Algorithm::CCA, 3, 2000, 20);
  const double tolerance_sq = expect_agrees(dlca.df_sq, 1.78, 0.05, "df_sq");
  const double tolerance_mr = expect_agrees(dlca.df_mr, 1.78, 0.05, "df_mr");
  // Ballistic clusters in 3D (2.8-3.0 by these estimators at N = 4*10^4) fail the same
  // tolerances.
  const Ensemble ballistic = grow(Algorithm::BALLISTIC, 3, 40000, 4);
  EXPECT_GT(mean(ballistic.df_mr), 1.78 + tolerance_mr);
  EXPECT_GT(mean(ballistic.df_sq), 1.78 + tolerance_sq);
}

TEST(Estimators, DlaThreeDimensionsAllThreeNearTwoPointFive) {
  // DLA 3D 2.50 +- 0.03 (Tolman & Meakin 1989, off-lattice).
  const Ensemble dla = grow(Algorithm::DLA, 3, 100000, 8);
  expect_agrees(dla.df, 2.50, 0.03, "df");
  const double tolerance_mr = expect_agrees(dla.df_mr, 2.50, 0.1, "df_mr");
  const double tolerance_sq = expect_agrees(dla.df_sq, 2.50, 0.35, "df_sq");
  // Ballistic clusters in 3D (2.8-3.0) fail the same tolerances; DLCA (1.8) fails below.
  const Ensemble ballistic = grow(Algorithm::BALLISTIC, 3, 40000, 4);
  EXPECT_GT(mean(ballistic.df_mr), 2.50 + tolerance_mr);
  const Ensemble dlca = grow(Algorithm::CCA, 3, 2000, 8);
  EXPECT_LT(mean(dlca.df_mr), 2.50 - tolerance_mr);
  EXPECT_LT(mean(dlca.df_sq), 2.50 - tolerance_sq);
}
