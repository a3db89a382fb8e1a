#include "fracstudy/cli/cli.hpp"

#include <boost/program_options/errors.hpp>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "fracstudy/kernels/models.hpp"
#include "fracstudy/study/errors.hpp"
#include "fracstudy/version.hpp"

namespace fracstudy::cli {
namespace {

constexpr const char* kUsageTitle = "fracstudy: parametric studies of fractal aggregation (";
constexpr const char* kUsage = R"()

Usage: fracstudy COMMAND [OPTIONS]

Commands:
  run STUDY.yaml [-o OUT.h5] [--resume] [--force]
                       run every study in the file; under `mpirun -n N` rank 0
                       coordinates and ranks 1..N-1 compute
  retry OUT.h5         run the failed tasks of a result file again, in place
  validate STUDY.yaml  check a study file and print the task count per study
  simulate --algorithm DLA --n-particles N [--dimension 2] [--seed S] ...
                       one simulation, metrics as JSON on stdout
  status OUT.h5 [--json]
                       progress of every study in a result file
  export OUT.h5 [--format csv|json] [--table tasks|summary] [--study NAME]
                       a result table on stdout
  submit STUDY.yaml [--ntasks N] [--time T] [-- SBATCH ARGS]
                       submit the study to Slurm (requeues itself until done)
  tools                the JSON definitions of the AI tools
  tool NAME [JSON]     call one AI tool (--workspace DIR --launcher local|slurm --ranks N)
  mcp                  serve the AI tools as an MCP server on stdio

Run `fracstudy COMMAND --help` for the options and an example of each command.

Example:
  fracstudy validate configs/examples/dla_sweep.yaml
  mpirun -n 4 fracstudy run configs/examples/dla_sweep.yaml -o dla.h5
  fracstudy status dla.h5
  fracstudy export dla.h5 --table summary
  fracstudy-plot dla.h5 -o figures      # df against N, Rg against N, clusters (PNG)

More commented study files: configs/examples/ (a sweep, a grid, Monte Carlo
ensembles, a comparison of the four algorithms).

Exit codes: 0 success, 1 the run failed, 2 bad input (nothing started),
3 interrupted after a clean checkpoint (resume it with --resume).
)";

int dispatch(int argc, char** argv, const std::string& command,
             const std::vector<std::string>& args) {
  if (command == "run") return run_command(argc, argv, args);
  if (command == "retry") return retry_command(argc, argv, args);
  if (command == "validate") return validate_command(args);
  if (command == "simulate") return simulate_command(args);
  if (command == "status") return status_command(args);
  if (command == "export") return export_command(args);
  if (command == "tools") return tools_command(args);
  if (command == "tool") return tool_command(args);
  if (command == "mcp") return mcp_command(args);
  if (command == "submit") return submit_command(args);
  throw study::InputError("unknown command '" + command +
                          "' (commands: run, retry, validate, simulate, status, export, submit, "
                          "tools, tool, mcp; see --help)");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    (args.empty() ? std::cerr : std::cout) << kUsageTitle << kernels::model_names(", ") << kUsage;
    return args.empty() ? kBadInput : kSuccess;
  }
  if (args[0] == "--version" || args[0] == "-V") {
    std::cout << "fracstudy " << kVersion << "\n";
    return kSuccess;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  try {
    return dispatch(argc, argv, command, args);
  } catch (const study::InputError& error) {
    std::cerr << "fracstudy " << command << ": " << error.what() << "\n";
    return kBadInput;
  } catch (const boost::program_options::error& error) {
    std::cerr << "fracstudy " << command << ": " << error.what() << " (see fracstudy " << command
              << " --help)\n";
    return kBadInput;
  } catch (const std::exception& error) {
    std::cerr << "fracstudy " << command << ": error: " << error.what() << "\n";
    return kFailure;
  }
}

}  // namespace fracstudy::cli
