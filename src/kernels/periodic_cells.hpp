#pragma once
/// A cell list over moving points in a periodic box (private to the kernels): the points near
/// a given one, with their periodic images, and how many points each cell holds at a
/// hierarchy of cell sizes.
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "brownian.hpp"

namespace fracstudy::kernels::detail {

/// Points in the periodic box [0, L)^D, each in a doubly linked list of its cell; the cells
/// have side h = L / n with n a power of two, so that bringing a cell into the box is a bit
/// mask (a division would cost more than the rest of a neighbour scan). Levels l = 0, 1, ...
/// of cells of side h 2^l count the points in each of their cells, as many levels as the
/// caller asks for (a level coarser than the box has one cell, which holds every point);
/// each level counted makes moving a point between cells dearer. Callers give unwrapped
/// positions (any real coordinates, e.g. continuous across the boundary within a cluster); the
/// list keeps each one's image in the box. Searches run over cells in unwrapped coordinates,
/// so that each cell visited stands for one periodic image of a cell of the box (also when
/// the search is wider than the box).
template <std::size_t D>
class PeriodicCells {
 public:
  /// Integer coordinates of a cell.
  using Cell = std::array<std::int64_t, D>;

  /// An empty list for points with ids 0 .. capacity-1 in a box of side `box_side`, with
  /// cells no smaller than `min_cell_side` and less than twice that (one cell when the box is
  /// smaller than that), counting points at levels 0 .. levels-1.
  PeriodicCells(double box_side, double min_cell_side, std::size_t capacity, int levels = 1)
      : box_side_(box_side),
        log2_cells_(log2_cells_for(box_side / min_cell_side)),
        level_count_(std::max(1, levels)),
        cells_per_side_(std::int64_t{1} << log2_cells_),
        cell_side_(box_side / static_cast<double>(cells_per_side_)),
        wrapped_(capacity),
        raw_cell_(capacity),
        slot_of_(capacity, 0),
        linked_cell_(capacity),
        next_(capacity, kNone),
        previous_(capacity, kNone),
        head_(cell_count(0), kNone) {
    for (int level = 0; level < level_count(); ++level) {
      counts_.emplace_back(cell_count(level), 0);
    }
  }

  /// Side L of the periodic box.
  double box_side() const { return box_side_; }
  /// Side h 2^level of the cells of a level; points beyond the rings 0 .. r of cells around a
  /// cell lie at least r cell sides from every point of it.
  double cell_side(int level = 0) const {
    return cell_side_ * static_cast<double>(std::int64_t{1} << level);
  }
  /// Number of cells along each side of the box at a level.
  std::int64_t cells_per_side(int level = 0) const {
    return std::max<std::int64_t>(1, cells_per_side_ >> level);
  }
  /// Number of levels counted (the constructor's `levels`).
  int level_count() const { return level_count_; }

  /// Adds point `id` at the unwrapped position x.
  void insert(std::int32_t id, const Vec<D>& x) {
    locate(id, x);
    link(id);
  }

  /// Moves point `id` to the unwrapped position x.
  void move(std::int32_t id, const Vec<D>& x) {
    locate(id, x);
    const std::size_t cell = flat_index(wrap(raw_cell_[index(id)]));
    if (cell == slot_of_[index(id)]) return;
    unlink(id);
    link(id);
  }

  /// Takes point `id` out of the list.
  void remove(std::int32_t id) { unlink(id); }

  /// The (level-0) cell of point `id`, in unwrapped coordinates.
  const Cell& cell_of(std::int32_t id) const { return raw_cell_[index(id)]; }
  /// The cell of the next level up that holds cell `raw`.
  static Cell parent(const Cell& raw) {
    Cell coarse;
    for (std::size_t k = 0; k < D; ++k) {
      coarse[k] = raw[k] >> 1;  // floor division by 2, also for negative coordinates
    }
    return coarse;
  }
  /// Number of cells in the box at a level; slot() numbers them from 0.
  std::size_t slot_count(int level = 0) const { return cell_count(level); }
  /// The index of the box's cell of which the (unwrapped) cell `raw` of a level is an image.
  std::size_t slot(const Cell& raw, int level = 0) const {
    return flat_index(wrap(raw, level), level);
  }
  /// Number of points in the box's cell `slot` of a level.
  std::int32_t count(std::size_t slot, int level = 0) const {
    return counts_[static_cast<std::size_t>(level)][slot];
  }

  /// Calls f(j, image) for every point j with a periodic image in the 3^D block of cells
  /// around point `id` (rings 0 and 1; `id` itself included): every image within h of it.
  /// `image` is the position of that image in the unwrapped frame of `id`, a whole number of
  /// box lengths from j's unwrapped position.
  template <typename F>
  void for_each_neighbour(std::int32_t id, F&& f) const {
    for (std::int64_t ring = 0; ring <= 1; ++ring) {
      for_each_cell_on_ring(cell_of(id), ring, [&](const Cell& raw) { for_each_in_cell(raw, f); });
    }
  }

  /// Calls f(j, image) for every point j in the cell `raw` (unwrapped coordinates): `image` is
  /// the position of its image in that cell, a whole number of box lengths from j's unwrapped
  /// position.
  template <typename F>
  void for_each_in_cell(const Cell& raw, F&& f) const {
    const Cell wrapped = wrap(raw);
    Vec<D> offset;
    for (std::size_t k = 0; k < D; ++k) {
      offset[k] = static_cast<double>(boxes_between(raw[k], wrapped[k])) * box_side_;
    }
    for (std::int32_t j = head_[flat_index(wrapped)]; j != kNone; j = next_[index(j)]) {
      f(j, add_scaled<D>(offset, 1.0, wrapped_[index(j)]));
    }
  }

  /// Calls f(cell) for the cells exactly `ring` cells away from the cell `centre` (in the
  /// maximum norm; ring 0 is the centre itself), in unwrapped coordinates: each stands for
  /// one periodic image of a cell of the box. Points in cells beyond rings 0 .. r lie at least
  /// r h from every point of the centre cell.
  template <typename F>
  static void for_each_cell_on_ring(const Cell& centre, std::int64_t ring, F&& f) {
    // A row of cells along the first coordinate lies wholly on the ring when its other
    // coordinates do; otherwise only its two end cells do.
    auto visit_row = [&](Cell c, std::int64_t rest_distance) {
      const std::int64_t step = rest_distance == ring || ring == 0 ? 1 : 2 * ring;
      for (std::int64_t x = -ring; x <= ring; x += step) {
        c[0] = centre[0] + x;
        f(static_cast<const Cell&>(c));
      }
    };
    Cell c = centre;
    if constexpr (D == 2) {
      for (std::int64_t y = -ring; y <= ring; ++y) {
        c[1] = centre[1] + y;
        visit_row(c, y < 0 ? -y : y);
      }
    } else {
      for (std::int64_t z = -ring; z <= ring; ++z) {
        for (std::int64_t y = -ring; y <= ring; ++y) {
          c[1] = centre[1] + y;
          c[2] = centre[2] + z;
          visit_row(c, std::max(y < 0 ? -y : y, z < 0 ? -z : z));
        }
      }
    }
  }

 private:
  /// The end of a list.
  static constexpr std::int32_t kNone = -1;

  /// A point id as a vector index.
  static std::size_t index(std::int32_t id) { return static_cast<std::size_t>(id); }

  /// Number of cells in the box at a level.
  std::size_t cell_count(int level) const {
    std::size_t count = 1;
    for (std::size_t k = 0; k < D; ++k) {
      count *= static_cast<std::size_t>(cells_per_side(level));
    }
    return count;
  }

  /// floor(q) as an integer, without the library call that std::floor compiles to on
  /// baseline x86-64 (it is the hottest call of a neighbour scan otherwise).
  static std::int64_t floor_to_integer(double q) {
    const auto truncated = static_cast<std::int64_t>(q);  // rounds towards zero
    return truncated - (q < static_cast<double>(truncated) ? 1 : 0);
  }

  /// The largest k with 2^k <= ratio (0 when ratio < 2).
  static int log2_cells_for(double ratio) {
    int k = 0;
    while (k < 40 && static_cast<double>(std::int64_t{2} << k) <= ratio) {
      ++k;
    }
    return k;
  }

  /// A cell of a level brought into the box: a bit mask, also for negative coordinates
  /// (two's complement).
  Cell wrap(const Cell& raw, int level = 0) const {
    Cell wrapped;
    for (std::size_t k = 0; k < D; ++k) {
      wrapped[k] = raw[k] & (cells_per_side(level) - 1);
    }
    return wrapped;
  }

  /// The whole box lengths between the cell `raw` and its image `wrapped` in the box.
  std::int64_t boxes_between(std::int64_t raw, std::int64_t wrapped) const {
    return (raw - wrapped) >> log2_cells_;  // exact: raw - wrapped is a multiple of n
  }

  /// The index of a cell of the box (wrapped coordinates) in the arrays of a level.
  std::size_t flat_index(const Cell& wrapped, int level = 0) const {
    std::int64_t flat = 0;
    for (std::size_t k = D; k-- > 0;) {
      flat = flat * cells_per_side(level) + wrapped[k];
    }
    return static_cast<std::size_t>(flat);
  }

  /// Records the cell and the image in the box of point `id` at x (not the lists).
  void locate(std::int32_t id, const Vec<D>& x) {
    Cell raw;
    Vec<D> wrapped;
    for (std::size_t k = 0; k < D; ++k) {
      raw[k] = floor_to_integer(x[k] / cell_side_);
      // The image in the box is the one in the wrapped cell, whole box lengths away.
      const std::int64_t boxes = boxes_between(raw[k], raw[k] & (cells_per_side_ - 1));
      wrapped[k] = x[k] - static_cast<double>(boxes) * box_side_;
    }
    raw_cell_[index(id)] = raw;
    wrapped_[index(id)] = wrapped;
  }

  /// Puts point `id` into the list of its cell.
  void link(std::int32_t id) {
    const std::size_t cell = flat_index(wrap(raw_cell_[index(id)]));
    slot_of_[index(id)] = cell;
    linked_cell_[index(id)] = raw_cell_[index(id)];
    previous_[index(id)] = kNone;
    next_[index(id)] = head_[cell];
    if (head_[cell] != kNone) previous_[index(head_[cell])] = id;
    head_[cell] = id;
    add_to_counts(raw_cell_[index(id)], +1);
  }

  /// Takes point `id` out of the list of the cell it was linked into.
  void unlink(std::int32_t id) {
    const std::int32_t before = previous_[index(id)], after = next_[index(id)];
    if (before != kNone) {
      next_[index(before)] = after;
    } else {
      head_[slot_of_[index(id)]] = after;
    }
    if (after != kNone) previous_[index(after)] = before;
    add_to_counts(linked_cell_[index(id)], -1);
  }

  /// Adds `change` to the count of the cell `raw` and of the cells above it.
  void add_to_counts(Cell raw, std::int32_t change) {
    for (int level = 0; level < level_count(); ++level, raw = parent(raw)) {
      counts_[static_cast<std::size_t>(level)][slot(raw, level)] += change;
    }
  }

  double box_side_;
  int log2_cells_;
  int level_count_;
  std::int64_t cells_per_side_;
  double cell_side_;
  std::vector<Vec<D>> wrapped_;         // each point's image in the box [0, L)^D (up to rounding)
  std::vector<Cell> raw_cell_;          // cell of each unwrapped point
  std::vector<std::size_t> slot_of_;    // flat index of the box cell each point is linked into
  std::vector<Cell> linked_cell_;       // the cell it was in when linked (an image of that cell)
  std::vector<std::int32_t> next_;      // next point in the same cell, kNone at the end
  std::vector<std::int32_t> previous_;  // previous point in the same cell, kNone at the head
  std::vector<std::int32_t> head_;      // first point of each cell, kNone if empty
  std::vector<std::vector<std::int32_t>> counts_;  // per level: number of points in each cell
};

}  // namespace fracstudy::kernels::detail
