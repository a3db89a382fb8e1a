#include "fracstudy/study/tasks.hpp"

#include <bit>

#include "fracstudy/kernels/random.hpp"

namespace fracstudy::study {

std::uint64_t derive_seed(std::uint64_t master_seed, const StudySpec& study,
                          const SimulationParameters& point, int repetition) {
  using kernels::hash_combine;
  std::uint64_t hash = hash_combine(0x66726163ULL /* "frac" */, master_seed);
  hash = hash_combine(hash, study.name);
  hash = hash_combine(hash, kernels::name_of(study.algorithm));
  for (Parameter parameter : kernels::parameters_of(study.algorithm)) {
    hash = hash_combine(hash, kernels::name_of(parameter));
    hash =
        hash_combine(hash, std::bit_cast<std::uint64_t>(kernels::get_parameter(point, parameter)));
  }
  return hash_combine(hash, static_cast<std::uint64_t>(repetition));
}

std::uint64_t coordinator_memory_bytes(const StudyFile& file) {
  // Measured peaks of rank 0 (2026-11-30): 226 MB for 10^6 tasks of one point, 299 MB for
  // 10^6 points of one task; the child that writes a whole checkpoint builds each point's
  // summary row (about 1 KB) besides.
  constexpr std::uint64_t kBase = 64ull << 20;
  constexpr std::uint64_t kPerTask = 256;
  constexpr std::uint64_t kPerPoint = 1200;
  std::uint64_t bytes = kBase;
  for (const auto& study : file.studies) {
    bytes += kPerTask * static_cast<std::uint64_t>(study.task_count());
    bytes += kPerPoint * study.points.size();
    if (file.execution.save_clusters == SaveClusters::None) continue;
    // Positions are kept as float32 (n x dimension) for the first task of each point, or
    // for every task.
    const std::uint64_t kept_per_point = file.execution.save_clusters == SaveClusters::All
                                             ? static_cast<std::uint64_t>(study.repetitions)
                                             : 1;
    for (const auto& point : study.points) {
      bytes += kept_per_point * static_cast<std::uint64_t>(point.n_particles) *
               static_cast<std::uint64_t>(point.dimension) * sizeof(float);
    }
  }
  return bytes;
}

std::vector<Task> expand_tasks(const StudyFile& file) {
  std::vector<Task> tasks;
  tasks.reserve(static_cast<std::size_t>(file.task_count()));
  for (std::size_t s = 0; s < file.studies.size(); ++s) {
    const StudySpec& study = file.studies[s];
    std::int64_t task_id = 0;
    for (std::size_t p = 0; p < study.points.size(); ++p) {
      for (int r = 0; r < study.repetitions; ++r) {
        tasks.push_back(
            Task{s, task_id++, p, r, derive_seed(file.seed, study, study.points[p], r)});
      }
    }
  }
  return tasks;
}

}  // namespace fracstudy::study
