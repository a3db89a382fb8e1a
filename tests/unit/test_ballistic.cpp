#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numbers>
#include <vector>

#include "../../src/kernels/brownian.hpp"
#include "../../src/kernels/occupancy_grid.hpp"
#include "../support/kernel_checks.hpp"
#include "fracstudy/kernels/models.hpp"
#include "fracstudy/kernels/random.hpp"

using namespace fracstudy::kernels;
using detail::Vec;
using fracstudy::testing::expect_grown_by_contact;
using fracstudy::testing::expect_identical;
using fracstudy::testing::expect_particle_count;

using fracstudy::testing::Estimate;
using fracstudy::testing::estimate;

namespace {

SimulationParameters ballistic(int dimension, std::int64_t n, double sticking = 1.0,
                               double radius = 1.0) {
  SimulationParameters p;
  p.dimension = dimension;
  p.n_particles = n;
  p.sticking_probability = sticking;
  p.particle_radius = radius;
  return p;
}

}  // namespace

// ---- The kernel's contract ----

TEST(Ballistic, ParticlesNeverOverlapAndEachTouchesAnEarlierOne) {
  // Brute force over all pairs: each particle after the seed touches one before it (it stuck
  // to the cluster as it was) and overlaps none. A sticking probability below 1 also
  // exercises the re-emission from a contact point.
  const double radius = 1.3;
  for (int dimension : {2, 3}) {
    for (double sticking : {1.0, 0.2}) {
      const std::int64_t n = 1500;
      const auto result =
          simulate_ballistic(ballistic(dimension, n, sticking, radius), 3, Deadline::none());
      expect_grown_by_contact(result, dimension, radius);
    }
  }
}

TEST(Ballistic, LowerStickingProbabilityGivesDenserClusters) {
  // Re-emitted particles reach into the pores: at N = 1000, p = 0.1 shrinks Rg by about 15%
  // (2D 37.0 -> 32.2, 3D 15.0 -> 13.2 particle radii; single-cluster sd about 0.7 and 0.2).
  for (int dimension : {2, 3}) {
    std::vector<double> sticky, bouncy;
    for (std::uint64_t seed = 0; seed < 6; ++seed) {
      sticky.push_back(
          simulate_ballistic(ballistic(dimension, 1000, 1.0), seed, Deadline::none()).rg);
      bouncy.push_back(
          simulate_ballistic(ballistic(dimension, 1000, 0.1), seed, Deadline::none()).rg);
    }
    const Estimate a = estimate(sticky), b = estimate(bouncy);
    EXPECT_GT(a.mean - b.mean, 4 * std::hypot(a.sem, b.sem))
        << "dimension " << dimension << ": Rg " << a.mean << " (p = 1) vs " << b.mean
        << " (p = 0.1)";
  }
}

TEST(Ballistic, FitRangeIsTheLastTwoDecades) {
  const auto result = simulate_ballistic(ballistic(2, 20000), 2, Deadline::none());
  EXPECT_EQ(result.fit.n_min, 200);
  EXPECT_EQ(result.fit.n_max, 20000);
  EXPECT_GT(result.fit.df, 1.8);  // compact: close to 2 (see the physics test)
  EXPECT_LT(result.fit.df, 2.1);
  EXPECT_GT(result.fit.kf, 0.0);
}

// ---- The re-emission direction and the named contact ----

TEST(BallisticSampling, ReEmissionFollowsLambertsCosineLaw) {
  // For density proportional to cos(theta) about the normal: 3D E[cos] = 2/3,
  // E[cos^2] = 1/2; 2D E[cos] = pi/4, E[cos^2] = 2/3; the tangential components average 0.
  // Tolerances are 5 standard errors.
  Rng rng(31);
  const int n = 200000;
  const Vec<3> normal3 = {2.0 / 7, -3.0 / 7, 6.0 / 7};
  std::vector<double> cos3, cos3_sq, across3;
  for (int i = 0; i < n; ++i) {
    const Vec<3> u = detail::cosine_direction<3>(normal3, rng);
    ASSERT_NEAR(detail::norm<3>(u), 1.0, 1e-12);
    const double c = detail::dot<3>(u, normal3);
    ASSERT_GE(c, 0.0);
    cos3.push_back(c);
    cos3_sq.push_back(c * c);
    across3.push_back(detail::dot<3>(u, Vec<3>{3.0 / std::sqrt(13.0), 2.0 / std::sqrt(13.0), 0}));
  }
  const Vec<2> normal2 = {0.6, -0.8};
  std::vector<double> cos2, cos2_sq, across2;
  for (int i = 0; i < n; ++i) {
    const Vec<2> u = detail::cosine_direction<2>(normal2, rng);
    ASSERT_NEAR(detail::norm<2>(u), 1.0, 1e-12);
    const double c = detail::dot<2>(u, normal2);
    ASSERT_GE(c, 0.0);
    cos2.push_back(c);
    cos2_sq.push_back(c * c);
    across2.push_back(u[0] * 0.8 + u[1] * 0.6);
  }
  for (const auto& [values, expected] :
       {std::pair{&cos3, 2.0 / 3}, std::pair{&cos3_sq, 0.5}, std::pair{&across3, 0.0},
        std::pair{&cos2, std::numbers::pi / 4}, std::pair{&cos2_sq, 2.0 / 3},
        std::pair{&across2, 0.0}}) {
    const Estimate e = estimate(*values);
    EXPECT_NEAR(e.mean, expected, 5 * e.sem);
  }
}

TEST(BallisticSampling, FirstContactNamesTheTouchedCentre) {
  detail::OccupancyGrid<2> grid(3.0, 20.0);
  grid.insert(Vec<2>{0.0, 0.0});
  grid.insert(Vec<2>{2.5, 1.0});
  // Moving along +x at height 1 from x = -3: the sphere of radius 2 about the origin is
  // entered at x = -sqrt(3), well before the one about (2.5, 1).
  const auto hit = grid.first_contact_with(Vec<2>{-2.5, 1.0}, Vec<2>{1.0, 0.0}, 1.0, 2.0);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->centre, 0u);
  EXPECT_NEAR(hit->distance, 2.5 - std::sqrt(3.0), 1e-12);
  const auto other = grid.first_contact_with(Vec<2>{2.5, 3.5}, Vec<2>{0.0, -1.0}, 1.0, 2.0);
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(other->centre, 1u);
  EXPECT_NEAR(other->distance, 0.5, 1e-12);
}
