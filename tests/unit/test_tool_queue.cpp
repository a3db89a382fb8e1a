// The queue of waiting studies and the per-tool call budgets, as the workspace keeps them
// for every process that shares it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "fracstudy/tools/queue.hpp"
#include "fracstudy/tools/workspace.hpp"

namespace fs = std::filesystem;
using fracstudy::tools::CallBudget;
using fracstudy::tools::in_start_order;
using fracstudy::tools::Priority;
using fracstudy::tools::QueuedStudy;
using fracstudy::tools::Workspace;

namespace {

class TempWorkspace : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("fracstudy-queue-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

QueuedStudy waiting(const std::string& id, Priority priority, std::uint64_t sequence) {
  QueuedStudy study;
  study.id = id;
  study.priority = priority;
  study.sequence = sequence;
  return study;
}

}  // namespace

TEST(StudyQueue, HighFirstThenNormalThenBatchAndOldestFirstWithinEach) {
  const auto order =
      in_start_order({waiting("b1", Priority::Batch, 1), waiting("n2", Priority::Normal, 2),
                      waiting("h5", Priority::High, 5), waiting("n1", Priority::Normal, 1),
                      waiting("h3", Priority::High, 3)});
  std::vector<std::string> ids;
  for (const auto& study : order)
    ids.push_back(study.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"h3", "h5", "n1", "n2", "b1"}));
}

TEST(StudyQueue, AnEntryRoundTripsAndAMalformedOneIsNone) {
  QueuedStudy study = waiting("s", Priority::Batch, 7);
  study.client = "mcp-12";
  study.retry = true;
  study.token = "0123abcd";
  const auto back = QueuedStudy::from_json("s", study.to_json().dump());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->priority, Priority::Batch);
  EXPECT_EQ(back->sequence, 7u);
  EXPECT_EQ(back->client, "mcp-12");
  EXPECT_TRUE(back->retry);
  EXPECT_EQ(back->token, "0123abcd");
  for (const char* bad :
       {"", "[]", "{\"priority\": \"urgent\", \"sequence\": 1}", "{\"priority\": \"high\"}",
        "{\"priority\": \"high\", \"sequence\": 1}",  // no token
        "{\"priority\": \"high\", \"sequence\": 1, \"token\": \"\"}",
        "{\"priority\": \"high\", \"sequence\": -1}", "{\"priority\": 3, \"sequence\": 1}"}) {
    EXPECT_FALSE(QueuedStudy::from_json("s", bad)) << bad;
  }
}

TEST_F(TempWorkspace, LookingAtTheQueueMakesNothing) {
  // The waiter of a run that ends while its workspace is removed only looks: it must not
  // put a folder back (a removal then fails: "directory not empty").
  EXPECT_THROW(Workspace(root_.string(), false), std::exception);
  EXPECT_FALSE(fs::exists(root_));
  const Workspace made(root_.string());
  const Workspace existing(root_.string(), false);
  EXPECT_TRUE(existing.queue_entries().empty());
  EXPECT_FALSE(existing.remove_queue_entry("a"));
  EXPECT_FALSE(fs::exists(root_ / ".fracstudy" / "queue"));
}

TEST_F(TempWorkspace, QueueEntriesAreWrittenListedAndRemovedOnce) {
  const Workspace workspace(root_.string());
  EXPECT_TRUE(workspace.queue_entries().empty());
  workspace.write_queue_entry("a", "one");
  workspace.write_queue_entry("b", "two");
  workspace.write_queue_entry("a", "three");  // replaced, not doubled
  auto entries = workspace.queue_entries();
  std::sort(entries.begin(), entries.end());
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0], (std::pair<std::string, std::string>{"a", "three"}));
  EXPECT_TRUE(workspace.remove_queue_entry("a"));
  EXPECT_FALSE(workspace.remove_queue_entry("a"));
  EXPECT_FALSE(workspace.remove_queue_entry("../b"));
  EXPECT_EQ(workspace.queue_entries().size(), 1u);
  EXPECT_THROW(workspace.write_queue_entry("../evil", "x"), std::invalid_argument);
}

TEST_F(TempWorkspace, LinksPlantedInTheQueueAreNotEntries) {
  const Workspace workspace(root_.string());
  workspace.write_queue_entry("real", "x");
  const fs::path outside = root_ / "outside.txt";
  { std::ofstream(outside) << "secret"; }
  fs::create_symlink(outside, root_ / ".fracstudy" / "queue" / "planted");
  const auto entries = workspace.queue_entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].first, "real");
}

TEST_F(TempWorkspace, AQueueFolderThatIsALinkIsRefused) {
  const Workspace workspace(root_.string());
  fs::create_directories(root_ / "elsewhere");
  fs::create_directory_symlink(root_ / "elsewhere", root_ / ".fracstudy" / "queue");
  EXPECT_THROW(workspace.write_queue_entry("a", "x"), std::runtime_error);
  EXPECT_TRUE(fs::is_empty(root_ / "elsewhere"));
}

TEST_F(TempWorkspace, TheSequenceGrowsByOne) {
  const Workspace workspace(root_.string());
  EXPECT_EQ(workspace.next_queue_sequence(), 1u);
  EXPECT_EQ(workspace.next_queue_sequence(), 2u);
  EXPECT_EQ(Workspace(root_.string()).next_queue_sequence(), 3u);
}

TEST_F(TempWorkspace, AToolsBudgetCountsThatToolPerClientOnly) {
  const Workspace workspace(root_.string());
  const std::vector<CallBudget> budgets = {{"", 100, 60}, {"run_simulation", 2, 60}};
  EXPECT_FALSE(workspace.admit_call("alice", "run_simulation", budgets));
  EXPECT_FALSE(workspace.admit_call("alice", "run_simulation", budgets));
  const auto refused = workspace.admit_call("alice", "run_simulation", budgets);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->budget.tool, "run_simulation");
  EXPECT_GT(refused->retry_after_s, 55);
  EXPECT_LE(refused->retry_after_s, 60);
  // Other tools of the same client, and the same tool of another client, still fit.
  EXPECT_FALSE(workspace.admit_call("alice", "list_studies", budgets));
  EXPECT_FALSE(workspace.admit_call("bob", "run_simulation", budgets));
}

TEST_F(TempWorkspace, TheBudgetOfEveryToolCountsAllOfThem) {
  const Workspace workspace(root_.string());
  const std::vector<CallBudget> budgets = {{"", 3, 60}, {"run_simulation", 10, 60}};
  EXPECT_FALSE(workspace.admit_call("c", "run_simulation", budgets));
  EXPECT_FALSE(workspace.admit_call("c", "list_studies", budgets));
  EXPECT_FALSE(workspace.admit_call("c", "check_study_status", budgets));
  const auto refused = workspace.admit_call("c", "run_simulation", budgets);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->budget.tool, "");
}
