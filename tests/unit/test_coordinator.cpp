// The coordinator and worker loops over an in-process transport (threads as ranks).
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "fracstudy/exec/coordinator.hpp"
#include "fracstudy/exec/protocol.hpp"
#include "fracstudy/transport/local_transport.hpp"

using namespace fracstudy;

namespace {

struct CountingObserver : exec::ProgressObserver {
  int checkpoints = 0;
  bool saw_final = false;
  void checkpoint(sched::Scheduler&, bool final) override {
    ++checkpoints;
    saw_final |= final;
  }
};

/// A fake task: its "df" is a function of the task index, so results are checkable.
/// Tasks listed in `fail_first` fail on their first attempt.
struct FakeTasks {
  std::set<std::size_t> fail_first;
  std::mutex mutex;
  std::vector<int> runs_per_task;
  std::chrono::milliseconds delay{0};
  explicit FakeTasks(std::size_t n) : runs_per_task(n, 0) {}
  sched::Outcome operator()(const sched::Assignment& a) {
    {
      std::lock_guard lock(mutex);
      ++runs_per_task[a.task];
    }
    std::this_thread::sleep_for(delay);
    sched::Outcome o;
    o.task = a.task;
    o.wall_time_s = 0.0001;
    if (a.attempt == 1 && fail_first.count(a.task)) {
      o.error = "exception: injected";
      return o;
    }
    o.succeeded = true;
    o.metrics.value("df") = 1.0 + static_cast<double>(a.task);
    return o;
  }
};

sched::Scheduler make_scheduler(std::size_t n, int workers, int max_retries = 3) {
  sched::SchedulerOptions options;
  options.worker_count = workers;
  options.max_retries = max_retries;
  options.retry_backoff_s = 0.01;
  return sched::Scheduler(std::vector<std::size_t>(n, 0), std::vector<study::TaskRecord>(n), 1,
                          options);
}

/// Threads share the process, so attempts run in it (no fork among threads).
exec::ChunkExecutor in_process(FakeTasks& tasks) {
  return exec::ChunkExecutor([&tasks](const auto& a) { return tasks(a); }, exec::Isolation::None,
                             0);
}

/// Runs a coordinator and `ranks - 1` worker threads to the end; returns how it ended
/// and, through `worker_ends`, how each worker ended.
exec::RunEnd run_job(int ranks, sched::Scheduler& scheduler, FakeTasks& tasks,
                     exec::ProgressObserver& observer, exec::LoopOptions options = {0.01, 1.0},
                     std::vector<exec::RunEnd>* worker_ends = nullptr,
                     std::size_t* messages = nullptr) {
  transport::LocalNetwork network(ranks);
  std::vector<std::thread> workers;
  std::vector<exec::RunEnd> ends(static_cast<std::size_t>(ranks));
  const auto executor = in_process(tasks);
  for (int r = 1; r < ranks; ++r) {
    workers.emplace_back([&network, &executor, &ends, &options, r] {
      transport::LocalTransport t(network, r);
      ends[static_cast<std::size_t>(r)] = exec::run_worker(t, executor, options);
    });
  }
  transport::LocalTransport coordinator(network, 0);
  const auto end = exec::run_coordinator(scheduler, coordinator, observer, options);
  for (auto& w : workers)
    w.join();
  if (worker_ends) *worker_ends = ends;
  if (messages) *messages = network.delivered();
  return end;
}

/// Runs a job shaped by `topology`: rank 0 coordinates, relays relay, workers compute.
exec::RunEnd run_tree(const sched::Topology& topology, sched::Scheduler& scheduler,
                      FakeTasks& tasks, exec::ProgressObserver& observer, exec::LoopOptions options,
                      std::vector<exec::RunEnd>* rank_ends = nullptr,
                      const std::function<exec::CompletionLog*(int)>& log_of = {}) {
  const int ranks = topology.ranks();
  transport::LocalNetwork network(ranks);
  std::vector<std::thread> threads;
  std::vector<exec::RunEnd> ends(static_cast<std::size_t>(ranks));
  const auto executor = in_process(tasks);
  for (int r = 1; r < ranks; ++r) {
    exec::CompletionLog* log = log_of && topology.is_relay(r) ? log_of(r) : nullptr;
    threads.emplace_back([&network, &executor, &ends, &options, &topology, r, log] {
      transport::LocalTransport t(network, r);
      ends[static_cast<std::size_t>(r)] =
          topology.is_relay(r) ? exec::run_relay(t, topology, options, log)
                               : exec::run_worker(t, executor, options, topology.parent(r));
    });
  }
  transport::LocalTransport coordinator(network, 0);
  const auto end = exec::run_coordinator(scheduler, coordinator, observer, options, topology);
  for (auto& thread : threads)
    thread.join();
  if (rank_ends) *rank_ends = ends;
  return end;
}

/// A scheduler for `topology`, as `fracstudy run` builds it.
sched::Scheduler make_tree_scheduler(std::size_t n, const sched::Topology& topology,
                                     std::optional<std::int64_t> chunk_size = std::nullopt) {
  sched::SchedulerOptions options;
  options.worker_count = topology.compute_ranks();
  for (int rank = 0; rank < topology.ranks(); ++rank)
    options.worker_capacity.push_back(topology.capacity(rank));
  options.chunk_size = chunk_size;
  options.retry_backoff_s = 0.01;
  return sched::Scheduler(std::vector<std::size_t>(n, 0), std::vector<study::TaskRecord>(n), 1,
                          options);
}

}  // namespace

TEST(Coordinator, EveryTaskRunsExactlyOnceAcrossWorkers) {
  for (int ranks : {2, 3, 5}) {
    const std::size_t n = 500;
    FakeTasks tasks(n);
    auto scheduler = make_scheduler(n, ranks - 1);
    CountingObserver observer;
    run_job(ranks, scheduler, tasks, observer);
    EXPECT_TRUE(scheduler.finished());
    EXPECT_TRUE(observer.saw_final);
    for (std::size_t i = 0; i < n; ++i) {
      EXPECT_EQ(tasks.runs_per_task[i], 1) << "task " << i << " with " << ranks << " ranks";
      EXPECT_EQ(scheduler.records()[i].metrics.value("df"), 1.0 + static_cast<double>(i));
      EXPECT_GE(scheduler.records()[i].worker_rank, 1);
    }
  }
}

TEST(Coordinator, FailedAttemptsAreRetriedAndTheStudyCompletes) {
  const std::size_t n = 40;
  FakeTasks tasks(n);
  tasks.fail_first = {3, 17, 29};
  auto scheduler = make_scheduler(n, 2);
  CountingObserver observer;
  run_job(3, scheduler, tasks, observer);
  EXPECT_EQ(scheduler.counts(0).completed, 40);
  for (std::size_t t : {3u, 17u, 29u}) {
    EXPECT_EQ(scheduler.records()[t].attempts, 2);
    EXPECT_EQ(tasks.runs_per_task[t], 2);
  }
  EXPECT_EQ(scheduler.records()[4].attempts, 1);
}

TEST(Coordinator, WithoutRetriesFailuresEndAsFailed) {
  FakeTasks tasks(10);
  tasks.fail_first = {0, 1};
  auto scheduler = make_scheduler(10, 1, /*max_retries=*/0);
  CountingObserver observer;
  run_job(2, scheduler, tasks, observer);
  EXPECT_EQ(scheduler.counts(0).failed, 2);
  EXPECT_EQ(scheduler.records()[0].error, "attempt 1: exception: injected");
}

TEST(Coordinator, SerialLoopRunsEverythingOnRankZero) {
  FakeTasks tasks(50);
  tasks.fail_first = {7};
  auto scheduler = make_scheduler(50, 1);
  CountingObserver observer;
  exec::run_serial(scheduler, in_process(tasks), observer, exec::LoopOptions{});
  EXPECT_EQ(scheduler.counts(0).completed, 50);
  EXPECT_EQ(scheduler.records()[7].attempts, 2);
  EXPECT_EQ(scheduler.records()[0].worker_rank, 0);
}

TEST(Protocol, OutcomesAndAssignmentsRoundTrip) {
  std::vector<sched::Outcome> outcomes(2);
  outcomes[0].task = 12345678901ULL;
  outcomes[0].succeeded = true;
  for (std::size_t m = 0; m < kernels::kMetricCount; ++m) {  // every metric travels
    outcomes[0].metrics[m] = 1.71 + static_cast<double>(m);
  }
  outcomes[1].task = 2;
  outcomes[1].error = "crashed (signal 11)";
  const auto back = exec::decode_outcomes(exec::encode_outcomes(outcomes));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].task, 12345678901ULL);
  EXPECT_TRUE(back[0].succeeded);
  for (std::size_t m = 0; m < kernels::kMetricCount; ++m) {
    EXPECT_EQ(back[0].metrics[m], 1.71 + static_cast<double>(m)) << kernels::kMetrics[m].name;
  }
  EXPECT_TRUE(std::isnan(back[1].metrics.value("df")));  // a failure has no value
  EXPECT_EQ(back[1].error, "crashed (signal 11)");
  const std::vector<sched::Assignment> chunk = {{5, 1}, {9, 3}};
  const auto chunk_back = exec::decode_assignments(exec::encode_assignments(chunk));
  ASSERT_EQ(chunk_back.size(), 2u);
  EXPECT_EQ(chunk_back[1].task, 9u);
  EXPECT_EQ(chunk_back[1].attempt, 3);
  auto truncated = exec::encode_outcomes(outcomes);
  truncated.resize(truncated.size() - 3);
  EXPECT_THROW(exec::decode_outcomes(truncated), std::runtime_error);
}

TEST(Coordinator, DrainStopsHandingOutWorkAndCostsNoRetries) {
  const std::size_t n = 400;
  FakeTasks tasks(n);
  tasks.delay = std::chrono::milliseconds(2);
  auto scheduler = make_scheduler(n, 2);
  CountingObserver observer;
  std::atomic<int> asked{0};
  exec::LoopOptions options{0.01, 1.0};
  options.drain_grace_s = 5;
  options.drain_requested = [&asked] { return ++asked > 20; };  // after a few loops
  std::vector<exec::RunEnd> worker_ends;
  const auto end = run_job(3, scheduler, tasks, observer, options, &worker_ends);
  EXPECT_EQ(end, exec::RunEnd::Interrupted);
  EXPECT_EQ(worker_ends[1], exec::RunEnd::Interrupted);
  EXPECT_EQ(worker_ends[2], exec::RunEnd::Interrupted);
  const auto counts = scheduler.counts(0);
  EXPECT_GT(counts.pending, 0);
  EXPECT_EQ(counts.running, 0);
  EXPECT_EQ(counts.completed + counts.pending, static_cast<std::int64_t>(n));
  for (const auto& record : scheduler.records()) {
    if (record.status == study::TaskStatus::Pending) {
      EXPECT_EQ(record.attempts, 0);
    }
  }
  EXPECT_TRUE(observer.saw_final);
}

TEST(Coordinator, DrainAfterTheLastTaskIsAnOrdinaryEnd) {
  FakeTasks tasks(5);
  auto scheduler = make_scheduler(5, 1);
  CountingObserver observer;
  bool finished_first = false;
  exec::LoopOptions options{0.01, 1.0};
  options.drain_requested = [&] { return finished_first; };
  exec::run_serial(scheduler, in_process(tasks), observer, options);
  finished_first = true;
  EXPECT_TRUE(scheduler.finished());
}

TEST(Coordinator, MessagesPerTaskAreExactlyTwoPerChunkPlusTwoPerWorker) {
  // Not a timing test: the protocol's cost, counted. Each worker asks once to start and
  // is stopped once; each chunk costs one Assignment and one WorkRequest carrying its
  // results. 1000 tasks in chunks of 50 over 3 workers: 2 x 20 + 2 x 3 = 46 messages.
  const std::size_t n = 1000;
  FakeTasks tasks(n);
  sched::SchedulerOptions options;
  options.worker_count = 3;
  options.chunk_size = 50;
  sched::Scheduler scheduler(std::vector<std::size_t>(n, 0), std::vector<study::TaskRecord>(n), 1,
                             options);
  CountingObserver observer;
  std::size_t messages = 0;
  run_job(4, scheduler, tasks, observer, {0.01, 1.0}, nullptr, &messages);
  EXPECT_TRUE(scheduler.finished());
  EXPECT_EQ(messages, 46u);
}

TEST(Relays, EveryTaskRunsExactlyOnceOnTheWorkersBelowTheRelays) {
  const auto topology = sched::Topology::fixed_groups(11, 5);  // relays 1 and 6, 8 workers
  const std::size_t n = 2000;
  FakeTasks tasks(n);
  tasks.fail_first = {10, 999, 1500};
  auto scheduler = make_tree_scheduler(n, topology);
  CountingObserver observer;
  std::vector<exec::RunEnd> ends;
  const auto end = run_tree(topology, scheduler, tasks, observer, {0.01, 0.05}, &ends);
  EXPECT_EQ(end, exec::RunEnd::Finished);
  EXPECT_EQ(scheduler.counts(0).completed, static_cast<std::int64_t>(n));
  for (int r = 1; r < topology.ranks(); ++r)
    EXPECT_EQ(ends[static_cast<std::size_t>(r)], exec::RunEnd::Finished) << "rank " << r;
  for (std::size_t i = 0; i < n; ++i) {
    const int expected_runs = tasks.fail_first.count(i) ? 2 : 1;
    ASSERT_EQ(tasks.runs_per_task[i], expected_runs) << "task " << i;
    EXPECT_EQ(scheduler.records()[i].metrics.value("df"), 1.0 + static_cast<double>(i));
    // The record names the worker, never the relay that passed the result on.
    EXPECT_FALSE(topology.is_relay(scheduler.records()[i].worker_rank)) << "task " << i;
    EXPECT_GE(scheduler.records()[i].worker_rank, 1);
  }
}

TEST(Relays, RankZeroReceivesFewerMessagesThanWithoutThem) {
  // Not a timing test: rank 0's share of the protocol, counted. Chunks of 10 tasks: flat,
  // each of 8 workers asks per chunk (1000 tasks: >= 100 requests); under two relays of 4
  // workers, each request carries 4 chunks' worth.
  const std::size_t n = 1000;
  auto count_messages = [n](const sched::Topology& topology) {
    FakeTasks tasks(n);
    auto scheduler = make_tree_scheduler(n, topology, 10);
    CountingObserver observer;
    std::uint64_t received = 0;
    exec::LoopOptions options{0.01, 10.0};
    options.coordinator_messages = &received;
    run_tree(topology, scheduler, tasks, observer, options);
    EXPECT_TRUE(scheduler.finished());
    return received;
  };
  const auto flat = count_messages(sched::Topology::flat(9));
  const auto relayed = count_messages(sched::Topology::fixed_groups(11, 5));
  EXPECT_GE(flat, 100u + 8u);
  EXPECT_LE(relayed * 3, flat) << "flat " << flat << ", relayed " << relayed;
}

TEST(Relays, ADrainReachesTheWorkersAndCostsNoRetries) {
  const auto topology = sched::Topology::fixed_groups(9, 4);
  const std::size_t n = 600;
  FakeTasks tasks(n);
  tasks.delay = std::chrono::milliseconds(2);
  auto scheduler = make_tree_scheduler(n, topology);
  CountingObserver observer;
  std::atomic<int> asked{0};
  exec::LoopOptions options{0.01, 0.05};
  options.drain_grace_s = 5;
  options.drain_requested = [&asked] { return ++asked > 30; };
  std::vector<exec::RunEnd> ends;
  const auto end = run_tree(topology, scheduler, tasks, observer, options, &ends);
  EXPECT_EQ(end, exec::RunEnd::Interrupted);
  for (int r = 1; r < topology.ranks(); ++r)
    EXPECT_EQ(ends[static_cast<std::size_t>(r)], exec::RunEnd::Interrupted) << "rank " << r;
  const auto counts = scheduler.counts(0);
  EXPECT_GT(counts.pending, 0);
  EXPECT_GT(counts.completed, 0);
  EXPECT_EQ(counts.running, 0);
  // Every attempt that ran to its end was recorded: nothing finished is lost on the way
  // up through a relay.
  std::int64_t runs = 0;
  for (std::size_t i = 0; i < n; ++i) {
    runs += tasks.runs_per_task[i];
    const auto& record = scheduler.records()[i];
    if (record.status == study::TaskStatus::Pending) {
      EXPECT_EQ(record.attempts, 0);
    }
  }
  EXPECT_EQ(runs, counts.completed);
}

namespace {

/// A relay's log in memory: what it kept, by task; it refuses to keep after `keeps_left`.
struct MemoryLog : exec::CompletionLog {
  std::uint64_t token;
  int keeps_left = 1 << 30;
  std::mutex& mutex;
  std::map<std::size_t, std::pair<double, int>>& kept;  // task -> df, attempt (all relays)
  MemoryLog(std::uint64_t token_, std::mutex& mutex_,
            std::map<std::size_t, std::pair<double, int>>& kept_)
      : token(token_), mutex(mutex_), kept(kept_) {}
  std::optional<std::uint64_t> open() override { return token; }
  bool keep(std::span<const sched::Outcome> outcomes, std::span<const int> attempts) override {
    if (keeps_left-- <= 0) return false;
    std::lock_guard lock(mutex);
    for (std::size_t i = 0; i < outcomes.size(); ++i)
      kept[outcomes[i].task] = {outcomes[i].metrics.value("df"), attempts[i]};
    return true;
  }
};

/// Runs 2000 tasks under two relays with logs, rank 0 reading them when `seen`; returns
/// what the logs kept; every task must have ended COMPLETED, its metrics at rank 0 or in a
/// log (never both missing), marked as kept elsewhere exactly when a log has them.
std::map<std::size_t, std::pair<double, int>> run_with_logs(
    const std::function<bool()>& seen, int keeps, sched::Scheduler& scheduler,
    std::chrono::milliseconds delay = std::chrono::milliseconds(0)) {
  const auto topology = sched::Topology::fixed_groups(11, 5);  // relays 1 and 6, 8 workers
  const std::size_t n = scheduler.records().size();
  FakeTasks tasks(n);
  tasks.fail_first = {10, 999, 1500};
  tasks.delay = delay;
  std::mutex mutex;
  std::map<std::size_t, std::pair<double, int>> kept;
  MemoryLog first(11, mutex, kept), second(66, mutex, kept);
  first.keeps_left = second.keeps_left = keeps;
  CountingObserver observer;
  exec::LoopOptions options{0.01, 0.05};
  std::set<int> asked;
  options.relay_journal_seen = [&](int relay, std::uint64_t token) {
    asked.insert(relay);
    EXPECT_EQ(token, relay == 1 ? 11u : 66u);
    return seen();
  };
  run_tree(topology, scheduler, tasks, observer, options, nullptr,
           [&](int relay) -> exec::CompletionLog* { return relay == 1 ? &first : &second; });
  EXPECT_EQ(asked, (std::set<int>{1, 6}));  // each relay offered its log
  EXPECT_EQ(scheduler.counts(0).completed, static_cast<std::int64_t>(n));
  for (std::size_t i = 0; i < n; ++i) {
    const bool elsewhere = scheduler.records().metrics_elsewhere(i);
    const auto in_log = kept.find(i);
    if (elsewhere) {
      EXPECT_NE(in_log, kept.end()) << "task " << i << ": its metrics are nowhere";
    } else {
      EXPECT_EQ(scheduler.records()[i].metrics.value("df"), 1.0 + static_cast<double>(i))
          << "task " << i;
    }
    if (in_log != kept.end()) {
      EXPECT_EQ(in_log->second.first, 1.0 + static_cast<double>(i));
      EXPECT_EQ(in_log->second.second, tasks.fail_first.count(i) ? 2 : 1) << "attempt, task " << i;
    }
  }
  return kept;
}

}  // namespace

TEST(Relays, KeepTheirGroupsResultsOnceRankZeroReadsTheirLogs) {
  auto scheduler = make_tree_scheduler(2000, sched::Topology::fixed_groups(11, 5));
  const auto kept = run_with_logs([] { return true; }, 1 << 30, scheduler);
  // Only the first reports of each relay (before rank 0 answered) go up whole.
  std::size_t elsewhere = 0;
  for (std::size_t i = 0; i < 2000; ++i)
    elsewhere += scheduler.records().metrics_elsewhere(i) ? 1U : 0U;
  EXPECT_GT(elsewhere, 1500u);
  // Rank 0 takes them back at its whole write; what it cannot find is computed again.
  for (const auto& [task, kept_df] : kept) {
    kernels::MetricValues metrics;
    metrics.value("df") = kept_df.first;
    scheduler.fill_metrics(task, metrics);
  }
  EXPECT_EQ(scheduler.reopen_unfilled(), 0u);
  for (std::size_t i = 0; i < 2000; ++i)
    ASSERT_EQ(scheduler.records()[i].metrics.value("df"), 1.0 + static_cast<double>(i));
}

TEST(Relays, PassResultsUpWholeWhenRankZeroCannotReadTheirLogs) {
  // A directory not shared between a relay's node and rank 0's.
  auto scheduler = make_tree_scheduler(2000, sched::Topology::fixed_groups(11, 5));
  EXPECT_TRUE(run_with_logs([] { return false; }, 1 << 30, scheduler).empty());
}

TEST(Relays, ALogRankZeroSeesLateKeepsTheResultsFromThen) {
  // A shared file system that shows a new file late: rank 0 looks again, at most once a
  // second per relay, while the relay offers its log. 2000 tasks of 8 ms on 8 workers: at
  // least 2 s (a loaded machine only makes it longer), so each relay is looked at twice.
  auto scheduler = make_tree_scheduler(2000, sched::Topology::fixed_groups(11, 5));
  std::atomic<int> looks{0};
  const auto kept = run_with_logs([&looks] { return ++looks > 2; }, 1 << 30, scheduler,
                                  std::chrono::milliseconds(8));
  EXPECT_GE(looks.load(), 3);
  EXPECT_FALSE(kept.empty());
}

TEST(Relays, ALogThatFailsSendsTheRestUpWhole) {
  // A full disk under the relays' journals after their first few writes.
  auto scheduler = make_tree_scheduler(2000, sched::Topology::fixed_groups(11, 5));
  const auto kept = run_with_logs([] { return true; }, 2, scheduler);
  EXPECT_FALSE(kept.empty());
  EXPECT_LT(kept.size(), 1000u);
  std::size_t elsewhere = 0;
  for (std::size_t i = 0; i < 2000; ++i)
    elsewhere += scheduler.records().metrics_elsewhere(i) ? 1U : 0U;
  EXPECT_EQ(elsewhere, kept.size());
}

TEST(Relays, AFailedCoordinatorReachesEveryRank) {
  const auto topology = sched::Topology::fixed_groups(7, 3);
  transport::LocalNetwork network(topology.ranks());
  FakeTasks tasks(10);
  const auto executor = in_process(tasks);
  const exec::LoopOptions options;
  std::vector<std::thread> threads;
  std::vector<exec::RunEnd> ends(static_cast<std::size_t>(topology.ranks()));
  for (int r = 1; r < topology.ranks(); ++r) {
    threads.emplace_back([&, r] {
      transport::LocalTransport t(network, r);
      ends[static_cast<std::size_t>(r)] =
          topology.is_relay(r) ? exec::run_relay(t, topology, options)
                               : exec::run_worker(t, executor, options, topology.parent(r));
    });
  }
  transport::LocalTransport coordinator(network, 0);
  exec::stop_workers_after_failure(coordinator);
  for (auto& thread : threads)
    thread.join();
  for (int r = 1; r < topology.ranks(); ++r)
    EXPECT_EQ(ends[static_cast<std::size_t>(r)], exec::RunEnd::Failed) << "rank " << r;
}
