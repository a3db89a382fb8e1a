#pragma once
/// A hierarchical occupancy grid over particle centres (private to the kernels): it tells a
/// walker how far it may jump without touching the cluster, and finds its exact contacts.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "brownian.hpp"
#include "fracstudy/kernels/huge_pages.hpp"

namespace fracstudy::kernels::detail {

/// Particle centres in a cube [-H, H]^D, indexed twice:
///  - level 0: cells of side h0 with a linked list of the centres in each (head/next), for
///    exact nearest-centre distances and contact tests;
///  - distance maps at levels L = 0, 1, ...: cells of side h_L = h0 2^L, each holding the
///    distance from its middle point z to the nearest centre, capped at the level's reach
///    (a few cells). For x in the cell every centre is at least map(z) - |x - z| away:
///    within h_L sqrt(D) of the truth. One byte per cell: the squared distance in 255ths of
///    the squared reach, rounded down (0.035 r at d = reach / 2 on level 0). A walker reads the
///    finest level that is not capped, so its bound is good near the cluster and far from it alike
///    (Ossadnik's hierarchical maps, Physica A 176, 454 (1991), with distances instead of
///    occupancy).
/// Every level's map is stored in tiles of 8^2 / 4^3 cells, allocated only within the map's
/// reach of some centre (elsewhere every entry would read "no centre within reach"): a
/// dense map grows with the cube's volume, most of it empty around a fractal (the dense
/// coarse maps were 1.4 GB of a 10^8-particle 2D cluster's 5.8 GB). The cell lists take 4
/// bytes a cell, so they are kept only in the level-0 tiles that hold a centre (80% of
/// those within reach, at 10^7 in 2D).
/// All lengths are in the caller's unit (particle radii for the kernels).
template <std::size_t D>
class OccupancyGrid {
 public:
  /// Integer coordinates of a cell.
  using Cell = std::array<std::int64_t, D>;

  /// An empty grid of level-0 cells of side `cell_size` covering at least
  /// [-half_width, half_width]^D, with distance maps at up to `max_levels` levels (fewer
  /// levels make insertions cheaper and far bounds weaker).
  OccupancyGrid(double cell_size, double half_width,
                std::size_t max_levels = std::numeric_limits<std::size_t>::max())
      : max_levels_(max_levels),
        cell_size_(cell_size),
        inverse_cell_size_(1.0 / cell_size),
        cells_per_side_(static_cast<std::int64_t>(std::ceil(2.0 * half_width / cell_size))),
        half_width_(0.5 * static_cast<double>(cells_per_side_) * cell_size) {
    // Coarsen until one level's map reaches across the whole grid.
    double side = cell_size;
    for (std::int64_t n = cells_per_side_;; n = (n + 1) / 2, side *= 2) {
      const std::size_t level = levels_.size();
      const double reach = static_cast<double>(reach_in_cells(level)) * side;
      const std::int64_t tiles = (n + kTileSide - 1) >> kTileShift;
      levels_.push_back(MapLevel{.cells_per_side = n,
                                 .tiles_per_side = tiles,
                                 .cell_size = side,
                                 .reach_sq = reach * reach,
                                 .unit_sq = reach * reach / kCapped,
                                 .room = room_of_entries(reach * reach / kCapped),
                                 .slack = slack_at(level, side),
                                 .finer_capped_from = finer_capped_from(level, side),
                                 .tile_of = HugePageVector<std::int32_t>(cell_count(tiles), kNone),
                                 .map = {},
                                 .occupied = {}});
      if (n <= reach_in_cells(level) || level + 1 >= max_levels_) break;
    }
  }

  /// Half the side of the cube the grid covers.
  double half_width() const { return half_width_; }
  /// Number of centres held.
  std::size_t size() const { return centres_.size(); }
  /// The centres, in insertion order.
  std::span<const Vec<D>> centres() const { return centres_; }
  /// Gives the centres away and frees the rest of the grid (the grid is empty after).
  HugePageVector<Vec<D>> take_centres() {
    HugePageVector<Vec<D>> centres = std::move(centres_);
    *this = OccupancyGrid(cell_size_, cell_size_, 1);
    return centres;
  }

  /// Makes room for `count` centres at once: the centres are never copied to a larger
  /// array as they come (at 10^8 in 2D such a copy briefly held 1.6 GB twice).
  void reserve(std::size_t count) {
    centres_.reserve(count);
    next_.reserve(count);
  }

  /// Adds a centre; it must lie inside the cube.
  void insert(const Vec<D>& centre) {
    // A walker's kept centres go stale only if the new one lies in its kept cells: the other
    // walker, near the cluster elsewhere, keeps them (emptying every walker's block at each
    // insertion made 5% more refills in 2D at 10^6 and 10^7; the time within the noise).
    const Cell cell = cell_of(centre);
    for (Cursor& cursor : cursors_) {
      if (cursor.near.holds(cell)) cursor.near.valid = false;
    }
    centres_.push_back(centre);
    next_.push_back(kNone);
    index(centres_.size() - 1, cell);
  }

  /// A lower bound on the distance from x to the nearest centre, exact when that distance
  /// is below the level-0 cell size; +infinity for an empty grid.
  double nearest_distance_bound(const Vec<D>& x) const {
    if (centres_.empty()) return std::numeric_limits<double>::infinity();
    const Cell cell = cell_of(x);
    if (!inside(cell)) return distance_to_cube(x);  // every centre is inside the cube
    const auto [level, mapped] = first_uncapped_level(cell);
    if (level > 0) return coarse_bound(x, cell, level, mapped);
    const double map_bound = bound_from_map(x, cell, 0, mapped);
    if (map_bound >= cell_size_) return map_bound;
    // Close to the cluster: the exact distance from the centres in the 3^D block.
    double nearest_sq = std::numeric_limits<double>::infinity();
    for_each_centre_near(x, cell, [&](std::int32_t, const Vec<D>& centre) {
      const Vec<D> offset = add_scaled<D>(x, -1.0, centre);
      nearest_sq = std::min(nearest_sq, dot<D>(offset, offset));
    });
    const double nearest = std::sqrt(nearest_sq);
    if (nearest < cell_size_) return nearest;  // exact: every closer centre is in the block
    return std::max(map_bound, std::min(nearest, block_clearance(x, cell)));
  }

  /// A ball that holds x and no point within `margin` of any centre: every centre is at
  /// least radius + margin from its middle. A walker inside may go to any point of its
  /// surface in one move (exit_from_ball), not only as far as its nearest edge.
  struct FreeBall {
    Vec<D> middle;
    double radius;
    double offset;  ///< |x - middle|
    /// How far x may move in any direction: to the ball's nearest edge.
    double clearance() const { return radius - offset; }
  };

  /// Of the balls the grid certifies around x (a map cell's middle with its entry, a capped
  /// finer level's, or x itself with the exact distance) whose clearance is at least
  /// `least_clearance`, the one a walker at x leaves with the largest mean squared
  /// displacement, radius^2 - offset^2 (the Brownian time the move stands for). When none
  /// clears that: a ball centred on x with the best clearance of them, so that a walker takes
  /// a short step exactly where nearest_distance_bound would have it take one. An empty
  /// grid gives a ball of infinite radius.
  FreeBall free_ball(const Vec<D>& x, double margin, double least_clearance) const {
    if (centres_.empty()) return {x, std::numeric_limits<double>::infinity(), 0.0};
    const Cell cell = cell_of(x);
    if (!inside(cell)) return {x, distance_to_cube(x) - margin, 0.0};
    const auto [level, mapped] = first_uncapped_level(cell);
    BallChoice choice{x, margin, least_clearance};
    if (level > 0) {
      choice.consider_map(*this, coarsened(cell, level - 1), level - 1, kCapped);
      if (level < level_count()) choice.consider_map(*this, coarsened(cell, level), level, mapped);
      return choice.best();
    }
    choice.consider_map(*this, cell, 0, mapped);
    if (choice.best_clears(cell_size_ - margin)) return choice.best();
    // Close to the cluster: the exact distance from the centres in the 3^D block, as
    // nearest_distance_bound takes it.
    double nearest_sq = std::numeric_limits<double>::infinity();
    for_each_centre_near(x, cell, [&](std::int32_t, const Vec<D>& centre) {
      const Vec<D> offset = add_scaled<D>(x, -1.0, centre);
      nearest_sq = std::min(nearest_sq, dot<D>(offset, offset));
    });
    const double nearest = std::sqrt(nearest_sq);
    choice.consider_centred(nearest < cell_size_ ? nearest
                                                 : std::min(nearest, block_clearance(x, cell)));
    return choice.best();
  }

  /// Says that the next query comes from far away (a new walker at the launch sphere): its
  /// search for the finest uncapped level then starts at the coarsest, whose maps are small
  /// and stay in the caches, not at level 0 where the last walker stuck, from which it
  /// would climb through the fine levels' tile directories around the launch point: every
  /// level a read, the fine ones cache misses once the grid outgrows the caches (2D, 10^7:
  /// one read fewer on each of levels 0 to 7 per particle, 2% of the run's time).
  void expect_far_query() const { cursor().last_level = std::numeric_limits<std::size_t>::max(); }

  /// How many walkers may query the grid in turn (DlaGrowth walks two at once), each with
  /// its own cursor: the level its last query found and the centres kept around it.
  static constexpr std::size_t kCursors = 2;
  /// Makes the following queries those of walker k < kCursors (0 until called).
  void use_cursor(std::size_t k) const { active_cursor_ = k; }

  /// Starts loading what the active walker's next query at x will wait on: the map line of
  /// the level its search starts at and, near the cluster when the walker has left its kept
  /// centres, the list heads of the cells it will keep next. Issued a step ahead, while
  /// another walker moves, these loads overlap that walker's work instead of stalling this
  /// one's (2D, 10^7: the map reads and the refills were a third of the time, mostly waits).
  void prefetch_query(const Vec<D>& x) const {
    const Cell cell = cell_of(x);
    if (!inside(cell)) return;
    const std::size_t level = std::min(cursor().last_level, level_count() - 1);
    const MapLevel& map_level = levels_[level];
    const std::size_t slot = slot_of(map_level, coarsened(cell, level));
    if (slot != kNoSlot) __builtin_prefetch(&map_level.map[slot]);
    if (level > 1 || cursor().near.covers(cell)) return;
    const NearBox box = near_box(x, cell);
    for_each_cell_in_box(
        box.lo, box.hi, cells_per_side_, kEveryRow,
        [&](const Cell& tile) { return list_heads_of_tile(tile); },
        [&](const Cell&, const std::int32_t* heads, std::size_t local) {
          if (heads != nullptr) __builtin_prefetch(&heads[local]);
        });
  }

  /// The smallest t in [0, length] at which the point x + t u (u a unit vector) comes within
  /// `contact` of a centre, or nullopt. A point already within `contact` of a centre and
  /// moving towards it touches at t = 0. Needs contact + length <= the level-0 cell size,
  /// so that every centre within reach lies in the 3^D block around x.
  std::optional<double> first_contact(const Vec<D>& x, const Vec<D>& u, double length,
                                      double contact) const {
    if (const auto hit = first_contact_with(x, u, length, contact)) return hit->distance;
    return std::nullopt;
  }

  /// Where a segment first touches a centre's contact sphere, and which centre.
  struct Contact {
    double distance;     ///< along the segment, in the caller's length unit
    std::size_t centre;  ///< index of the touched centre in centres()
  };

  /// first_contact, also naming the touched centre.
  std::optional<Contact> first_contact_with(const Vec<D>& x, const Vec<D>& u, double length,
                                            double contact) const {
    const Cell cell = cell_of(x);
    double first = std::numeric_limits<double>::infinity();
    std::int32_t touched = kNone;
    for_each_centre_near(x, cell, [&](std::int32_t i, const Vec<D>& centre) {
      const double entry = ray_sphere_entry<D>(add_scaled<D>(x, -1.0, centre), u, contact);
      if (entry < first) {
        first = entry;
        touched = i;
      }
    });
    if (first <= length) return Contact{first, static_cast<std::size_t>(touched)};
    return std::nullopt;
  }

  /// Rebuilds the grid, if needed, so that it covers at least [-half_width, half_width]^D;
  /// the covered width at least doubles each time, so growing a cluster rebuilds it only
  /// O(log N) times.
  void cover(double half_width) {
    if (half_width_ >= half_width) return;
    const double doubled = 2 * half_width_;
    const double cheap =
        static_cast<double>(kFixedBytesPerCentreByte * centres_.size() * sizeof(Vec<D>));
    const double step = fixed_bytes(cell_size_, doubled) <= cheap ? doubled : kGrowth * half_width_;
    const double wider = std::max(half_width, step);
    // The centres stay where they are; the old index is freed before the new one is
    // built, so a rebuild never holds two grids (before, the last rebuild of a 10^7
    // cluster in 3D held both: its peak was the run's).
    const double cell_size = cell_size_;
    const std::size_t max_levels = max_levels_;
    HugePageVector<Vec<D>> centres = std::move(centres_);
    HugePageVector<std::int32_t> next = std::move(next_);
    *this = OccupancyGrid(cell_size, cell_size, 1);
    *this = OccupancyGrid(cell_size, wider, max_levels);
    centres_ = std::move(centres);
    next_ = std::move(next);
    for (std::size_t i = 0; i < centres_.size(); ++i) {
      index(i, cell_of(centres_[i]));
    }
  }

 private:
  static constexpr std::int32_t kNone = -1;
  /// How much wider a rebuilt grid is than the one before. Doubling makes rebuilds rare
  /// (every centre is refiled about 1.2 times in all in 3D, 1.4 in 2D), but the grid's
  /// fixed arrays (the tile directory and, until 0.3.0, the dense coarse maps) grow with
  /// the cube's volume: a doubled cube can hold 8 times (3D) what the cluster needs, 1.8 GB of a
  /// 10^7-particle cluster's 3.6 GB. So a grid doubles only while its doubled fixed arrays
  /// would take at most kFixedBytesPerCentreByte times the centres' memory; beyond, it
  /// grows by kGrowth (at most 2 times the tightest cube's arrays in 3D). Growing by 1.25
  /// all the way was measured 1.35x slower in 2D at 10^7 (the refiling: 3.2 N insertions),
  /// hence the rule. The coarse maps are sparse now, but the rule still counts them as
  /// dense (fixed_bytes): it then rebuilds exactly when 0.3.0 did, so clusters stay the same
  /// bit for bit; counting the directories alone was measured no faster (3D, 3·10^6:
  /// 63.1 s against 60.5 s) and took more memory (259 against 244 MB).
  static constexpr double kGrowth = 1.25;
  static constexpr std::size_t kFixedBytesPerCentreByte = 4;

  /// The bytes of the tile directory and of the coarse maps were they dense, for a grid of
  /// this geometry (the growth rule's measure, above).
  static double fixed_bytes(double cell_size, double half_width) {
    const double cells = std::ceil(2.0 * half_width / cell_size);
    const double tiles = std::ceil(cells / static_cast<double>(kTileSide));
    const double tile_directory = std::pow(tiles, D) * sizeof(std::int32_t);
    // Levels 1, 2, ...: each 2^D times smaller than the one below.
    const double coarse_maps = std::pow(cells / 2, D) * (1 << D) / ((1 << D) - 1);
    return tile_directory + coarse_maps;
  }

  /// Files centre i (already in centres_) in its level-0 `cell` and lowers the maps around it
  /// at the levels it represents (see kExactLevels): levels 0 to kExactLevels - 1 always, and
  /// one more for each level j = 0, 1, ... in a row whose cell it is the first centre of.
  void index(std::size_t i, const Cell& cell) {
    const Vec<D>& centre = centres_[i];
    prefetch_map_tiles(cell, std::min(kExactLevels + 1, level_count()));
    update_map(0, centre, cell);
    // Filed at once: a later level's tiles may move the lists' first chunk. An empty list
    // says the centre is the first of its level-0 cell (the finer levels' own masks would
    // cost another cache miss per insertion).
    std::int32_t& head = list_head(cell);
    bool first_so_far = head == kNone;
    next_[i] = head;
    head = static_cast<std::int32_t>(i);
    std::size_t levels = std::min(kExactLevels + (first_so_far ? 1 : 0), level_count());
    for (std::size_t level = 1; level < levels; ++level) {
      const Cell coarse = coarsened(cell, level);
      update_map(level, centre, coarse);
      if constexpr (!kHasRepresentatives) continue;
      first_so_far = first_so_far && claim_cell(level, coarse);
      if (first_so_far) levels = std::min(level + 1 + kExactLevels, level_count());
    }
  }
  /// Starts loading the map tiles an insertion at level-0 `cell` will update on its first
  /// `levels` levels, all at once: each level's update waits on its tiles (a cache line
  /// each), and one level after another those waits added up (perf: the map's byte loads
  /// were the update's hottest instructions at 3·10^6 in 3D).
  void prefetch_map_tiles(const Cell& cell, std::size_t levels) const {
    for (std::size_t level = 0; level < levels; ++level) {
      const MapLevel& map_level = levels_[level];
      for_each_tile_within(
          coarsened(cell, level), reach_in_cells(level), map_level.cells_per_side,
          [&](const Cell& tile) {
            const std::int32_t id = map_level.tile_of[flat_index(tile, map_level.tiles_per_side)];
            if (id != kNone) {
              __builtin_prefetch(&map_level.map[static_cast<std::size_t>(id) * kTileCells]);
            }
          });
    }
  }

  static constexpr std::size_t kNoSlot = std::numeric_limits<std::size_t>::max();
  /// Tiles are 2^kTileShift cells a side: 64 cells in 2D and in 3D.
  static constexpr int kTileShift = D == 2 ? 3 : 2;
  static constexpr std::int64_t kTileSide = std::int64_t{1} << kTileShift;
  static constexpr std::size_t kTileCells = std::size_t{1} << (kTileShift * D);

  /// How many cells of its level a map reaches: an insertion updates about (2 reach + 1)^D
  /// cells per level, a query reads the finest level that is not capped. Measured (CPU
  /// time, medians of 5): reach 2 or 3 at level 0 with 2 or 3 above made no difference in
  /// 2D (10^5 particles); in 3D (3·10^4) reach 2 everywhere beat 3 at level 0 by 7%, the
  /// cheaper updates (125 cells instead of 343) outweighing 7% more steps.
  static constexpr std::int64_t reach_in_cells(std::size_t /*level*/) { return D == 2 ? 3 : 2; }

  /// A map entry meaning "no centre within the reach".
  static constexpr std::uint8_t kCapped = 255;

  /// Levels whose maps every centre lowers. Above them a level's map holds the distances to
  /// its representatives only: at level L >= kExactLevels, a centre represents the level if
  /// it was the first centre in its cell of level L - kExactLevels. Every centre shares that
  /// cell with the representative that came first, so it lies within the slack
  /// h_{L-kExactLevels} sqrt(D) of a represented one, and a bound read at level L subtracts
  /// that slack (h_L sqrt(2) / 8 in 2D). Before, every insertion lowered every level's map:
  /// 49 cells on each of a dozen levels in 2D, a third of the run's time at 10^6; now a
  /// centre lowers 3 levels and about one more. The representatives of level L are also
  /// representatives of L - 1 (first in a cell means first in each cell inside it), which
  /// keeps the capped levels a prefix (first_uncapped_level) as long as the slack stays
  /// below k - k / 2 - sqrt(D) / 4 cell sides of level L (k = the reach in cells: 1.15 h in
  /// 2D). Measured side by side in 2D: 0.83x the time at 10^7 (with the tests' ensemble df).
  /// In 3D every level stays exact: its maps reach 2 cells, not 3, so a slack costs a larger
  /// share of each bound, and its grid has fewer levels (1.3 doublings of the radius per
  /// decade of N against 1.9 in 2D); with 4 exact levels 10^6 particles took 1.2x the time.
  static constexpr bool kHasRepresentatives = D == 2;
  static constexpr std::size_t kExactLevels =
      kHasRepresentatives ? 3 : std::numeric_limits<int>::max();
  static double slack_at(std::size_t level, double level_cell_size) {
    if (level < kExactLevels) return 0;
    return std::ldexp(level_cell_size, -static_cast<int>(kExactLevels)) *
           std::sqrt(static_cast<double>(D));
  }

  /// The smallest entry of a level-`level` cell (side h) that proves every one of its
  /// children capped, so that a query need not read the finer level (one dependent load
  /// fewer for about half the queries above level 0): an entry e puts every representative of
  /// the level at least sqrt(e unit) from the cell's middle z, every centre at least that
  /// less the slack, and a child's middle lies within h sqrt(D) / 4 of z; the child is capped
  /// when that leaves the finer level's whole reach. 256 (never) for level 0.
  static int finer_capped_from(std::size_t level, double side) {
    if (level == 0) return kCapped + 1;
    const double finer_reach = static_cast<double>(reach_in_cells(level - 1)) * side / 2;
    const double reach = static_cast<double>(reach_in_cells(level)) * side;
    const double needed =
        finer_reach + slack_at(level, side) + side * std::sqrt(static_cast<double>(D)) / 4;
    // A relative margin of 1e-9 covers the rounding of the squared distances in the maps.
    const double entry = std::ceil(needed * needed / (reach * reach) * kCapped * (1 + 1e-9));
    return static_cast<int>(std::min<double>(entry, kCapped + 1));
  }

  /// The distance each entry stands for, sqrt(entry unit_sq): a query reads it from a table
  /// rather than taking a square root (the walk's square roots and divisions queue for one
  /// unit of the core, and this one was on every jump's critical path).
  static std::array<double, kCapped + 1> room_of_entries(double unit_sq) {
    std::array<double, kCapped + 1> room;
    for (std::size_t entry = 0; entry < room.size(); ++entry) {
      room[entry] = std::sqrt(static_cast<double>(entry) * unit_sq);
    }
    return room;
  }

  /// One level's distance map, kept in the tiles within its reach of some centre.
  struct MapLevel {
    std::int64_t cells_per_side;
    std::int64_t tiles_per_side;
    double cell_size;                      // h0 2^level
    double reach_sq;                       // the map's reach, squared
    double unit_sq;                        // what one step of an entry is worth, squared
    std::array<double, kCapped + 1> room;  // per entry: the distance it stands for
    double slack;                          // how far a centre may lie from a represented one
    int finer_capped_from;                 // entries from this up prove the finer level capped
    HugePageVector<std::int32_t> tile_of;  // per tile: its index among the allocated, or kNone
    ChunkedArray<std::uint8_t> map;        // per allocated tile: its cells' entries
    ChunkedArray<std::uint64_t> occupied;  // per allocated tile: a bit per cell holding a
                                           // centre (with representatives, above level 0)
  };

  /// Every centre is at least map - |x - z| - slack from x, z the middle of x's cell at
  /// `level` (the map holds the distance to the level's representatives).
  double bound_from_map(const Vec<D>& x, const Cell& cell, std::size_t level,
                        std::uint8_t mapped) const {
    const MapLevel& map_level = levels_[level];
    return map_level.room[mapped] - norm<D>(add_scaled<D>(x, -1.0, middle_of(cell, level))) -
           map_level.slack;
  }

  /// A level's map entry at level-0 `cell`, and the level.
  struct LevelEntry {
    std::size_t level;
    std::uint8_t mapped;
  };

  /// The finest level whose map is not capped at level-0 `cell` (level_count() if every
  /// level is capped), and its entry. Capped levels form a prefix: no centre within the reach
  /// k h of a cell's middle z means none within k h / 2 of any of its children's middles,
  /// which lie within h sqrt(D) / 4 of z (k / 2 + sqrt(D) / 4 < k for k = 3 in 2D, 2 in
  /// 3D). So the search may start anywhere: it starts at the level the last query ended at,
  /// since a walker's successive jumps mostly need the same level or the next one, and reads
  /// two levels instead of every level from 0 up (each read a likely cache miss).
  LevelEntry first_uncapped_level(const Cell& cell) const {
    const std::size_t count = level_count();
    std::size_t level = std::min(cursor().last_level, count - 1);
    std::uint8_t mapped = map_at(level, coarsened(cell, level));
    if (mapped == kCapped) {
      while (++level < count) {
        mapped = map_at(level, coarsened(cell, level));
        if (mapped != kCapped) break;
      }
    } else {
      while (level > 0 && mapped < levels_[level].finer_capped_from) {
        const std::uint8_t finer = map_at(level - 1, coarsened(cell, level - 1));
        if (finer == kCapped) break;
        --level;
        mapped = finer;
      }
    }
    cursor().last_level = level;
    return {level, mapped};
  }

  /// The bound for x from the maps when level 0 is capped: every capped level below `level`
  /// proves its reach, and `level` (if there is one) its entry; the best of them holds. Of
  /// the capped levels only the coarsest can be the best: it proves at least
  /// (k - sqrt(D) / 2) h - slack, more than the whole reach k h / 2 of the level below it
  /// (2.12 h against 1.5 h in 2D; in 3D no level has a slack).
  double coarse_bound(const Vec<D>& x, const Cell& cell, std::size_t level,
                      std::uint8_t mapped) const {
    static_assert(reach_in_cells(0) * reach_in_cells(0) > static_cast<std::int64_t>(D));
    double bound = -std::numeric_limits<double>::infinity();
    if (level > 0) {
      bound = bound_from_map(x, coarsened(cell, level - 1), level - 1, kCapped);
    }
    if (level < level_count()) {
      bound = std::max(bound, bound_from_map(x, coarsened(cell, level), level, mapped));
    }
    return bound;
  }

  /// The best of the balls free_ball offers a walker at x: the largest radius^2 - offset^2
  /// among those that clear `least_clearance` (radius - offset, compared squared: no square
  /// root until the choice is made), else the best clearance.
  class BallChoice {
   public:
    BallChoice(const Vec<D>& x, double margin, double least_clearance)
        : x_(x), margin_(margin), least_clearance_(least_clearance) {}

    /// The ball of a map cell's middle z: every centre at least its entry less the slack
    /// from z.
    void consider_map(const OccupancyGrid& grid, const Cell& cell, std::size_t level,
                      std::uint8_t mapped) {
      const MapLevel& map_level = grid.levels_[level];
      const Vec<D> z = grid.middle_of(cell, level);
      const Vec<D> offset = add_scaled<D>(x_, -1.0, z);
      consider(z, map_level.room[mapped] - map_level.slack - margin_, dot<D>(offset, offset));
    }
    /// The ball centred on x of the given distance to the nearest centre.
    void consider_centred(double distance) { consider(x_, distance - margin_, 0.0); }

    /// Whether the chosen ball clears `clearance` too.
    bool best_clears(double clearance) const {
      return eligible_ && clears(best_radius_, best_offset_sq_, clearance);
    }

    FreeBall best() const {
      if (!eligible_) return {x_, fallback_clearance_, 0.0};
      return {best_middle_, best_radius_, std::sqrt(best_offset_sq_)};
    }

   private:
    /// radius - sqrt(offset_sq) >= clearance, for clearance >= 0.
    static bool clears(double radius, double offset_sq, double clearance) {
      const double room = radius - clearance;
      return room >= 0 && room * room >= offset_sq;
    }

    void consider(const Vec<D>& middle, double radius, double offset_sq) {
      if (clears(radius, offset_sq, least_clearance_)) {
        const double score = radius * radius - offset_sq;
        if (!eligible_ || score > best_score_) {
          eligible_ = true;
          best_score_ = score;
          best_middle_ = middle;
          best_radius_ = radius;
          best_offset_sq_ = offset_sq;
        }
      } else if (!eligible_) {
        fallback_clearance_ = std::max(fallback_clearance_, radius - std::sqrt(offset_sq));
      }
    }

    Vec<D> x_;
    double margin_;
    double least_clearance_;
    bool eligible_ = false;
    double best_score_ = 0;
    Vec<D> best_middle_{};
    double best_radius_ = 0;
    double best_offset_sq_ = 0;
    double fallback_clearance_ = -std::numeric_limits<double>::infinity();
  };

  /// The middle point of a cell of `level`.
  Vec<D> middle_of(const Cell& cell, std::size_t level) const {
    const double side = levels_[level].cell_size;
    Vec<D> z;
    for (std::size_t k = 0; k < D; ++k) {
      z[k] = (static_cast<double>(cell[k]) + 0.5) * side - half_width_;
    }
    return z;
  }

  /// Lowers the map of `level` in the cells within its reach of a new centre p (in `cell`
  /// of that level), allocating the tiles that hold them. Squared distances are separable:
  /// each axis' terms are computed once. The cells are visited tile by tile, so the
  /// directory is read once per tile, not once per cell.
  void update_map(std::size_t level, const Vec<D>& p, const Cell& cell) {
    MapLevel& map_level = levels_[level];
    const std::int64_t reach = reach_in_cells(level);
    const double side = map_level.cell_size;
    std::array<std::array<double, 2 * 3 + 1>, D> axis_sq;
    for (std::size_t k = 0; k < D; ++k) {
      for (std::int64_t j = -reach; j <= reach; ++j) {
        const double z = (static_cast<double>(cell[k] + j) + 0.5) * side - half_width_;
        axis_sq[k][static_cast<std::size_t>(j + reach)] = (z - p[k]) * (z - p[k]);
      }
    }
    const double reach_sq = map_level.reach_sq;
    // Scaling by 1 - 2^-20 keeps the rounded-down entry below the true distance even when
    // d_sq itself was rounded up: a map must never claim more room than there is.
    const double scale = (1.0 - 0x1.0p-20) / map_level.unit_sq;
    // Allocating a tile may move the first chunk of the map: every tile first, then pointers.
    for_each_tile_within(cell, reach, map_level.cells_per_side,
                         [&](const Cell& tile) { allocate_tile(level, tile); });
    // A row of cells (along the first axis) whose other axes alone put it beyond the reach
    // is skipped whole: about half the box's rows in 3D, where 73% of its cells lie beyond.
    const auto row_within_reach = [&](const Cell& c) {
      double row_sq = 0;
      for (std::size_t k = 1; k < D; ++k) {
        row_sq += axis_sq[k][static_cast<std::size_t>(c[k] - cell[k] + reach)];
      }
      return row_sq < reach_sq;
    };
    for_each_cell_within(
        cell, reach, map_level.cells_per_side, row_within_reach,
        [&](const Cell& tile) {
          const auto id = map_level.tile_of[flat_index(tile, map_level.tiles_per_side)];
          return &map_level.map[static_cast<std::size_t>(id) * kTileCells];
        },
        [&](const Cell& c, std::uint8_t* entries, std::size_t local) {
          double d_sq = 0;
          for (std::size_t k = 0; k < D; ++k) {
            d_sq += axis_sq[k][static_cast<std::size_t>(c[k] - cell[k] + reach)];
          }
          // Without a branch (whether a cell of the box is within the reach is a coin toss
          // for the branch predictor): a cell beyond it keeps its entry.
          const double scaled = d_sq < reach_sq ? d_sq * scale : double{kCapped};
          entries[local] = std::min(entries[local], static_cast<std::uint8_t>(scaled));
        });
  }

  /// Allocates a tile of `level` if it is not yet.
  void allocate_tile(std::size_t level, const Cell& tile) {
    MapLevel& map_level = levels_[level];
    std::int32_t& id = map_level.tile_of[flat_index(tile, map_level.tiles_per_side)];
    if (id != kNone) return;
    id = static_cast<std::int32_t>(map_level.map.size() / kTileCells);
    map_level.map.append(kTileCells, kCapped);
    if (kHasRepresentatives && level > 0) map_level.occupied.append(1, 0);
    if (level == 0) list_block_of_.append(1, kNone);
  }

  /// Marks `cell` of `level` (whose tile is allocated) as holding a centre; true if it held
  /// none before.
  bool claim_cell(std::size_t level, const Cell& cell) {
    static_assert(kTileCells <= 64, "a tile's cells fit in one mask");
    MapLevel& map_level = levels_[level];
    const TilePlace place = tile_place(map_level, cell);
    const auto id = static_cast<std::size_t>(map_level.tile_of[place.tile]);
    std::uint64_t& mask = map_level.occupied[id];
    const std::uint64_t bit = std::uint64_t{1} << place.local;
    const bool first = (mask & bit) == 0;
    mask |= bit;
    return first;
  }

  /// Calls f on each tile holding a cell within `reach` cells of `centre` among `side`^D.
  template <typename F>
  static void for_each_tile_within(const Cell& centre, std::int64_t reach, std::int64_t side,
                                   F&& f) {
    Cell first_tile, last_tile;
    for (std::size_t k = 0; k < D; ++k) {
      first_tile[k] = std::max<std::int64_t>(centre[k] - reach, 0) >> kTileShift;
      last_tile[k] = std::min<std::int64_t>(centre[k] + reach, side - 1) >> kTileShift;
    }
    for_each_in_box(first_tile, last_tile, f);
  }

  /// Visits the cells within `reach` cells of `centre` (per axis) among `side`^D, as
  /// for_each_cell_in_box.
  template <typename RowWanted, typename TileData, typename F>
  static void for_each_cell_within(const Cell& centre, std::int64_t reach, std::int64_t side,
                                   RowWanted&& row_wanted, TileData&& tile_data, F&& f) {
    static_assert(2 * reach_in_cells(0) + 1 <= kTileSide + 1, "a box spans 2 tiles an axis");
    Cell lo, hi;
    for (std::size_t k = 0; k < D; ++k) {
      lo[k] = centre[k] - reach;
      hi[k] = centre[k] + reach;
    }
    for_each_cell_in_box(lo, hi, side, row_wanted, tile_data, f);
  }

  /// Visits the cells c with lo <= c <= hi (at most kTileSide + 1 a side) among `side`^D:
  /// first `tile_data(tile)` for each tile they lie in (at most 2 per axis), then
  /// `f(cell, that tile's data, the cell's place in its tile)` for each cell. The tiles'
  /// directory is read once per tile, not once per cell.
  template <typename RowWanted, typename TileData, typename F>
  static void for_each_cell_in_box(Cell lo, Cell hi, std::int64_t side, RowWanted&& row_wanted,
                                   TileData&& tile_data, F&& f) {
    Cell first_tile, last_tile;
    for (std::size_t k = 0; k < D; ++k) {
      lo[k] = std::max<std::int64_t>(lo[k], 0);
      hi[k] = std::min<std::int64_t>(hi[k], side - 1);
      first_tile[k] = lo[k] >> kTileShift;
      last_tile[k] = hi[k] >> kTileShift;
    }
    const auto which_tile = [&](const Cell& c) {
      std::size_t t = 0;
      for (std::size_t k = 0; k < D; ++k) {
        t |= static_cast<std::size_t>((c[k] >> kTileShift) - first_tile[k]) << k;
      }
      return t;
    };
    std::array<decltype(tile_data(first_tile)), std::size_t{1} << D> tiles{};
    for_each_in_box(first_tile, last_tile, [&](const Cell& tile) {
      Cell corner;
      for (std::size_t k = 0; k < D; ++k) {
        corner[k] = tile[k] << kTileShift;
      }
      tiles[which_tile(corner)] = tile_data(tile);
    });
    // Row by row (the first axis fastest): the other axes' tile and place bits are taken
    // once a row, not once a cell (the per-cell bit work was most of a map update's time).
    for_each_row_in_box(lo, hi, row_wanted, [&](Cell& c) {
      const std::size_t row_tile = which_tile(c);
      // The first axis takes a place's lowest bits (local_place).
      const std::size_t row_local = local_place(c) & ~static_cast<std::size_t>(kTileSide - 1);
      for (; c[0] <= hi[0]; ++c[0]) {
        const auto tile_bit = static_cast<std::size_t>((c[0] >> kTileShift) - first_tile[0]);
        f(c, tiles[row_tile | tile_bit],
          row_local | static_cast<std::size_t>(c[0] & (kTileSide - 1)));
      }
    });
  }

  /// A cell's place within its tile.
  static std::size_t local_place(const Cell& c) {
    std::size_t local = 0;
    for (std::size_t k = 0; k < D; ++k) {
      local |= static_cast<std::size_t>(c[k] & (kTileSide - 1)) << (kTileShift * k);
    }
    return local;
  }

  /// The map of `level` at cell c: kCapped in a tile never allocated (no centre within reach).
  std::uint8_t map_at(std::size_t level, const Cell& c) const {
    const MapLevel& map_level = levels_[level];
    const std::size_t slot = slot_of(map_level, c);
    return slot == kNoSlot ? kCapped : map_level.map[slot];
  }

  /// A cell's tile in its level's directory, and its place within the tile.
  struct TilePlace {
    std::size_t tile;
    std::size_t local;
  };
  static TilePlace tile_place(const MapLevel& map_level, const Cell& c) {
    Cell tile;
    for (std::size_t k = 0; k < D; ++k) {
      tile[k] = c[k] >> kTileShift;
    }
    return {flat_index(tile, map_level.tiles_per_side), local_place(c)};
  }

  /// Where a cell's map entry lies in its level's tiles; kNoSlot in an unallocated tile.
  static std::size_t slot_of(const MapLevel& map_level, const Cell& c) {
    const TilePlace place = tile_place(map_level, c);
    const std::int32_t id = map_level.tile_of[place.tile];
    if (id == kNone) return kNoSlot;
    return static_cast<std::size_t>(id) * kTileCells + place.local;
  }

  /// Calls f with the index of each centre in the 3^D block of level-0 cells around `cell`
  /// (those in the grid), reading each tile's lists once.
  template <typename F>
  void for_each_centre_in_block(const Cell& cell, F&& f) const {
    Cell lo, hi;
    for (std::size_t k = 0; k < D; ++k) {
      lo[k] = cell[k] - 1;
      hi[k] = cell[k] + 1;
    }
    for_each_centre_in_box(lo, hi, f);
  }

  /// Calls f with the index of each centre in the level-0 cells lo <= c <= hi (those in the
  /// grid), reading each tile's lists once.
  template <typename F>
  void for_each_centre_in_box(const Cell& lo, const Cell& hi, F&& f) const {
    for_each_list_in_box(lo, hi, [&](std::int32_t first) {
      for (std::int32_t i = first; i != kNone; i = next_of(i)) {
        f(i);
      }
    });
  }

  /// Calls f with the first centre of each level-0 cell lo <= c <= hi that holds any.
  template <typename F>
  void for_each_list_in_box(const Cell& lo, const Cell& hi, F&& f) const {
    for_each_cell_in_box(
        lo, hi, cells_per_side_, kEveryRow,
        [&](const Cell& tile) { return list_heads_of_tile(tile); },
        [&](const Cell&, const std::int32_t* heads, std::size_t local) {
          if (heads != nullptr && heads[local] != kNone) f(heads[local]);
        });
  }

  /// The list heads of a level-0 tile's cells, or nullptr if it holds no centre.
  const std::int32_t* list_heads_of_tile(const Cell& tile) const {
    const MapLevel& fine = levels_[0];
    const std::int32_t id = fine.tile_of[flat_index(tile, fine.tiles_per_side)];
    if (id == kNone) return nullptr;
    const std::int32_t block = list_block_of_[static_cast<std::size_t>(id)];
    if (block == kNone) return nullptr;
    return &heads_[static_cast<std::size_t>(block) * kTileCells];
  }

  /// Calls f(index, centre) for each centre in the 3^D block of level-0 cells around `cell`
  /// (x's cell), and perhaps for some more (callers take a minimum, which the others do not
  /// change: see NearCache). A walker near the cluster asks about the same few cells many
  /// times in a row (58% of the exact distances at 10^6 in 2D, and every contact test after
  /// one), and the cluster does not change while it walks: the centres of a block of 4^D
  /// cells around it are kept in a small array until the walker leaves the block's inner 2^D
  /// cells or a centre is inserted, instead of following the cells' lists through the
  /// centres' arrays again.
  template <typename F>
  void for_each_centre_near(const Vec<D>& x, const Cell& cell, F&& f) const {
    NearCache& cache = cursor().near;
    if (!cache.covers(cell)) fill_near_cache(x, cell);
    if (cache.count > kNearCacheSize) {  // a crowded block: read the lists every time
      for_each_centre_in_block(cell, [&](std::int32_t i) { f(i, centre_of(i)); });
      return;
    }
    for (std::size_t k = 0; k < cache.count; ++k) {
      f(cache.entries[k].index, cache.entries[k].centre);
    }
  }

  /// Keeps the centres of the near_box of a walker at x in `cell`.
  void fill_near_cache(const Vec<D>& x, const Cell& cell) const {
    static_assert(4 <= kTileSide + 1, "the 4^D cells span at most 2 tiles an axis");
    NearCache& cache = cursor().near;
    const auto [inner, lo, hi] = near_box(x, cell);
    cache.inner = inner;
    cache.valid = true;
    cache.count = 0;
    // The cells' first centres first, each starting to load at once, then their lists: one
    // list after another, every first centre was a cache miss waited for in turn (perf: the
    // centres' loads were the fill's hottest instructions). The order is the same.
    std::array<std::int32_t, kBoxCells> firsts;
    std::size_t lists = 0;
    for_each_list_in_box(lo, hi, [&](std::int32_t first) {
      __builtin_prefetch(&centres_[static_cast<std::size_t>(first)]);
      __builtin_prefetch(&next_[static_cast<std::size_t>(first)]);
      firsts[lists++] = first;
    });
    for (std::size_t list = 0; list < lists; ++list) {
      for (std::int32_t i = firsts[list]; i != kNone; i = next_of(i)) {
        if (cache.count < kNearCacheSize) cache.entries[cache.count] = {centre_of(i), i};
        ++cache.count;
      }
    }
  }
  /// The 4^D cells kept around a walker at x in `cell`: those whose inner 2^D cells (from
  /// `inner` on) hold `cell`, placed along each axis towards the half of the cell that x is
  /// in, so that the walker has a cell's room on both sides before it leaves them.
  struct NearBox {
    Cell inner, lo, hi;
  };
  NearBox near_box(const Vec<D>& x, const Cell& cell) const {
    NearBox box;
    for (std::size_t k = 0; k < D; ++k) {
      const double middle = (static_cast<double>(cell[k]) + 0.5) * cell_size_ - half_width_;
      box.inner[k] = x[k] < middle ? cell[k] - 1 : cell[k];
      box.lo[k] = box.inner[k] - 1;
      box.hi[k] = box.inner[k] + 2;
    }
    return box;
  }
  /// Cells in the walker's kept block.
  static constexpr std::size_t kBoxCells = std::size_t{1} << (2 * D);

  /// The head of a level-0 cell's list, whose tile is allocated; gives the tile its block of
  /// lists when it gets its first centre.
  std::int32_t& list_head(const Cell& c) {
    const TilePlace place = tile_place(levels_[0], c);
    const auto id = static_cast<std::size_t>(levels_[0].tile_of[place.tile]);
    std::int32_t& block = list_block_of_[id];
    if (block == kNone) {
      block = static_cast<std::int32_t>(heads_.size() / kTileCells);
      heads_.append(kTileCells, kNone);
    }
    return heads_[static_cast<std::size_t>(block) * kTileCells + place.local];
  }

  static std::size_t cell_count(std::int64_t side) {
    std::size_t count = 1;
    for (std::size_t k = 0; k < D; ++k) {
      count *= static_cast<std::size_t>(side);
    }
    return count;
  }

  static std::size_t flat_index(const Cell& c, std::int64_t side) {
    std::int64_t index = 0;
    for (std::size_t k = D; k-- > 0;) {
      index = index * side + c[k];
    }
    return static_cast<std::size_t>(index);
  }

  static Cell coarsened(const Cell& cell, std::size_t level) {
    Cell coarse;
    for (std::size_t k = 0; k < D; ++k) {
      coarse[k] = cell[k] >> level;
    }
    return coarse;
  }

  /// Calls f on each cell c with lo <= c <= hi, the first axis fastest.
  template <typename F>
  static void for_each_in_box(const Cell& lo, const Cell& hi, F&& f) {
    for_each_in_box(lo, hi, kEveryRow, f);
  }

  /// A row filter that keeps every row.
  static constexpr auto kEveryRow = [](const Cell&) { return true; };

  /// The same for the rows (cells along the first axis) for which row_wanted(the row's first
  /// cell) holds.
  template <typename RowWanted, typename F>
  static void for_each_in_box(const Cell& lo, const Cell& hi, RowWanted&& row_wanted, F&& f) {
    for_each_row_in_box(lo, hi, row_wanted, [&](Cell& c) {
      for (; c[0] <= hi[0]; ++c[0]) {
        f(static_cast<const Cell&>(c));
      }
    });
  }

  /// Calls row(c) with c the first cell (c[0] = lo[0]) of each row of the box lo <= c <= hi
  /// along the first axis for which row_wanted(c) holds; row may advance c[0].
  template <typename RowWanted, typename Row>
  static void for_each_row_in_box(const Cell& lo, const Cell& hi, RowWanted&& row_wanted,
                                  Row&& row) {
    Cell c;
    if constexpr (D == 2) {
      for (c[1] = lo[1]; c[1] <= hi[1]; ++c[1]) {
        c[0] = lo[0];
        if (row_wanted(static_cast<const Cell&>(c))) row(c);
      }
    } else {
      for (c[2] = lo[2]; c[2] <= hi[2]; ++c[2]) {
        for (c[1] = lo[1]; c[1] <= hi[1]; ++c[1]) {
          c[0] = lo[0];
          if (row_wanted(static_cast<const Cell&>(c))) row(c);
        }
      }
    }
  }

  std::size_t level_count() const { return levels_.size(); }

  /// The level-0 cell holding x; a coordinate outside the cube reads -1 or cells_per_side_
  /// (outside either way), which lets truncation stand in for the slower floor.
  Cell cell_of(const Vec<D>& x) const {
    Cell cell;
    for (std::size_t k = 0; k < D; ++k) {
      const double offset = (x[k] + half_width_) * inverse_cell_size_;
      const auto side = static_cast<double>(cells_per_side_);
      cell[k] = offset < 0       ? -1
                : offset >= side ? cells_per_side_
                                 : static_cast<std::int64_t>(offset);
    }
    return cell;
  }

  bool inside(const Cell& cell) const {
    for (std::size_t k = 0; k < D; ++k) {
      if (cell[k] < 0 || cell[k] >= cells_per_side_) return false;
    }
    return true;
  }

  double distance_to_cube(const Vec<D>& x) const {
    double sum_sq = 0;
    for (std::size_t k = 0; k < D; ++k) {
      const double excess = std::max(0.0, std::abs(x[k]) - half_width_);
      sum_sq += excess * excess;
    }
    return std::sqrt(sum_sq);
  }

  /// Distance from x (inside level-0 `cell`) to the boundary of the cell's 3^D block: no
  /// centre outside the block is closer.
  double block_clearance(const Vec<D>& x, const Cell& cell) const {
    double clearance = std::numeric_limits<double>::infinity();
    for (std::size_t k = 0; k < D; ++k) {
      const double lo = static_cast<double>(cell[k] - 1) * cell_size_ - half_width_;
      const double hi = static_cast<double>(cell[k] + 2) * cell_size_ - half_width_;
      clearance = std::min({clearance, x[k] - lo, hi - x[k]});
    }
    return clearance;
  }

  const Vec<D>& centre_of(std::int32_t i) const { return centres_[static_cast<std::size_t>(i)]; }
  std::int32_t next_of(std::int32_t i) const { return next_[static_cast<std::size_t>(i)]; }

  /// The centres of the 4^D cells around the walker (for_each_centre_near). 48 hold any
  /// such block a DLA cluster leaves in 2D (a 12r square fits about 40 touching discs of
  /// radius r, and a fractal far fewer); in 3D a crowded block falls back to the lists.
  /// Callers take the least distance or the first contact over the centres they are
  /// given: the 3^D block around x's cell holds every centre within a cell of x, so the
  /// others in the 4^D block, a cell or more away, change neither an exact distance below
  /// the cell size nor a bound capped at the 3^D block's clearance, nor a contact within a
  /// step.
  static constexpr std::size_t kNearCacheSize = 48;
  struct NearCache {
    struct Entry {
      Vec<D> centre;
      std::int32_t index;
    };
    /// Whether the kept centres are those of the 4^D cells around inner.
    bool valid = false;
    /// The first of the block's inner 2^D cells.
    Cell inner{};
    std::size_t count = 0;
    std::array<Entry, kNearCacheSize> entries;
    /// Whether `cell` is one of the kept 4^D cells.
    bool holds(const Cell& cell) const {
      for (std::size_t k = 0; k < D; ++k) {
        if (static_cast<std::uint64_t>(cell[k] - inner[k] + 1) > 3) return false;
      }
      return true;
    }
    /// Whether the 3^D block around `cell` lies within the kept cells.
    bool covers(const Cell& cell) const {
      if (!valid) return false;
      for (std::size_t k = 0; k < D; ++k) {
        if (static_cast<std::uint64_t>(cell[k] - inner[k]) > 1) return false;
      }
      return true;
    }
  };

  std::size_t max_levels_;
  // Per walker: the block of centres around its last cell (for_each_centre_near) and where
  // its last query found its level (first_uncapped_level): caches and hints, so a const
  // query may update them (each walker queries with its own).
  struct Cursor {
    NearCache near;
    std::size_t last_level = 0;
  };
  mutable std::array<Cursor, kCursors> cursors_{};
  mutable std::size_t active_cursor_ = 0;
  Cursor& cursor() const { return cursors_[active_cursor_]; }
  double cell_size_;
  double inverse_cell_size_;
  std::int64_t cells_per_side_;
  double half_width_;
  // The arrays read at random places by every jump are on huge pages (huge_pages.hpp).
  std::vector<MapLevel> levels_;              // the distance maps, level 0 first
  ChunkedArray<std::int32_t> list_block_of_;  // per level-0 tile: its block of heads_, or kNone
  ChunkedArray<std::int32_t> heads_;          // per cell of a tile holding centres: first, or kNone
  HugePageVector<Vec<D>> centres_;
  HugePageVector<std::int32_t> next_;  // next centre in the same level-0 cell, kNone at the end
};

}  // namespace fracstudy::kernels::detail
