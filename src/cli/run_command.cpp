// `fracstudy run` and `fracstudy retry`: the MPI agreement. Rank 0 prepares the plan
// (run_plan.cpp); every rank learns the verdict, the study and the tree of ranks; then rank
// 0 coordinates and the others compute (coordinate.cpp).
#include <csignal>
#include <iostream>

#include "commands.hpp"
#include "coordinate.hpp"
#include "errors.hpp"
#include "fracstudy/cli/cli.hpp"
#include "fracstudy/exec/drain.hpp"
#include "fracstudy/study/errors.hpp"
#include "fracstudy/study/parser.hpp"
#include "fracstudy/transport/mpi_transport.hpp"
#include "options.hpp"
#include "run_plan.hpp"

namespace fracstudy::cli {
namespace {

/// Every rank builds the same tree of ranks from rank 0's `--relays` (collective).
sched::Topology agree_on_topology(transport::MpiTransport& transport,
                                  const sched::RelayPolicy* coordinator_policy) {
  const auto text = transport.broadcast(coordinator_policy ? coordinator_policy->to_string() : "");
  const auto policy = sched::RelayPolicy::parse(text).value_or(sched::RelayPolicy{});
  const bool needs_nodes = policy.kind == sched::RelayPolicy::Kind::PerNode ||
                           policy.kind == sched::RelayPolicy::Kind::Automatic;
  const auto nodes = needs_nodes ? transport.node_of_rank()
                                 : std::vector<int>(static_cast<std::size_t>(transport.size()), 0);
  return sched::Topology::from_policy(policy, nodes);
}

/// The part `run` and `retry` share: agree on the plan, then coordinate or compute.
int execute(const CommandLine& line, const char* name,
            std::optional<RunPlan> (*prepare)(const std::vector<std::string>&)) {
  // Before MPI starts: a drain signal that arrives during start-up must not kill the rank.
  exec::install_drain_signal_handlers();
  int argc = line.argc;
  char** argv = line.argv;
  transport::MpiEnvironment mpi(argc, argv);
  transport::MpiTransport transport;
  // Past a file-size limit, writes should fail (and be reported), not kill the process.
  std::signal(SIGXFSZ, SIG_IGN);
  // Rank 0 checks everything first; every rank learns the verdict before any work
  // starts, so bad input never leaves ranks waiting for each other.
  std::optional<RunPlan> plan;
  int verdict = kSuccess;
  if (transport.rank() == 0) {
    try {
      plan = prepare(line.args);
    } catch (...) {
      verdict = report_current_exception(name);
    }
  }
  const std::string shared_verdict = transport.broadcast(plan ? "go" : std::to_string(verdict));
  if (shared_verdict != "go") return std::stoi(shared_verdict);
  const bool coordinator = transport.rank() == 0;
  const std::string text = transport.broadcast(coordinator ? plan->file.text : "");
  const std::string path = transport.broadcast(coordinator ? plan->file.path : "");
  const auto topology = agree_on_topology(transport, coordinator ? &plan->relays : nullptr);
  const auto hosts = transport.host_of_rank();  // collective: every rank takes part
  const std::string output = transport.broadcast(coordinator ? plan->output : "");
  try {
    if (coordinator) {
      plan->start.layout.host_of_rank = hosts;
      const auto tasks = study::expand_tasks(plan->file);
      return coordinate(*plan, tasks, transport, topology);
    }
    const auto file = study::parse_study_text(text, path);
    return work(file, transport, loop_options(file.execution, 0), topology, {output, hosts});
  } catch (...) {
    // Work has started: whatever went wrong, the run failed.
    report_current_exception(name);
    if (transport.size() == 1) return kFailure;
    // The workers would wait forever for rank 0: tell them to leave. A worker that fails
    // cannot be helped that way (rank 0 waits for its messages): end the job.
    if (coordinator) {
      try {
        exec::stop_workers_after_failure(transport);
      } catch (...) {  // MPI itself failed: the workers cannot be told, end the job
        transport::MpiEnvironment::abort(kFailure);
      }
      return kFailure;
    }
    transport::MpiEnvironment::abort(kFailure);
  }
}

}  // namespace

int run_command(const CommandLine& line) {
  return execute(line, "run", prepare_run);
}

int retry_command(const CommandLine& line) {
  return execute(line, "retry", prepare_retry);
}

}  // namespace fracstudy::cli
