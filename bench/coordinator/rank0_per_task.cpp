// Rank 0's own work per task, without MPI and without workers: the inputs of the model of
// how many workers one coordinator feeds (docs/performance.md, "Sub-coordinators").
//
//   fracstudy_bench_rank0 [TASKS] [TASKS_PER_MESSAGE] [DIR]
//
// A scheduler for TASKS tasks hands out chunks of TASKS_PER_MESSAGE (what one request
// gets: a worker's chunk, or a relay's chunk for its whole group); for each chunk it times
//   assign  next_chunk + encode_assignments          (per message, then per task)
//   record  decode_outcomes + Scheduler::record       (per task; the metrics to the scratch
//           file, io::open_metric_spill, as in a run)
//   journal take_changed_tasks + append_to_journal    (per task; one fsync per 10,000)
// The outcomes are encoded beforehand, as a worker would. Prints one JSON line.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "fracstudy/exec/protocol.hpp"
#include "fracstudy/io/journal.hpp"
#include "fracstudy/io/metric_spill.hpp"
#include "fracstudy/sched/scheduler.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace fracstudy;
  const std::size_t tasks = argc > 1 ? std::stoul(argv[1]) : 1000000;
  const std::int64_t per_message = argc > 2 ? std::stol(argv[2]) : 256;
  const std::string dir = argc > 3 ? argv[3] : "/tmp";
  sched::SchedulerOptions options;
  options.worker_count = 1;
  options.chunk_size = per_message;
  const std::string result = dir + "/fracstudy_bench_rank0.h5";
  study::TaskRecords records(tasks);
  records.keep_metrics_in(io::open_metric_spill(result, tasks));  // as `fracstudy run` does
  sched::Scheduler scheduler(std::vector<std::size_t>(tasks, 0), std::move(records), 1, options);
  io::start_journal(result, 1);
  double assign_s = 0, record_s = 0, journal_s = 0;
  std::size_t messages = 0, since_flush = 0;
  constexpr int kWorker = 1;
  while (!scheduler.finished()) {
    auto start = Clock::now();
    const auto chunk = scheduler.next_chunk(kWorker, 0);
    const auto assignment = exec::encode_assignments(chunk);
    assign_s += seconds_since(start);
    std::vector<sched::Outcome> outcomes(chunk.size());
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      outcomes[i].task = chunk[i].task;
      outcomes[i].rank = 2;
      outcomes[i].succeeded = true;
      outcomes[i].wall_time_s = 1e-2;
      outcomes[i].metrics.value("df") = 1.9;
      outcomes[i].metrics.value("rg") = 3.5;
      outcomes[i].metrics.value("kf") = 1.1;
    }
    const auto payload = exec::encode_outcomes(outcomes);  // the worker's side
    start = Clock::now();
    for (const auto& outcome : exec::decode_outcomes(payload))
      scheduler.record(kWorker, outcome, 1.0);
    record_s += seconds_since(start);
    ++messages;
    since_flush += chunk.size();
    if (since_flush >= 10000 || scheduler.finished()) {  // a checkpoint
      start = Clock::now();
      const auto changed = scheduler.take_changed_tasks();
      io::append_to_journal(result, changed, scheduler.records());
      journal_s += seconds_since(start);
      since_flush = 0;
    }
    if (assignment.empty()) break;
  }
  io::remove_journal(result);
  const auto n = static_cast<double>(tasks);
  std::printf(
      "{\"tasks\": %zu, \"tasks_per_message\": %lld, \"messages\": %zu, "
      "\"assign_us_per_message\": %.3f, \"record_us_per_task\": %.3f, "
      "\"journal_us_per_task\": %.3f, \"rank0_us_per_task\": %.3f}\n",
      tasks, static_cast<long long>(per_message), messages,
      1e6 * assign_s / static_cast<double>(messages), 1e6 * record_s / n, 1e6 * journal_s / n,
      1e6 * (assign_s + record_s + journal_s) / n);
  return 0;
}
