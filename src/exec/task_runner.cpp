#include "fracstudy/exec/task_runner.hpp"

#include <chrono>
#include <exception>

#include "fracstudy/kernels/metrics.hpp"
#include "fracstudy/kernels/models.hpp"

namespace fracstudy::exec {
namespace {
FaultHook& fault_hook() {
  static FaultHook hook;
  return hook;
}
bool keeps_cluster(study::SaveClusters policy, const study::Task& task) {
  return policy == study::SaveClusters::All ||
         (policy == study::SaveClusters::First && task.repetition == 0);
}

}  // namespace

void TaskRunner::set_fault_hook(FaultHook hook) {
  fault_hook() = std::move(hook);
}

sched::Outcome TaskRunner::run(const sched::Assignment& assignment) const {
  const study::Task task = tasks_.at(assignment.task);
  const study::StudySpec& spec = file_.studies.at(task.study);
  sched::Outcome outcome;
  outcome.task = assignment.task;
  const auto start = std::chrono::steady_clock::now();
  try {
    const auto deadline = kernels::Deadline::after(file_.execution.task_time_limit_s);
    if (fault_hook()) fault_hook()(task, assignment.attempt);
    const auto result =
        kernels::simulate(spec.algorithm, spec.points.at(task.point), task.seed, deadline);
    outcome.succeeded = true;
    outcome.metrics = kernels::MetricValues::of(result);
    if (keeps_cluster(file_.execution.save_clusters, task)) {
      // S(q) is computed here, where the task ran: rank 0 only stores it.
      const auto curve = kernels::structure_factor_of(result, spec.points.at(task.point));
      outcome.cluster.positions.assign(result.positions.begin(), result.positions.end());
      outcome.cluster.structure_factor.assign(curve.begin(), curve.end());
    }
  } catch (const kernels::DeadlineExceeded&) {
    outcome.error = "timeout";
  } catch (const std::exception& error) {
    outcome.error = std::string("exception: ") + error.what();
  } catch (...) {
    outcome.error = "exception: unknown";
  }
  outcome.wall_time_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return outcome;
}

}  // namespace fracstudy::exec
