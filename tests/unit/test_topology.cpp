// The tree of ranks under relays, and how the scheduler sizes a relay's chunks.
#include <gtest/gtest.h>

#include "fracstudy/sched/scheduler.hpp"
#include "fracstudy/sched/topology.hpp"

using namespace fracstudy::sched;

TEST(Topology, FlatMakesEveryRankAWorkerOfRankZero) {
  const auto topology = Topology::flat(5);
  EXPECT_EQ(topology.parent(0), -1);
  EXPECT_EQ(topology.children(0), (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(topology.relay_count(), 0);
  EXPECT_EQ(topology.compute_ranks(), 4);
}

TEST(Topology, FixedGroupsPutARelayAtTheHeadOfEachGroup) {
  const auto topology = Topology::fixed_groups(9, 4);
  EXPECT_EQ(topology.children(0), (std::vector<int>{1, 5}));
  EXPECT_EQ(topology.children(1), (std::vector<int>{2, 3, 4}));
  EXPECT_EQ(topology.children(5), (std::vector<int>{6, 7, 8}));
  EXPECT_TRUE(topology.is_relay(5));
  EXPECT_FALSE(topology.is_relay(6));
  EXPECT_EQ(topology.parent(7), 5);
  EXPECT_EQ(topology.compute_ranks(), 6);
  EXPECT_EQ(topology.capacity(1), 3);
  EXPECT_EQ(topology.capacity(2), 1);
}

TEST(Topology, ARankThatWouldBeARelayAloneJoinsTheLastGroup) {
  const auto topology = Topology::fixed_groups(6, 4);  // ranks 1..5: a group of 4, then 5
  EXPECT_EQ(topology.children(0), (std::vector<int>{1}));
  EXPECT_EQ(topology.children(1), (std::vector<int>{2, 3, 4, 5}));
  // Two ranks: no group is possible, the worker answers to rank 0.
  EXPECT_EQ(Topology::fixed_groups(2, 4).children(0), (std::vector<int>{1}));
  EXPECT_EQ(Topology::fixed_groups(2, 4).relay_count(), 0);
}

TEST(Topology, PerNodeGroupsTheRanksOfEachNode) {
  // Ranks 0-3 on the node named 0, ranks 4-7 on node 4, rank 8 alone on node 8.
  const auto topology = Topology::per_node({0, 0, 0, 0, 4, 4, 4, 4, 8});
  EXPECT_EQ(topology.children(0), (std::vector<int>{1, 4, 8}));
  EXPECT_EQ(topology.children(1), (std::vector<int>{2, 3}));
  EXPECT_EQ(topology.children(4), (std::vector<int>{5, 6, 7}));
  EXPECT_FALSE(topology.is_relay(8));
  EXPECT_EQ(topology.compute_ranks(), 6);
}

TEST(Topology, AutomaticRelaysNeedManyWorkersOnSeveralNodes) {
  const RelayPolicy automatic;
  std::vector<int> one_node(600, 0);
  EXPECT_EQ(Topology::from_policy(automatic, one_node).relay_count(), 0);
  std::vector<int> small_two_nodes(64, 0);
  for (std::size_t r = 32; r < small_two_nodes.size(); ++r)
    small_two_nodes[r] = 32;
  EXPECT_EQ(Topology::from_policy(automatic, small_two_nodes).relay_count(), 0);
  std::vector<int> big_two_nodes(kAutomaticRelayThreshold + 1, 0);
  for (std::size_t r = big_two_nodes.size() / 2; r < big_two_nodes.size(); ++r)
    big_two_nodes[r] = 7;
  EXPECT_EQ(Topology::from_policy(automatic, big_two_nodes).relay_count(), 2);
}

TEST(RelayPolicy, ParsesWhatTheCommandLineAccepts) {
  EXPECT_EQ(RelayPolicy::parse("none")->kind, RelayPolicy::Kind::None);
  EXPECT_EQ(RelayPolicy::parse("node")->kind, RelayPolicy::Kind::PerNode);
  EXPECT_EQ(RelayPolicy::parse("auto")->kind, RelayPolicy::Kind::Automatic);
  EXPECT_EQ(RelayPolicy::parse("16")->group_size, 16);
  EXPECT_EQ(RelayPolicy::parse("16")->to_string(), "16");
  for (const char* bad : {"1", "0", "-4", "4x", "", "nodes"}) {
    EXPECT_FALSE(RelayPolicy::parse(bad)) << bad;
  }
}

namespace {

Scheduler scheduler_with_relay(std::size_t tasks, std::optional<std::int64_t> chunk_size) {
  SchedulerOptions options;
  options.worker_count = 8;             // computing ranks in all
  options.worker_capacity = {0, 4, 1};  // rank 1 relays for 4 workers; rank 2 computes
  options.chunk_size = chunk_size;
  return Scheduler(std::vector<std::size_t>(tasks, 0), std::vector<TaskRecord>(tasks), 1, options);
}

}  // namespace

TEST(SchedulerWithRelays, ARelaysChunkFeedsItsWholeGroup) {
  auto fixed = scheduler_with_relay(100, 5);
  EXPECT_EQ(fixed.next_chunk(1, 0).size(), 20u);  // 5 per worker, 4 workers
  EXPECT_EQ(fixed.next_chunk(2, 0).size(), 5u);
  // Before any duration is known: one task per worker, so no worker of the group waits
  // for another's first task to end.
  auto automatic = scheduler_with_relay(100, std::nullopt);
  EXPECT_EQ(automatic.next_chunk(1, 0).size(), 4u);
  EXPECT_EQ(automatic.next_chunk(2, 0).size(), 1u);
}

TEST(SchedulerWithRelays, TheRecordNamesTheRankThatRanTheTask) {
  auto scheduler = scheduler_with_relay(10, 2);
  const auto chunk = scheduler.next_chunk(1, 0);
  Outcome outcome;
  outcome.task = chunk[0].task;
  outcome.rank = 7;  // a worker of relay 1
  outcome.succeeded = true;
  scheduler.record(1, outcome, 1);
  EXPECT_EQ(scheduler.records()[chunk[0].task].worker_rank, 7);
  EXPECT_EQ(scheduler.records()[chunk[0].task].status, TaskStatus::Completed);
}
