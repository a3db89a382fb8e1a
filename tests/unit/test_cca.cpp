#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numbers>
#include <vector>

#include "../../src/kernels/cluster_index.hpp"
#include "../../src/kernels/periodic_cells.hpp"
#include "../support/kernel_checks.hpp"
#include "fracstudy/kernels/models.hpp"
#include "fracstudy/kernels/random.hpp"

using namespace fracstudy::kernels;
using detail::Vec;
using fracstudy::testing::expect_identical;
using fracstudy::testing::expect_particle_count;

using fracstudy::testing::Estimate;
using fracstudy::testing::estimate;

namespace {

SimulationParameters cca(int dimension, std::int64_t n, double sticking = 1.0, double radius = 1.0,
                         double volume_fraction = 0.01) {
  SimulationParameters p;
  p.dimension = dimension;
  p.n_particles = n;
  p.sticking_probability = sticking;
  p.particle_radius = radius;
  p.volume_fraction = volume_fraction;
  return p;
}

/// Side of the periodic box, from its definition phi = N v / L^d.
double box_side(const SimulationParameters& p) {
  const double a = p.particle_radius;
  const double v =
      p.dimension == 2 ? std::numbers::pi * a * a : 4.0 / 3 * std::numbers::pi * a * a * a;
  return std::pow(static_cast<double>(p.n_particles) * v / p.volume_fraction, 1.0 / p.dimension);
}

/// Distance between centres i and j, either as given (unwrapped) or between nearest images.
double distance(const std::vector<double>& positions, int dimension, std::size_t i, std::size_t j,
                double box = 0) {
  const auto d = static_cast<std::size_t>(dimension);
  double sum_sq = 0;
  for (std::size_t k = 0; k < d; ++k) {
    double delta = positions[i * d + k] - positions[j * d + k];
    if (box > 0) delta -= box * std::round(delta / box);
    sum_sq += delta * delta;
  }
  return std::sqrt(sum_sq);
}

}  // namespace

// ---- The kernel's contract ----

TEST(Cca, FinalClusterIsConnectedAndNeverOverlaps) {
  // Brute force over all pairs of the unwrapped final cluster: every particle touches another
  // and the contacts connect them all; no two particles overlap, neither as given nor
  // between nearest periodic images. A sticking probability below 1 also exercises contacts
  // that do not stick, and a dense box the periodic images of clusters spanning it.
  const double radius = 1.3;
  for (int dimension : {2, 3}) {
    for (const auto& [sticking, volume_fraction] :
         {std::pair{1.0, 0.01}, std::pair{0.2, 0.01}, std::pair{1.0, 0.15}}) {
      const auto p = cca(dimension, 400, sticking, radius, volume_fraction);
      const auto result = simulate_cca(p, 3, Deadline::none());
      const auto count = static_cast<std::size_t>(p.n_particles);
      const double box = box_side(p);
      std::vector<std::vector<std::size_t>> touching(count);
      for (std::size_t i = 0; i < count; ++i) {
        for (std::size_t j = i + 1; j < count; ++j) {
          const double d = distance(result.positions, dimension, i, j);
          ASSERT_GE(d, 2 * radius - 1e-9) << "particles " << i << " and " << j << " overlap";
          ASSERT_GE(distance(result.positions, dimension, i, j, box), 2 * radius - 1e-9)
              << "particles " << i << " and " << j << " overlap through the boundary";
          if (d <= 2 * radius * (1 + 1e-6)) {
            touching[i].push_back(j);
            touching[j].push_back(i);
          }
        }
      }
      std::vector<bool> reached(count, false);
      std::vector<std::size_t> frontier = {0};
      reached[0] = true;
      std::size_t reached_count = 1;
      while (!frontier.empty()) {
        const std::size_t i = frontier.back();
        frontier.pop_back();
        for (std::size_t j : touching[i]) {
          if (!reached[j]) {
            reached[j] = true;
            ++reached_count;
            frontier.push_back(j);
          }
        }
      }
      EXPECT_EQ(reached_count, count) << dimension << "D, p = " << sticking
                                      << ", phi = " << volume_fraction << ": not connected";
    }
  }
}

TEST(Cca, LowerStickingProbabilityGivesDenserClusters) {
  // Reaction-limited clusters interpenetrate before they stick: at the same N the final
  // cluster is more compact (Rg 13.9 +- 0.4 against 17.3 +- 0.6 for p = 0.01 and 1 in 3D at
  // N = 200, phi = 0.001, 16 seeds) and df is higher (2.01 +- 0.06 against 1.83 +- 0.06). At
  // this size df scatters too much for a unit test to resolve more than the direction; the
  // physics tests compare both models with the literature. 2D shows the same at sizes too
  // costly here. 8 seeds were too few: with the kernel's monomers renumbered, seeds 0..7 read
  // a difference of 2.6 standard errors of Rg.
  std::vector<double> sticky_rg, bouncy_rg, sticky_df, bouncy_df;
  for (std::uint64_t seed = 0; seed < 16; ++seed) {
    const auto dlca = simulate_cca(cca(3, 200, 1.0, 1.0, 0.001), seed, Deadline::none());
    const auto rlca = simulate_cca(cca(3, 200, 0.01, 1.0, 0.001), seed, Deadline::none());
    sticky_rg.push_back(dlca.rg);
    bouncy_rg.push_back(rlca.rg);
    sticky_df.push_back(dlca.fit.df);
    bouncy_df.push_back(rlca.fit.df);
  }
  const Estimate a = estimate(sticky_rg), b = estimate(bouncy_rg);
  EXPECT_GT(a.mean - b.mean, 3 * std::hypot(a.sem, b.sem))
      << "Rg " << a.mean << " +- " << a.sem << " (p = 1) vs " << b.mean << " +- " << b.sem;
  const Estimate c = estimate(sticky_df), d = estimate(bouncy_df);
  EXPECT_GT(d.mean - c.mean, std::hypot(c.sem, d.sem))
      << "df " << c.mean << " +- " << c.sem << " (p = 1) vs " << d.mean << " +- " << d.sem;
}

TEST(Cca, TwoMonomersMakeADimer) {
  for (int dimension : {2, 3}) {
    const auto result = simulate_cca(cca(dimension, 2, 1.0, 1.5), 4, Deadline::none());
    EXPECT_NEAR(distance(result.positions, dimension, 0, 1), 3.0, 1e-9);
    EXPECT_NEAR(result.rg, 1.5, 1e-9);       // each centre is one radius from the middle
    EXPECT_TRUE(std::isnan(result.fit.df));  // one size fixes no slope
  }
}

TEST(Cca, FitsThePopulationFromTwentyMonomersToATenthOfN) {
  // Every merge is a sample; the fit keeps clusters of 20 to N/10 monomers.
  const auto large = simulate_cca(cca(2, 3000), 2, Deadline::none());
  EXPECT_GE(large.fit.n_min, 20);
  EXPECT_LE(large.fit.n_min, 25);
  EXPECT_LE(large.fit.n_max, 300);
  EXPECT_GE(large.fit.n_max, 200);
  EXPECT_GT(large.fit.df, 1.2);
  EXPECT_LT(large.fit.df, 1.7);
  EXPECT_GT(large.fit.kf, 0.0);
  // Smaller runs fit up to 200 monomers (or N), and under 21 monomers there is no slope.
  const auto small = simulate_cca(cca(2, 600), 2, Deadline::none());
  EXPECT_LE(small.fit.n_max, 200);
  EXPECT_GT(small.fit.n_max, 60);
  EXPECT_TRUE(std::isfinite(small.fit.df));
  const auto tiny = simulate_cca(cca(2, 20), 2, Deadline::none());
  EXPECT_TRUE(std::isnan(tiny.fit.df));
  EXPECT_GT(tiny.rg, 0.0);
}

// ---- The periodic cell list against brute force ----

/// How often a search visited each periodic image: (point, whole box lengths from its
/// position to the image) -> visits.
template <std::size_t D>
using Visits = std::map<std::pair<std::int32_t, std::array<long, D>>, int>;

/// Records a visit of the image of point j at `image`, which must be one.
template <std::size_t D>
void record(Visits<D>& visits, const std::vector<Vec<D>>& positions, double box, std::int32_t j,
            const Vec<D>& image) {
  std::array<long, D> boxes;
  for (std::size_t k = 0; k < D; ++k) {
    const double shift = (image[k] - positions[static_cast<std::size_t>(j)][k]) / box;
    ASSERT_NEAR(shift, std::round(shift), 1e-9) << "not an image of " << j;
    boxes[k] = std::lround(shift);
  }
  ++visits[{j, boxes}];
}

/// Checks that a search visited each image at most once, and every image within `reach` of x
/// (up to 3 boxes away).
template <std::size_t D>
void expect_every_image_within(const Visits<D>& visits, const std::vector<Vec<D>>& positions,
                               double box, const Vec<D>& x, double reach) {
  for (const auto& [image, count] : visits) {
    ASSERT_EQ(count, 1) << "image of " << image.first << " visited twice";
  }
  for (std::size_t j = 0; j < positions.size(); ++j) {
    std::array<long, D> boxes;
    for (boxes.fill(-3);;) {
      Vec<D> image = positions[j];
      for (std::size_t k = 0; k < D; ++k) {
        image[k] += static_cast<double>(boxes[k]) * box;
      }
      if (detail::norm<D>(detail::add_scaled<D>(image, -1.0, x)) < reach * (1 - 1e-9)) {
        ASSERT_EQ(visits.count({static_cast<std::int32_t>(j), boxes}), 1u)
            << "image of " << j << " within " << reach << " not visited";
      }
      std::size_t k = 0;
      while (k < D && boxes[k] == 3) {
        boxes[k] = -3;
        ++k;
      }
      if (k == D) break;
      ++boxes[k];
    }
  }
}

template <std::size_t D>
void check_cells_against_brute_force(double box, std::uint64_t seed) {
  constexpr std::int32_t kPoints = 100;
  Rng rng(seed);
  detail::PeriodicCells<D> cells(box, 3.0, kPoints, 8);  // more levels than cells, for 5 and 7
  std::vector<Vec<D>> positions(kPoints);
  auto random_unwrapped = [&] {
    Vec<D> x;  // up to two boxes away from the box: unwrapped coordinates
    for (auto& coordinate : x) {
      coordinate = box * (5.0 * rng.uniform() - 2.0);
    }
    return x;
  };
  for (std::int32_t id = 0; id < kPoints; ++id) {
    positions[static_cast<std::size_t>(id)] = random_unwrapped();
    cells.insert(id, positions[static_cast<std::size_t>(id)]);
  }
  for (int round = 0; round < 100; ++round) {
    const auto moved = static_cast<std::int32_t>(rng.below(kPoints));
    positions[static_cast<std::size_t>(moved)] = random_unwrapped();
    cells.move(moved, positions[static_cast<std::size_t>(moved)]);
    const auto id = static_cast<std::int32_t>(rng.below(kPoints));
    const Vec<D>& x = positions[static_cast<std::size_t>(id)];

    // The neighbour scan visits every image within a cell side, each once.
    Visits<D> neighbours;
    cells.for_each_neighbour(id, [&](std::int32_t j, const Vec<D>& image) {
      record(neighbours, positions, box, j, image);
    });
    expect_every_image_within(neighbours, positions, box, x, cells.cell_side());

    // Rings 0 .. r visit every image within r cell sides, each once.
    const auto rings = static_cast<std::int64_t>(1 + rng.below(3));
    Visits<D> in_rings;
    for (std::int64_t ring = 0; ring <= rings; ++ring) {
      detail::PeriodicCells<D>::for_each_cell_on_ring(
          cells.cell_of(id), ring, [&](const auto& cell) {
            cells.for_each_in_cell(cell, [&](std::int32_t j, const Vec<D>& image) {
              record(in_rings, positions, box, j, image);
            });
          });
    }
    expect_every_image_within(in_rings, positions, box, x,
                              static_cast<double>(rings) * cells.cell_side());

    // The counts agree with the cells the points are in, at every level.
    for (int level = 0; level < cells.level_count(); ++level) {
      std::vector<std::int32_t> level_counts(cells.slot_count(level), 0);
      for (std::int32_t j = 0; j < kPoints; ++j) {
        auto cell = cells.cell_of(j);
        for (int up = 0; up < level; ++up) {
          cell = detail::PeriodicCells<D>::parent(cell);
        }
        ++level_counts[cells.slot(cell, level)];
      }
      for (std::size_t slot = 0; slot < level_counts.size(); ++slot) {
        ASSERT_EQ(cells.count(slot, level), level_counts[slot]);
      }
      if (cells.cells_per_side(level) > 1) {  // otherwise one cell holds the box, or more
        EXPECT_DOUBLE_EQ(cells.cell_side(level) * static_cast<double>(cells.cells_per_side(level)),
                         box);
      }
    }
    std::vector<std::int32_t> counts(cells.slot_count(), 0);
    for (std::int32_t j = 0; j < kPoints; ++j) {
      ++counts[cells.slot(cells.cell_of(j))];
    }

    // A removed point is no longer found nor counted; inserted again, it is.
    if (moved != id) {
      const std::size_t slot = cells.slot(cells.cell_of(moved));
      cells.remove(moved);
      EXPECT_EQ(cells.count(slot), counts[slot] - 1);
      cells.for_each_neighbour(id, [&](std::int32_t j, const Vec<D>&) { ASSERT_NE(j, moved); });
      cells.insert(moved, positions[static_cast<std::size_t>(moved)]);
      EXPECT_EQ(cells.count(slot), counts[slot]);
    }
  }
}

TEST(CcaCells, NeighboursAndRingsMatchBruteForce) {
  check_cells_against_brute_force<2>(40.0, 1);
  check_cells_against_brute_force<3>(20.0, 2);
  check_cells_against_brute_force<2>(5.0, 3);  // one cell: the block is 3^D images of it
  check_cells_against_brute_force<3>(7.0, 4);  // two cells per side
}

// ---- A cluster's own index (cluster_index.hpp) ----

template <std::size_t D>
void check_index_against_brute_force(double cell_side, std::uint64_t seed) {
  // A fractal-like spread: most particles in a tight core, some far out (negative and positive
  // coordinates, several levels of cells apart).
  Rng rng(seed);
  detail::ClusterIndex<D> index(cell_side);
  std::vector<Vec<D>> offsets;
  for (std::int32_t id = 0; id < 400; ++id) {
    Vec<D> x;
    const double spread = id % 4 == 0 ? 300.0 : 40.0;
    for (auto& coordinate : x) {
      coordinate = spread * (2 * rng.uniform() - 1);
    }
    offsets.push_back(x);
    index.insert(id, x);
  }
  auto true_distance = [&](const Vec<D>& x) {
    double nearest = std::numeric_limits<double>::infinity();
    for (const Vec<D>& offset : offsets) {
      nearest = std::min(nearest, detail::norm<D>(detail::add_scaled<D>(x, -1.0, offset)));
    }
    return nearest;
  };
  const double exact_below = cell_side / 2;
  for (int query = 0; query < 3000; ++query) {
    Vec<D> x;
    for (auto& coordinate : x) {
      coordinate = 450 * (2 * rng.uniform() - 1);
    }
    const double truth = true_distance(x);
    const double needed = 100 * rng.uniform();
    std::vector<std::int32_t> visited;
    const double bound = index.distance_bound(
        x, needed, [&](const auto& entry) { visited.push_back(entry.particle); });
    // A lower bound, exact up to h/2, and every centre within h/2 visited.
    ASSERT_LE(bound, truth + 1e-9);
    if (truth < exact_below) {
      ASSERT_NEAR(bound, truth, 1e-9);
    }
    for (std::int32_t id = 0; id < 400; ++id) {
      if (detail::norm<D>(detail::add_scaled<D>(x, -1.0, offsets[static_cast<std::size_t>(id)])) <
          exact_below) {
        ASSERT_NE(std::find(visited.begin(), visited.end(), id), visited.end());
      }
    }
    // Not uselessly weak: a climb stops at the first occupied block, of cells of side s,
    // having proved s/4, and the centre in it lies within the block's diagonal 2 s sqrt(D);
    // or at `needed`, or at the index's reach.
    if (truth > exact_below) {
      const double most = std::min({needed, truth, index.reach()});
      EXPECT_GE(bound, most / (8 * std::sqrt(static_cast<double>(D))) - 1e-9);
    }

    // The descent visits every particle of the cells it cannot rule out: with a ball of
    // radius r around x ruling cells out, every particle within r - its cell's radius of x
    // must be visited, and none is visited twice.
    const double r = 60 * rng.uniform();
    std::vector<std::int32_t> near;
    index.visit_where(
        Vec<D>{}, 300 * std::sqrt(static_cast<double>(D)),
        [&](const Vec<D>& middle, double radius) {
          return detail::norm<D>(detail::add_scaled<D>(middle, -1.0, x)) < r + radius;
        },
        [&](const auto& entry) { near.push_back(entry.particle); });
    std::sort(near.begin(), near.end());
    ASSERT_EQ(std::adjacent_find(near.begin(), near.end()), near.end());
    for (std::int32_t id = 0; id < 400; ++id) {
      if (detail::norm<D>(detail::add_scaled<D>(x, -1.0, offsets[static_cast<std::size_t>(id)])) <
          r) {
        ASSERT_TRUE(std::binary_search(near.begin(), near.end(), id)) << "particle " << id;
      }
    }
  }
}

TEST(CcaIndex, DistancesAndDescentMatchBruteForce) {
  check_index_against_brute_force<2>(24.0, 5);
  check_index_against_brute_force<3>(24.0, 6);
  check_index_against_brute_force<3>(5.0, 7);  // many levels between particles
}
