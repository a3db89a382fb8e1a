#pragma once
/// The tasks ready to run, in order: what the scheduler hands out from the front.
#include <cstddef>
#include <vector>

#include "fracstudy/kernels/huge_pages.hpp"
#include "fracstudy/study/index_iterator.hpp"

namespace fracstudy::sched {

/// A first-in first-out queue of task numbers that also takes tasks back at its front (an
/// interrupted chunk's, a task of a node taken out). Taking a task from the front writes
/// nothing: the queue of a study is filled once, with every task, and then read from the
/// front millions of times. A std::deque freed a 512-byte block every 64 tasks, and each
/// free wrote to the allocator's pages, which the fork of the result file's writer had
/// left copy-on-write: a page fault per 4 KiB, a tenth of rank 0's time per result.
class TaskQueue {
 public:
  bool empty() const { return size() == 0; }
  std::size_t size() const { return returned_.size() + queued_.size() - head_; }

  /// The i-th task from the front.
  std::size_t operator[](std::size_t i) const {
    return i < returned_.size() ? returned_[returned_.size() - 1 - i]
                                : queued_[head_ + i - returned_.size()];
  }
  std::size_t front() const { return (*this)[0]; }

  void push_back(std::size_t task) { queued_.push_back(task); }
  template <typename Range>
  void append(const Range& tasks) {
    queued_.insert(queued_.end(), tasks.begin(), tasks.end());
  }
  /// Puts a task first (the next front()).
  void push_front(std::size_t task) {
    if (returned_.empty() && head_ > 0) {
      queued_[--head_] = task;
    } else {
      returned_.push_back(task);
    }
  }
  /// Taking the last task frees the queue's memory: the tasks taken are not freed as they
  /// go (that wrote to the allocator's pages), so they are freed at once when all are.
  void pop_front() {
    if (!returned_.empty()) {
      returned_.pop_back();
    } else if (++head_ == queued_.size()) {
      queued_ = {};
      head_ = 0;
    }
  }
  void clear() {
    returned_.clear();
    queued_.clear();
    head_ = 0;
  }

  using const_iterator = study::IndexIterator<TaskQueue, std::size_t>;
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, size()}; }

 private:
  std::vector<std::size_t> returned_;            // put back at the front, the last first
  kernels::HugePageVector<std::size_t> queued_;  // in order from head_ on
  std::size_t head_ = 0;                         // queued_[0, head_) were taken
};

}  // namespace fracstudy::sched
