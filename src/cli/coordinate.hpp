#pragma once
// Running a plan on each rank (private to the CLI layer): rank 0 coordinates and saves the
// result file, the others compute or relay.
#include <string>
#include <vector>

#include "fracstudy/exec/coordinator.hpp"
#include "fracstudy/sched/topology.hpp"
#include "fracstudy/study/tasks.hpp"
#include "fracstudy/transport/transport.hpp"
#include "run_plan.hpp"

namespace fracstudy::cli {

/// The loop options of a run: timing from the study file's execution section.
exec::LoopOptions loop_options(const study::ExecutionOptions& execution, double drain_grace_s);

/// Rank 0: runs the plan's tasks (itself when alone, else through the other ranks), saving
/// the result file at every checkpoint, and reports the end; returns the exit code.
int coordinate(RunPlan& plan, const study::TaskList& tasks, transport::Transport& transport,
               const sched::Topology& topology);

/// Where a relay keeps its group's completed results: beside the result file.
struct RelayJournal {
  std::string result_path;                ///< rank 0's output
  std::vector<std::string> host_of_rank;  ///< each rank's node, for the records
};

/// Any other rank: computes (or relays, keeping its group's results in `journal`) until
/// rank 0 stops it; returns the exit code.
int work(const study::StudyFile& file, transport::Transport& transport,
         const exec::LoopOptions& loop, const sched::Topology& topology,
         const RelayJournal& journal);

}  // namespace fracstudy::cli
