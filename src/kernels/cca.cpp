
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numbers>
#include <optional>
#include <queue>
#include <span>
#include <vector>

#include "brownian.hpp"
#include "cluster_index.hpp"
#include "fracstudy/kernels/fractal_fit.hpp"
#include "fracstudy/kernels/random.hpp"
#include "growth.hpp"
#include "periodic_cells.hpp"

#ifdef FRACSTUDY_CCA_TRACE
#include <cstdio>
#include <utility>
#endif

// Off-lattice cluster-cluster aggregation (Meakin 1983; Kolb, Botet & Jullien 1983) in a
// periodic box. Lengths inside this file are in units of the particle radius a = 1; results
// are scaled by the physical radius at the very end, so Rg is exactly proportional to it.
//
// The model:
//  - N monomers are placed uniformly at random, without overlap, in a periodic box of side L
//    set by the volume fraction: phi = N v / L^d, v = pi a^2 (2D) or 4 pi a^3 / 3 (3D).
//  - Every cluster of s monomers moves rigidly as a Brownian particle with the diffusion
//    coefficient D(s) = D1 s^(-1/2) (see kMobilityExponent).
//  - A move that brings a particle of the cluster into contact (centres 2a apart) with a
//    particle of another cluster stops there. The two clusters then stick for good with the
//    sticking probability p; otherwise they stay touching, unbonded, and the moves go on from
//    there (so a pair that keeps meeting gets a new chance at every contact, as in RLCA).
//  - It ends when one cluster remains.
//
// The Brownian motion is sampled exactly by large steps where that is safe, as in the DLA
// kernel, with one clock per cluster:
//  - at its turn a cluster draws a direction; if it can move by some l >= delta in any
//    direction without touching another cluster (its free room), it jumps by l: the exit point
//    of Brownian motion from a ball is uniform on the sphere;
//  - otherwise it steps by delta = a/2 and stops at the first contact along the step, found
//    exactly (ray against the radius-2a spheres around the other clusters' centres, periodic
//    images included);
//  - its next turn comes after a waiting time of mean l^2 / (2 d D(s)), the time Brownian
//    motion needs to cover l, drawn uniformly from [0, 2 x mean]: only the mean enters the
//    diffusion coefficient, and it needs no logarithm. Turns are taken in time order.
// The clusters' moves interleave in time, so the approximation lies only in the timing: while
// a cluster waits out a long jump, the others see it where the jump ended. Measured: capping
// every jump at 2a (nearly a fixed-step random walk, 6-30 times slower) gave the same ensemble
// df within one standard error (24-30 runs each of N = 1000 in 2D and 3D, phi = 0.01 and
// 0.001; e.g. 3D, phi = 0.001: 1.735 +- 0.028 capped, 1.768 +- 0.028 as here).
//
// The work stays local, and a move costs the same for a cluster of any size:
//  - every cluster of more than a few particles indexes them in its own frame (a sparse
//    hierarchy of cells, cluster_index.hpp), so moving it changes nothing in the index;
//  - the clusters' bounding spheres are kept by their centres in a cell list whose cells hold
//    about one cluster each (the grid coarsens as clusters merge); the few clusters wider than
//    a cell are kept apart and looked at every time. A free room is at least the gap between
//    the cluster's sphere and the nearest other sphere, which lets clusters far apart cross
//    that gap in one jump;
//  - only when that gap is below delta does a survey look closer: at each other cluster whose
//    sphere comes within kSurveyReach, nearest first, it looks up the particles of the smaller
//    of the two in the larger one's index (whole cells of the smaller that lie clear are
//    skipped), which gives the free room up to kSurveyReach and the first contact along a
//    step of delta. A pair costs what the smaller cluster has near the larger one.
// Replacing one cell list of every particle (which each move of a cluster had to update
// particle by particle) by these made the cost grow like N instead of N^1.47 (3D,
// docs/performance.md).
//
// Periodic images: a cluster's particles and their images all translate together, so a
// cluster can never touch or approach its own image by moving; only particles of other
// clusters are obstacles. A merge joins the two clusters through the one contact that formed
// it, at the periodic image where it happened, so every cluster is a connected tree of
// contacts in unwrapped coordinates and its Rg is that of the unwrapped cluster. A cluster
// that spans most of the box may touch its own images (the merge put it there); such
// contacts form no bond, and they do not change as it moves. Rg then still measures the
// unwrapped cluster, but it is limited by the box: once clusters reach about kf (L/2)^df
// monomers they fill it (the system gels), so the volume fraction must be lowered as N grows
// to see the dilute limit (see the default in parameters.hpp and the fit range below).

namespace fracstudy::kernels {
namespace {

using detail::Vec;

constexpr double kInfinity = std::numeric_limits<double>::infinity();

/// Centre-to-centre distance of two touching particles (a = 1).
constexpr double kContactDistance = 2.0;

/// The minimum step delta = a/2, as in the DLA kernel: below this free room a cluster steps by
/// delta with an exact contact test. The contact surface is nearly flat on this scale.
constexpr double kMinStep = 0.5;

/// Side h of the level-0 cells of each cluster's own index (cluster_index.hpp). A distance
/// from a cluster is exact up to h/2 (the 2^d cells nearest the point), which must cover the
/// contact distance plus delta; beyond it the coarser levels prove a lower bound. Large cells
/// make the bounds, and so the jumps near other clusters, long: measured (3D, phi = 0.001,
/// N = 3·10^4, one seed) h = 5, 8, 12, 24 took 2.6, 1.3, 1.1 and 1.0 times the turns of the
/// particle cell list this replaced (whose cells were 7.8a there), and 4.5, 1.6, 1.2 and
/// 0.6 times its time; 32 was no faster than 24.
constexpr double kIndexCellSide = 24.0;
static_assert(kIndexCellSide / 2 >= kContactDistance + kMinStep);

/// The most free room a survey looks for near other clusters: a survey looks at every
/// cluster whose bounding sphere comes this near, so a longer reach costs more per survey
/// than its longer jumps save, and a shorter one takes more turns. Measured (3D, phi = 0.001,
/// N = 3·10^4, one seed): 10a was the fastest of 6, 10 and 20a with h = 12 and with h = 24.
constexpr double kSurveyReach = 10.0;

/// Clusters of at most this many particles have no index: scanning their members costs less.
constexpr std::size_t kUnindexedSize = 8;

/// Clusters per cell of the sphere list, at least: the grid is rebuilt coarser whenever merges
/// leave fewer.
constexpr std::int64_t kClustersPerSphereCell = 1;

/// How much farther than a sphere's centre a cell's nearest point may seem to lie, through
/// rounding (the images are placed whole box lengths away, about 10^-13 of the box): cells are
/// skipped only beyond it, so that skipping never changes a result.
constexpr double kCellGapMargin = 1e-6;

/// A relative margin on squared distances compared before their square roots are taken:
/// far above the rounding, so that the shortcut never changes a result.
constexpr double kRoundingMargin = 1e-9;

/// The fewest cells per side of the sphere list.
constexpr std::int64_t kMinSphereCellsPerSide = 4;

/// The farthest ring of sphere cells searched for the nearest other sphere.
constexpr std::int64_t kSphereRings = 2;

/// Exponent of the mobility law D(s) = D1 s^(-1/2). Stokes-Einstein gives D proportional to
/// 1/R_h with a hydrodynamic radius R_h ~ Rg ~ s^(1/df), i.e. s^-0.56 in 3D DLCA; s^(-1/2) is
/// a common simplification in CCA simulations and needs only a square root.
/// df barely depends on it while it keeps large clusters slower: equal mobility for all
/// clusters read 1.80 +- 0.02 against 1.81 +- 0.02 (3D, N = 3000, phi = 0.001, 20 runs each;
/// 1.785 +- 0.014 against 1.785 +- 0.011 when fitted from 10 monomers).
constexpr double kMobilityExponent = -0.5;

/// Units of work (a turn, a particle or a cell looked at) between two deadline checks: well
/// under a second of work (a turn takes 2-20 microseconds).
constexpr std::int64_t kWorkPerDeadlineCheck = 1 << 14;

static_assert(kMobilityExponent == -0.5, "diffusion_coefficient uses a square root");

/// The volume of one monomer of radius 1.
double monomer_volume(int dimension) {
  return dimension == 2 ? std::numbers::pi : 4.0 * std::numbers::pi / 3.0;
}

/// x^(1/d) for d = 2 or 3 from correctly rounded operations only (the library's cube root may
/// differ in the last bit between implementations, and the box and cell sizes enter every
/// trajectory): a square root in 2D, bisection on y^3 in 3D.
double portable_root(double x, int d) {
  if (d == 2) return std::sqrt(x);
  double lo = 0, hi = std::max(1.0, x);
  for (;;) {
    const double mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) return hi;
    (mid * mid * mid < x ? lo : hi) = mid;
  }
}

/// Side L of the periodic box that n monomers fill to the volume fraction phi.
double box_side_for(std::int64_t n, int dimension, double phi) {
  return portable_root(static_cast<double>(n) * monomer_volume(dimension) / phi, dimension);
}

/// The diffusion coefficient D(s) = s^(-1/2) of a cluster of s monomers (D1 = 1).
double diffusion_coefficient(std::size_t size) {
  return 1.0 / std::sqrt(static_cast<double>(size));
}

/// A contact found along a step.
struct Contact {
  double distance;        ///< how far along the step, in a
  std::int32_t touching;  ///< the particle of the moving cluster that touches
  std::int32_t touched;   ///< the particle of another cluster it touches
};

/// What a cluster sees around it before a step.
struct Surroundings {
  double free_room;                ///< it can move this far in any direction untouched
  std::optional<Contact> contact;  ///< the first contact along a step of delta, if any
};

/// A periodic image of another cluster near the one that moves.
template <std::size_t D>
struct Obstacle {
  std::int32_t cluster;  ///< whose image
  Vec<D> shift;          ///< whole box lengths from the cluster's unwrapped position
  double sphere_room;    ///< the gap between the two bounding spheres, less the contact distance
};

/// A cluster's turn to move.
struct Turn {
  double time;               ///< when
  std::int32_t cluster;      ///< whose
  std::uint32_t generation;  ///< the cluster's generation when queued; stale once it changed
  /// Later turns compare greater (the queue serves the earliest first; ties by cluster).
  bool operator>(const Turn& other) const {
    return time != other.time ? time > other.time : cluster > other.cluster;
  }
};

/// The periodic box, its clusters and their clocks.
template <std::size_t D>
class CcaAggregation {
  using Cells = detail::PeriodicCells<D>;
  using Cell = typename Cells::Cell;

 public:
  /// Places n monomers at random in the box filled to volume fraction phi.
  CcaAggregation(std::int64_t n, double phi, double sticking_probability, std::uint64_t seed,
                 Deadline deadline)
      : sticking_probability_(sticking_probability),
        rng_(seed),
        deadline_(deadline),
        box_side_(box_side_for(n, static_cast<int>(D), phi)),
        spheres_(sphere_grid(n, static_cast<std::size_t>(n))),
        offset_(static_cast<std::size_t>(n)),
        cluster_of_(static_cast<std::size_t>(n)),
        clusters_(static_cast<std::size_t>(n)),
        ringed_radius_(static_cast<std::size_t>(n), 0.0),
        clusters_left_(n) {
    if (n > 1 && box_side_ < kContactDistance + kMinStep) {
      throw InvalidParameters(
          "volume_fraction too high for so few particles: the box is "
          "smaller than a particle and its step");
    }
    // About one cell per monomer, each at least a contact distance and a step wide.
    const double placement_cell_side = std::max(
        kIndexCellSide, box_side_ / portable_root(static_cast<double>(n), static_cast<int>(D)));
    Cells placed(box_side_, placement_cell_side, static_cast<std::size_t>(n));
    for (std::int32_t id = 0; id < static_cast<std::int32_t>(n); ++id) {
      place_monomer(id, placed);
    }
    number_along_space();
    cell_radius_bound_.assign(spheres_.slot_count(), 0.0);  // monomers: spheres of radius 0
    for (std::int32_t id = 0; id < static_cast<std::int32_t>(n); ++id) {
      spheres_.insert(id, cluster(id).origin);
      live_position_.push_back(static_cast<std::int32_t>(live_.size()));
      live_.push_back(id);
    }
  }

  /// Lets the clusters move and stick until one remains.
  void aggregate() {
    for (std::size_t id = 0; id < clusters_.size(); ++id) {
      schedule(static_cast<std::int32_t>(id), kMinStep);  // first turns spread over a short wait
    }
    while (clusters_left_ > 1) {
      const Turn turn = turns_.top();
      turns_.pop();
      if (turn.generation != cluster(turn.cluster).generation) continue;  // merged since
      now_ = turn.time;
      take_turn(turn.cluster);
    }
  }

  /// (N, Rg) of every cluster formed by a merge, in the order they formed (Rg in a).
  const std::vector<GrowthSample>& population() const { return population_; }

  /// The particle centres of the last cluster, unwrapped, in monomer order (in a).
  std::vector<Vec<D>> final_centres() const {
    const Cluster& last = cluster(cluster_of_[0]);
    std::vector<Vec<D>> centres;
    centres.reserve(offset_.size());
    for (const Vec<D>& offset : offset_) {
      centres.push_back(detail::add_scaled<D>(last.origin, 1.0, offset));
    }
    return centres;
  }

 private:
  /// A rigid cluster: its particles sit at origin + offset, offsets fixed since it formed.
  struct Cluster {
    Vec<D> origin{};                    ///< unwrapped frame origin, kept inside the box
    std::vector<std::int32_t> members;  ///< its particles
    Vec<D> offset_sum{};                ///< sum of the offsets, for Rg
    double offset_sum_sq = 0;           ///< sum of their squared norms, for Rg
    Vec<D> sphere_centre{};             ///< offset of the centre of a sphere holding every centre
    double sphere_radius = 0;           ///< its radius
    /// Its particles by their offsets, once it has more than kUnindexedSize.
    std::optional<detail::ClusterIndex<D>> index;
    bool big = false;              ///< listed in big_, not found by the rings of sphere cells
    std::uint32_t generation = 0;  ///< bumped at every merge: its queued turn is stale
  };

  /// The cluster with id `id` (the id of its first monomer).
  Cluster& cluster(std::int32_t id) { return clusters_[static_cast<std::size_t>(id)]; }
  /// The cluster with id `id`, read only.
  const Cluster& cluster(std::int32_t id) const { return clusters_[static_cast<std::size_t>(id)]; }
  /// A particle or cluster id as a vector index.
  std::size_t index(std::int32_t id) const { return static_cast<std::size_t>(id); }

  /// Side L of the periodic box.
  double box_side() const { return box_side_; }

  /// The unwrapped centre of the bounding sphere of cluster `id`.
  Vec<D> sphere_centre(std::int32_t id) const {
    return detail::add_scaled<D>(cluster(id).origin, 1.0, cluster(id).sphere_centre);
  }

  /// The unwrapped centre of particle `id`.
  Vec<D> centre(std::int32_t id) const {
    return detail::add_scaled<D>(cluster(cluster_of_[index(id)]).origin, 1.0, offset_[index(id)]);
  }

  /// Puts monomer `id` (its own cluster) at a random point where it overlaps nothing.
  void place_monomer(std::int32_t id, Cells& placed) {
    cluster_of_[index(id)] = id;
    Cluster& monomer = cluster(id);
    monomer.members = {id};
    monomer.origin = random_point();
    placed.insert(id, monomer.origin);
    count_work(1);
    while (overlaps_another(id, placed)) {
      count_work(1);
      monomer.origin = random_point();
      placed.move(id, monomer.origin);
    }
  }

  /// Renumbers the monomers, just placed, along a Z-order curve through the box, so that
  /// clusters near each other in space are near each other in memory: a turn reads the
  /// records of the clusters around the one that moves, and with ids in the order of a
  /// uniform random placement each of those reads missed the cache at 10^5 monomers and more.
  void number_along_space() {
    std::vector<std::pair<std::uint64_t, Vec<D>>> keyed;
    keyed.reserve(clusters_.size());
    for (const Cluster& monomer : clusters_) {
      keyed.emplace_back(z_order_key(monomer.origin), monomer.origin);
    }
    std::sort(keyed.begin(), keyed.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (std::size_t id = 0; id < keyed.size(); ++id) {
      clusters_[id].origin = keyed[id].second;
    }
  }

  /// The position of x (in the box) along a Z-order curve over 2^(63/D) cells a side.
  std::uint64_t z_order_key(const Vec<D>& x) const {
    constexpr int kBits = 63 / static_cast<int>(D);
    std::uint64_t key = 0;
    std::array<std::uint64_t, D> cell;
    for (std::size_t k = 0; k < D; ++k) {
      const double scaled = x[k] / box_side() * static_cast<double>(std::uint64_t{1} << kBits);
      cell[k] = static_cast<std::uint64_t>(
          std::clamp(scaled, 0.0, static_cast<double>((std::uint64_t{1} << kBits) - 1)));
    }
    for (int bit = kBits - 1; bit >= 0; --bit) {
      for (std::size_t k = 0; k < D; ++k) {
        key = (key << 1) | ((cell[k] >> bit) & 1);
      }
    }
    return key;
  }

  /// A point uniform in the box.
  Vec<D> random_point() {
    Vec<D> x;
    for (double& coordinate : x) {
      coordinate = box_side() * rng_.uniform();
    }
    return x;
  }

  /// Whether particle `id` overlaps any other particle (or image).
  bool overlaps_another(std::int32_t id, const Cells& placed) const {
    const Vec<D> x = centre(id);
    bool overlap = false;
    placed.for_each_neighbour(id, [&](std::int32_t other, const Vec<D>& image) {
      if (other == id) return;
      const Vec<D> gap = detail::add_scaled<D>(x, -1.0, image);
      overlap = overlap || detail::dot<D>(gap, gap) < kContactDistance * kContactDistance;
    });
    return overlap;
  }

  /// Queues the next turn of cluster `id`, which has just moved (or tried to move) by `step`:
  /// the wait has mean step^2 / (2 d D(s)).
  void schedule(std::int32_t id, double step) {
    const Cluster& c = cluster(id);
    const double mean_wait =
        step * step / (2.0 * static_cast<double>(D) * diffusion_coefficient(c.members.size()));
    turns_.push({now_ + 2.0 * mean_wait * rng_.uniform(), id, c.generation});
  }

  /// One move of cluster `id`: a free jump, a step of delta, or a step up to a contact.
  void take_turn(std::int32_t id) {
    count_work(1);
    const Vec<D> direction = detail::random_direction<D>(rng_);
    const double room_to_spheres = room_between_spheres(id);
    if (room_to_spheres >= kMinStep) {
      translate(id, detail::scaled<D>(room_to_spheres, direction));
      schedule(id, room_to_spheres);
      return;
    }
    const Surroundings around = survey(id, direction);
    if (around.free_room >= kMinStep) {
      translate(id, detail::scaled<D>(around.free_room, direction));
      schedule(id, around.free_room);
      return;
    }
    if (!around.contact) {
      translate(id, detail::scaled<D>(kMinStep, direction));
      schedule(id, kMinStep);
      return;
    }
    translate(id, detail::scaled<D>(around.contact->distance, direction));
    const std::int32_t moved =
        rng_.bernoulli(sticking_probability_) ? merge(id, *around.contact) : id;
    schedule(moved, kMinStep);
  }

  /// A lower bound on the free room of cluster `id` from the bounding spheres: the gap between
  /// its sphere and the nearest other one (any periodic image), less the contact distance;
  /// 0 when that is below delta. Rings of sphere cells are searched outwards until no
  /// unvisited sphere can be nearer, or up to ring kSphereRings (when few clusters are left,
  /// farther rings would mostly visit more images of the same ones).
  double room_between_spheres(std::int32_t id) const {
    const Vec<D> centre = sphere_centre(id);
    const double room_to_nearest_surface = cluster(id).sphere_radius + kContactDistance;
    double nearest = kInfinity;  // least |centre - other centre| - other radius seen
    // The big clusters first, each image that the rings' bound below could not exclude.
    const double ring_reach = static_cast<double>(kSphereRings) * spheres_.cell_side();
    for (std::int32_t other : big_) {
      if (other == id) continue;
      const double radius = cluster(other).sphere_radius;
      for_each_image_within(other, centre, ring_reach + radius, [&](const Vec<D>& image) {
        nearest =
            std::min(nearest, detail::norm<D>(detail::add_scaled<D>(image, -1.0, centre)) - radius);
      });
    }
    for (std::int64_t ring = 0; ring <= kSphereRings; ++ring) {
      Cells::for_each_cell_on_ring(spheres_.cell_of(id), ring, [&](const Cell& cell) {
        // A cell whose every point lies farther than the nearest surface seen, with the
        // widest sphere of the ringed clusters, holds none nearer: most of ring 2's 98 cells
        // in 3D (the same result; a turn read every one before).
        const double widest = cell_radius_bound_[spheres_.slot(cell)];
        const double farthest_useful = nearest + widest + kCellGapMargin;
        if (gap_to_cell_sq(centre, cell) > farthest_useful * farthest_useful) return;
        spheres_.for_each_in_cell(cell, [&](std::int32_t other, const Vec<D>& image) {
          // Most spheres are farther than the nearest seen even with the cell's widest
          // radius: those cost neither a square root nor a read of their radius (a cache
          // miss).
          const Vec<D> offset = detail::add_scaled<D>(image, -1.0, centre);
          const double apart_sq = detail::dot<D>(offset, offset);
          const double useful = nearest + widest;
          if (apart_sq > useful * useful * (1 + kRoundingMargin)) return;
          // Its own images move along with it; the big ones are counted above.
          const double radius = ringed_radius_[index(other)];
          if (other == id || radius < 0) return;
          nearest = std::min(nearest, std::sqrt(apart_sq) - radius);
        });
      });
      // Every sphere centre not yet visited is at least ring h away.
      const double unvisited =
          static_cast<double>(ring) * spheres_.cell_side() - small_radius_bound();
      const double room = std::min(nearest, unvisited) - room_to_nearest_surface;
      if (nearest - room_to_nearest_surface < kMinStep) return 0.0;
      if (unvisited >= nearest || ring == kSphereRings) return room >= kMinStep ? room : 0.0;
    }
    return 0.0;
  }

  /// The squared distance from x to the nearest point of the sphere list's cell `cell` (in
  /// unwrapped coordinates, as x).
  double gap_to_cell_sq(const Vec<D>& x, const Cell& cell) const {
    const double side = spheres_.cell_side();
    double gap_sq = 0;
    for (std::size_t k = 0; k < D; ++k) {
      const double lo = static_cast<double>(cell[k]) * side;
      const double gap = std::max({0.0, lo - x[k], x[k] - (lo + side)});
      gap_sq += gap * gap;
    }
    return gap_sq;
  }

  /// What cluster `id` sees around it: the free room, exact up to h = 3a and proven up to
  /// 16h beyond it by the clusters' indexes, and the first contact along a step of delta in
  /// `direction`. Only the images of other clusters whose bounding spheres come within 16h
  /// are looked at, nearest sphere first; for each, the particles of the smaller of the two
  /// clusters are looked up in the larger one's index, in its own frame. A pair costs the
  /// smaller cluster's size, however large the other is, and moving a cluster costs nothing
  /// per particle, so a large cluster among many small ones is cheap to move.
  Surroundings survey(std::int32_t id, const Vec<D>& direction) {
    collect_obstacles(id);
    std::sort(obstacles_.begin(), obstacles_.end(), [](const Obstacle<D>& a, const Obstacle<D>& b) {
      return a.sphere_room < b.sphere_room;
    });
    Surroundings around{room_reach(), std::nullopt};
    for (const Obstacle<D>& obstacle : obstacles_) {
      // Nearer than delta a contact may lie ahead, which must be found whatever the room.
      if (obstacle.sphere_room >= std::max(around.free_room, kMinStep)) break;
      look_at(id, obstacle, direction, around);
    }
    around.free_room = std::max(0.0, around.free_room);
    return around;
  }

  /// The most free room a survey proves: the reach of an index, less the contact distance.
  static constexpr double room_reach() { return kSurveyReach; }

  /// Lowers `around.free_room` to the room between cluster `id` and the image `obstacle`
  /// where that is smaller, and records a first contact along a step of delta in
  /// `direction` if it comes before the one found so far.
  void look_at(std::int32_t id, const Obstacle<D>& obstacle, const Vec<D>& direction,
               Surroundings& around) {
    const bool moving_is_smaller =
        cluster(id).members.size() <= cluster(obstacle.cluster).members.size();
    const std::int32_t small = moving_is_smaller ? id : obstacle.cluster;
    const Cluster& large = cluster(moving_is_smaller ? obstacle.cluster : id);
    // The small cluster's frame origin in the large one's frame, and the small cluster's
    // motion relative to the large one.
    const Vec<D> obstacle_origin =
        detail::add_scaled<D>(cluster(obstacle.cluster).origin, 1.0, obstacle.shift);
    const Vec<D> small_origin =
        detail::add_scaled<D>(moving_is_smaller ? cluster(id).origin : obstacle_origin, -1.0,
                              moving_is_smaller ? obstacle_origin : cluster(id).origin);
    const Vec<D> motion = detail::scaled<D>(moving_is_smaller ? 1.0 : -1.0, direction);
    {
      // The small cluster's whole sphere against the large one's particles first: where it
      // is clear of them by more than a step, no particle of it needs looking at.
      const Cluster& small_cluster = cluster(small);
      const Vec<D> middle = detail::add_scaled<D>(small_origin, 1.0, small_cluster.sphere_centre);
      const double margin = small_cluster.sphere_radius + kContactDistance;
      const double wanted = std::max(around.free_room, kMinStep);
      const double clear =
          nearest_in(large, middle, wanted + margin, [](std::int32_t, const Vec<D>&) {}) - margin;
      if (clear >= wanted) return;
    }
    auto look_at_particle = [&](std::int32_t particle, const Vec<D>& offset) {
      count_work(1);
      const Vec<D> x = detail::add_scaled<D>(small_origin, 1.0, offset);
      const double wanted = std::max(around.free_room, kMinStep);
      const double beyond_sphere =
          detail::norm<D>(detail::add_scaled<D>(x, -1.0, large.sphere_centre)) -
          large.sphere_radius - kContactDistance;
      if (beyond_sphere >= wanted) return;  // neither nearer nor touching within a step
      auto test = [&](std::int32_t other, const Vec<D>& other_offset) {
        const double along = detail::ray_sphere_entry<D>(
            detail::add_scaled<D>(x, -1.0, other_offset), motion, kContactDistance);
        if (along <= kMinStep && (!around.contact || along < around.contact->distance)) {
          around.contact =
              moving_is_smaller ? Contact{along, particle, other} : Contact{along, other, particle};
        }
      };
      const double distance = nearest_in(large, x, wanted + kContactDistance, test);
      around.free_room = std::min(around.free_room, distance - kContactDistance);
    };
    const Cluster& small_cluster = cluster(small);
    if (!small_cluster.index) {
      for (std::int32_t particle : small_cluster.members) {
        look_at_particle(particle, offset_[index(particle)]);
      }
      return;
    }
    // Whole cells of the small cluster that lie clear of the large one are skipped.
    auto may_be_near = [&](const Vec<D>& middle, double radius) {
      count_work(1);
      const double wanted = std::max(around.free_room, kMinStep);
      const double margin = radius + kContactDistance;
      const Vec<D> y = detail::add_scaled<D>(small_origin, 1.0, middle);
      return nearest_in(large, y, wanted + margin, [](std::int32_t, const Vec<D>&) {}) - margin <
             wanted;
    };
    small_cluster.index->visit_where(
        small_cluster.sphere_centre, small_cluster.sphere_radius, may_be_near,
        [&](const auto& entry) { look_at_particle(entry.particle, entry.offset); });
  }

  /// A lower bound on the distance from x (in the frame of cluster c) to c's nearest
  /// particle, exact below h and at least `needed` where the index proves it; calls
  /// test(particle, offset) for every particle of c within h of x.
  template <typename Test>
  double nearest_in(const Cluster& c, const Vec<D>& x, double needed, Test&& test) const {
    if (c.index) {
      return c.index->distance_bound(
          x, needed, [&](const auto& entry) { test(entry.particle, entry.offset); });
    }
    double nearest_sq = kInfinity;
    for (std::int32_t particle : c.members) {
      const Vec<D>& offset = offset_[index(particle)];
      test(particle, offset);
      const Vec<D> gap = detail::add_scaled<D>(x, -1.0, offset);
      nearest_sq = std::min(nearest_sq, detail::dot<D>(gap, gap));
    }
    return std::sqrt(nearest_sq);
  }

  /// Fills obstacles_ with every image of another cluster whose bounding sphere comes within
  /// room_reach() of cluster id's: from the rings of sphere cells around it while those are
  /// fewer than the clusters left, otherwise from every cluster left.
  void collect_obstacles(std::int32_t id) {
    obstacles_.clear();
    const Vec<D> centre = sphere_centre(id);
    const double radius = cluster(id).sphere_radius;
    const double reach = room_reach();
    auto consider = [&](std::int32_t other, const Vec<D>& image) {
      const double room = detail::norm<D>(detail::add_scaled<D>(image, -1.0, centre)) - radius -
                          cluster(other).sphere_radius - kContactDistance;
      if (room >= reach) return;
      Vec<D> shift = detail::add_scaled<D>(image, -1.0, sphere_centre(other));
      for (double& coordinate : shift) {
        coordinate = box_side() * std::round(coordinate / box_side());  // exactly whole boxes
      }
      obstacles_.push_back({other, shift, room});
    };
    // Sphere centres beyond ring r lie at least r cell sides away.
    const double farthest = radius + small_radius_bound() + kContactDistance + reach;
    const auto rings = static_cast<std::int64_t>(std::ceil(farthest / spheres_.cell_side()));
    const bool scan_rings = power(2 * rings + 1) < clusters_left_;
    for (std::int32_t other :
         scan_rings ? std::span<const std::int32_t>(big_) : std::span<const std::int32_t>(live_)) {
      if (other == id) continue;
      const double span = radius + cluster(other).sphere_radius + kContactDistance + reach;
      for_each_image_within(other, centre, span,
                            [&](const Vec<D>& image) { consider(other, image); });
    }
    if (!scan_rings) return;
    for (std::int64_t ring = 0; ring <= rings; ++ring) {
      Cells::for_each_cell_on_ring(spheres_.cell_of(id), ring, [&](const Cell& cell) {
        // A sphere centre of this cell farther than this is beyond reach: a cell wholly
        // farther is skipped, and such a sphere costs no read of its record (a cache miss).
        const double farthest_here = radius + cell_radius_bound_[spheres_.slot(cell)] +
                                     kContactDistance + reach + kCellGapMargin;
        const double farthest_sq = farthest_here * farthest_here;
        if (gap_to_cell_sq(centre, cell) > farthest_sq) return;
        spheres_.for_each_in_cell(cell, [&](std::int32_t other, const Vec<D>& image) {
          const Vec<D> offset = detail::add_scaled<D>(image, -1.0, centre);
          if (detail::dot<D>(offset, offset) > farthest_sq) return;
          // Its own images move along with it; the big ones are counted above.
          if (other != id && ringed_radius_[index(other)] >= 0) consider(other, image);
        });
      });
    }
  }

  /// Calls f(image) for every periodic image of cluster other's sphere centre that lies
  /// within `span` of `centre` along every axis.
  template <typename F>
  void for_each_image_within(std::int32_t other, const Vec<D>& centre, double span, F&& f) const {
    const Vec<D> home = sphere_centre(other);
    std::array<std::int64_t, D> first, last;
    for (std::size_t axis = 0; axis < D; ++axis) {
      const double apart = home[axis] - centre[axis];
      first[axis] = static_cast<std::int64_t>(std::ceil((-span - apart) / box_side()));
      last[axis] = static_cast<std::int64_t>(std::floor((span - apart) / box_side()));
      if (first[axis] > last[axis]) return;
    }
    std::array<std::int64_t, D> k = first;
    for (;;) {
      Vec<D> image = home;
      for (std::size_t axis = 0; axis < D; ++axis) {
        image[axis] += static_cast<double>(k[axis]) * box_side();
      }
      f(static_cast<const Vec<D>&>(image));
      std::size_t axis = 0;
      for (; axis < D && k[axis] == last[axis]; ++axis) {
        k[axis] = first[axis];
      }
      if (axis == D) return;
      ++k[axis];
    }
  }

  /// No cluster outside big_ has a bounding sphere wider than this (at most a sphere cell's
  /// side).
  double small_radius_bound() const { return largest_small_radius_; }

  /// Raises the radius bound of the sphere cell that cluster `id` is in to its radius, if it
  /// is ringed. A cell's bound only grows until the sphere cells are rebuilt, so it covers
  /// every sphere in the cell (radii only grow too, and each growth comes here through
  /// note_if_big).
  void bound_cell_radius(std::int32_t id) {
    const double radius = ringed_radius_[index(id)];
    if (radius <= 0) return;
    double& bound = cell_radius_bound_[spheres_.slot(spheres_.cell_of(id))];
    bound = std::max(bound, radius);
  }

  /// Lists cluster c as big once its sphere is wider than a sphere cell; otherwise counts its
  /// radius into small_radius_bound().
  void note_if_big(std::int32_t id) {
    Cluster& c = cluster(id);
    if (c.big) return;
    if (c.sphere_radius <= spheres_.cell_side()) {
      largest_small_radius_ = std::max(largest_small_radius_, c.sphere_radius);
      ringed_radius_[index(id)] = c.sphere_radius;
      bound_cell_radius(id);
      return;
    }
    c.big = true;
    ringed_radius_[index(id)] = -1;
    big_.push_back(id);
  }

  /// Indexes the particles `added` that cluster c has just taken in (all of its members when
  /// that makes it too large to go unindexed).
  void index_merged(Cluster& c, const std::vector<std::int32_t>& added) {
    if (!c.index && c.members.size() <= kUnindexedSize) return;
    const bool fresh = !c.index;
    if (fresh) c.index.emplace(kIndexCellSide);
    for (std::int32_t particle :
         fresh ? std::span<const std::int32_t>(c.members) : std::span<const std::int32_t>(added)) {
      c.index->insert(particle, offset_[index(particle)]);
    }
  }

  /// Takes cluster `id` off the list of clusters left.
  void forget_live(std::int32_t id) {
    const std::int32_t position = live_position_[index(id)];
    const std::int32_t last = live_.back();
    live_[index(position)] = last;
    live_position_[index(last)] = position;
    live_.pop_back();
  }
  /// Moves cluster `id` rigidly by `displacement`.
  void translate(std::int32_t id, const Vec<D>& displacement) {
    if (displacement == Vec<D>{}) return;  // a contact at the start of a step: nothing moves
    Cluster& c = cluster(id);
    c.origin = detail::add_scaled<D>(c.origin, 1.0, displacement);
    // Whole box lengths move nothing in a periodic box: keeping the origin inside it keeps
    // coordinates small.
    for (double& coordinate : c.origin) {
      coordinate -= box_side() * std::floor(coordinate / box_side());
    }
    spheres_.move(id, sphere_centre(id));
    bound_cell_radius(id);
  }

  /// Bonds cluster `id` to the cluster it touches at `contact`, at the periodic image of the
  /// contact; the larger of the two absorbs the smaller. Returns the merged cluster.
  std::int32_t merge(std::int32_t id, const Contact& contact) {
    const std::int32_t other = cluster_of_[index(contact.touched)];
    // The touched image is the one nearest to the touching particle (it is 2a away and no
    // other image is closer); its cluster's frame origin lies whole box lengths from `other`'s.
    const double box = box_side();
    const Vec<D> apart =
        detail::add_scaled<D>(centre(contact.touching), -1.0, centre(contact.touched));
    Vec<D> touched_origin = cluster(other).origin;
    for (std::size_t k = 0; k < D; ++k) {
      touched_origin[k] += box * std::round(apart[k] / box);
    }
    const bool keep_other = cluster(other).members.size() > cluster(id).members.size();
    const std::int32_t kept = keep_other ? other : id;
    const std::int32_t absorbed = keep_other ? id : other;
    // Offsets of the absorbed particles in the kept frame: shift by the frame difference.
    const Vec<D> shift = keep_other
                             ? detail::add_scaled<D>(cluster(id).origin, -1.0, touched_origin)
                             : detail::add_scaled<D>(touched_origin, -1.0, cluster(id).origin);
    absorb(kept, absorbed, shift);
    return kept;
  }

  /// Moves every particle of cluster `absorbed` into cluster `kept`, their offsets shifted by
  /// `shift`, and records the new cluster's size and Rg.
  void absorb(std::int32_t kept, std::int32_t absorbed, const Vec<D>& shift) {
    Cluster& into = cluster(kept);
    Cluster& from = cluster(absorbed);
    for (std::int32_t particle : from.members) {
      Vec<D>& offset = offset_[index(particle)];
      offset = detail::add_scaled<D>(shift, 1.0, offset);
#ifdef FRACSTUDY_CCA_TRACE
      trace_extent(kept, offset);
#endif
      cluster_of_[index(particle)] = kept;
      into.members.push_back(particle);
      into.offset_sum = detail::add_scaled<D>(into.offset_sum, 1.0, offset);
      into.offset_sum_sq += detail::dot<D>(offset, offset);
    }
    index_merged(into, from.members);
    bound_merged(into, from.members);
    spheres_.move(kept, sphere_centre(kept));
    spheres_.remove(absorbed);
    forget_live(absorbed);
    if (from.big) std::erase(big_, absorbed);
    ringed_radius_[index(absorbed)] = -1;
    const std::uint32_t next_generation = from.generation + 1;  // its queued turn is stale
    from = Cluster{};
    from.generation = next_generation;
    ++into.generation;
    --clusters_left_;
    population_.push_back(
        {static_cast<std::int64_t>(into.members.size()), radius_of_gyration(into)});
#ifdef FRACSTUDY_CCA_TRACE
    trace_merge(kept);
#endif
    if (clusters_left_ < kClustersPerSphereCell * sphere_cells_ &&
        sphere_cells_ > power(kMinSphereCellsPerSide)) {
      regrid_spheres();
    }
    note_if_big(kept);
  }

  /// A bounding sphere for a cluster that has just taken in the particles `added` (the last
  /// of its members). Recentring on the centre of mass costs a pass over all members, so it
  /// is done only when the added part is not small (then the pass costs at most a few times
  /// the merge itself, and the total stays O(N log N)); otherwise the sphere keeps its centre
  /// and grows to hold the added particles.
  void bound_merged(Cluster& c, const std::vector<std::int32_t>& added) {
    const std::size_t size = c.members.size();
    auto grow_over = [&](std::span<const std::int32_t> particles) {
      for (std::int32_t particle : particles) {
        const Vec<D> from_centre =
            detail::add_scaled<D>(offset_[index(particle)], -1.0, c.sphere_centre);
        c.sphere_radius = std::max(c.sphere_radius, detail::norm<D>(from_centre));
      }
    };
    if (4 * added.size() >= size - added.size()) {
      c.sphere_centre = detail::scaled<D>(1.0 / static_cast<double>(size), c.offset_sum);
      c.sphere_radius = 0;
      grow_over(c.members);
    } else {
      grow_over(std::span(c.members).last(added.size()));
    }
  }

  /// Rebuilds the sphere cells for the clusters left, about kClustersPerSphereCell a cell.
  void regrid_spheres() {
    spheres_ = sphere_grid(clusters_left_, clusters_.size());
    cell_radius_bound_.assign(spheres_.slot_count(), 0.0);
    big_.clear();
    largest_small_radius_ = 0;
    for (std::int32_t id : live_) {
      spheres_.insert(id, sphere_centre(id));
      cluster(id).big = false;
      note_if_big(id);  // wider cells: fewer big ones
    }
  }

  /// An empty list for the sphere centres of cluster ids below `capacity`, with cells for
  /// about `clusters` clusters (the most cells, a power of two per side, that they fill), but
  /// at least kMinSphereCellsPerSide per side: with fewer, the rings around a cell would
  /// visit several images of every cluster.
  detail::PeriodicCells<D> sphere_grid(std::int64_t clusters, std::size_t capacity) {
    std::int64_t per_side = kMinSphereCellsPerSide;
    const std::int64_t wanted = std::max<std::int64_t>(1, clusters / kClustersPerSphereCell);
    while (power(2 * per_side) <= wanted) {
      per_side *= 2;
    }
    sphere_cells_ = power(per_side);
    const double side = box_side() / (static_cast<double>(per_side) + 0.5);  // per_side cells
    return detail::PeriodicCells<D>(box_side(), side, capacity);
  }

  /// base^d.
  static std::int64_t power(std::int64_t base) {
    std::int64_t result = 1;
    for (std::size_t k = 0; k < D; ++k) {
      result *= base;
    }
    return result;
  }

  /// Rg of a cluster from its running sums: Rg^2 = <|r|^2> - |<r>|^2.
  static double radius_of_gyration(const Cluster& c) {
    const auto n = static_cast<double>(c.members.size());
    const Vec<D> mean = detail::scaled<D>(1.0 / n, c.offset_sum);
    return std::sqrt(std::max(0.0, c.offset_sum_sq / n - detail::dot<D>(mean, mean)));
  }

#ifdef FRACSTUDY_CCA_TRACE
  /// The finite box's effects as they come (bench/cca_gelation.sh builds this in): a line
  /// each time the largest cluster grows by 10%, one when a cluster first spans the box
  /// (its unwrapped extent along an axis reaches L: it meets its own image, the gel), and
  /// one when the largest holds half of all monomers. Columns: the time (a^2 / D1), clusters
  /// left, the largest's size, its share of the monomers, its Rg / L and extent / L.
  void trace_merge(std::int32_t id) {
    const Cluster& c = cluster(id);
    const auto size = static_cast<double>(c.members.size());
    const auto& [lowest, highest] = traced_extents_[index(id)];
    double extent = 0;
    for (std::size_t k = 0; k < D; ++k) {
      extent = std::max(extent, highest[k] - lowest[k] + kContactDistance);
    }
    const auto n = static_cast<double>(offset_.size());
    const auto line = [&](const char* event) {
      std::fprintf(stderr,
                   "cca-trace %s t=%.6g clusters=%lld size=%.0f share=%.6f rg/L=%.4f "
                   "extent/L=%.4f\n",
                   event, now_, static_cast<long long>(clusters_left_), size, size / n,
                   radius_of_gyration(c) / box_side_, extent / box_side_);
    };
    if (extent >= box_side_ && !traced_span_) {
      traced_span_ = true;
      line("spans");
    }
    if (size >= 0.5 * n && !traced_half_) {
      traced_half_ = true;
      line("half");
    }
    if (size >= 1.1 * traced_largest_) {
      traced_largest_ = size;
      line("largest");
    }
  }
  /// Widens the box around cluster `id`'s centres' offsets (its unwrapped extent).
  void trace_extent(std::int32_t id, const Vec<D>& offset) {
    if (traced_extents_.empty()) traced_extents_.resize(offset_.size());
    auto& [lowest, highest] = traced_extents_[index(id)];
    for (std::size_t k = 0; k < D; ++k) {
      lowest[k] = std::min(lowest[k], offset[k]);
      highest[k] = std::max(highest[k], offset[k]);
    }
  }
  std::vector<std::pair<Vec<D>, Vec<D>>> traced_extents_;  // per cluster id
  double traced_largest_ = 1;
  bool traced_span_ = false;
  bool traced_half_ = false;
#endif

  /// Counts work (particles moved or tested) and, every so often, throws if the deadline has
  /// passed.
  void count_work(std::int64_t amount) {
    work_to_deadline_check_ -= amount;
    if (work_to_deadline_check_ > 0) return;
    work_to_deadline_check_ = kWorkPerDeadlineCheck;
    if (deadline_.expired()) throw DeadlineExceeded();
  }

  double sticking_probability_;
  Rng rng_;
  Deadline deadline_;
  std::int64_t work_to_deadline_check_ = kWorkPerDeadlineCheck;
  double box_side_;
  std::int64_t sphere_cells_ = 1;         // cells of spheres_ (set with it)
  detail::PeriodicCells<D> spheres_;      // the bounding-sphere centre of every cluster
  std::vector<std::int32_t> big_;         // clusters whose spheres are wider than a sphere cell
  double largest_small_radius_ = 0;       // the widest sphere of the others
  std::vector<Vec<D>> offset_;            // each particle's offset in its cluster's frame
  std::vector<std::int32_t> cluster_of_;  // each particle's cluster
  std::vector<Cluster> clusters_;         // indexed by the first monomer; empty once absorbed
  /// Each cluster's sphere radius where the rings of sphere cells find it, -1 for the big
  /// and the absorbed: what a scan of the rings reads, packed (a cluster's record is 30
  /// times larger).
  std::vector<double> ringed_radius_;
  /// Per sphere cell: no ringed sphere in it is wider (since the cells were last rebuilt).
  std::vector<double> cell_radius_bound_;
  std::vector<std::int32_t> live_;           // the clusters left, in no particular order
  std::vector<std::int32_t> live_position_;  // where each cluster left is in live_
  std::vector<Obstacle<D>> obstacles_;       // during a survey: what lies near the cluster
  std::int64_t clusters_left_;
  double now_ = 0;  // time of the turn being taken, in units of a^2 / D1
  std::priority_queue<Turn, std::vector<Turn>, std::greater<Turn>> turns_;
  std::vector<GrowthSample> population_;
};

// df and kf come from the population of clusters formed during the aggregation: every merge
// records (N, Rg) of the new cluster, and log Rg is fitted against log N after averaging in
// bins of log N (10 a decade), so that the many small clusters do not outweigh the few large
// ones. The fit runs over N_min = 20 <= N <= N / 10.
//  - The floor: the local slope d log N / d log Rg of the ensemble still rises at small sizes
//    and settles from about 17 monomers on. Measured (10 runs of N = 10^4, phi = 0.001,
//    binned ensemble means): 3D 1.40 at n ~ 4, 1.54 at 7, 1.66 at 11, then 1.71-1.77 from 17
//    to 700; 2D 1.22, 1.31, 1.38, then 1.40-1.48. Fits from 10 instead of 20 read 0.01 lower
//    in 3D (0.003 in 2D); from 5, 0.03 lower (0.01).
//  - The ceiling: the largest decade of sizes forms among the last few clusters, which fill
//    the box (3D local slopes of 1.9-2.0 above N/10 at N = 10^4): fits up to N read 1.83-1.85
//    in 3D instead of 1.77-1.78 (2D: 1.43-1.44 either way). The final cluster's rg is
//    reported all the same.
// Runs under 2000 monomers have no decade of sizes below N/10: they fit 20 <= N <= 200 (or N,
// when smaller), with the crowding bias that implies. Under 21 monomers df is NaN.
constexpr std::int64_t kFitMinSize = 20;
constexpr std::int64_t kFitTopDecade = 10;    // the fit ends at N / 10 ...
constexpr std::int64_t kFitMinMaxSize = 200;  // ... but no lower than 200 (or N)
constexpr int kFitBinsPerDecade = 10;

/// The largest size in the population fit of a run of n monomers.
std::int64_t fit_max_size(std::int64_t n) {
  return std::min(n, std::max(n / kFitTopDecade, kFitMinMaxSize));
}

}  // namespace

SimulationResult simulate_cca(const SimulationParameters& parameters, std::uint64_t seed,
                              Deadline deadline) {
  check_parameters(Algorithm::CCA, parameters);
  if (deadline.expired()) throw DeadlineExceeded();
  const SimulationParameters& p = parameters;
  return detail::in_dimension(p.dimension, [&](auto dimension) {
    constexpr std::size_t D = decltype(dimension)::value;
    CcaAggregation<D> box(p.n_particles, p.volume_fraction, p.sticking_probability, seed, deadline);
    box.aggregate();
    return detail::cluster_result<D>(
        detail::flattened<D>(box.final_centres()), p.particle_radius,
        fit_power_law_binned(box.population(), kFitMinSize, fit_max_size(p.n_particles),
                             kFitBinsPerDecade));
  });
}

}  // namespace fracstudy::kernels
