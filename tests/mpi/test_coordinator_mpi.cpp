// The coordinator and workers over real MPI: every task runs once, results arrive, and
// the outcome does not depend on the number of ranks.
#include <gtest/gtest.h>

#include <mpi.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <cmath>
#include <cstring>
#include <vector>

#include "fracstudy/exec/coordinator.hpp"
#include "fracstudy/exec/task_runner.hpp"
#include "fracstudy/study/parser.hpp"
#include "fracstudy/study/tasks.hpp"
#include "fracstudy/transport/mpi_transport.hpp"

using namespace fracstudy;

namespace {

struct NullObserver : exec::ProgressObserver {
  void checkpoint(sched::Scheduler&, bool) override {}
};

const char* kStudy = R"(seed: 11
execution: {max_retries: 2}
studies:
  - name: small
    algorithm: DLA
    variable_parameter: n_particles
    values: [20, 40, 60]
    repetitions: 4
  - name: small3d
    algorithm: DLA
    base_parameters: {dimension: 3, n_particles: 30}
    repetitions: 5
)";

}  // namespace

TEST(MpiCoordinator, RealTasksCompleteOnceEachWithRankIndependentResults) {
  transport::MpiTransport transport;
  // Every rank builds the task list from the broadcast text, as `fracstudy run` does.
  const auto text = transport.broadcast(transport.rank() == 0 ? kStudy : "");
  const auto file = study::parse_study_text(text, "mpi.yaml");
  const auto tasks = study::expand_tasks(file);
  const exec::TaskRunner runner(file);
  std::vector<std::size_t> study_of;
  for (const auto& t : tasks)
    study_of.push_back(t.study);
  if (transport.rank() != 0) {
    // Attempts run in forked children, as in production.
    const exec::ChunkExecutor executor([&runner](const auto& a) { return runner.run(a); },
                                       exec::Isolation::Process, 0);
    exec::run_worker(transport, executor, exec::LoopOptions{});
    return;
  }
  sched::SchedulerOptions options;
  options.worker_count = transport.size() - 1;
  sched::Scheduler scheduler(study_of, std::vector<study::TaskRecord>(tasks.size()),
                             file.studies.size(), options);
  NullObserver observer;
  exec::run_coordinator(scheduler, transport, observer, exec::LoopOptions{});
  ASSERT_TRUE(scheduler.finished());
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const auto& record = scheduler.records()[i];
    EXPECT_EQ(record.status, study::TaskStatus::Completed) << record.error;
    EXPECT_EQ(record.attempts, 1);
    EXPECT_GE(record.worker_rank, 1);
    EXPECT_LT(record.worker_rank, transport.size());
    // The same attempt computed on rank 0 itself gives the same metrics.
    const auto local = runner.run(sched::Assignment{i, 1});
    for (std::size_t m = 0; m < kernels::kMetricCount; ++m) {
      // NaN (a cluster too small for an estimator) equals NaN here.
      const bool both_nan = std::isnan(local.metrics[m]) && std::isnan(record.metrics[m]);
      if (!both_nan) {
        EXPECT_EQ(local.metrics[m], record.metrics[m])
            << "task " << i << " " << kernels::kMetrics[m].name;
      }
    }
  }
}

TEST(MpiCoordinator, BroadcastReachesEveryRank) {
  transport::MpiTransport transport;
  const auto text = transport.broadcast(transport.rank() == 0 ? "from rank 0" : "");
  EXPECT_EQ(text, "from rank 0");
}

TEST(MpiTransport, AFailedMpiCallIsAnErrorThatNamesTheCallAndMpisReason) {
  // With MPI's default handler the job would end here; fracstudy reports it instead.
  transport::MpiTransport transport;
  try {
    transport.send(transport.size() + 7, 1, {});
    FAIL() << "sending to a rank that does not exist succeeded";
  } catch (const transport::MpiError& error) {
    const std::string what = error.what();
    EXPECT_NE(what.find("MPI_Send"), std::string::npos) << what;
    EXPECT_NE(what.find("rank"), std::string::npos) << what;  // MPI's own words
  }
}

TEST(MpiTransport, AFreedMessagesMemoryStaysInTheProcessForTheNext) {
#ifdef __GLIBC__
  // MpiEnvironment (in the test main, as in fracstudy) keeps a freed payload of a few MB
  // in the heap: glibc's defaults map such a block afresh and unmap it when freed, and each
  // next message of a run then faulted its pages in again (docs/performance.md).
  constexpr std::size_t kPayload = std::size_t{16} << 20;
  const std::size_t mapped_before = mallinfo2().hblkhd;
  {
    std::vector<std::byte> payload(kPayload);
    std::memset(payload.data(), 1, payload.size());
    EXPECT_EQ(mallinfo2().hblkhd, mapped_before) << "the payload was mapped on its own";
  }
  EXPECT_GE(mallinfo2().fordblks, kPayload) << "the freed payload went back to the kernel";
#else
  GTEST_SKIP() << "glibc's allocator only";
#endif
}
