#include "fracstudy/study/progress.hpp"

#include <algorithm>
#include <cmath>

#include "fracstudy/kernels/models.hpp"

namespace fracstudy::study {

std::int64_t& TaskCounts::slot(TaskStatus status) {
  switch (status) {
    case TaskStatus::Pending:
      return pending;
    case TaskStatus::Running:
      return running;
    case TaskStatus::Completed:
      return completed;
    case TaskStatus::Failed:
      return failed;
  }
  return pending;
}

void TaskCounts::add(TaskStatus status) {
  ++total;
  ++slot(status);
}

void TaskCounts::move(TaskStatus from, TaskStatus to) {
  --slot(from);
  ++slot(to);
}

StudyStatus TaskCounts::status() const {
  return all_ended() ? final_status(completed, failed) : StudyStatus::Running;
}

TaskCounts count_tasks(std::span<const TaskRecord> records) {
  TaskCounts counts;
  for (const auto& record : records)
    counts.add(record.status);
  return counts;
}

void RemainingWork::add(double cost, const TaskRecord& record) {
  if (record.status == TaskStatus::Completed) {
    if (std::isfinite(record.wall_time_s)) {
      timed_cost += cost;
      timed_wall_s += record.wall_time_s;
    }
  } else if (record.status != TaskStatus::Failed) {
    unfinished_cost += cost;
    ++unfinished;
  }
}

RemainingWork remaining_work(const StudySpec& study, std::span<const TaskRecord> records,
                             int workers) {
  RemainingWork work;
  work.workers = workers;
  const auto repetitions = static_cast<std::size_t>(std::max(1, study.repetitions));
  for (std::size_t i = 0; i < records.size() && i / repetitions < study.points.size(); ++i) {
    const double cost = kernels::estimated_cost(study.algorithm, study.points[i / repetitions]);
    work.add(cost, records[i]);
  }
  return work;
}

std::optional<double> estimated_remaining_s(const RemainingWork& work) {
  if (work.unfinished == 0) return 0.0;
  if (!(work.timed_cost > 0)) return std::nullopt;
  const double seconds_per_cost = work.timed_wall_s / work.timed_cost;
  const auto parallel =
      static_cast<double>(std::clamp<std::int64_t>(work.unfinished, 1, std::max(1, work.workers)));
  return work.unfinished_cost * seconds_per_cost / parallel;
}

}  // namespace fracstudy::study
