
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "brownian.hpp"
#include "fracstudy/kernels/fractal_fit.hpp"
#include "growth.hpp"
#include "occupancy_grid.hpp"

// Particle–cluster ballistic aggregation off the lattice (Vold, J. Colloid Sci. 18, 684
// (1963); the compact limit df = d: Ball & Witten, Phys. Rev. A 29, 2966 (1984)).
//
// Lengths are in units of the particle radius r = 1 and scaled by the physical radius at
// the very end, so Rg is exactly proportional to it for a given seed.
//
// Each particle arrives from infinity on a straight line: a uniformly random direction u and
// an impact parameter uniform over the disc (2D: segment) across u that covers the cluster's
// bounding sphere, which is a uniform flux from every direction. It flies until its first
// contact with the cluster (centre distance 2r), found exactly: far from the cluster it
// jumps along the line by a distance the occupancy grid proves free; near it, segments of
// length kSegment are tested against the radius-2r spheres about the centres in the grid
// cells around them.
//
// A contact sticks with the sticking probability. A particle that does not stick is
// re-emitted from the contact point in a direction drawn from Lambert's cosine law about
// the contact normal, the diffuse reflection of kinetic theory (Maxwell 1879; Knudsen's
// cosine law): a ballistic particle is one whose mean free path exceeds the cluster, the
// free-molecular regime, in which diffuse re-emission is the standard wall condition. It
// then flies on, possibly to further contacts; one that leaves the bounding sphere
// never returns (straight lines do not) and the next particle arrives. Discarding a
// non-sticking particle at its first contact would not be a model of p at all: the
// accepted contacts would follow the same distribution as for p = 1. Re-emission lets a
// particle that bounces off a tip reach deeper, so smaller p gives denser clusters, as in
// reaction-limited particle–cluster growth (Meakin, "Fractals, scaling and growth far from
// equilibrium", Cambridge 1998).

namespace fracstudy::kernels {
namespace {

using detail::Vec;

/// Centre-to-centre distance of two touching particles (r = 1).
constexpr double kContactDistance = 2.0;

/// Side of the level-0 grid cells, 3r, as in DLA: small cells keep the contact tests to a
/// few particles.
constexpr double kCellSize = 3.0;

/// Length of a segment tested exactly for contact once the particle is within it of the
/// cluster: the longest the grid allows (contact distance + segment <= cell size), since
/// every jump shorter than a segment is a wasted step.
constexpr double kSegment = kCellSize - kContactDistance;

/// Distance maps only at level 0 (within 9r in 2D, 6r in 3D of the cluster): a flight is a
/// straight line that crosses open space in a few jumps anyway, and each map level costs
/// every insertion. Measured (CPU time, 10^5 particles): one level 0.46 s (3D) and 0.17 s
/// (2D), two levels 0.59 / 0.18 s, all levels 0.64 / 0.22 s.
constexpr std::size_t kMapLevels = 1;

/// Particles start this far outside the sphere that bounds every possible contact
/// (largest centre distance + 2r). Any margin is exact; a small one keeps rounding off
/// the boundary.
constexpr double kLaunchMargin = 1.0;

/// Flight steps between two deadline checks (well under a millisecond of work).
constexpr std::int64_t kStepsPerDeadlineCheck = 4096;

/// Where and on which particle a flight ends.
template <std::size_t D>
struct Hit {
  Vec<D> point;         ///< the flying particle's centre at contact
  std::size_t touched;  ///< index of the particle it touches
};

/// The growing cluster and the particle in flight.
template <std::size_t D>
class BallisticGrowth {
 public:
  /// Starts a cluster with its seed particle at the origin.
  BallisticGrowth(const SimulationParameters& p, std::uint64_t seed, Deadline deadline)
      : sticking_probability_(p.sticking_probability),
        rng_(seed),
        deadline_check_(deadline, kStepsPerDeadlineCheck),
        grid_(kCellSize, 8 * kCellSize, kMapLevels),
        history_(log_spaced_sizes(p.n_particles, detail::kSamplesPerDecade)) {
    attach(Vec<D>{});
  }

  /// Grows the cluster to n particles.
  void grow(std::int64_t n) {
    while (history_.size() < n) {
      attach(next_particle());
    }
  }

  /// Rg (in particle radii) at the sample sizes.
  const std::vector<GrowthSample>& history() const { return history_.samples(); }
  /// The df fit over the history of a cluster of n particles.
  static PowerLawFit fit(std::span<const GrowthSample> history, std::int64_t n) {
    return detail::fit_last_two_decades(history, n);
  }
  /// The particle centres in the order they stuck, the seed first (in particle radii).
  /// Gives the centres away, freeing the grid (the growth ends here).
  auto take_centres() { return grid_.take_centres(); }

 private:
  /// Radius of the sphere about the origin outside which no contact is possible.
  double reach() const { return max_centre_distance_ + kContactDistance; }

  /// Sends particles in until one sticks; returns its centre.
  Vec<D> next_particle() {
    for (;;) {
      auto [x, u] = arrival();
      for (;;) {  // one flight per pass: the arrival, then each re-emission
        const auto hit = fly(x, u);
        if (!hit) break;  // flew out of reach: gone for good
        x = hit->point;
        if (rng_.bernoulli(sticking_probability_)) return x;
        const Vec<D> normal =
            detail::scaled<D>(1.0 / kContactDistance, detail::add_scaled<D>(x, -1.0, centre(*hit)));
        u = detail::cosine_direction<D>(normal, rng_);
      }
    }
  }

  /// The start and direction of a particle arriving from infinity with a uniform flux: its
  /// line crosses the launch sphere, and it starts where the line enters it.
  std::pair<Vec<D>, Vec<D>> arrival() {
    const double radius = reach() + kLaunchMargin;
    const Vec<D> u = detail::random_direction<D>(rng_);
    Vec<D> offset;  // impact parameter: uniform over the disc (2D: segment) across u
    if constexpr (D == 2) {
      offset = detail::scaled<2>(radius * (2.0 * rng_.uniform() - 1.0), Vec<2>{-u[1], u[0]});
    } else {
      const auto [e1, e2] = detail::orthonormal_complement(u);
      const detail::DiskPoint p = detail::uniform_in_unit_disk(rng_);
      offset = detail::add_scaled<3>(detail::scaled<3>(radius * p.x, e1), radius * p.y, e2);
    }
    const double entry = std::sqrt(std::max(0.0, radius * radius - detail::dot<D>(offset, offset)));
    return {detail::add_scaled<D>(offset, -entry, u), u};
  }

  /// Flies from x along u to the first contact with the cluster; nullopt when the line
  /// leaves the cluster's reach without one.
  std::optional<Hit<D>> fly(Vec<D> x, const Vec<D>& u) {
    for (;;) {
      deadline_check_.tick();
      if (detail::dot<D>(x, u) >= 0 && detail::dot<D>(x, x) > reach() * reach()) {
        return std::nullopt;  // outside the reach and moving away: no contact ahead
      }
      const double gap = free_path(x);
      if (gap >= kSegment) {
        x = detail::add_scaled<D>(x, gap, u);
      } else if (const auto contact = grid_.first_contact_with(x, u, kSegment, kContactDistance)) {
        return Hit<D>{detail::add_scaled<D>(x, contact->distance, u), contact->centre};
      } else {
        x = detail::add_scaled<D>(x, kSegment, u);
      }
    }
  }

  /// A lower bound on how far the particle at x can move without touching the cluster:
  /// (distance to the nearest centre) - 2r, bounded by the bounding sphere and the grid.
  double free_path(const Vec<D>& x) const {
    const double beyond_cluster = detail::norm<D>(x) - max_centre_distance_;
    return std::max(beyond_cluster, grid_.nearest_distance_bound(x)) - kContactDistance;
  }

  /// Adds a particle at x to the cluster.
  void attach(const Vec<D>& x) {
    max_centre_distance_ = std::max(max_centre_distance_, detail::norm<D>(x));
    grid_.cover(reach() + kLaunchMargin + kCellSize);  // every point of a flight, and a cell
    grid_.insert(x);
    history_.add(x);
  }

  const Vec<D>& centre(const Hit<D>& hit) const { return grid_.centres()[hit.touched]; }

  double sticking_probability_;
  Rng rng_;
  detail::DeadlineCheck deadline_check_;
  detail::OccupancyGrid<D> grid_;
  detail::GrowthHistory<D> history_;
  double max_centre_distance_ = 0;
};

}  // namespace

SimulationResult simulate_ballistic(const SimulationParameters& parameters, std::uint64_t seed,
                                    Deadline deadline) {
  return detail::grow_and_measure<BallisticGrowth>(Algorithm::BALLISTIC, parameters, seed,
                                                   deadline);
}

}  // namespace fracstudy::kernels
