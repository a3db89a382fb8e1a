#pragma once
/// The particles of one rigid cluster, indexed in the cluster's own frame (private to the
/// kernels): moving the cluster moves nothing here, so a move costs O(1) however large the
/// cluster is. Used by CCA, whose clusters move many times between two merges.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "brownian.hpp"

namespace fracstudy::kernels::detail {

/// Level-0 cells of side h hold lists of the particles whose centres lie in them; levels
/// l = 1 .. kLevels-1 (side h 2^l) record which of their cells hold a particle. Only occupied
/// cells are stored (an open-addressing hash table keyed by level and cell), so memory is
/// proportional to the particles, not to the volume the cluster spans.
template <std::size_t D>
class ClusterIndex {
 public:
  /// Levels 0 .. kLevels-1: distance bounds up to h 2^(kLevels-1).
  static constexpr int kLevels = 7;

  /// A particle as the index holds it.
  struct Entry {
    Vec<D> offset;          ///< its centre in the cluster's frame
    std::int32_t particle;  ///< the caller's id
    std::int32_t next;      ///< the next entry in the same level-0 cell, or kNone
  };

  explicit ClusterIndex(double cell_side)
      : cell_side_(cell_side),
        inverse_cell_side_(1.0 / cell_side),
        table_(kInitialSlots, Slot{kEmptyKey, kNone}) {}

  /// The largest distance a bound can prove: h 2^(kLevels-1) / 2.
  double reach() const { return 0.5 * cell_side_ * static_cast<double>(1 << (kLevels - 1)); }

  /// Adds particle `particle` at `offset` (in the cluster's frame).
  void insert(std::int32_t particle, const Vec<D>& offset) {
    Cell cell = cell_of(offset);
    for (const std::int64_t coordinate : cell) {
      if (coordinate <= -kCoordinateLimit || coordinate >= kCoordinateLimit) {
        throw std::length_error("a cluster spans more cells than its index can number");
      }
    }
    if (2 * (used_ + kLevels) > table_.size()) grow();
    const auto index = static_cast<std::int32_t>(entries_.size());
    Slot& head = find_or_add(key_of(cell, 0));
    entries_.push_back({offset, particle, head.value});
    head.value = index;
    for (int level = 1; level < kLevels; ++level) {
      cell = parent(cell);
      Slot& coarse = find_or_add(key_of(cell, level));
      if (coarse.value == kNone && level == kLevels - 1) top_cells_.push_back(cell);
      coarse.value = coarse.value == kNone ? 1 : coarse.value + 1;  // particles in the cell
    }
  }

  /// A lower bound on the distance from x (in the cluster's frame) to the nearest centre,
  /// exact when that distance is below h/2, and at least `needed` or as large as the levels
  /// prove. Calls visit(entry) for every centre within h/2 of x, whatever `needed` is.
  /// Each level looks at the 2^D block of its cells nearest x, which holds every point within
  /// half a cell side of x: 8 cells in 3D where a block around x's own cell would need 27.
  template <typename Visit>
  double distance_bound(const Vec<D>& x, double needed, Visit&& visit) const {
    const Cell corner = nearest_block_corner(x);
    double nearest_sq = std::numeric_limits<double>::infinity();
    for_each_block_cell(corner, [&](const Cell& near) {
      for (std::int32_t i = value_at(key_of(near, 0)); i != kNone; i = entry(i).next) {
        const Entry& e = entry(i);
        visit(e);
        const Vec<D> gap = add_scaled<D>(x, -1.0, e.offset);
        nearest_sq = std::min(nearest_sq, dot<D>(gap, gap));
      }
    });
    double bound = 0.5 * cell_side_;
    if (nearest_sq < std::numeric_limits<double>::infinity()) {
      // Every centre outside the block is beyond its faces.
      double outside = std::numeric_limits<double>::infinity();
      for (std::size_t k = 0; k < D; ++k) {
        const double low = static_cast<double>(corner[k]) * cell_side_;
        outside = std::min({outside, x[k] - low, low + 2 * cell_side_ - x[k]});
      }
      return std::min(std::sqrt(nearest_sq), std::max(bound, outside));
    }
    // Nothing within h/2; climb while each coarser block is empty too: every centre outside
    // the level-l block is at least h 2^l / 2 away.
    for (int level = 1; level < kLevels && bound < needed; ++level) {
      bool occupied = false;
      for_each_block_cell(nearest_block_corner(x, level), [&](const Cell& near) {
        occupied = occupied || value_at(key_of(near, level)) != kNone;
      });
      if (occupied) break;
      bound *= 2;
    }
    return bound;
  }

  /// Calls visit(entry) for every particle in the cells that `may_be_near(middle, radius)`
  /// cannot rule out, where every particle of a cell lies within `radius` of its `middle`:
  /// a descent that skips each ruled-out cell whole. Every particle lies within `extent` of
  /// `centre`: the descent starts at the finest level whose cells are as wide as that ball
  /// (at most 2^D of them hold it), not at the coarsest.
  template <typename MayBeNear, typename Visit>
  void visit_where(const Vec<D>& centre, double extent, MayBeNear&& may_be_near,
                   Visit&& visit) const {
    int level = 0;
    while (level < kLevels - 1 && cell_side_ * static_cast<double>(1 << level) < 2 * extent) {
      ++level;
    }
    const double side = cell_side_ * static_cast<double>(1 << level);
    Cell low, high;
    for (std::size_t k = 0; k < D; ++k) {
      low[k] = static_cast<std::int64_t>(std::floor((centre[k] - extent) / side));
      high[k] = static_cast<std::int64_t>(std::floor((centre[k] + extent) / side));
    }
    if (level == kLevels - 1) {  // wider than the coarsest cells: those that are occupied
      for (const Cell& cell : top_cells_) {
        descend(cell, level, may_be_near, visit);
      }
      return;
    }
    for_each_block_cell(low, [&](const Cell& cell) {
      for (std::size_t k = 0; k < D; ++k) {
        if (cell[k] > high[k]) return;  // the ball fits in fewer cells along this axis
      }
      if (value_at(key_of(cell, level)) != kNone) descend(cell, level, may_be_near, visit);
    });
  }

 private:
  using Cell = std::array<std::int64_t, D>;
  struct Slot {
    std::uint64_t key;
    std::int32_t value;
  };

  static constexpr std::int32_t kNone = -1;
  static constexpr std::uint64_t kEmptyKey = std::numeric_limits<std::uint64_t>::max();
  static constexpr int kInitialSlotsLog2 = 4;
  static constexpr std::size_t kInitialSlots = std::size_t{1} << kInitialSlotsLog2;
  /// sqrt(D), rounded up: half a cell's diagonal is at most half its side times this.
  static constexpr double kRootOfD = D == 2 ? 1.4142135623730952 : 1.7320508075688774;
  /// Bits per coordinate in a key: 20 in 3D (+-2^19 cells, 1.5 million particle radii at
  /// h = 3), 28 in 2D; the level takes the top 4 bits.
  static constexpr int kCoordinateBits = D == 3 ? 20 : 28;
  static constexpr std::int64_t kCoordinateLimit = std::int64_t{1} << (kCoordinateBits - 1);

  Cell cell_of(const Vec<D>& x) const {
    Cell cell;
    for (std::size_t k = 0; k < D; ++k) {
      cell[k] = static_cast<std::int64_t>(std::floor(x[k] * inverse_cell_side_));
    }
    return cell;
  }

  /// The lowest corner of the 2^D block of level-`level` cells nearest x: per axis, x's cell
  /// and the neighbour on the side of x's nearer face.
  Cell nearest_block_corner(const Vec<D>& x, int level = 0) const {
    const double inverse_side = inverse_cell_side_ / static_cast<double>(1 << level);
    Cell corner;
    for (std::size_t k = 0; k < D; ++k) {
      corner[k] = static_cast<std::int64_t>(std::floor(x[k] * inverse_side - 0.5));
    }
    return corner;
  }

  template <typename MayBeNear, typename Visit>
  void descend(const Cell& cell, int level, MayBeNear& may_be_near, Visit& visit) const {
    const double side = cell_side_ * static_cast<double>(std::int64_t{1} << level);
    Vec<D> middle;
    for (std::size_t k = 0; k < D; ++k) {
      middle[k] = (static_cast<double>(cell[k]) + 0.5) * side;
    }
    if (!may_be_near(static_cast<const Vec<D>&>(middle), 0.5 * side * kRootOfD)) return;
    if (level == 0) {
      for (std::int32_t i = value_at(key_of(cell, 0)); i != kNone; i = entry(i).next) {
        visit(entry(i));
      }
      return;
    }
    for_each_block_cell(child_corner(cell), [&](const Cell& child) {
      if (value_at(key_of(child, level - 1)) != kNone)
        descend(child, level - 1, may_be_near, visit);
    });
  }

  /// The lowest of the 2^D cells one level down that make up `cell`.
  static Cell child_corner(const Cell& cell) {
    Cell child;
    for (std::size_t k = 0; k < D; ++k) {
      child[k] = 2 * cell[k];
    }
    return child;
  }

  static Cell parent(const Cell& cell) {
    Cell coarse;
    for (std::size_t k = 0; k < D; ++k) {
      coarse[k] = cell[k] >> 1;  // floor division by 2, also for negative coordinates
    }
    return coarse;
  }

  /// The key of a cell of a level; a cell out of the numbered range gets a key no insertion
  /// makes (it is empty).
  static std::uint64_t key_of(const Cell& cell, int level) {
    std::uint64_t key = static_cast<std::uint64_t>(level);
    for (std::size_t k = 0; k < D; ++k) {
      if (cell[k] <= -kCoordinateLimit || cell[k] >= kCoordinateLimit) return kEmptyKey - 1;
      key = (key << kCoordinateBits) |
            static_cast<std::uint64_t>(cell[k] + kCoordinateLimit);  // in [0, 2^bits)
    }
    return key;
  }

  std::size_t home_of(std::uint64_t key) const {
    // Fibonacci hashing: the product's top bits, which every bit of the key moves, so that
    // neighbouring cells land far apart. (Bits from the middle of the product, as before,
    // depend on the key's low bits only: in a table of under 2^23 slots on the last coordinate
    // and a few bits of the next, so whole rows of cells shared a home, and probing their runs
    // was 40% of the cluster lookups at 3·10^5 monomers.)
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> hash_shift_);
  }

  std::int32_t value_at(std::uint64_t key) const {
    for (std::size_t slot = home_of(key);; slot = (slot + 1) & (table_.size() - 1)) {
      if (table_[slot].key == key) return table_[slot].value;
      if (table_[slot].key == kEmptyKey) return kNone;
    }
  }

  Slot& find_or_add(std::uint64_t key) {
    for (std::size_t slot = home_of(key);; slot = (slot + 1) & (table_.size() - 1)) {
      if (table_[slot].key == key) return table_[slot];
      if (table_[slot].key == kEmptyKey) {
        ++used_;
        table_[slot] = {key, kNone};
        return table_[slot];
      }
    }
  }

  void grow() {
    std::vector<Slot> old(2 * table_.size(), Slot{kEmptyKey, kNone});
    old.swap(table_);
    --hash_shift_;
    used_ = 0;
    for (const Slot& slot : old) {
      if (slot.key != kEmptyKey) find_or_add(slot.key).value = slot.value;
    }
  }

  const Entry& entry(std::int32_t i) const { return entries_[static_cast<std::size_t>(i)]; }

  /// Calls f on each cell of the 2^D block whose lowest corner is `corner`.
  template <typename F>
  static void for_each_block_cell(const Cell& corner, F&& f) {
    const Cell& cell = corner;
    Cell near = cell;
    if constexpr (D == 2) {
      for (std::int64_t y = 0; y <= 1; ++y) {
        for (std::int64_t x = 0; x <= 1; ++x) {
          near = {cell[0] + x, cell[1] + y};
          f(static_cast<const Cell&>(near));
        }
      }
    } else {
      for (std::int64_t z = 0; z <= 1; ++z) {
        for (std::int64_t y = 0; y <= 1; ++y) {
          for (std::int64_t x = 0; x <= 1; ++x) {
            near = {cell[0] + x, cell[1] + y, cell[2] + z};
            f(static_cast<const Cell&>(near));
          }
        }
      }
    }
  }

  double cell_side_;
  double inverse_cell_side_;
  std::vector<Slot> table_;
  int hash_shift_ = 64 - kInitialSlotsLog2;  // 64 - log2(table_.size())
  std::size_t used_ = 0;
  std::vector<Entry> entries_;
  std::vector<Cell> top_cells_;  // the occupied cells of the coarsest level
};

}  // namespace fracstudy::kernels::detail
