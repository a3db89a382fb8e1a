#pragma once
/// Runs one attempt of one task and turns whatever happens into an Outcome.
#include <functional>
#include <vector>

#include "fracstudy/sched/scheduler.hpp"
#include "fracstudy/study/spec.hpp"
#include "fracstudy/study/tasks.hpp"

namespace fracstudy::exec {

/// A hook called at the start of every attempt, before the simulation. Only test builds
/// (FRACSTUDY_FAULT_INJECTION) install one, to make chosen attempts fail.
using FaultHook = std::function<void(const study::Task& task, int attempt)>;

/// Runs the tasks of one study file; every rank holds the same one.
class TaskRunner {
 public:
  /// Installs the process-wide fault hook (test builds only).
  static void set_fault_hook(FaultHook hook);

  TaskRunner(const study::StudyFile& file, const std::vector<study::Task>& tasks)
      : file_(file), tasks_(tasks) {}

  /// Runs one attempt within the study's time limit. Never throws: an exception, a
  /// timeout or invalid parameters become a failed Outcome with the reason.
  sched::Outcome run(const sched::Assignment& assignment) const;

  std::size_t task_count() const { return tasks_.size(); }

 private:
  const study::StudyFile& file_;
  const std::vector<study::Task>& tasks_;
};

}  // namespace fracstudy::exec
