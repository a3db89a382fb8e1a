#pragma once
/// A value per task kept per run of consecutive tasks that share it: a study's tasks share
/// their study, a parameter point's repetitions their estimated cost. Rank 0 of ten million
/// tasks keeps one entry per point instead of one per task.
#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <vector>

namespace fracstudy::sched {

template <class Value>
class RunLength {
 public:
  RunLength() = default;
  RunLength(std::initializer_list<Value> values) {  // NOLINT(google-explicit-constructor)
    for (const Value& value : values)
      push_back(value);
  }
  RunLength(const std::vector<Value>& values) {  // NOLINT(google-explicit-constructor)
    for (const Value& value : values)
      push_back(value);
  }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  /// Appends `count` tasks of value `value`.
  void push_run(std::size_t count, const Value& value) {
    if (count == 0) return;
    if (runs_.empty() || !(runs_.back().value == value)) runs_.push_back(Run{size_, value});
    size_ += count;
  }
  void push_back(const Value& value) { push_run(1, value); }

  /// The value of task `index` (< size()).
  const Value& operator[](std::size_t index) const {
    // Tasks are mostly looked up near the last one: try its run first.
    if (!in_run(last_, index)) {
      const auto after =
          std::upper_bound(runs_.begin(), runs_.end(), index,
                           [](std::size_t i, const Run& run) { return i < run.first; });
      last_ = static_cast<std::size_t>(after - runs_.begin()) - 1;
    }
    return runs_[last_].value;
  }

  /// The runs, in order: each run's first task and value (a run ends where the next begins).
  struct Run {
    std::size_t first;
    Value value;
  };
  const std::vector<Run>& runs() const { return runs_; }

 private:
  bool in_run(std::size_t run, std::size_t index) const {
    return run < runs_.size() && runs_[run].first <= index &&
           (run + 1 == runs_.size() || index < runs_[run + 1].first);
  }
  std::vector<Run> runs_;
  std::size_t size_ = 0;
  mutable std::size_t last_ = 0;  // the run of the last lookup
};

}  // namespace fracstudy::sched
