#include "fracstudy/cli/cli.hpp"

#include <iostream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "errors.hpp"
#include "fracstudy/kernels/models.hpp"
#include "fracstudy/version.hpp"

namespace fracstudy::cli {
namespace {

constexpr Command kCommands[] = {
    {"run", "run STUDY.yaml [-o OUT.h5] [--resume] [--force]",
     "run every study in the file; under `mpirun -n N` rank 0\ncoordinates and ranks 1..N-1 "
     "compute",
     run_command},
    {"retry", "retry OUT.h5", "run the failed tasks of a result file again, in place",
     retry_command},
    {"validate", "validate STUDY.yaml", "check a study file and print the task count per study",
     validate_command},
    {"simulate", "simulate --algorithm DLA --n-particles N [--dimension 2] [--seed S] ...",
     "one simulation, metrics as JSON on stdout", simulate_command},
    {"status", "status OUT.h5 [--json]", "progress of every study in a result file",
     status_command},
    {"export", "export OUT.h5 [--format csv|json] [--table tasks|summary] [--study NAME]",
     "a result table on stdout", export_command},
    {"submit", "submit STUDY.yaml [--ntasks N] [--time T] [-- SBATCH ARGS]",
     "submit the study to Slurm (requeues itself until done)", submit_command},
    {"tools", "tools", "the JSON definitions of the AI tools", tools_command},
    {"tool", "tool NAME [JSON]",
     "call one AI tool (--workspace DIR --launcher local|slurm --ranks N)", tool_command},
    {"mcp", "mcp", "serve the AI tools as an MCP server on stdio", mcp_command},
    {"dispatch-queue", "dispatch-queue --workspace DIR",
     "start the AI tools' waiting studies that fit (run when a study ends)",
     dispatch_queue_command},
};

constexpr const char* kExamples = R"(
Run `fracstudy COMMAND --help` for the options and an example of each command.

Example:
  fracstudy validate configs/examples/dla_sweep.yaml
  mpirun -n 4 fracstudy run configs/examples/dla_sweep.yaml -o dla.h5
  fracstudy status dla.h5
  fracstudy export dla.h5 --table summary
  fracstudy-plot dla.h5 -o figures      # df against N, Rg against N, clusters (PNG)

More commented study files: configs/examples/ (a sweep, a grid, Monte Carlo
ensembles, a comparison of the algorithms).

Exit codes: 0 success, 1 the run failed, 2 bad input (nothing started),
3 interrupted after a clean checkpoint (resume it with --resume).
)";

/// `fracstudy --help`: the models and the commands from their registries.
std::string usage() {
  constexpr std::size_t kColumn = 23;  // where summaries start
  std::string text = "fracstudy: parametric studies of fractal aggregation (" +
                     kernels::model_names(", ") +
                     ")\n\nUsage: fracstudy COMMAND [OPTIONS]\n\nCommands:\n";
  for (const auto& command : kCommands) {
    std::string line = "  " + std::string(command.synopsis);
    if (line.size() + 2 <= kColumn) {
      line.resize(kColumn, ' ');
    } else {
      line += "\n" + std::string(kColumn, ' ');
    }
    for (char c : command.summary)
      line += c == '\n' ? "\n" + std::string(kColumn, ' ') : std::string(1, c);
    text += line + "\n";
  }
  return text + kExamples;
}

const Command* find_command(const std::string& name) {
  for (const auto& command : kCommands) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

std::string command_names() {
  std::string names;
  for (const auto& command : kCommands)
    names += (names.empty() ? "" : ", ") + std::string(command.name);
  return names;
}

}  // namespace

std::span<const Command> commands() {
  return kCommands;
}

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    (args.empty() ? std::cerr : std::cout) << usage();
    return args.empty() ? kBadInput : kSuccess;
  }
  if (args[0] == "--version" || args[0] == "-V") {
    std::cout << "fracstudy " << kVersion << "\n";
    return kSuccess;
  }
  const std::string name = args[0];
  args.erase(args.begin());
  try {
    const Command* command = find_command(name);
    if (!command) {
      throw UsageError("unknown command '" + name + "' (commands: " + command_names() +
                       "; see --help)");
    }
    return command->run(CommandLine{argc, argv, std::move(args)});
  } catch (...) {
    return report_current_exception(name);
  }
}

}  // namespace fracstudy::cli
