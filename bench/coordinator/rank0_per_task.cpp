// Rank 0's own work per task, without MPI and without workers: the inputs of the model of
// how many workers one coordinator feeds (docs/performance.md, "Sub-coordinators").
//
//   fracstudy_bench_rank0 [TASKS] [TASKS_PER_MESSAGE] [DIR] [whole|relay] [PER_CHECKPOINT]
//                         [POINTS]
//
// A scheduler for TASKS tasks (POINTS points of an EDEN sweep, 1 unless given, each with
// TASKS / POINTS repetitions: a task's study, point and cost are looked up) hands out
// chunks of TASKS_PER_MESSAGE (what one request gets: a worker's chunk, or a relay's chunk
// for its whole group); for each chunk it times
//   assign  next_chunk + encode_assignments          (per message, then per task)
//   record  decode_report + Scheduler::record         (per task; the metrics to the scratch
//           file, io::open_metric_spill, as in a run)
//   journal take_changed_tasks + ResultWriter::checkpoint (per task; a checkpoint per
//           PER_CHECKPOINT results, 10,000 unless given, each an append to the journal
//           with its end and an fsync, as in a run: there, one every 10 s by default)
// `whole`: the results carry their metrics (workers, or relays without journals); `relay`:
// the relays keep them in their journals and send task numbers only (Report::kept).
// The final whole write (where rank 0 reads the relays' metrics back) is not timed here:
// it comes once, after the workers have finished. The reports are encoded beforehand, as a
// worker or relay would. Prints one JSON line.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "fracstudy/exec/protocol.hpp"
#include "fracstudy/io/metric_spill.hpp"
#include "fracstudy/io/result_writer.hpp"
#include "fracstudy/kernels/models.hpp"
#include "fracstudy/sched/scheduler.hpp"
#include "fracstudy/study/parser.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace fracstudy;
  std::size_t tasks = argc > 1 ? std::stoul(argv[1]) : 1000000;
  const std::int64_t per_message = argc > 2 ? std::stol(argv[2]) : 256;
  const std::string dir = argc > 3 ? argv[3] : "/tmp";
  const bool relay = argc > 4 && std::string(argv[4]) == "relay";
  const std::size_t per_checkpoint = argc > 5 ? std::stoul(argv[5]) : 10000;
  const std::size_t points = argc > 6 ? std::stoul(argv[6]) : 1;
  const auto file = study::parse_study_text(
      "seed: 1\nstudies:\n  - name: tiny\n    algorithm: EDEN\n    variable_parameter: "
      "n_particles\n    range: {start: 10, stop: " +
          std::to_string(9 + points) +
          ", step: 1}\n    repetitions: " + std::to_string(tasks / points) + "\n",
      "bench.yaml");
  const study::TaskList task_list = study::expand_tasks(file);
  tasks = task_list.size();
  sched::SchedulerOptions options;
  options.worker_count = 1;
  options.chunk_size = per_message;
  // A job of several nodes (rank 2 computes on node1): bad-node bookkeeping runs, as there.
  options.host_of_rank = {"node0", "node0", "node1"};
  const std::string result = dir + "/fracstudy_bench_rank0.h5";
  study::TaskRecords records(tasks);
  records.keep_metrics_in(io::open_metric_spill(result, tasks));  // as `fracstudy run` does
  // As `fracstudy run` builds it: a run per point of its study and of its cost.
  sched::RunLength<std::size_t> study_of_task;
  study_of_task.push_run(tasks, 0);
  const auto& spec = file.studies.front();
  for (const auto& point : spec.points) {
    options.task_cost.push_run(static_cast<std::size_t>(spec.repetitions),
                               kernels::estimated_cost(spec.algorithm, point));
  }
  sched::Scheduler scheduler(std::move(study_of_task), std::move(records), 1, options);
  io::RunStart start;
  start.whole_write_share = 0;  // checkpoints go to the journal, as with relays
  io::ResultWriter writer(result, file, task_list, start);
  writer.write(scheduler.records(), false);
  scheduler.take_changed_tasks();
  double assign_s = 0, record_s = 0, journal_s = 0;
  std::size_t messages = 0, since_checkpoint = 0;
  constexpr int kWorker = 1;
  while (!scheduler.finished()) {
    auto start_time = Clock::now();
    const auto chunk = scheduler.next_chunk(kWorker, 0);
    const auto assignment = exec::encode_assignments(chunk);
    assign_s += seconds_since(start_time);
    exec::Report report;
    for (const auto& assigned : chunk) {
      if (relay) {
        report.kept.push_back({assigned.task, 2, 1e-2});
        continue;
      }
      auto& outcome = report.outcomes.emplace_back();
      outcome.task = assigned.task;
      outcome.rank = 2;
      outcome.succeeded = true;
      outcome.wall_time_s = 1e-2;
      outcome.metrics.value("df") = 1.9;
      outcome.metrics.value("rg") = 3.5;
      outcome.metrics.value("kf") = 1.1;
    }
    const auto payload = exec::encode_report(report);  // the worker's or relay's side
    start_time = Clock::now();
    const auto received = exec::decode_report(payload);
    for (const auto& kept : received.kept)
      scheduler.record_kept(kWorker, kept, 1.0);
    for (const auto& outcome : received.outcomes)
      scheduler.record(kWorker, outcome, 1.0);
    record_s += seconds_since(start_time);
    ++messages;
    since_checkpoint += chunk.size();
    if (since_checkpoint >= per_checkpoint || scheduler.finished()) {
      start_time = Clock::now();
      std::vector<study::ProgressTally> now;  // as `fracstudy run` passes them with relays
      if (relay) {
        const auto counts = scheduler.counts(0);
        now.push_back({counts, counts.work, {}});
      }
      writer.checkpoint(scheduler.records(), scheduler.take_changed_tasks(), false, now);
      journal_s += seconds_since(start_time);
      since_checkpoint = 0;
    }
    if (assignment.empty()) break;
  }
  std::remove(result.c_str());
  std::remove((result + ".journal").c_str());
  const auto n = static_cast<double>(tasks);
  std::printf(
      "{\"tasks\": %zu, \"tasks_per_message\": %lld, \"results\": \"%s\", "
      "\"per_checkpoint\": %zu, \"messages\": %zu, "
      "\"assign_us_per_message\": %.3f, \"record_us_per_task\": %.3f, "
      "\"journal_us_per_task\": %.3f, \"rank0_us_per_task\": %.3f}\n",
      tasks, static_cast<long long>(per_message), relay ? "relay" : "whole", per_checkpoint,
      messages, 1e6 * assign_s / static_cast<double>(messages), 1e6 * record_s / n,
      1e6 * journal_s / n, 1e6 * (assign_s + record_s + journal_s) / n);
  return 0;
}
