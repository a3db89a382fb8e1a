#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "../support/kernel_checks.hpp"
#include "fracstudy/kernels/models.hpp"

// The ensemble-mean fractal dimension of off-lattice particle–cluster ballistic aggregation.
//
// Expectation: compact, df = d. The model is Vold's (J. Colloid Sci. 18, 684 (1963)).
// Straight trajectories cannot be screened the way Brownian ones are: Ball & Witten,
// Phys. Rev. A 29, 2966 (1984) showed that such aggregates keep a finite density (df = d),
// and for the lattice version in 2D this has been proved rigorously ("On the radial growth
// of ballistic aggregation and other aggregation models", arXiv:2308.13193). The density
// approaches its limit slowly (Liang & Kadanoff, Phys. Rev. A 31, 2628 (1985)), so finite
// clusters read df below d.
//
// The kernel fits Rg(N) over the last two decades, [N/100, N] with a floor of 100. Measured
// while writing this test (seeds 0..M-1, Release, one core):
//  - 2D: N = 10^4, M = 200: 1.955 +- 0.003 (0.02 s/cluster); N = 10^5, M = 10: 1.952 +-
//    0.005. The deficit of 0.045 does not shrink visibly over one decade of N.
//  - 3D: N = 10^4, M = 100: 2.985 +- 0.011 (single-cluster sd 0.11, 0.06 s/cluster);
//    N = 10^5, M = 8: 2.961 +- 0.007.
// So the ensemble mean must lie in [d - allowance - 3 sem, d + 3 sem], the allowance being
// the largest deficit measured at N = 10^4 - 10^5 plus 0.015: 0.06 (2D), 0.055 (3D). The
// test can fail: DLA clusters (df 1.71 / 2.50), what a kernel whose particles diffused
// instead of flying would grow, lie far below, and each test checks that they fail it.

using namespace fracstudy::kernels;

namespace {

/// Mean df of an ensemble and its standard error.
using EnsembleDf = fracstudy::testing::Estimate;

/// The mean df of `clusters` clusters of n particles grown by `simulate_kernel`.
template <typename Kernel>
EnsembleDf ensemble_df(Kernel simulate_kernel, int dimension, std::int64_t n, int clusters) {
  SimulationParameters p;
  p.dimension = dimension;
  p.n_particles = n;
  std::vector<double> dfs;
  for (int seed = 0; seed < clusters; ++seed) {
    const double df = simulate_kernel(p, static_cast<std::uint64_t>(seed), Deadline::none()).fit.df;
    dfs.push_back(df);
  }
  return fracstudy::testing::estimate(dfs);
}

/// Whether an ensemble mean lies in [d - allowance - 3 sem, d + 3 sem].
bool is_compact(const EnsembleDf& e, int dimension, double allowance) {
  return e.mean >= dimension - allowance - 3 * e.sem && e.mean <= dimension + 3 * e.sem;
}

void check_compact(int dimension, int clusters, double allowance) {
  const EnsembleDf ballistic = ensemble_df(simulate_ballistic, dimension, 10000, clusters);
  EXPECT_TRUE(is_compact(ballistic, dimension, allowance))
      << dimension << "D ballistic: df = " << ballistic.mean << " +- " << ballistic.sem;

  const EnsembleDf dla = ensemble_df(simulate_dla, dimension, 10000, 4);
  EXPECT_FALSE(is_compact(dla, dimension, allowance))
      << dimension << "D DLA: df = " << dla.mean << " +- " << dla.sem
      << " is not told apart from ballistic growth";
}

}  // namespace

TEST(BallisticPhysics, TwoDimensionalClustersAreCompact) {
  check_compact(2, 200, 0.06);
}

TEST(BallisticPhysics, ThreeDimensionalClustersAreCompact) {
  check_compact(3, 100, 0.055);
}
