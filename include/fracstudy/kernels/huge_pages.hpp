#pragma once
/// Large arrays on transparent huge pages. A 10^7-particle cluster's occupancy grid spans
/// hundreds of megabytes read at random places, one jump after another: with 4 KiB pages
/// nearly every read of the tile directory or a coarse map also misses the TLB
/// (docs/performance.md, "where 2D DLA's time per particle goes"). The coordinator's
/// per-task arrays are written once per task after its result file's writer was forked
/// (io::in_child_process): the fork leaves every page copy-on-write, and each first write
/// to a 4 KiB page took a page fault, half of rank 0's time per result at a slow hour; a
/// huge page takes one fault per 2 MiB. Linux maps an madvise(MADV_HUGEPAGE)d range with
/// 2 MiB pages when it can, which covers 512 times more memory per TLB entry. Only a hint:
/// where the kernel declines or lacks it, the array is an ordinary one. The contents, and
/// so the results, never change.
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

namespace fracstudy::kernels {

template <typename T>
struct HugePageAllocator {
  using value_type = T;

  static constexpr std::size_t kHugePage = std::size_t{2} << 20;
  /// Arrays smaller than a huge page stay on ordinary pages: rounding them up would waste
  /// memory for the many small clusters of a study.
  static constexpr std::size_t kThreshold = kHugePage;

  HugePageAllocator() = default;
  template <typename U>
  explicit HugePageAllocator(const HugePageAllocator<U>&) {}

  /// Large arrays are mapped from the kernel directly and unmapped when freed. Through
  /// malloc, freed 4 MiB blocks stayed in the process's heap (glibc raises its mmap
  /// threshold after the first such free): a 10^8-particle grid freed before the cluster
  /// was measured kept its 2 GB of tiles resident while the positions were copied, and
  /// that, not the grid, was the run's peak (4.2 GB).
  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes < kThreshold) return std::allocator<T>{}.allocate(n);
    const std::size_t rounded = mapped_bytes(n);
    // Map a huge page more than needed and unmap the ends, so the array starts on a 2 MiB
    // boundary.
    void* mapped = ::mmap(nullptr, rounded + kHugePage, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED) throw std::bad_alloc();
    const auto start = reinterpret_cast<std::uintptr_t>(mapped);
    const std::uintptr_t aligned = (start + kHugePage - 1) / kHugePage * kHugePage;
    if (aligned > start) ::munmap(mapped, aligned - start);
    const std::uintptr_t tail = start + rounded + kHugePage - (aligned + rounded);
    if (tail > 0) ::munmap(reinterpret_cast<void*>(aligned + rounded), tail);
    void* memory = reinterpret_cast<void*>(aligned);
#ifdef MADV_HUGEPAGE
    ::madvise(memory, rounded, MADV_HUGEPAGE);  // a hint: a refusal changes nothing
#endif
    return static_cast<T*>(memory);
  }

  void deallocate(T* memory, std::size_t n) {
    if (n * sizeof(T) < kThreshold) {
      std::allocator<T>{}.deallocate(memory, n);
    } else {
      ::munmap(memory, mapped_bytes(n));
    }
  }

  /// The bytes mapped for n elements: whole huge pages.
  static std::size_t mapped_bytes(std::size_t n) {
    return (n * sizeof(T) + kHugePage - 1) / kHugePage * kHugePage;
  }

  friend bool operator==(const HugePageAllocator&, const HugePageAllocator&) {
    return true;
  }
};

/// A std::vector whose large buffers ask for huge pages.
template <typename T>
using HugePageVector = std::vector<T, HugePageAllocator<T>>;

/// An array that grows by appending blocks and never moves what it holds. A vector grown
/// block by block doubles its buffer: near the end it holds up to twice what it needs, and
/// each doubling briefly holds the old buffer beside the new one (three times the contents:
/// the cell lists of a 10^8-particle 2D cluster are 1 GB). Here the elements live in chunks
/// of 4 MiB (one huge-page allocation each); only the first chunk grows as a vector does,
/// so a small cluster's grid stays small.
template <typename T>
class ChunkedArray {
 public:
  static constexpr std::size_t kChunkBytes = std::size_t{4} << 20;
  static constexpr std::size_t kChunk = kChunkBytes / sizeof(T);
  static_assert((kChunk & (kChunk - 1)) == 0, "a chunk holds a power of two elements");

  std::size_t size() const { return size_; }
  /// Bytes held, used or not.
  std::size_t capacity_bytes() const {
    std::size_t bytes = 0;
    for (const auto& chunk : chunks_) {
      bytes += chunk.capacity() * sizeof(T);
    }
    return bytes;
  }

  T& operator[](std::size_t i) { return chunks_[i / kChunk][i % kChunk]; }
  const T& operator[](std::size_t i) const { return chunks_[i / kChunk][i % kChunk]; }

  /// Appends `count` copies of `value`; `count` must divide the chunk size (a block never
  /// straddles two chunks).
  void append(std::size_t count, const T& value) {
    if (chunks_.empty() || chunks_.back().size() == kChunk) {
      chunks_.emplace_back();
      if (chunks_.size() > 1) chunks_.back().reserve(kChunk);
    }
    chunks_.back().resize(chunks_.back().size() + count, value);
    size_ += count;
  }

 private:
  std::vector<HugePageVector<T>> chunks_;
  std::size_t size_ = 0;
};

}  // namespace fracstudy::kernels
