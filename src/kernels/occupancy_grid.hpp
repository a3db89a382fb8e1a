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
#include <utility>
#include <vector>

#include "brownian.hpp"

namespace fracstudy::kernels::detail {

/// Particle centres in a cube [-H, H]^D, indexed three ways:
///  - level 0: cells of side h0 with a linked list of the centres in each (head/next), for
///    exact nearest-centre distances and contact tests;
///  - a distance map over the level-0 cells: for each, the distance from its centre point
///    z to the nearest particle centre, capped at the map reach (3 h0). For x in the cell
///    every centre is at least map(z) - |x - z| away, a bound within h0 sqrt(D) of the
///    truth where the hierarchy below can be off by several cells;
///  - levels L = 0, 1, ...: cells of side h0 2^L, each flagged when the 3^D block of cells
///    around it holds a centre. An unflagged cell proves every centre is farther from a
///    point inside it than that point's distance to the block's boundary (>= h0 2^L).
/// Level 0 and the map are stored in tiles of 8^2 / 4^3 cells, allocated only within the
/// map reach of some centre: a dense level 0 would grow with the cube's volume, most of it
/// empty around a fractal (hundreds of MB at 10^6 particles in 2D, 10^5 in 3D). The
/// coarser levels stay dense; they are 2^D, 4^D ... times smaller.
/// All lengths are in the caller's unit (particle radii for the kernels).
template <std::size_t D>
class OccupancyGrid {
 public:
  /// Integer coordinates of a cell.
  using Cell = std::array<std::int64_t, D>;

  /// An empty grid of level-0 cells of side `cell_size` covering at least
  /// [-half_width, half_width]^D.
  OccupancyGrid(double cell_size, double half_width)
      : cell_size_(cell_size),
        inverse_cell_size_(1.0 / cell_size),
        cells_per_side_(static_cast<std::int64_t>(std::ceil(2.0 * half_width / cell_size))),
        half_width_(0.5 * static_cast<double>(cells_per_side_) * cell_size),
        map_reach_sq_(static_cast<float>(kMapReachInCells * kMapReachInCells) *
                      static_cast<float>(cell_size * cell_size)),
        tiles_per_side_((cells_per_side_ + kTileSide - 1) >> kTileShift),
        tile_of_(cell_count(tiles_per_side_), kNone) {
    // Coarsen until a 3^D block spans the whole grid: beyond that level every flag is set.
    // Level 0's flags live in the tiles; near_flags_ holds levels 1, 2, ...
    std::size_t offset = 0;
    for (std::int64_t n = cells_per_side_;; n = (n + 1) / 2) {
      level_offsets_.push_back(offset);
      if (!level_sides_.empty()) offset += cell_count(n);
      level_cell_sizes_.push_back(level_cell_sizes_.empty() ? cell_size
                                                            : 2 * level_cell_sizes_.back());
      level_sides_.push_back(n);
      if (n <= 3) break;
    }
    near_flags_.assign(offset, 0);
  }

  /// Half the side of the cube the grid covers.
  double half_width() const { return half_width_; }
  /// Number of centres held.
  std::size_t size() const { return centres_.size(); }
  /// The centres, in insertion order.
  const std::vector<Vec<D>>& centres() const { return centres_; }

  /// Adds a centre; it must lie inside the cube.
  void insert(const Vec<D>& centre) {
    const Cell cell = cell_of(centre);
    allocate_tiles_around(cell);
    const auto index = static_cast<std::int32_t>(centres_.size());
    centres_.push_back(centre);
    const std::size_t slot = slot_of(cell);
    next_.push_back(heads_[slot]);
    heads_[slot] = index;
    for_each_block_cell(cell, cells_per_side_, [&](const Cell& c) { near_zero_[slot_of(c)] = 1; });
    for (std::size_t level = 1; level < level_count(); ++level) {
      const std::int64_t n = level_sides_[level];
      for_each_block_cell(coarsened(cell, level), n, [&](const Cell& c) {
        near_flags_[level_offsets_[level] + flat_index(c, n)] = 1;
      });
    }
    update_distance_map(centre, cell);
  }

  /// A lower bound on the distance from x to the nearest centre, exact when that distance
  /// is below the level-0 cell size; +infinity for an empty grid.
  double nearest_distance_bound(const Vec<D>& x) const {
    const Cell cell = cell_of(x);
    if (!inside(cell)) return distance_to_cube(x);  // every centre is inside the cube
    const std::size_t slot = slot_of(cell);
    const float mapped_sq = slot == kNoSlot ? map_reach_sq_ : nearest_sq_[slot];
    const double map_bound =
        std::sqrt(static_cast<double>(mapped_sq)) - offset_from_middle(x, cell);
    if (mapped_sq >= map_reach_sq_) {
      // Nothing within the map's reach: the hierarchy may prove more.
      return std::max(map_bound, hierarchy_bound(x, cell));
    }
    if (map_bound >= cell_size_) return map_bound;
    // Close to the cluster: the exact distance from the centres in the 3^D block.
    double nearest_sq = std::numeric_limits<double>::infinity();
    for_each_block_cell(cell, cells_per_side_, [&](const Cell& c) {
      for (std::int32_t i = head_at(c); i != kNone; i = next_of(i)) {
        const Vec<D> offset = add_scaled<D>(x, -1.0, centre_of(i));
        nearest_sq = std::min(nearest_sq, dot<D>(offset, offset));
      }
    });
    const double nearest = std::sqrt(nearest_sq);
    if (nearest < cell_size_) return nearest;  // exact: every closer centre is in the block
    return std::max(map_bound, std::min(nearest, block_clearance(x, cell, 0)));
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
    for_each_block_cell(cell, cells_per_side_, [&](const Cell& c) {
      for (std::int32_t i = head_at(c); i != kNone; i = next_of(i)) {
        const double entry = ray_sphere_entry(add_scaled<D>(x, -1.0, centre_of(i)), u, contact);
        if (entry < first) {
          first = entry;
          touched = i;
        }
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
    OccupancyGrid larger(cell_size_, std::max(half_width, 2 * half_width_));
    for (const Vec<D>& centre : centres_) {
      larger.insert(centre);
    }
    *this = std::move(larger);
  }

 private:
  static constexpr std::int32_t kNone = -1;
  static constexpr std::size_t kNoSlot = std::numeric_limits<std::size_t>::max();
  /// Tiles are 2^kTileShift cells a side: 64 cells in 2D and in 3D.
  static constexpr int kTileShift = D == 2 ? 3 : 2;
  static constexpr std::int64_t kTileSide = std::int64_t{1} << kTileShift;
  static constexpr std::size_t kTileCells = std::size_t{1} << (kTileShift * D);
  /// The distance map's reach in level-0 cells. Measured on 10^4-particle clusters: reach
  /// 2, 3, 5 cells (6, 9, 15 r) cut the walker's steps from 112 to 75, 59, 53 (2D) and
  /// from 290 to 190, 127, 81 (3D), but each insertion updates about (2 reach + 1)^D
  /// cells; 3 cells was the fastest overall.
  static constexpr std::int64_t kMapReachInCells = 3;

  /// A lower bound on the distance from x (in `cell`) to the nearest centre from the
  /// hierarchy of flags: climb while the block stays empty; the last empty level gives the
  /// bound. +infinity when no level holds a centre.
  double hierarchy_bound(const Vec<D>& x, const Cell& cell) const {
    if (block_occupied(cell, 0)) return 0.0;  // a centre in the block: nothing proven
    std::size_t level = 1;
    while (level < level_count() && !block_occupied(coarsened(cell, level), level)) {
      ++level;
    }
    if (level == level_count()) return std::numeric_limits<double>::infinity();
    return block_clearance(x, coarsened(cell, level - 1), level - 1);
  }

  /// |x - z| for z the middle of x's level-0 cell.
  double offset_from_middle(const Vec<D>& x, const Cell& cell) const {
    return norm<D>(add_scaled<D>(x, -1.0, middle_of(cell)));
  }

  /// The middle point of a level-0 cell.
  Vec<D> middle_of(const Cell& cell) const {
    Vec<D> z;
    for (std::size_t k = 0; k < D; ++k) {
      z[k] = (static_cast<double>(cell[k]) + 0.5) * cell_size_ - half_width_;
    }
    return z;
  }

  /// Lowers the distance map of the cells within its reach of a new centre p (in `cell`).
  /// Squared distances are separable, so each axis' contribution is computed once.
  void update_distance_map(const Vec<D>& p, const Cell& cell) {
    constexpr std::int64_t reach = kMapReachInCells;
    constexpr std::size_t width = 2 * reach + 1;
    std::array<std::array<double, width>, D> axis_sq;
    for (std::size_t k = 0; k < D; ++k) {
      for (std::int64_t j = -reach; j <= reach; ++j) {
        const double z = (static_cast<double>(cell[k] + j) + 0.5) * cell_size_ - half_width_;
        axis_sq[k][static_cast<std::size_t>(j + reach)] = (z - p[k]) * (z - p[k]);
      }
    }
    const auto reach_sq = static_cast<double>(map_reach_sq_);
    for_each_cell_within(cell, reach, [&](const Cell& c) {
      double d_sq = 0;
      for (std::size_t k = 0; k < D; ++k) {
        d_sq += axis_sq[k][static_cast<std::size_t>(c[k] - cell[k] + reach)];
      }
      if (d_sq >= reach_sq) return;
      float& mapped = nearest_sq_[slot_of(c)];
      mapped = std::min(mapped, float_not_above(d_sq));
    });
  }

  /// A float <= v (for v >= 0): the map must never claim more room than there is. Scaling
  /// by 1 - 2^-20 before rounding to nearest (relative error <= 2^-24) is cheaper than
  /// testing the rounding and costs the bound a millionth of its size.
  static float float_not_above(double v) { return static_cast<float>(v * (1.0 - 0x1.0p-20)); }

  /// Allocates the tiles holding every cell within the map's reach of `cell`.
  void allocate_tiles_around(const Cell& cell) {
    Cell lo, hi;
    for (std::size_t k = 0; k < D; ++k) {
      lo[k] = std::max<std::int64_t>(cell[k] - kMapReachInCells, 0) >> kTileShift;
      hi[k] = std::min<std::int64_t>(cell[k] + kMapReachInCells, cells_per_side_ - 1) >> kTileShift;
    }
    for_each_in_box(lo, hi, [&](const Cell& tile) {
      std::int32_t& id = tile_of_[flat_index(tile, tiles_per_side_)];
      if (id != kNone) return;
      id = static_cast<std::int32_t>(heads_.size() / kTileCells);
      heads_.resize(heads_.size() + kTileCells, kNone);
      nearest_sq_.resize(nearest_sq_.size() + kTileCells, map_reach_sq_);
      near_zero_.resize(near_zero_.size() + kTileCells, 0);
    });
  }

  /// Where a level-0 cell's data lies in the tile arrays; kNoSlot in an unallocated tile.
  std::size_t slot_of(const Cell& c) const {
    Cell tile;
    std::size_t local = 0;
    for (std::size_t k = 0; k < D; ++k) {
      tile[k] = c[k] >> kTileShift;
      local |= static_cast<std::size_t>(c[k] & (kTileSide - 1)) << (kTileShift * k);
    }
    const std::int32_t id = tile_of_[flat_index(tile, tiles_per_side_)];
    if (id == kNone) return kNoSlot;
    return static_cast<std::size_t>(id) * kTileCells + local;
  }

  /// The first centre in a level-0 cell, kNone if there is none.
  std::int32_t head_at(const Cell& c) const {
    const std::size_t slot = slot_of(c);
    return slot == kNoSlot ? kNone : heads_[slot];
  }

  /// Where the ray w + t u (t >= 0, w the start relative to the sphere's centre) enters the
  /// sphere of the given radius; +infinity when it never does.
  static double ray_sphere_entry(const Vec<D>& w, const Vec<D>& u, double radius) {
    const double b = dot<D>(w, u);                    // < 0: heading towards the centre
    const double c = dot<D>(w, w) - radius * radius;  // <= 0: touching (or rounded inside)
    if (b >= 0) return std::numeric_limits<double>::infinity();  // moving away: no entry
    if (c <= 0) return 0.0;                                      // touching and heading in
    const double discriminant = b * b - c;
    if (discriminant < 0) return std::numeric_limits<double>::infinity();  // line misses it
    return -b - std::sqrt(discriminant);
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

  /// Calls f on each cell of the 3^D block around `centre` that lies inside the grid.
  template <typename F>
  static void for_each_block_cell(const Cell& centre, std::int64_t side, F&& f) {
    Cell lo, hi;
    for (std::size_t k = 0; k < D; ++k) {
      lo[k] = std::max<std::int64_t>(centre[k] - 1, 0);
      hi[k] = std::min<std::int64_t>(centre[k] + 1, side - 1);
    }
    for_each_in_box(lo, hi, f);
  }

  /// Calls f on each level-0 cell within `reach` cells of `centre` (per axis) in the grid.
  template <typename F>
  void for_each_cell_within(const Cell& centre, std::int64_t reach, F&& f) const {
    Cell lo, hi;
    for (std::size_t k = 0; k < D; ++k) {
      lo[k] = std::max<std::int64_t>(centre[k] - reach, 0);
      hi[k] = std::min<std::int64_t>(centre[k] + reach, cells_per_side_ - 1);
    }
    for_each_in_box(lo, hi, f);
  }

  /// Calls f on each cell c with lo <= c <= hi, the first axis fastest.
  template <typename F>
  static void for_each_in_box(const Cell& lo, const Cell& hi, F&& f) {
    Cell c;
    if constexpr (D == 2) {
      for (c[1] = lo[1]; c[1] <= hi[1]; ++c[1]) {
        for (c[0] = lo[0]; c[0] <= hi[0]; ++c[0]) {
          f(c);
        }
      }
    } else {
      for (c[2] = lo[2]; c[2] <= hi[2]; ++c[2]) {
        for (c[1] = lo[1]; c[1] <= hi[1]; ++c[1]) {
          for (c[0] = lo[0]; c[0] <= hi[0]; ++c[0]) {
            f(c);
          }
        }
      }
    }
  }

  std::size_t level_count() const { return level_sides_.size(); }

  /// Whether the 3^D block around `cell` (a cell of `level`) holds a centre.
  bool block_occupied(const Cell& cell, std::size_t level) const {
    if (level == 0) {
      const std::size_t slot = slot_of(cell);
      return slot != kNoSlot && near_zero_[slot] != 0;
    }
    return near_flags_[level_offsets_[level] + flat_index(cell, level_sides_[level])] != 0;
  }

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

  /// Distance from x (inside `cell` of `level`) to the boundary of the cell's 3^D block.
  double block_clearance(const Vec<D>& x, const Cell& cell, std::size_t level) const {
    const double side = level_cell_sizes_[level];
    double clearance = std::numeric_limits<double>::infinity();
    for (std::size_t k = 0; k < D; ++k) {
      const double lo = static_cast<double>(cell[k] - 1) * side - half_width_;
      const double hi = static_cast<double>(cell[k] + 2) * side - half_width_;
      clearance = std::min({clearance, x[k] - lo, hi - x[k]});
    }
    return clearance;
  }

  const Vec<D>& centre_of(std::int32_t i) const { return centres_[static_cast<std::size_t>(i)]; }
  std::int32_t next_of(std::int32_t i) const { return next_[static_cast<std::size_t>(i)]; }

  double cell_size_;
  double inverse_cell_size_;
  std::int64_t cells_per_side_;
  double half_width_;
  float map_reach_sq_;  // the distance map's cap, squared: "nothing within reach"
  std::int64_t tiles_per_side_;
  std::vector<std::int32_t> tile_of_;    // per tile: its index among the allocated, or kNone
  std::vector<std::int32_t> heads_;      // per allocated cell: first centre in it, or kNone
  std::vector<float> nearest_sq_;        // per allocated cell: the distance map, squared
  std::vector<std::uint8_t> near_zero_;  // per allocated cell: the level-0 flag
  std::vector<Vec<D>> centres_;
  std::vector<std::int32_t> next_;        // next centre in the same level-0 cell, kNone at the end
  std::vector<std::uint8_t> near_flags_;  // levels >= 1: 1 if a cell's 3^D block is occupied
  std::vector<std::size_t> level_offsets_;  // where each level starts in near_flags_
  std::vector<std::int64_t> level_sides_;   // cells per side at each level
  std::vector<double> level_cell_sizes_;    // cell side at each level: h0 2^L
};

}  // namespace fracstudy::kernels::detail
