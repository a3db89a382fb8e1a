// The coordinator's records with their metrics in a scratch file (issue 17: rank 0 of ten
// million tasks must not hold them): the same records as in memory, whatever the order of
// the writes, and no metric lost when the disk is full.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "fracstudy/io/metric_spill.hpp"
#include "fracstudy/study/records.hpp"

namespace fracstudy {
namespace {

kernels::MetricValues values_of(std::size_t task, int version) {
  kernels::MetricValues values;
  for (std::size_t m = 0; m < kernels::kMetricCount; ++m) {
    if ((task + m) % 5 == 0) continue;  // some metrics have no value (NaN)
    values[m] = static_cast<double>(task) + 0.001 * static_cast<double>(m) + 1e6 * version;
  }
  return values;
}

void expect_same(const kernels::MetricValues& got, const kernels::MetricValues& wanted,
                 std::size_t task) {
  for (std::size_t m = 0; m < kernels::kMetricCount; ++m) {
    if (std::isnan(wanted[m])) {
      EXPECT_TRUE(std::isnan(got[m])) << "task " << task << " metric " << m;
    } else {
      EXPECT_EQ(got[m], wanted[m]) << "task " << task << " metric " << m;
    }
  }
}

/// Sets metrics on both, in an order like a run's (mostly ascending, some rewritten, some
/// never), reading some back as it goes; then both must read the same everywhere.
void drive(study::TaskRecords& spilled, study::TaskRecords& in_memory, std::size_t tasks) {
  std::mt19937_64 random(7);
  std::vector<std::size_t> order;
  for (std::size_t task = 0; task < tasks; ++task) {
    if (task % 7 != 3) order.push_back(task);  // every 7th task never completes
    if (task % 7 == 3 && task % 2 == 0) {      // or is set without metrics (a resumed file)
      spilled.set_metrics(task, kernels::MetricValues());
      in_memory.set_metrics(task, kernels::MetricValues());
    }
  }
  for (std::size_t i = 0; i + 1 < order.size(); i += 2) {  // out of order in pairs
    if (random() % 3 == 0) std::swap(order[i], order[i + 1]);
  }
  for (std::size_t i = 0; i < order.size(); ++i) {
    const std::size_t task = order[i];
    const int version = random() % 10 == 0 ? 1 : 0;
    spilled.set_metrics(task, values_of(task, version));
    in_memory.set_metrics(task, values_of(task, version));
    if (version == 1) {  // written again (a record assigned anew)
      spilled.set_metrics(task, values_of(task, 2));
      in_memory.set_metrics(task, values_of(task, 2));
    } else if (task % 13 == 0) {  // emptied again: no metrics any more
      spilled.set_metrics(task, kernels::MetricValues());
      in_memory.set_metrics(task, kernels::MetricValues());
    }
    if (i % 997 == 0) {
      const std::size_t back = order[random() % (i + 1)];
      expect_same(spilled.metrics(back), in_memory.metrics(back), back);
    }
  }
  for (std::size_t task = 0; task < tasks; ++task)
    expect_same(spilled[task].metrics, in_memory[task].metrics, task);
}

TEST(MetricSpill, RecordsReadTheSameMetricsFromTheScratchFileAsFromMemory) {
  const auto dir = std::filesystem::temp_directory_path() / "fracstudy_metric_spill";
  std::filesystem::create_directories(dir);
  constexpr std::size_t kTasks = 50000;  // many batches and blocks of rows
  study::TaskRecords spilled(kTasks), in_memory(kTasks);
  spilled.set_metrics(10, values_of(10, 3));  // held before the store: it moves there
  in_memory.set_metrics(10, values_of(10, 3));
  const auto result = (dir / "out.h5").string();
  // No disk holds 4 times the rows of 10^15 tasks: their metrics would stay in memory.
  EXPECT_EQ(io::open_metric_spill(result, std::size_t{1} << 50), nullptr);
  auto store = io::open_metric_spill(result, kTasks);
  ASSERT_NE(store, nullptr);
  spilled.keep_metrics_in(std::move(store));
  drive(spilled, in_memory, kTasks);
  // The scratch file has no name: nothing is left in the directory.
  EXPECT_TRUE(std::filesystem::is_empty(dir));
  const study::TaskRecords copy(spilled);  // a copy holds the metrics itself
  for (std::size_t task = 0; task < kTasks; task += 101)
    expect_same(copy[task].metrics, in_memory[task].metrics, task);
  std::filesystem::remove_all(dir);
}

TEST(MetricSpill, RowsAFullDiskWillNotTakeStayInMemory) {
  const int full = ::open("/dev/full", O_RDWR | O_CLOEXEC);
  ASSERT_GE(full, 0);
  constexpr std::size_t kTasks = 20000;
  study::TaskRecords spilled(kTasks), in_memory(kTasks);
  spilled.keep_metrics_in(io::metric_spill(full));
  drive(spilled, in_memory, kTasks);
}

}  // namespace
}  // namespace fracstudy
