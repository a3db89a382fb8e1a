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

void TaskCounts::remove(TaskStatus status) {
  --total;
  --slot(status);
}

void TaskCounts::move(TaskStatus from, TaskStatus to) {
  --slot(from);
  ++slot(to);
}

StudyStatus TaskCounts::status() const {
  return all_ended() ? final_status(completed, failed) : StudyStatus::Running;
}

TaskCounts count_tasks(RecordsView records) {
  TaskCounts counts;
  records.for_each([&counts](const TaskRecord& record) { counts.add(record.status); },
                   RecordsView::Parts::WithoutMetrics);
  return counts;
}

void RemainingWork::add(double cost, const TaskRecord& record) {
  add(cost, record.status, record.wall_time_s);
}

void RemainingWork::add(double cost, TaskStatus status, double wall_time_s) {
  if (status == TaskStatus::Completed) {
    if (std::isfinite(wall_time_s)) {
      timed_cost += cost;
      timed_wall_s += wall_time_s;
    }
  } else if (status != TaskStatus::Failed) {
    unfinished_cost += cost;
    ++unfinished;
  }
}

void RemainingWork::remove(double cost, const TaskRecord& record) {
  remove(cost, record.status, record.wall_time_s);
}

void RemainingWork::remove(double cost, TaskStatus status, double wall_time_s) {
  if (status == TaskStatus::Completed) {
    if (std::isfinite(wall_time_s)) {
      timed_cost -= cost;
      timed_wall_s -= wall_time_s;
    }
  } else if (status != TaskStatus::Failed) {
    unfinished_cost -= cost;
    --unfinished;
  }
}

std::string last_reason(const std::string& history) {
  const auto last = history.rfind("; attempt ");
  const std::string entry = last == std::string::npos ? history : history.substr(last + 2);
  const auto colon = entry.find(": ");
  return entry.rfind("attempt ", 0) == 0 && colon != std::string::npos ? entry.substr(colon + 2)
                                                                       : entry;
}

void ProgressTally::add(double cost, const TaskRecord& record) {
  add(cost, record.status, record.wall_time_s, record.error);
}

void ProgressTally::add(double cost, TaskStatus status, double wall_time_s,
                        const std::string& error) {
  counts.add(status);
  work.add(cost, status, wall_time_s);
  if (status == TaskStatus::Failed) ++failures[last_reason(error)];
}

void ProgressTally::remove(double cost, const TaskRecord& record) {
  counts.remove(record.status);
  work.remove(cost, record);
  if (record.status != TaskStatus::Failed) return;
  const auto reason = failures.find(last_reason(record.error));
  if (reason != failures.end() && --reason->second <= 0) failures.erase(reason);
}

bool ProgressTally::replace(double cost, const CountedState& before, const TaskRecord& after) {
  return replace(cost, before, after.status, after.wall_time_s, after.error);
}

bool ProgressTally::replace(double cost, const CountedState& before, TaskStatus status,
                            double wall_time_s, const std::string& error) {
  if (before.status == TaskStatus::Completed) return status == TaskStatus::Completed;
  if (before.status == TaskStatus::Failed) {
    TaskRecord earlier;
    earlier.status = before.status;
    // last_reason("attempt 0: R") is R, whatever R holds.
    earlier.error = "attempt 0: " + before.failure_reason;
    remove(cost, earlier);
  } else {  // no reason to take away: the common case, without a record to make
    counts.remove(before.status);
    work.remove(cost, before.status, kNoValue);
  }
  add(cost, status, wall_time_s, error);
  return true;
}

bool ProgressTally::consistent() const {
  const auto& c = counts;
  const bool counts_fit = c.pending >= 0 && c.running >= 0 && c.completed >= 0 && c.failed >= 0 &&
                          c.pending + c.running + c.completed + c.failed == c.total &&
                          work.unfinished == c.pending + c.running;
  std::int64_t failed = 0;
  for (const auto& [reason, count] : failures) {
    if (count <= 0) return false;
    failed += count;
  }
  const auto sum_fits = [](double value) { return std::isfinite(value) && value >= 0; };
  return counts_fit && failed == c.failed && sum_fits(work.unfinished_cost) &&
         sum_fits(work.timed_cost) && sum_fits(work.timed_wall_s);
}

ProgressTally tally_progress(const StudySpec& study, RecordsView records) {
  ProgressTally tally;
  const auto repetitions = static_cast<std::size_t>(std::max(1, study.repetitions));
  for (std::size_t p = 0; p < study.points.size(); ++p) {
    const double cost = kernels::estimated_cost(study.algorithm, study.points[p]);
    records.subview(p * repetitions, repetitions)
        .for_each([&](const TaskRecord& record) { tally.add(cost, record); },
                  RecordsView::Parts::WithoutMetrics);
  }
  return tally;
}

RemainingWork remaining_work(const StudySpec& study, RecordsView records, int workers) {
  RemainingWork work = tally_progress(study, records).work;
  work.workers = workers;
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
