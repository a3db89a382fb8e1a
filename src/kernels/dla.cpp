
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "brownian.hpp"
#include "fracstudy/kernels/fractal_fit.hpp"
#include "fracstudy/kernels/random.hpp"
#include "growth.hpp"
#include "occupancy_grid.hpp"

// Off-lattice particle-cluster DLA (Witten & Sander 1981; Meakin 1983). Lengths inside this
// file are in units of the particle radius r = 1; results are scaled by the physical radius
// at the very end, so Rg is exactly proportional to it for a given seed.
//
// One walker at a time is released on a circle/sphere just outside the cluster and moves as
// a Brownian particle, sampled exactly by large steps:
//  - away from contact it jumps to the point where Brownian motion first leaves a ball
//    that holds it and provably touches no particle (walk on spheres, Muller 1956). The
//    occupancy grid's distance maps certify balls around their cells' middles, near the
//    cluster and far from it; the walker need not be at the ball's centre: from an inner
//    point the exit point follows the Poisson kernel, sampled exactly (brownian.hpp), and
//    the move is as long as the ball allows rather than the walker's distance from its
//    edge (since 0.5.0: 40-45% fewer jumps than balls centred on the walker);
//  - within kMinStep of contact it takes steps of length kMinStep, and the first contact
//    along each step is found exactly (ray against the radius-2r spheres around centres);
//  - a contact sticks with the sticking probability, otherwise the walk goes on from the
//    contact point;
//  - a walker that leaves the launch circle/sphere is put back on it at the point where it
//    would first return (harmonic measure), so no walker is ever killed or biased.
// Two walkers move in turn (since 0.6.0): the current one, whose particle is the next to
// stick, and the one after it, which walks ahead in the cluster as it is and keeps the
// balls it moved in. Once the current walker sticks, the next one's moves are checked
// against the new particle and undone from the first whose ball comes within contact of
// it (see revalidate): every walk is still a Brownian path in the cluster it sticks to, so
// the clusters follow the same law. What changes is the speed: one walker's moves form one
// long chain of dependent loads and arithmetic, and the other walker's work fills its
// waits (memory, square roots), with the grid loading each walker's next map line and
// list heads a step ahead (2D, two rounds side by side: 0.93-0.96x the time at 10^6 and
// 0.90-0.96x at 10^7; 3D: the same time at 10^6). Where contacts rarely stick (sticking
// probability below kTwoWalkersFrom) one walker walks at a time, as before 0.6.0 (since
// 0.7.0; 0.6.0 was up to 1.46x slower there).

namespace fracstudy::kernels {
namespace {

using detail::Vec;

/// Centre-to-centre distance of two touching particles (r = 1).
constexpr double kContactDistance = 2.0;

/// The minimum step delta = r/2. Below this gap to contact the walker steps by delta with an
/// exact contact test instead of jumping (jumps by the gap alone would never arrive). delta
/// is four times smaller than the contact radius 2r, so a particle's surface is nearly flat
/// on the scale of one step and contacts land within a fraction of r of where continuous
/// Brownian motion would put them. Measured: delta = r/4 and delta = r gave the same
/// ensemble df as r/2 to within 2 standard errors (100 2D clusters of 10^4), at similar cost.
constexpr double kMinStep = 0.5;

/// Side of the level-0 grid cells, 3r: the 3^d block around the walker must hold every
/// centre within contact distance + delta = 2.5r of it, and small cells keep the exact
/// nearest-centre scans short (at most a few particles per cell).
constexpr double kCellSize = 3.0;
static_assert(kCellSize >= kContactDistance + kMinStep);

/// Launch radius = (largest centre distance from the seed) + 5r. Any margin above the
/// contact distance 2r is exact (a walker from infinity first meets a sphere enclosing the
/// cluster at a uniform point); a thin margin saves the walk in from far away.
constexpr double kLaunchMargin = 5.0;

/// The least sticking probability at which two walkers walk in turn. Where contacts rarely
/// stick, a walker spends its life in short steps at the cluster's surface, right where the
/// current walker's particle lands: many of the next walker's moves are undone, and short
/// steps gain little from loads started a step ahead. Measured (2D, CPU time against one
/// walker, 2026-12-03): 1.46x the time at p = 10^-4 (N = 1000), 1.07-1.11x at 10^-3..0.1,
/// even at 0.3, 0.97-0.99x at 0.5-0.7, 0.9-0.96x at 1.
constexpr double kTwoWalkersFrom = 0.5;

/// Walker steps between two deadline checks: a few thousand steps take well under a
/// millisecond, and reading the clock that rarely costs nothing measurable.
constexpr std::int64_t kStepsPerDeadlineCheck = 4096;

/// Centres the grid makes room for at once (beyond, it grows as they come): 6.4 GB in 3D,
/// address space only until the centres arrive.
constexpr std::int64_t kMostReserved = std::int64_t{1} << 28;

/// The growing cluster and its walker.
template <std::size_t D>
class DlaGrowth {
 public:
  /// Starts a cluster with its seed particle at the origin.
  DlaGrowth(const SimulationParameters& p, std::uint64_t seed, Deadline deadline)
      : target_(p.n_particles),
        sticking_probability_(p.sticking_probability),
        rng_(seed),
        deadline_check_(deadline, kStepsPerDeadlineCheck),
        grid_(kCellSize, 8 * kCellSize),
        history_(log_spaced_sizes(p.n_particles, detail::kSamplesPerDecade)) {
    grid_.reserve(static_cast<std::size_t>(std::min<std::int64_t>(p.n_particles, kMostReserved)));
    attach(Vec<D>{});  // the seed particle at the origin
  }

  /// Grows the cluster to n particles, two walkers at a time where that pays (see
  /// kTwoWalkersFrom): each step of the current walker is followed by one of the next, which
  /// waits where it sticks until the current one has (see Walker).
  void grow(std::int64_t n) {
    if (history_.size() >= n) return;
    if (sticking_probability_ < kTwoWalkersFrom) return grow_one_walker_at_a_time(n);
    launch(0);
    launch(1);
    for (;;) {
      if (!walkers_[current_].stuck) move(current_);
      if (const auto p = walkers_[current_].stuck) {
        attach(*p);
        if (history_.size() >= n) return;
        const std::size_t next = 1 - current_;
        revalidate(walkers_[next], *p);
        launch(current_);  // the slot takes the walker after next
        current_ = next;
        continue;
      }
      if (!walkers_[1 - current_].stuck) move(1 - current_);
    }
  }

  /// Grows the cluster to n particles with one walker at a time (the random numbers fall as
  /// they did before 0.6.0, so these clusters are 0.5.0's).
  void grow_one_walker_at_a_time(std::int64_t n) {
    Walker& walker = walkers_[0];
    while (history_.size() < n) {
      launch(0);
      while (!walker.stuck) {
        step(walker, false);
      }
      attach(*walker.stuck);
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
  /// Radius of the circle/sphere on which walkers start and to which strays return.
  double launch_radius() const { return max_centre_distance_ + kLaunchMargin; }

  /// A region a walker's move was certified free in: the move stays valid for a cluster
  /// grown since as long as no new centre lies within the contact distance of the ball.
  struct Move {
    Vec<D> from;
    Vec<D> middle;
    double reach_sq;  ///< (ball radius + contact distance)^2
  };

  /// One walker. Two walk at once, in turn (see grow): the one whose particle comes next
  /// ("current") and the one after it ("next"), which walks ahead in the cluster as it is,
  /// keeping its moves to check them against the current walker's particle once it sticks.
  struct Walker {
    Vec<D> x{};
    std::optional<Vec<D>> stuck;  ///< where it stuck (the next walker waits there)
    std::vector<Move> moves;      ///< kept by the next walker only
  };

  /// Puts a fresh walker in slot k, on the launch circle/sphere.
  void launch(std::size_t k) {
    Walker& walker = walkers_[k];
    grid_.use_cursor(k);
    grid_.expect_far_query();
    walker.x = detail::scaled<D>(launch_radius(), detail::random_direction<D>(rng_));
    walker.stuck.reset();
    walker.moves.clear();
  }

  /// One step of the walker in slot k, with its grid cursor; then the grid starts loading
  /// what the walker's next step will read, while the other walker steps.
  void move(std::size_t k) {
    Walker& walker = walkers_[k];
    grid_.use_cursor(k);
    step(walker, k != current_);
    if (!walker.stuck) grid_.prefetch_query(walker.x);
  }

  /// One move of a walker; sets walker.stuck when it sticks. `keep` records the move for
  /// revalidate.
  void step(Walker& walker, bool keep) {
    deadline_check_.tick();
    Vec<D>& x = walker.x;
    const Vec<D> from = x;
    const Ball ball = free_ball(x);
    if (ball.clearance() >= kMinStep) {
      // A ball centred on the walker: a uniform point of its surface (the direction does
      // not depend on x, so it is drawn off the jump's critical path).
      x = ball.offset == 0
              ? detail::add_scaled<D>(x, ball.radius, detail::random_direction<D>(rng_))
              : detail::exit_from_ball<D>(x, ball.middle, ball.radius, ball.offset, rng_);
      if (keep) keep_move(walker, from, ball.middle, ball.radius);
    } else {
      const Vec<D> direction = detail::random_direction<D>(rng_);
      const auto contact = grid_.first_contact(x, direction, kMinStep, kContactDistance);
      const double length = contact ? *contact : kMinStep;
      x = detail::add_scaled<D>(x, length, direction);
      // The segment lies in the ball of its midpoint with half its length.
      if (keep) {
        keep_move(walker, from, detail::add_scaled<D>(from, 0.5 * length, direction), 0.5 * length);
      }
      if (contact && rng_.bernoulli(sticking_probability_)) {
        walker.stuck = x;
        return;
      }
      // no contact, or no stick: walk on
    }
    const double launch = launch_radius();
    if (detail::dot<D>(x, x) > launch * launch) x = return_to_launch_sphere(x);
  }

  static void keep_move(Walker& walker, const Vec<D>& from, const Vec<D>& middle, double radius) {
    const double reach = radius + kContactDistance;
    walker.moves.push_back({from, middle, reach * reach});
  }

  /// Checks the next walker's moves against a particle added at p since they were made: the
  /// first move whose ball comes within contact of p is undone with all after it (the walk
  /// goes on from where that move started, in the grown cluster); the moves before it are
  /// moves of a Brownian path in the grown cluster as well. Neither the launch point nor a
  /// return from beyond the launch sphere is kept: p lies within 2r of an older centre,
  /// so every point within contact of it lies inside the launch sphere (a margin of 5r).
  /// Exact: whether a move is undone depends on where it started and on p, not on where it
  /// went; and how far the walker got depends on the current walker's randomness, not its own.
  void revalidate(Walker& walker, const Vec<D>& p) {
    for (std::size_t i = 0; i < walker.moves.size(); ++i) {
      const Move& move = walker.moves[i];
      const Vec<D> offset = detail::add_scaled<D>(p, -1.0, move.middle);
      if (detail::dot<D>(offset, offset) < move.reach_sq) {
        walker.x = move.from;
        walker.stuck.reset();
        walker.moves.resize(i);
        break;
      }
    }
    walker.moves.clear();  // it walks in the grown cluster from now on, as the current walker
  }

  using Ball = typename detail::OccupancyGrid<D>::FreeBall;

  /// A ball around the walker at x that no particle reaches into (its surface touches none),
  /// from the occupancy grid or, beyond the grid's coarse maps, from the cluster's bounding
  /// sphere. The sphere's ball needs |x|, a square root on every jump's critical path (it
  /// queues with the walk's other square roots and divisions), so it is taken only where it
  /// can beat the grid's: rarely, since the grid's coarse maps see the whole cluster.
  Ball free_ball(const Vec<D>& x) const {
    const Ball from_grid = grid_.free_ball(x, kContactDistance, kMinStep);
    const double sphere_beats_grid_beyond =
        from_grid.clearance() + kContactDistance + max_centre_distance_;
    if (sphere_beats_grid_beyond < 0 ||
        detail::dot<D>(x, x) > sphere_beats_grid_beyond * sphere_beats_grid_beyond) {
      const double beyond_cluster = detail::norm<D>(x) - max_centre_distance_ - kContactDistance;
      const double grid_score =
          from_grid.radius * from_grid.radius - from_grid.offset * from_grid.offset;
      if (beyond_cluster >= kMinStep &&
          (from_grid.clearance() < kMinStep || beyond_cluster * beyond_cluster > grid_score)) {
        return {x, beyond_cluster, 0.0};
      }
    }
    return from_grid;
  }

  /// Where a walker outside the launch sphere first comes back to it; one that would
  /// escape to infinity (3D) is replaced by a fresh walker, which arrives uniformly.
  Vec<D> return_to_launch_sphere(const Vec<D>& x) {
    if constexpr (D == 2) {
      return detail::first_passage_to_circle(x, launch_radius(), rng_);
    } else {
      if (auto hit = detail::first_passage_to_sphere(x, launch_radius(), rng_)) return *hit;
      return detail::scaled<D>(launch_radius(), detail::random_direction<D>(rng_));
    }
  }

  /// Adds a particle at x to the cluster and its running sums.
  void attach(const Vec<D>& x) {
    max_centre_distance_ = std::max(max_centre_distance_, detail::norm<D>(x));
    // Keep every point a walker can occupy (inside the launch sphere) one cell inside
    // the grid.
    grid_.cover(launch_radius() + kCellSize);
    if (history_.size() + 1 == target_ / kSizeAheadAt) size_grid_ahead();
    grid_.insert(x);
    history_.add(x);
  }

  /// Once the cluster has a 20th of its particles, the grid is made wide enough for the
  /// radius it will likely end with, (N / n)^(1/df) times today's, with a margin: the
  /// rebuilds on the way there (each refiles every centre into every level, at 1.25x the
  /// width at a time near the end) were 0.7 filings per particle in 3D. A cluster that
  /// outgrows the estimate is covered by the usual rebuilds.
  void size_grid_ahead() {
    constexpr double kDimension = D == 2 ? 1.68 : 2.45;  // a little below df: a wider guess
    constexpr double kMargin = 1.2;
    const double growth = std::pow(static_cast<double>(kSizeAheadAt), 1.0 / kDimension);
    grid_.cover(kMargin * growth * max_centre_distance_ + kLaunchMargin + kCellSize);
  }
  static constexpr std::int64_t kSizeAheadAt = 20;

  std::array<Walker, 2> walkers_;
  std::size_t current_ = 0;
  std::int64_t target_;
  double sticking_probability_;
  Rng rng_;
  detail::DeadlineCheck deadline_check_;
  detail::OccupancyGrid<D> grid_;
  detail::GrowthHistory<D> history_;
  double max_centre_distance_ = 0;
};

}  // namespace

SimulationResult simulate_dla(const SimulationParameters& parameters, std::uint64_t seed,
                              Deadline deadline) {
  return detail::grow_and_measure<DlaGrowth>(Algorithm::DLA, parameters, seed, deadline);
}

}  // namespace fracstudy::kernels
