#pragma once
/// Expansion of studies into tasks, each with a reproducible seed.
#include <cstdint>
#include <vector>

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

/// Task `index` of the file (counting study by study, in task_id order), computed from the
/// file alone: a worker needs no list of millions of tasks. Throws std::out_of_range past
/// the last task.
Task task_at(const StudyFile& file, std::size_t index);

/// Every task of every study: task_at(file, i) for each i.
std::vector<Task> expand_tasks(const StudyFile& file);

/// The memory rank 0 needs to run a study file, in bytes: per task its record, seed, cost
/// and bookkeeping; per parameter point its parameters and, while a whole checkpoint is
/// written, its summary row; the particle positions of the clusters it keeps
/// (`save_clusters`). Measured on 10^6-task runs (docs/performance.md), with a margin.
std::uint64_t coordinator_memory_bytes(const StudyFile& file);

}  // namespace fracstudy::study
