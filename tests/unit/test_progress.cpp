// Task counts and the time left: what the progress lines, `status` and the tools share.
#include <gtest/gtest.h>

#include <cmath>

#include "fracstudy/study/parser.hpp"
#include "fracstudy/study/progress.hpp"

using namespace fracstudy::study;

namespace {

TaskRecord with_status(TaskStatus status, double wall_time_s = kNoValue) {
  TaskRecord record;
  record.status = status;
  record.wall_time_s = wall_time_s;
  return record;
}

}  // namespace

TEST(TaskCounts, CountByStatusAndSayWhereTheStudyStands) {
  std::vector<TaskRecord> records = {with_status(TaskStatus::Completed),
                                     with_status(TaskStatus::Failed),
                                     with_status(TaskStatus::Pending)};
  auto counts = count_tasks(records);
  EXPECT_EQ(counts.total, 3);
  EXPECT_EQ(counts.ended_tasks(), 2);
  EXPECT_EQ(counts.percentage(), 66);
  EXPECT_EQ(counts.status(), StudyStatus::Running);
  counts.move(TaskStatus::Pending, TaskStatus::Completed);
  EXPECT_EQ(counts.status(), StudyStatus::PartiallyFailed);
  counts.move(TaskStatus::Failed, TaskStatus::Completed);
  EXPECT_EQ(counts.status(), StudyStatus::Completed);
  EXPECT_EQ(TaskCounts{}.percentage(), 100);  // a study without tasks has nothing left
}

TEST(RemainingTime, WeighsTheTasksLeftByCostAtTheMeasuredSpeed) {
  // A sweep over n = 100 and 10000, two repetitions: the small tasks took 0.1 s each.
  const auto file = parse_study_text(R"(
studies:
  - name: s
    algorithm: DLA
    variable_parameter: n_particles
    values: [100, 10000]
    repetitions: 2
)",
                                     "t.yaml");
  const std::vector<TaskRecord> records = {
      with_status(TaskStatus::Completed, 0.1), with_status(TaskStatus::Completed, 0.1),
      with_status(TaskStatus::Pending), with_status(TaskStatus::Running)};
  const auto& spec = file.studies[0];
  const double small = fracstudy::kernels::estimated_cost(spec.algorithm, spec.points[0]);
  const double large = fracstudy::kernels::estimated_cost(spec.algorithm, spec.points[1]);
  const auto one_worker = remaining_work(spec, records, 1);
  EXPECT_EQ(one_worker.unfinished, 2);
  // 0.1 s per `small` units of cost; two large tasks left, one after the other.
  EXPECT_NEAR(*estimated_remaining_s(one_worker), 2 * large * 0.1 / small, 1e-9);
  // Eight workers share the two tasks left: no more than two work at once.
  EXPECT_NEAR(*estimated_remaining_s(remaining_work(spec, records, 8)), large * 0.1 / small, 1e-9);
}

TEST(RemainingTime, IsUnknownBeforeAnythingWasMeasuredAndZeroAtTheEnd) {
  const auto file = parse_study_text("studies: [{name: s, algorithm: EDEN, repetitions: 2}]", "t");
  EXPECT_FALSE(estimated_remaining_s(
      remaining_work(file.studies[0], std::vector<TaskRecord>(2), 4)));  // nothing measured
  const std::vector<TaskRecord> ended = {with_status(TaskStatus::Completed, 1.0),
                                         with_status(TaskStatus::Failed)};
  EXPECT_EQ(estimated_remaining_s(remaining_work(file.studies[0], ended, 4)), 0.0);
}

TEST(ProgressTally, RemoveTakesBackWhatAddAddedAndABadTallyIsNotBelieved) {
  TaskRecord failed = with_status(TaskStatus::Failed, 2.0);
  failed.error = "attempt 1: killed by signal 9; attempt 2: time limit of 5 s";
  EXPECT_EQ(last_reason(failed.error), "time limit of 5 s");
  ProgressTally tally;
  tally.add(3.0, with_status(TaskStatus::Completed, 0.5));
  tally.add(4.0, with_status(TaskStatus::Pending));
  tally.add(5.0, failed);
  EXPECT_TRUE(tally.consistent());
  EXPECT_EQ(tally.failures.at("time limit of 5 s"), 1);
  // The pending task completes; the failed one is retried and waits again.
  tally.remove(4.0, with_status(TaskStatus::Pending));
  tally.add(4.0, with_status(TaskStatus::Completed, 1.5));
  tally.remove(5.0, failed);
  tally.add(5.0, with_status(TaskStatus::Pending));
  EXPECT_TRUE(tally.consistent());
  EXPECT_EQ(tally.counts.total, 3);
  EXPECT_EQ(tally.counts.completed, 2);
  EXPECT_EQ(tally.counts.pending, 1);
  EXPECT_EQ(tally.counts.failed, 0);
  EXPECT_TRUE(tally.failures.empty());
  EXPECT_EQ(tally.work.unfinished, 1);
  EXPECT_DOUBLE_EQ(tally.work.unfinished_cost, 5.0);
  EXPECT_DOUBLE_EQ(tally.work.timed_cost, 7.0);
  EXPECT_DOUBLE_EQ(tally.work.timed_wall_s, 2.0);
  // What a file's edited tally could say: counts that do not add up, a failure count
  // the reasons do not match, a negative sum.
  auto broken = tally;
  ++broken.counts.completed;
  EXPECT_FALSE(broken.consistent());
  broken = tally;
  broken.failures["x"] = 1;
  EXPECT_FALSE(broken.consistent());
  broken = tally;
  broken.work.timed_wall_s = -1;
  EXPECT_FALSE(broken.consistent());
}

TEST(ProgressTally, ReplaceCountsATaskAnewFromWhatItCountedAs) {
  // What the checkpoint journal keeps of a task's earlier record: its status and, when it
  // failed, its reason. Replacing must give what counting the new records from scratch gives.
  TaskRecord failed;
  failed.status = TaskStatus::Failed;
  failed.error = "attempt 1: timeout; attempt 2: attempt to divide: bad input";
  TaskRecord completed;
  completed.status = TaskStatus::Completed;
  completed.wall_time_s = 2.5;
  ProgressTally tally;
  tally.add(3.0, failed);
  tally.add(5.0, TaskRecord{});
  const auto reason = last_reason(failed.error);
  EXPECT_EQ(tally.failures.at(reason), 1);
  ASSERT_TRUE(tally.replace(3.0, CountedState{TaskStatus::Failed, reason}, completed));
  ASSERT_TRUE(tally.replace(5.0, CountedState{}, failed));
  ProgressTally wanted;
  wanted.add(3.0, completed);
  wanted.add(5.0, failed);
  EXPECT_EQ(tally.failures, wanted.failures);
  EXPECT_EQ(tally.counts.completed, 1);
  EXPECT_EQ(tally.counts.failed, 1);
  EXPECT_DOUBLE_EQ(tally.work.timed_wall_s, 2.5);
  EXPECT_DOUBLE_EQ(tally.work.unfinished_cost, 0.0);
  EXPECT_TRUE(tally.consistent());
  // A completed task stays counted as it was; one that would not be cannot be counted.
  EXPECT_TRUE(tally.replace(3.0, CountedState{TaskStatus::Completed, ""}, completed));
  EXPECT_FALSE(tally.replace(3.0, CountedState{TaskStatus::Completed, ""}, TaskRecord{}));
  EXPECT_EQ(tally.counts.completed, 1);
  EXPECT_DOUBLE_EQ(tally.work.timed_wall_s, 2.5);
}
