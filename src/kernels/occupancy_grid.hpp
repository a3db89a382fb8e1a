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
#include "huge_pages.hpp"

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
/// Level 0 (lists and map) is stored in tiles of 8^2 / 4^3 cells, allocated only within the
/// map's reach of some centre: a dense level 0 grows with the cube's volume, most of it
/// empty around a fractal (hundreds of MB at 10^6 particles in 2D, 10^5 in 3D). Coarser
/// maps are dense; each is 2^D times smaller than the one below.
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
        half_width_(0.5 * static_cast<double>(cells_per_side_) * cell_size),
        tiles_per_side_((cells_per_side_ + kTileSide - 1) >> kTileShift),
        tile_of_(cell_count(tiles_per_side_), kNone) {
    // Coarsen until one level's map reaches across the whole grid.
    std::size_t offset = 0;
    for (std::int64_t n = cells_per_side_;; n = (n + 1) / 2) {
      const std::size_t level = level_sides_.size();
      const double side = level == 0 ? cell_size : 2 * level_cell_sizes_.back();
      const double reach = static_cast<double>(reach_in_cells(level)) * side;
      level_offsets_.push_back(offset);
      if (level > 0) offset += cell_count(n);
      level_cell_sizes_.push_back(side);
      level_sides_.push_back(n);
      level_reach_sq_.push_back(reach * reach);
      level_unit_sq_.push_back(reach * reach / kCapped);
      if (n <= reach_in_cells(level) || level + 1 >= max_levels_) break;
    }
    coarse_maps_.assign(offset, kCapped);
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
    centres_.push_back(centre);
    next_.push_back(kNone);
    index(centres_.size() - 1);
  }

  /// A lower bound on the distance from x to the nearest centre, exact when that distance
  /// is below the level-0 cell size; +infinity for an empty grid.
  double nearest_distance_bound(const Vec<D>& x) const {
    if (centres_.empty()) return std::numeric_limits<double>::infinity();
    const Cell cell = cell_of(x);
    if (!inside(cell)) return distance_to_cube(x);  // every centre is inside the cube
    const std::size_t slot = slot_of(cell);
    const std::uint8_t mapped = slot == kNoSlot ? kCapped : fine_map_[slot];
    const double map_bound = bound_from_map(x, cell, 0, mapped);
    if (mapped == kCapped) return coarse_bound(x, cell, map_bound);
    if (map_bound >= cell_size_) return map_bound;
    // Close to the cluster: the exact distance from the centres in the 3^D block.
    double nearest_sq = std::numeric_limits<double>::infinity();
    for_each_block_cell(cell, [&](const Cell& c) {
      for (std::int32_t i = head_at(c); i != kNone; i = next_of(i)) {
        const Vec<D> offset = add_scaled<D>(x, -1.0, centre_of(i));
        nearest_sq = std::min(nearest_sq, dot<D>(offset, offset));
      }
    });
    const double nearest = std::sqrt(nearest_sq);
    if (nearest < cell_size_) return nearest;  // exact: every closer centre is in the block
    return std::max(map_bound, std::min(nearest, block_clearance(x, cell)));
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
    for_each_block_cell(cell, [&](const Cell& c) {
      for (std::int32_t i = head_at(c); i != kNone; i = next_of(i)) {
        const double entry = ray_sphere_entry<D>(add_scaled<D>(x, -1.0, centre_of(i)), u, contact);
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
      index(i);
    }
  }

 private:
  static constexpr std::int32_t kNone = -1;
  /// How much wider a rebuilt grid is than the one before. Doubling makes rebuilds rare
  /// (every centre is refiled about 1.2 times in all in 3D, 1.4 in 2D), but the grid's
  /// fixed arrays (the tile directory and the dense coarse maps) grow with the cube's
  /// volume: a doubled cube can hold 8 times (3D) what the cluster needs, 1.8 GB of a
  /// 10^7-particle cluster's 3.6 GB. So a grid doubles only while its doubled fixed arrays
  /// would take at most kFixedBytesPerCentreByte times the centres' memory; beyond, it
  /// grows by kGrowth (at most 2 times the tightest cube's arrays in 3D). Growing by 1.25
  /// all the way was measured 1.35x slower in 2D at 10^7 (the refiling: 3.2 N insertions),
  /// hence the rule.
  static constexpr double kGrowth = 1.25;
  static constexpr std::size_t kFixedBytesPerCentreByte = 4;

  /// The bytes of the tile directory and the coarse maps of a grid of this geometry.
  static double fixed_bytes(double cell_size, double half_width) {
    const double cells = std::ceil(2.0 * half_width / cell_size);
    const double tiles = std::ceil(cells / static_cast<double>(kTileSide));
    const double tile_directory = std::pow(tiles, D) * sizeof(std::int32_t);
    // Levels 1, 2, ...: each 2^D times smaller than the one below.
    const double coarse_maps = std::pow(cells / 2, D) * (1 << D) / ((1 << D) - 1);
    return tile_directory + coarse_maps;
  }

  /// Files centre i (already in centres_) in its level-0 cell and lowers the maps around it.
  void index(std::size_t i) {
    const Vec<D>& centre = centres_[i];
    const Cell cell = cell_of(centre);
    allocate_tiles_around(cell);
    const std::size_t slot = slot_of(cell);
    next_[i] = heads_[slot];
    heads_[slot] = static_cast<std::int32_t>(i);
    for (std::size_t level = 0; level < level_count(); ++level) {
      update_map(level, centre, coarsened(cell, level));
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

  /// Every centre is at least map - |x - z| from x, z the middle of x's cell at `level`.
  double bound_from_map(const Vec<D>& x, const Cell& cell, std::size_t level,
                        std::uint8_t mapped) const {
    return std::sqrt(mapped * level_unit_sq_[level]) -
           norm<D>(add_scaled<D>(x, -1.0, middle_of(cell, level)));
  }

  /// The bound from the coarse maps for x, whose level-0 map is capped (its bound given):
  /// climb to the first level that is not capped. A capped level still proves its reach.
  double coarse_bound(const Vec<D>& x, const Cell& cell, double finer_bound) const {
    for (std::size_t level = 1; level < level_count(); ++level) {
      const Cell coarse = coarsened(cell, level);
      const std::uint8_t mapped = coarse_map(level, coarse);
      const double bound = std::max(finer_bound, bound_from_map(x, coarse, level, mapped));
      if (mapped != kCapped) return bound;
      finer_bound = bound;
    }
    return finer_bound;
  }

  /// The middle point of a cell of `level`.
  Vec<D> middle_of(const Cell& cell, std::size_t level) const {
    const double side = level_cell_sizes_[level];
    Vec<D> z;
    for (std::size_t k = 0; k < D; ++k) {
      z[k] = (static_cast<double>(cell[k]) + 0.5) * side - half_width_;
    }
    return z;
  }

  /// Lowers the map of `level` in the cells within its reach of a new centre p (in `cell`
  /// of that level). Squared distances are separable: each axis' terms are computed once.
  void update_map(std::size_t level, const Vec<D>& p, const Cell& cell) {
    const std::int64_t reach = reach_in_cells(level);
    const double side = level_cell_sizes_[level];
    std::array<std::array<double, 2 * 3 + 1>, D> axis_sq;
    for (std::size_t k = 0; k < D; ++k) {
      for (std::int64_t j = -reach; j <= reach; ++j) {
        const double z = (static_cast<double>(cell[k] + j) + 0.5) * side - half_width_;
        axis_sq[k][static_cast<std::size_t>(j + reach)] = (z - p[k]) * (z - p[k]);
      }
    }
    const double reach_sq = level_reach_sq_[level];
    // Scaling by 1 - 2^-20 keeps the rounded-down entry below the true distance even when
    // d_sq itself was rounded up: a map must never claim more room than there is.
    const double scale = (1.0 - 0x1.0p-20) / level_unit_sq_[level];
    for_each_cell_within(cell, reach, level_sides_[level], [&](const Cell& c) {
      double d_sq = 0;
      for (std::size_t k = 0; k < D; ++k) {
        d_sq += axis_sq[k][static_cast<std::size_t>(c[k] - cell[k] + reach)];
      }
      if (d_sq >= reach_sq) return;
      std::uint8_t& mapped = level == 0 ? fine_map_[slot_of(c)] : coarse_map(level, c);
      mapped = std::min(mapped, static_cast<std::uint8_t>(d_sq * scale));  // < 255
    });
  }

  std::uint8_t coarse_map(std::size_t level, const Cell& c) const {
    return coarse_maps_[level_offsets_[level] + flat_index(c, level_sides_[level])];
  }
  std::uint8_t& coarse_map(std::size_t level, const Cell& c) {
    return coarse_maps_[level_offsets_[level] + flat_index(c, level_sides_[level])];
  }

  /// Allocates the tiles holding every level-0 cell within the map's reach of `cell`.
  void allocate_tiles_around(const Cell& cell) {
    Cell lo, hi;
    for (std::size_t k = 0; k < D; ++k) {
      lo[k] = std::max<std::int64_t>(cell[k] - reach_in_cells(0), 0) >> kTileShift;
      hi[k] =
          std::min<std::int64_t>(cell[k] + reach_in_cells(0), cells_per_side_ - 1) >> kTileShift;
    }
    for_each_in_box(lo, hi, [&](const Cell& tile) {
      std::int32_t& id = tile_of_[flat_index(tile, tiles_per_side_)];
      if (id != kNone) return;
      id = static_cast<std::int32_t>(heads_.size() / kTileCells);
      heads_.resize(heads_.size() + kTileCells, kNone);
      fine_map_.resize(fine_map_.size() + kTileCells, kCapped);
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

  /// Calls f on each level-0 cell of the 3^D block around `centre` that lies in the grid.
  template <typename F>
  void for_each_block_cell(const Cell& centre, F&& f) const {
    for_each_cell_within(centre, 1, cells_per_side_, f);
  }

  /// Calls f on each cell within `reach` cells of `centre` (per axis) among `side`^D.
  template <typename F>
  static void for_each_cell_within(const Cell& centre, std::int64_t reach, std::int64_t side,
                                   F&& f) {
    Cell lo, hi;
    for (std::size_t k = 0; k < D; ++k) {
      lo[k] = std::max<std::int64_t>(centre[k] - reach, 0);
      hi[k] = std::min<std::int64_t>(centre[k] + reach, side - 1);
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

  std::size_t max_levels_;
  double cell_size_;
  double inverse_cell_size_;
  std::int64_t cells_per_side_;
  double half_width_;
  std::int64_t tiles_per_side_;
  // The arrays read at random places by every jump are on huge pages (huge_pages.hpp).
  HugePageVector<std::int32_t> tile_of_;   // per tile: its index among the allocated, or kNone
  HugePageVector<std::int32_t> heads_;     // per allocated level-0 cell: first centre, or kNone
  HugePageVector<std::uint8_t> fine_map_;  // per allocated level-0 cell: the map
  HugePageVector<Vec<D>> centres_;
  HugePageVector<std::int32_t> next_;  // next centre in the same level-0 cell, kNone at the end
  HugePageVector<std::uint8_t> coarse_maps_;  // levels >= 1: the maps, dense
  std::vector<std::size_t> level_offsets_;    // where each level starts in coarse_maps_
  std::vector<std::int64_t> level_sides_;     // cells per side at each level
  std::vector<double> level_cell_sizes_;      // cell side at each level: h0 2^L
  std::vector<double> level_reach_sq_;        // each map's reach, squared
  std::vector<double> level_unit_sq_;         // what one step of a map entry is worth, squared
};

}  // namespace fracstudy::kernels::detail
