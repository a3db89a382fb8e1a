// The coordinator's decisions, driven by hand: chunks, retries, backoff, status.
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <random>

#include "fracstudy/sched/scheduler.hpp"
#include "fracstudy/study/progress.hpp"

using namespace fracstudy::sched;
using fracstudy::study::TaskRecord;
using fracstudy::study::TaskStatus;

namespace {

Scheduler make(std::size_t tasks, SchedulerOptions options, std::size_t studies = 1) {
  std::vector<std::size_t> study_of(tasks);
  for (std::size_t i = 0; i < tasks; ++i)
    study_of[i] = i * studies / tasks;
  return Scheduler(study_of, std::vector<TaskRecord>(tasks), studies, options);
}

Outcome success(std::size_t task, double wall_s = 0.01) {
  Outcome o;
  o.task = task;
  o.succeeded = true;
  o.wall_time_s = wall_s;
  o.metrics.value("df") = 1.7;
  o.metrics.value("rg") = 3.0;
  return o;
}

Outcome failure(std::size_t task, const std::string& why = "timeout") {
  Outcome o;
  o.task = task;
  o.error = why;
  return o;
}

}  // namespace

TEST(Scheduler, FixedChunksHandOutEveryTaskOnceInOrder) {
  SchedulerOptions options;
  options.chunk_size = 4;
  auto s = make(10, options);
  auto a = s.next_chunk(1, 0);
  auto b = s.next_chunk(2, 0);
  auto c = s.next_chunk(1, 0);
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(b.size(), 4u);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(a[0].task, 0u);
  EXPECT_EQ(b[0].task, 4u);
  EXPECT_EQ(c[1].task, 9u);
  EXPECT_TRUE(s.next_chunk(2, 0).empty());
  EXPECT_FALSE(s.finished());
  for (const auto& x : a)
    s.record(1, success(x.task), 1);
  for (const auto& x : c)
    s.record(1, success(x.task), 1);
  for (const auto& x : b)
    s.record(2, success(x.task), 1);
  EXPECT_TRUE(s.finished());
  EXPECT_EQ(s.counts(0).completed, 10);
  EXPECT_EQ(s.records()[9].worker_rank, 1);
  EXPECT_EQ(s.records()[5].worker_rank, 2);
}

TEST(Scheduler, AutomaticChunksStartAtOneAndAdaptToTaskTime) {
  SchedulerOptions options;
  options.worker_count = 2;
  options.target_chunk_s = 1.0;
  auto s = make(10000, options);
  auto first = s.next_chunk(1, 0);
  ASSERT_EQ(first.size(), 1u);  // nothing measured yet
  s.record(1, success(first[0].task, 0.01), 0.01);
  // 1 s of 10 ms tasks is 100; guided scheduling allows 9999 / 8 = 1249; cap 256.
  EXPECT_EQ(s.current_chunk_size(), 100);
  // Long tasks go out one at a time.
  auto slow = make(100, options);
  auto one = slow.next_chunk(1, 0);
  slow.record(1, success(one[0].task, 30.0), 30);
  EXPECT_EQ(slow.current_chunk_size(), 1);
  // Near the end, chunks shrink with what is left.
  auto tail = make(20, options);
  auto t = tail.next_chunk(1, 0);
  tail.record(1, success(t[0].task, 0.001), 0);
  EXPECT_EQ(tail.current_chunk_size(), 19 / 8);
}

TEST(Scheduler, FailedTaskIsRetriedAfterBackoffThenFails) {
  SchedulerOptions options;
  options.chunk_size = 1;
  options.max_retries = 2;
  options.retry_backoff_s = 1.0;
  auto s = make(2, options);
  auto a = s.next_chunk(1, 0);
  ASSERT_EQ(a[0].task, 0u);
  EXPECT_EQ(a[0].attempt, 1);
  s.record(1, failure(0), 10.0);
  EXPECT_EQ(s.records()[0].status, TaskStatus::Pending);
  EXPECT_EQ(s.records()[0].error, "attempt 1: timeout");
  // Other work goes first while task 0 waits out its backoff.
  auto b = s.next_chunk(1, 10.5);
  EXPECT_EQ(b[0].task, 1u);
  EXPECT_TRUE(s.next_chunk(2, 10.5).empty());
  EXPECT_EQ(s.next_retry_time(), 11.0);
  auto retry = s.next_chunk(2, 11.0);
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].attempt, 2);
  s.record(2, failure(0), 12.0);
  // The second retry waits twice as long.
  EXPECT_TRUE(s.next_chunk(2, 13.9).empty());
  auto last = s.next_chunk(2, 14.0);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].attempt, 3);
  s.record(2, failure(0, "exception: boom"), 15.0);
  EXPECT_EQ(s.records()[0].status, TaskStatus::Failed);
  EXPECT_EQ(s.records()[0].attempts, 3);
  EXPECT_EQ(s.records()[0].error,
            "attempt 1: timeout; attempt 2: timeout; attempt 3: exception: boom");
  s.record(1, success(1), 15.0);
  EXPECT_TRUE(s.finished());
  EXPECT_EQ(s.counts(0).failed, 1);
  EXPECT_EQ(s.counts(0).completed, 1);
}

TEST(Scheduler, SuccessOnRetryKeepsTheFailedAttemptOnRecord) {
  SchedulerOptions options;
  options.retry_backoff_s = 0;
  auto s = make(1, options);
  s.next_chunk(1, 0);
  s.record(1, failure(0), 0);
  s.next_chunk(1, 0);
  s.record(1, success(0), 0);
  EXPECT_EQ(s.records()[0].status, TaskStatus::Completed);
  EXPECT_EQ(s.records()[0].attempts, 2);
  EXPECT_EQ(s.records()[0].error, "attempt 1: timeout");
}

TEST(Scheduler, ReleasedWorkerReturnsItsTasksWithoutUsingRetries) {
  SchedulerOptions options;
  options.chunk_size = 3;
  auto s = make(3, options);
  s.next_chunk(1, 0);
  s.release_worker(1);
  EXPECT_EQ(s.counts(0).pending, 3);
  auto again = s.next_chunk(2, 0);
  ASSERT_EQ(again.size(), 3u);
  EXPECT_EQ(again[0].task, 0u);
  EXPECT_EQ(again[0].attempt, 1);
  // A late report from the released worker is ignored: task 0 is worker 2's now, which
  // started on it (one attempt, this one).
  s.record(1, success(0), 1);
  EXPECT_EQ(s.records()[0].status, TaskStatus::Running);
  EXPECT_EQ(s.records()[0].attempts, 1);
  EXPECT_EQ(s.records()[0].worker_rank, 2);
}

TEST(Scheduler, OnlyTheTaskAWorkerComputesIsRunningAndCounted) {
  // A chunk of 40 is handed out; the worker computes its first task. The other 39 only
  // wait: the file must show them PENDING with no attempt, so a job's death costs them
  // nothing.
  SchedulerOptions options;
  options.chunk_size = 40;
  auto s = make(40, options);
  const auto chunk = s.next_chunk(1, 0);
  ASSERT_EQ(chunk.size(), 40u);
  EXPECT_EQ(chunk[5].attempt, 1);
  EXPECT_EQ(s.counts(0).running, 1);  // the worker starts on the first at once
  s.started(1, chunk[0].task);        // said again: nothing changes
  s.started(2, chunk[1].task);        // not that worker's: ignored
  EXPECT_EQ(s.counts(0).running, 1);
  EXPECT_EQ(s.records()[chunk[0].task].status, TaskStatus::Running);
  EXPECT_EQ(s.records()[chunk[0].task].attempts, 1);
  for (std::size_t i = 1; i < chunk.size(); ++i) {
    EXPECT_EQ(s.records()[chunk[i].task].status, TaskStatus::Pending);
    EXPECT_EQ(s.records()[chunk[i].task].attempts, 0);
  }
  // A task reported without having been announced counts its one attempt too.
  s.record(1, success(chunk[0].task), 1);
  s.record(1, success(chunk[1].task), 1);
  EXPECT_EQ(s.records()[chunk[1].task].attempts, 1);
  // The job dies now: a new run from these records charges only what was computing.
  s.started(1, chunk[2].task);
  Scheduler resumed(std::vector<std::size_t>(40, 0), s.records(), 1, options);
  for (std::size_t i = 0; i < chunk.size(); ++i) {
    const auto& record = resumed.records()[chunk[i].task];
    EXPECT_EQ(record.interruptions, i == 2 ? 1 : 0) << i;
    EXPECT_EQ(record.attempts, i < 2 ? 1 : 0) << i;
  }
}

TEST(Scheduler, ResumedRecordsAreNotRunAgain) {
  std::vector<TaskRecord> records(4);
  records[0].status = TaskStatus::Completed;
  records[1].status = TaskStatus::Running;  // was in flight when the job died
  records[2].status = TaskStatus::Failed;
  SchedulerOptions options;
  options.chunk_size = 10;
  Scheduler s({0, 0, 0, 0}, records, 1, options);
  auto chunk = s.next_chunk(1, 0);
  ASSERT_EQ(chunk.size(), 2u);
  EXPECT_EQ(chunk[0].task, 3u);
  EXPECT_EQ(chunk[1].task, 1u);  // the one computing when the job died goes last
  EXPECT_EQ(s.counts(0).completed, 1);
  EXPECT_EQ(s.counts(0).failed, 1);
}

TEST(Scheduler, StudiesTrackTheirOwnCountsAndTimes) {
  SchedulerOptions options;
  options.chunk_size = 2;
  auto s = make(4, options, 2);
  auto a = s.next_chunk(1, 5.0);
  EXPECT_EQ(s.counts(0).started_s, 5.0);
  EXPECT_FALSE(s.counts(1).started_s);
  for (const auto& x : a)
    s.record(1, success(x.task), 6.0);
  EXPECT_TRUE(s.counts(0).all_ended());
  EXPECT_EQ(s.counts(0).ended_s, 6.0);
  EXPECT_FALSE(s.counts(1).all_ended());
  // Two tasks started and completed: each is reported once, then nothing.
  EXPECT_EQ(s.take_changed_tasks(), (std::vector<std::size_t>{0, 1}));
  EXPECT_FALSE(s.has_changes());
  EXPECT_TRUE(s.take_changed_tasks().empty());
}

TEST(Scheduler, FreshBudgetGivesFailedTasksTheirRetriesAgain) {
  std::vector<TaskRecord> records(1);
  records[0].attempts = 4;  // used up its budget in an earlier run
  records[0].error = "attempt 4: timeout";
  SchedulerOptions options;
  options.max_retries = 1;
  options.retry_backoff_s = 0;
  options.fresh_retry_budget = true;
  Scheduler s({0}, records, 1, options);
  auto a = s.next_chunk(1, 0);
  EXPECT_EQ(a[0].attempt, 5);
  s.record(1, failure(0), 0);
  EXPECT_EQ(s.records()[0].status, TaskStatus::Pending);  // one retry left in this run
  s.next_chunk(1, 0);
  s.record(1, failure(0), 0);
  EXPECT_EQ(s.records()[0].status, TaskStatus::Failed);
}

TEST(Scheduler, JobDeathsCostNoAttemptButATaskUnderThreeOfThemFails) {
  std::vector<TaskRecord> records(3);
  records[0].status = TaskStatus::Running;  // computing at the first kill
  records[0].attempts = 1;
  records[1].status = TaskStatus::Running;  // computing at a kill for the second time
  records[1].attempts = 1;
  records[1].interruptions = 1;
  records[2].status = TaskStatus::Running;  // and for the third time
  records[2].attempts = 1;
  records[2].interruptions = 2;
  SchedulerOptions options;
  options.max_retries = 0;                        // a kill must not use up a budget of no retries
  options.max_interruptions = kMaxInterruptions;  // isolation: none
  Scheduler s({0, 0, 0}, records, 1, options);
  for (std::size_t i : {0u, 1u}) {
    EXPECT_EQ(s.records()[i].status, TaskStatus::Pending) << i;
    EXPECT_EQ(s.records()[i].attempts, 0) << i;
    EXPECT_EQ(s.records()[i].interruptions, static_cast<int>(i) + 1);
  }
  // A task that was computing at three deaths of its job may be what ends the job
  // (isolation: none, a node's memory): it fails rather than ending every resume.
  EXPECT_EQ(s.records()[2].status, TaskStatus::Failed);
  EXPECT_EQ(s.records()[2].interruptions, kMaxInterruptions);
  EXPECT_NE(s.records()[2].error.find("interrupted"), std::string::npos);
  EXPECT_EQ(s.counts(0).failed, 1);
}

TEST(Scheduler, AnIsolatedTaskIsNeverChargedForItsJobsDeaths) {
  // Ten kills of the job, each while the same task computed: with isolation the task
  // cannot be what ends the job, so it waits again with no attempt used.
  std::vector<TaskRecord> records(1);
  records[0].status = TaskStatus::Running;
  records[0].attempts = 1;
  records[0].interruptions = 9;
  SchedulerOptions options;
  options.max_retries = 0;
  options.max_interruptions.reset();  // isolation: process
  Scheduler s({0}, records, 1, options);
  EXPECT_EQ(s.records()[0].status, TaskStatus::Pending);
  EXPECT_EQ(s.records()[0].attempts, 0);
  EXPECT_EQ(s.records()[0].interruptions, 10);
  EXPECT_EQ(s.counts(0).failed, 0);
}

TEST(Scheduler, RetryBackoffGrowsWithTheRetriesOfThisRunOnly) {
  // `retry` gives a task with 5 earlier attempts a fresh budget: its first retry waits the
  // first backoff (1 s), not 2^5 s.
  std::vector<TaskRecord> records(1);
  records[0].attempts = 5;
  SchedulerOptions options;
  options.max_retries = 2;
  options.fresh_retry_budget = true;
  Scheduler s({0}, records, 1, options);
  s.next_chunk(1, 0);
  s.record(1, failure(0), 10.0);
  EXPECT_EQ(s.next_retry_time(), 11.0);
}

TEST(Scheduler, RetryPrefersAnotherWorkerForAWhile) {
  SchedulerOptions options;
  options.worker_count = 2;
  options.chunk_size = 1;
  options.retry_backoff_s = 0;
  options.avoid_failed_worker_s = 5;
  auto s = make(3, options);
  s.next_chunk(1, 0);
  s.record(1, failure(0), 0);
  // Worker 1 asks again: it gets fresh work, not its own failure back.
  auto mine = s.next_chunk(1, 1);
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].task, 1u);
  // Worker 2 gets the retry, before the queue.
  auto other = s.next_chunk(2, 1);
  ASSERT_EQ(other.size(), 1u);
  EXPECT_EQ(other[0].task, 0u);
  EXPECT_EQ(other[0].attempt, 2);
  // A retry nobody else picks up goes to its old worker after the waiting time.
  s.record(2, failure(0), 2);
  s.record(1, success(1), 2);
  auto early = s.next_chunk(2, 3);
  ASSERT_EQ(early.size(), 1u);
  EXPECT_EQ(early[0].task, 2u);  // the queue, not its own failure
  EXPECT_TRUE(s.next_chunk(2, 4).empty());
  EXPECT_EQ(s.next_retry_time(), 8.0);  // promoted at t = 3, then 5 s for another worker
  auto late = s.next_chunk(2, 8.0);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].task, 0u);
}

TEST(Scheduler, BiggestTasksFirstAndChunksSizedByPredictedTime) {
  SchedulerOptions options;
  options.worker_count = 1;
  options.target_chunk_s = 1.0;
  // A sweep: tasks 0..3 are small (cost 1), tasks 4..5 are 100 times bigger.
  options.task_cost = {1, 1, 1, 1, 100, 100};
  auto s = make(6, options);
  auto first = s.next_chunk(1, 0);
  ASSERT_EQ(first.size(), 1u);                 // nothing measured yet
  EXPECT_EQ(first[0].task, 4u);                // the longest first
  s.record(1, success(4, /*wall_s=*/0.5), 1);  // 0.005 s per unit of cost
  // The other big task alone would take 0.5 s; with a small one it still fits 1 s.
  auto second = s.next_chunk(1, 1);
  ASSERT_EQ(second.size(), 1u);  // guided bound: 5 waiting / 4 workers-shares = 1
  EXPECT_EQ(second[0].task, 5u);
  s.record(1, success(5, 0.5), 2);
  // Small tasks in the order of the study.
  auto rest = s.next_chunk(1, 2);
  EXPECT_EQ(rest[0].task, 0u);
}

TEST(Scheduler, PredictedTimeCapsAutomaticChunks) {
  SchedulerOptions options;
  options.worker_count = 1;
  options.target_chunk_s = 1.0;
  std::vector<double> cost(1000, 1.0);
  cost[0] = 2.0;  // measured first
  options.task_cost = cost;
  auto s = make(1000, options);
  s.record(1, success(s.next_chunk(1, 0)[0].task, 0.02), 0);  // 0.01 s per unit
  EXPECT_EQ(s.current_chunk_size(), 100);  // 100 tasks of 0.01 s = 1 s (guided: 249)
}

TEST(Scheduler, CountsTheEstimatedCostLeftSoTheEtaWeighsBigTasksMore) {
  // Two cheap tasks and one 100 times dearer: after the cheap ones, 98 % of the work is
  // left although two thirds of the tasks are done.
  SchedulerOptions options;
  options.task_cost = {1, 1, 100};
  Scheduler scheduler({0, 0, 0}, std::vector<TaskRecord>(3), 1, options);
  EXPECT_DOUBLE_EQ(scheduler.counts(0).work.unfinished_cost, 102);
  const auto first = scheduler.next_chunk(1, 0);  // longest first: the dear one
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].task, 2u);
  for (int round = 0; round < 2; ++round) {
    auto chunk = scheduler.next_chunk(2, 1);
    ASSERT_FALSE(chunk.empty());
    for (const auto& a : chunk)
      scheduler.record(2, success(a.task, 0.5), 2);
  }
  const auto counts = scheduler.counts(0);
  EXPECT_EQ(counts.ended_this_run, 2);
  EXPECT_DOUBLE_EQ(counts.work.timed_cost, 2);
  EXPECT_DOUBLE_EQ(counts.work.unfinished_cost, 100);
  // 0.5 s per unit of cost measured: the dear task needs 50 s, not the 0.5 s a count of
  // tasks would say.
  EXPECT_DOUBLE_EQ(*fracstudy::study::estimated_remaining_s(counts.work), 50.0);
}

TEST(Scheduler, KeepsTheWorkLeftAsTheRecordsSayIt) {
  // The progress lines read the scheduler's running sums; `status` and the tools compute
  // the same sums from the file's records (study::remaining_work). They must agree after
  // any mix of successes, failures, retries and stops.
  SchedulerOptions options;
  options.max_retries = 1;
  options.retry_backoff_s = 0;
  options.avoid_failed_worker_s = 0;
  options.worker_count = 3;
  for (std::size_t i = 0; i < 40; ++i)
    options.task_cost.push_back(1.0 + static_cast<double>(i % 7));
  auto s = make(40, options, 2);
  double now = 0;
  for (int round = 0; round < 30 && !s.finished(); ++round) {
    for (int worker = 1; worker <= 3; ++worker) {
      const auto chunk = s.next_chunk(worker, now);
      for (std::size_t k = 0; k < chunk.size(); ++k) {
        const std::size_t task = chunk[k].task;
        if (round == 3 && worker == 2) break;  // stopped: its tasks go back unfinished
        s.record(worker, task % 5 == 0 ? failure(task) : success(task, 0.01 * double(task)), now);
      }
      if (round == 3 && worker == 2) s.release_worker(worker);
    }
    now += 1;
  }
  for (std::size_t study_index = 0; study_index < 2; ++study_index) {
    fracstudy::study::RemainingWork expected;
    expected.workers = 3;
    for (std::size_t i = 0; i < 40; ++i) {
      if (i * 2 / 40 == study_index) expected.add(options.task_cost[i], s.records()[i]);
    }
    const auto& work = s.counts(study_index).work;
    EXPECT_EQ(work.unfinished, expected.unfinished);
    EXPECT_NEAR(work.unfinished_cost, expected.unfinished_cost, 1e-9);
    EXPECT_NEAR(work.timed_cost, expected.timed_cost, 1e-9);
    EXPECT_NEAR(work.timed_wall_s, expected.timed_wall_s, 1e-9);
    EXPECT_EQ(work.workers, 3);
  }
}

namespace {

/// Drives a run of `tasks` one-task chunks on ranks 1-3 (nodes a, b, c) until it ends:
/// every attempt on a rank in `failing_ranks` fails, and so does every attempt of a task
/// in `failing_tasks`, wherever it runs. Returns the scheduler at the end.
Scheduler drive_three_nodes(std::size_t tasks, const std::vector<int>& failing_ranks,
                            const std::vector<std::size_t>& failing_tasks) {
  SchedulerOptions options;
  options.worker_count = 3;
  options.chunk_size = 1;
  options.max_retries = 3;
  options.retry_backoff_s = 0;
  options.host_of_rank = {"a", "a", "b", "c"};
  auto s = make(tasks, options);
  double now = 0;
  for (int round = 0; round < 200 && !s.finished(); ++round) {
    for (int rank = 1; rank <= 3; ++rank) {
      for (const auto& assignment : s.next_chunk(rank, now)) {
        const bool fails =
            std::find(failing_ranks.begin(), failing_ranks.end(), rank) != failing_ranks.end() ||
            std::find(failing_tasks.begin(), failing_tasks.end(), assignment.task) !=
                failing_tasks.end();
        s.record(rank, fails ? failure(assignment.task, "injected") : success(assignment.task),
                 now);
      }
    }
    now += 10;  // past every backoff and every wait for another node
  }
  return s;
}

}  // namespace

TEST(Scheduler, ANodeWhereTasksFailThatSucceedElsewhereIsExcludedAndItsAttemptsGivenBack) {
  const auto s = drive_three_nodes(30, {3}, {});
  ASSERT_TRUE(s.finished());
  EXPECT_EQ(s.excluded_hosts(), std::vector<std::string>{"c"});
  for (const auto& record : s.records()) {
    EXPECT_EQ(record.status, TaskStatus::Completed);
    EXPECT_EQ(record.attempts, 1) << record.error;  // node c's failures do not count
    EXPECT_NE(record.host, "c");
  }
  // The failures stay on record, with the node that failed them.
  const auto failed_on_c = std::count_if(
      s.records().begin(), s.records().end(),
      [](const TaskRecord& r) { return r.error.find("injected [c]") != std::string::npos; });
  EXPECT_GE(failed_on_c, static_cast<long>(kBadNodeTasks));
  EXPECT_LE(failed_on_c, static_cast<long>(kBadNodeTasks) + 1);  // then c got no more work
}

TEST(Scheduler, TasksThatFailEverywhereConvictNoNode) {
  // A bad parameter: its tasks fail on every node (and one node happens to meet many of
  // them first). No node is excluded; the tasks fail after their retries.
  const auto s = drive_three_nodes(12, {}, {0, 1, 2, 3, 4, 5});
  ASSERT_TRUE(s.finished());
  EXPECT_TRUE(s.excluded_hosts().empty());
  for (std::size_t task = 0; task < 12; ++task) {
    EXPECT_EQ(s.records()[task].status, task < 6 ? TaskStatus::Failed : TaskStatus::Completed);
  }
  EXPECT_EQ(s.records()[0].attempts, 4);
}

TEST(Scheduler, TheLastNodeStandingIsNeverExcluded) {
  NodeHealth health({"a", "a", "b"});
  // b fails three tasks that a then computes: b goes. Whatever a fails afterwards, it
  // stays: it is the last node.
  for (std::size_t task = 0; task < 3; ++task) {
    health.failed(task, 2);
    EXPECT_EQ(health.succeeded(task, 1), task == 2 ? std::optional<int>(1) : std::nullopt);
  }
  EXPECT_TRUE(health.excluded_rank(2));
  for (std::size_t task = 3; task < 10; ++task)
    health.failed(task, 1);
  EXPECT_FALSE(health.excluded_rank(1));
  EXPECT_EQ(health.excluded_names(), std::vector<std::string>{"b"});
}

TEST(RunLength, ReadsWhatAPlainListWouldInAnyOrderOfLookups) {
  // Rank 0 keeps each task's study and cost per run of tasks (a point's repetitions); a
  // lookup anywhere, after any other, must read what a list of one value per task holds.
  std::vector<double> plain;
  RunLength<double> runs;
  unsigned state = 12345;
  auto next = [&state] { return state = state * 1103515245u + 12345u; };
  for (int run = 0; run < 200; ++run) {
    const std::size_t length = 1 + next() % 40;
    const double value = static_cast<double>(next() % 5);  // neighbours often equal: merged
    runs.push_run(length, value);
    plain.insert(plain.end(), length, value);
  }
  ASSERT_EQ(runs.size(), plain.size());
  EXPECT_LT(runs.runs().size(), 200u);            // equal neighbours share one run
  for (std::size_t i = 0; i < plain.size(); ++i)  // in order
    ASSERT_EQ(runs[i], plain[i]) << i;
  for (int k = 0; k < 5000; ++k) {  // anywhere
    const std::size_t i = next() % plain.size();
    ASSERT_EQ(runs[i], plain[i]) << i;
  }
  for (std::size_t i = plain.size(); i-- > 0;)  // backwards
    ASSERT_EQ(runs[i], plain[i]) << i;
}

TEST(Scheduler, QueuesTheWaitingTasksDearestFirstAndInStudyOrderAmongEqualCosts) {
  // Costs come in runs (a point's repetitions); the queue must be what a stable sort of
  // the waiting tasks by falling cost gives, whichever tasks had already ended.
  const std::size_t tasks = 300;
  std::vector<double> cost;
  unsigned state = 99;
  auto next = [&state] { return state = state * 1103515245u + 12345u; };
  while (cost.size() < tasks) {
    const std::size_t length = std::min<std::size_t>(1 + next() % 25, tasks - cost.size());
    cost.insert(cost.end(), length, static_cast<double>(next() % 4));
  }
  std::vector<TaskRecord> records(tasks);
  std::vector<std::size_t> waiting;
  for (std::size_t i = 0; i < tasks; ++i) {
    if (next() % 3 == 0) {
      records[i].status = TaskStatus::Completed;
    } else {
      waiting.push_back(i);
    }
  }
  std::stable_sort(waiting.begin(), waiting.end(),
                   [&cost](std::size_t a, std::size_t b) { return cost[a] > cost[b]; });
  SchedulerOptions options;
  options.chunk_size = 1;
  options.task_cost = cost;
  Scheduler s(std::vector<std::size_t>(tasks, 0), records, 1, options);
  std::vector<std::size_t> handed_out;
  for (auto chunk = s.next_chunk(1, 0); !chunk.empty(); chunk = s.next_chunk(1, 0)) {
    handed_out.push_back(chunk[0].task);
    s.record(1, success(chunk[0].task), 0);
  }
  EXPECT_EQ(handed_out, waiting);
}

TEST(TaskQueue, KeepsTheOrderOfADequeUnderAnyMixOfOperations) {
  // The scheduler's queue against std::deque, the container it replaced: tasks pushed at
  // either end, taken from the front, the whole read in order, emptied and filled again.
  TaskQueue queue;
  std::deque<std::size_t> expected;
  std::mt19937_64 random(7);  // only the test's choice of operations
  for (int step = 0; step < 20000; ++step) {
    const auto task = static_cast<std::size_t>(step);
    switch (random() % 8) {
      case 0:
        queue.push_front(task);
        expected.push_front(task);
        break;
      case 1:
      case 2:
        if (!expected.empty()) {
          ASSERT_EQ(queue.front(), expected.front()) << "step " << step;
          queue.pop_front();
          expected.pop_front();
        }
        break;
      case 3: {
        const std::vector<std::size_t> tasks{task, task + 100000};
        queue.append(tasks);
        expected.insert(expected.end(), tasks.begin(), tasks.end());
        break;
      }
      default:
        queue.push_back(task);
        expected.push_back(task);
    }
    if (step % 5000 == 4999) {  // emptied by a drain, then refilled
      while (!expected.empty()) {
        ASSERT_EQ(queue.front(), expected.front());
        queue.pop_front();
        expected.pop_front();
      }
      ASSERT_TRUE(queue.empty());
    }
    ASSERT_EQ(queue.size(), expected.size()) << "step " << step;
    if (step % 97 == 0) {
      ASSERT_TRUE(std::equal(queue.begin(), queue.end(), expected.begin(), expected.end()))
          << "step " << step;
    }
  }
}
