#pragma once
/// Expansion of studies into tasks, each with a reproducible seed.
#include <cstdint>
#include <vector>

#include "fracstudy/study/index_iterator.hpp"
#include "fracstudy/study/spec.hpp"

namespace fracstudy::study {

/// One simulation to run: a parameter point of a study and a repetition.
struct Task {
  std::size_t study = 0;     ///< index into StudyFile::studies
  std::int64_t task_id = 0;  ///< 0-based within its study: point * repetitions + repetition
  std::size_t point = 0;     ///< index into StudySpec::points
  int repetition = 0;        ///< 0-based sample number at this point
  std::uint64_t seed = 0;    ///< derived from (master seed, study, point, repetition)
};

/// What a study keeps of a task's final cluster (`execution.save_clusters`).
struct KeptCluster {
  std::vector<float> positions;  ///< particle centres, n x dimension, row-major
  /// S(q) - 1 on kernels::structure_factor_grid() (NaN past q a = 2), computed where the
  /// task ran: rank 0 only stores it.
  std::vector<float> structure_factor;
};

/// The seed of one task. It depends on the master seed, the study name, the values of
/// the model's parameters and the repetition only, never on rank, order or timing.
std::uint64_t derive_seed(std::uint64_t master_seed, const StudySpec& study,
                          const SimulationParameters& point, int repetition);

/// Task `index` of the file (counting study by study, in task_id order): TaskList(file).at
/// (index), for one lookup (it hashes every point's seed; keep a TaskList for more). Throws
/// std::out_of_range past the last task.
Task task_at(const StudyFile& file, std::size_t index);

/// Every task of a study file, study by study in task_id order, each made when asked for
/// (what rank 0 of ten million tasks holds instead of a list of them: 8 bytes per
/// parameter point). Holds no reference to the file.
class TaskList {
 public:
  TaskList() = default;
  explicit TaskList(const StudyFile& file);

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  /// Task `index` (< size()).
  Task operator[](std::size_t index) const;
  /// The same; throws std::out_of_range past the last task.
  Task at(std::size_t index) const;
  /// The study and parameter point of task `index` (< size()), without making the task.
  struct StudyPoint {
    std::size_t study = 0, point = 0;
  };
  StudyPoint study_point(std::size_t index) const;
  /// The study of task `index`, and the index of that study's first task.
  std::size_t study_of(std::size_t index) const;
  std::size_t first_of_study(std::size_t study) const { return studies_[study].first; }

  using const_iterator = IndexIterator<TaskList, Task>;
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, size_}; }

 private:
  struct StudyTasks {
    std::size_t first = 0;  // file-wide index of its task 0
    std::size_t repetitions = 1;
    std::vector<std::uint64_t> point_seeds;  // per point: point_seed(...)
  };
  std::vector<StudyTasks> studies_;
  std::size_t size_ = 0;
};

/// Every task of every study: task_at(file, i) for each i.
TaskList expand_tasks(const StudyFile& file);

/// The memory rank 0 needs to run a study file, in bytes: per task its record, seed, cost
/// and bookkeeping; per parameter point its parameters and, while a whole checkpoint is
/// written, its summary row; the particle positions of the clusters it keeps
/// (`save_clusters`). Measured on 10^6-task runs (docs/performance.md), with a margin.
std::uint64_t coordinator_memory_bytes(const StudyFile& file);

}  // namespace fracstudy::study
