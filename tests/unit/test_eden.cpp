#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <utility>
#include <vector>

#include "../support/kernel_checks.hpp"
#include "fracstudy/kernels/models.hpp"
#include "fracstudy/kernels/simulation.hpp"

using namespace fracstudy::kernels;
using fracstudy::testing::expect_identical;
using fracstudy::testing::expect_particle_count;

namespace {

SimulationParameters eden(int dimension, std::int64_t n, double radius = 1.0) {
  SimulationParameters p;
  p.dimension = dimension;
  p.n_particles = n;
  p.particle_radius = radius;
  return p;
}

/// The lattice sites of a result (positions divided by the spacing 2a), checking that
/// every coordinate is a whole number of spacings (to rounding: a need not be a power of 2).
std::vector<std::vector<std::int64_t>> sites_of(const SimulationResult& result, int dimension,
                                                double radius) {
  std::vector<std::vector<std::int64_t>> sites;
  const auto d = static_cast<std::size_t>(dimension);
  for (std::size_t i = 0; i < result.positions.size(); i += d) {
    std::vector<std::int64_t> site;
    for (std::size_t k = 0; k < d; ++k) {
      const double coordinate = result.positions[i + k] / (2 * radius);
      EXPECT_NEAR(coordinate, std::round(coordinate), 1e-9) << "off the lattice";
      site.push_back(std::llround(coordinate));
    }
    sites.push_back(site);
  }
  return sites;
}

bool are_neighbours(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b) {
  std::int64_t manhattan = 0;
  for (std::size_t k = 0; k < a.size(); ++k) {
    manhattan += std::abs(a[k] - b[k]);
  }
  return manhattan == 1;
}

}  // namespace

TEST(Eden, SitesAreDistinctAndEachTouchesAnEarlierOne) {
  // Brute force: every particle sits on a distinct lattice site, the first at the origin,
  // and each later one is a nearest neighbour of a site occupied before it. 3000 sites
  // also cross several enlargements of the lattice array.
  const double radius = 0.7;
  for (int dimension : {2, 3}) {
    const auto result = simulate_eden(eden(dimension, 3000, radius), 3, Deadline::none());
    const auto sites = sites_of(result, dimension, radius);
    EXPECT_EQ(sites[0], std::vector<std::int64_t>(static_cast<std::size_t>(dimension), 0));
    EXPECT_EQ(std::set(sites.begin(), sites.end()).size(), sites.size()) << "a site twice";
    for (std::size_t i = 1; i < sites.size(); ++i) {
      bool touches = false;
      for (std::size_t j = 0; j < i && !touches; ++j) {
        touches = are_neighbours(sites[i], sites[j]);
      }
      ASSERT_TRUE(touches) << "site " << i << " is not next to the cluster";
    }
  }
}

TEST(Eden, EveryPerimeterSiteIsEquallyLikely) {
  // After the origin and one neighbour, the perimeter holds 6 sites in 2D (2 of them in
  // line with the pair) and 10 in 3D (2 in line): the third site is in line with
  // probability 1/3 and 1/5. 5 standard errors.
  for (const auto& [dimension, expected] : {std::pair{2, 1.0 / 3}, std::pair{3, 1.0 / 5}}) {
    const int trials = 20000;
    int in_line = 0;
    for (int seed = 0; seed < trials; ++seed) {
      const auto sites = sites_of(
          simulate_eden(eden(dimension, 3), static_cast<std::uint64_t>(seed), Deadline::none()),
          dimension, 1.0);
      // In line: the third site differs from the first only along the pair's axis.
      bool on_axis = true;
      for (std::size_t k = 0; k < sites[0].size(); ++k) {
        if (sites[1][k] == sites[0][k] && sites[2][k] != sites[0][k]) on_axis = false;
      }
      in_line += on_axis ? 1 : 0;
    }
    const double fraction = static_cast<double>(in_line) / trials;
    EXPECT_NEAR(fraction, expected, 5 * std::sqrt(expected * (1 - expected) / trials))
        << dimension << "D";
  }
}

TEST(Eden, FitsTheLastTwoDecadesWithASurfaceOffset) {
  // The offset fit reads d where the plain log-log fit still reads 2.03 (2D, N = 10^5).
  const auto result = simulate_eden(eden(2, 100000), 2, Deadline::none());
  EXPECT_EQ(result.fit.n_min, 1000);
  EXPECT_EQ(result.fit.n_max, 100000);
  EXPECT_NEAR(result.fit.df, 2.0, 0.04);
  EXPECT_GT(result.fit.kf, 0.0);
}

TEST(Eden, IgnoresTheStickingProbabilityItDoesNotUse) {
  // EDEN takes no sticking probability: the rules reject it before a kernel runs, and the
  // kernel itself does not read it.
  EXPECT_FALSE(uses_parameter(Algorithm::EDEN, Parameter::StickingProbability));
  auto with_p = eden(2, 500);
  with_p.sticking_probability = 0.5;
  EXPECT_EQ(simulate_eden(with_p, 6, Deadline::none()).positions,
            simulate_eden(eden(2, 500), 6, Deadline::none()).positions);
}
