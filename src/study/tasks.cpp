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
