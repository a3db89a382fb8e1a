// Attempts that crash, abort, hang or throw fail alone when run in a child process.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <thread>

#include "fracstudy/exec/chunk_executor.hpp"

using namespace fracstudy;
using exec::ChunkExecutor;
using exec::Isolation;
using exec::StopRequest;

namespace {

/// Task i succeeds with df = i, except the faults planted at chosen indices.
sched::Outcome attempt(const sched::Assignment& a) {
  switch (a.task) {
    case 3:
      std::raise(SIGSEGV);
      break;
    case 5:
      std::abort();
    case 7:
      while (true)
        std::this_thread::sleep_for(std::chrono::seconds(1));
    default:
      break;
  }
  sched::Outcome o;
  o.task = a.task;
  o.succeeded = true;
  o.metrics.value("df") = static_cast<double>(a.task);
  return o;
}

std::vector<sched::Assignment> chunk_of(std::size_t n) {
  std::vector<sched::Assignment> chunk;
  for (std::size_t i = 0; i < n; ++i)
    chunk.push_back({i, 1});
  return chunk;
}

StopRequest never() {
  return StopRequest::None;
}

}  // namespace

TEST(ChunkExecutor, CrashAbortAndHangFailAloneAndTheChunkGoesOn) {
  const ChunkExecutor executor(attempt, Isolation::Process, /*time_limit_s=*/0.2);
  std::vector<sched::Outcome> outcomes;
  const auto start = std::chrono::steady_clock::now();
  const auto report = executor.run(
      chunk_of(10), [&](const auto& o) { outcomes.push_back(o); }, never);
  EXPECT_TRUE(report.not_run.empty());
  ASSERT_EQ(outcomes.size(), 10u);
  for (std::size_t i = 0; i < outcomes.size(); ++i)
    EXPECT_EQ(outcomes[i].task, i);
  EXPECT_EQ(outcomes[3].error, "crashed (signal " + std::to_string(SIGSEGV) + ")");
  EXPECT_EQ(outcomes[5].error, "crashed (signal " + std::to_string(SIGABRT) + ")");
  EXPECT_EQ(outcomes[7].error, "timeout");  // the hang was killed at 0.2 s + 1 s grace
  EXPECT_GE(outcomes[7].wall_time_s, 1.2);
  EXPECT_FALSE(outcomes[3].succeeded);
  EXPECT_TRUE(outcomes[4].succeeded);
  EXPECT_EQ(outcomes[9].metrics.value("df"), 9.0);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 10);
}

TEST(ChunkExecutor, StopNowKillsTheAttemptAndReturnsTheRest) {
  const ChunkExecutor executor(attempt, Isolation::Process, 0);
  std::vector<sched::Outcome> outcomes;
  int polls = 0;
  // Task 7 hangs with no time limit; a hard stop must still end it.
  auto chunk = chunk_of(10);
  chunk.erase(chunk.begin(), chunk.begin() + 6);  // tasks 6..9
  const auto report = executor.run(
      chunk, [&](const auto& o) { outcomes.push_back(o); },
      [&] { return ++polls > 5 ? StopRequest::Now : StopRequest::None; });
  EXPECT_EQ(report.stopped, StopRequest::Now);
  ASSERT_EQ(outcomes.size(), 1u);  // task 6 finished before the hang
  ASSERT_EQ(report.not_run.size(), 3u);
  EXPECT_EQ(report.not_run.front().task, 7u);
}

TEST(ChunkExecutor, StopAfterCurrentLetsTheRunningAttemptFinish) {
  const ChunkExecutor executor(attempt, Isolation::None, 0);
  std::vector<sched::Outcome> outcomes;
  auto chunk = chunk_of(3);
  const auto report = executor.run(
      chunk, [&](const auto& o) { outcomes.push_back(o); },
      [&] { return outcomes.empty() ? StopRequest::None : StopRequest::AfterCurrent; });
  EXPECT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(report.not_run.size(), 2u);
  EXPECT_EQ(report.stopped, StopRequest::AfterCurrent);
}
