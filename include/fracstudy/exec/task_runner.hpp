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

  /// Tasks are computed from their index (study::task_at): a worker holds no task list.
  explicit TaskRunner(const study::StudyFile& file) : file_(file), tasks_(file) {}

  /// Runs one attempt within the study's time limit. Never throws: an exception, a
  /// timeout or invalid parameters become a failed Outcome with the reason.
  sched::Outcome run(const sched::Assignment& assignment) const;

  std::size_t task_count() const { return static_cast<std::size_t>(file_.task_count()); }

 private:
  const study::StudyFile& file_;
  study::TaskList tasks_;  // each task made when asked: a worker holds no list of millions
};

}  // namespace fracstudy::exec
