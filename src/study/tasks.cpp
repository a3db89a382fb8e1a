#include "fracstudy/study/tasks.hpp"

#include <algorithm>
#include <bit>
#include <stdexcept>
#include <string>

#include "fracstudy/kernels/random.hpp"

namespace fracstudy::study {

namespace {

/// What a task's seed derives from besides its repetition: the master seed, the study's
/// name and the values of its model's parameters.
std::uint64_t point_seed(std::uint64_t master_seed, const StudySpec& study,
                         const SimulationParameters& point) {
  using kernels::hash_combine;
  std::uint64_t hash = hash_combine(0x66726163ULL /* "frac" */, master_seed);
  hash = hash_combine(hash, study.name);
  hash = hash_combine(hash, kernels::name_of(study.algorithm));
  for (Parameter parameter : kernels::parameters_of(study.algorithm)) {
    hash = hash_combine(hash, kernels::name_of(parameter));
    hash =
        hash_combine(hash, std::bit_cast<std::uint64_t>(kernels::get_parameter(point, parameter)));
  }
  return hash;
}

std::uint64_t repetition_seed(std::uint64_t point_seed, int repetition) {
  return kernels::hash_combine(point_seed, static_cast<std::uint64_t>(repetition));
}

}  // namespace

std::uint64_t derive_seed(std::uint64_t master_seed, const StudySpec& study,
                          const SimulationParameters& point, int repetition) {
  return repetition_seed(point_seed(master_seed, study, point), repetition);
}

std::uint64_t coordinator_memory_bytes(const StudyFile& file) {
  // Measured peaks of rank 0 beyond a worker's (bench/coordinator/rank0_memory.sh,
  // 2026-12-01): 53 B per task for 10^6 tasks of one point, 41 B for 10^7 (a record's fixed
  // part, the queue, the running worker, the written status; the metrics wait on disk in
  // io::open_metric_spill, hosts and errors in tables); the child that writes a whole
  // checkpoint builds each point's summary row (about 1 KB) besides.
  constexpr std::uint64_t kBase = 64ull << 20;
  constexpr std::uint64_t kPerTask = 80;
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

Task task_at(const StudyFile& file, std::size_t index) {
  return TaskList(file).at(index);
}

TaskList::TaskList(const StudyFile& file) {
  for (const auto& study : file.studies) {
    StudyTasks tasks;
    tasks.first = size_;
    tasks.repetitions = static_cast<std::size_t>(std::max(1, study.repetitions));
    tasks.point_seeds.reserve(study.points.size());
    for (const auto& point : study.points)
      tasks.point_seeds.push_back(point_seed(file.seed, study, point));
    size_ += static_cast<std::size_t>(study.task_count());
    studies_.push_back(std::move(tasks));
  }
}

Task TaskList::at(std::size_t index) const {
  if (index >= size_) {
    throw std::out_of_range("task " + std::to_string(index) + " is past the study file's " +
                            std::to_string(size_) + " tasks");
  }
  return (*this)[index];
}

std::size_t TaskList::study_of(std::size_t index) const {
  // The last study whose first task is at or before `index`.
  const auto after =
      std::upper_bound(studies_.begin(), studies_.end(), index,
                       [](std::size_t i, const StudyTasks& study) { return i < study.first; });
  return after == studies_.begin() ? 0 : static_cast<std::size_t>(after - studies_.begin() - 1);
}

TaskList::StudyPoint TaskList::study_point(std::size_t index) const {
  const std::size_t study = study_of(index);
  const StudyTasks& tasks = studies_[study];
  return {study, (index - tasks.first) / tasks.repetitions};
}

Task TaskList::operator[](std::size_t index) const {
  const std::size_t study = study_of(index);
  const StudyTasks& tasks = studies_[study];
  const std::size_t task_id = index - tasks.first;
  const std::size_t point = task_id / tasks.repetitions;
  const auto repetition = static_cast<int>(task_id % tasks.repetitions);
  return Task{study, static_cast<std::int64_t>(task_id), point, repetition,
              repetition_seed(tasks.point_seeds[point], repetition)};
}

TaskList expand_tasks(const StudyFile& file) {
  return TaskList(file);
}

}  // namespace fracstudy::study
