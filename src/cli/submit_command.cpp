// `fracstudy submit`: fills in the batch script's options and calls sbatch.
#include <algorithm>
#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "errors.hpp"
#include "fracstudy/cli/cli.hpp"
#include "fracstudy/study/errors.hpp"
#include "fracstudy/study/parser.hpp"
#include "fracstudy/tools/launcher.hpp"
#include "options.hpp"
#include "run_plan.hpp"

namespace fracstudy::cli {
namespace {

namespace fs = std::filesystem;

}  // namespace

std::string self_executable() {
  std::error_code error;
  const auto path = fs::read_symlink("/proc/self/exe", error);
  return error ? "fracstudy" : path.string();
}

std::string default_sbatch_script() {
  const fs::path installed = fs::path(FRACSTUDY_INSTALL_DATADIR) / "fracstudy.sbatch";
  if (fs::exists(installed)) return installed.string();
  return (fs::path(FRACSTUDY_SOURCE_DIR) / "slurm" / "fracstudy.sbatch").string();
}

int submit_command(const CommandLine& line) {
  const auto& all_args = line.args;
  CommandSpec spec{
      "fracstudy submit STUDY.yaml [-o OUT.h5] [--nodes N] [--ntasks N | --ntasks-per-node N] "
      "[--relays R] [--time T] [--partition P] [--resume] [-- SBATCH ARGS...]",
      "Checks the study file, then submits fracstudy's batch script with sbatch\n"
      "and prints the job id. The job requeues itself when its allocation ends\n"
      "before the study, and the next allocation resumes it.",
      "  fracstudy submit configs/examples/dla_grid.yaml --ntasks 16 --time 02:00:00\n"
      "  fracstudy submit study.yaml --nodes 4 --ntasks-per-node 32 --time 12:00:00\n"
      "  fracstudy submit study.yaml -o out.h5 -- --partition=long --qos=low"};
  // Everything after `--` goes to sbatch untouched.
  const auto split = std::find(all_args.begin(), all_args.end(), "--");
  const std::vector<std::string> args(all_args.begin(), split);
  const std::vector<std::string> sbatch_extra(split == all_args.end() ? split : split + 1,
                                              all_args.end());
  spec.options.add_options()("study", po::value<std::string>()->required(), "the study file")(
      "output,o", po::value<std::string>(), "result file (default as for `run`)")(
      "nodes", po::value<int>(), "nodes (sbatch --nodes)")(
      "ntasks", po::value<int>(), "MPI ranks in all; rank 0 coordinates (sbatch --ntasks)")(
      "ntasks-per-node", po::value<int>(),
      "MPI ranks on each node, one per core (sbatch --ntasks-per-node)")(
      "relays", po::value<std::string>(), "sub-coordinators, as `run --relays` (default auto)")(
      "time", po::value<std::string>(), "walltime of one allocation (sbatch --time)")(
      "partition", po::value<std::string>(), "partition (sbatch --partition)")(
      "resume", "continue an existing OUT.h5")(
      "script", po::value<std::string>()->default_value(default_sbatch_script()),
      "the batch script");
  spec.positional.add("study", 1);
  const auto values = parse_command(args, spec);
  if (!values) return kSuccess;
  const auto file = study::load_study_file((*values)["study"].as<std::string>());
  const std::string output =
      values->count("output") ? (*values)["output"].as<std::string>()
                              : file.output.value_or(fs::path(file.path).stem().string() + ".h5");
  const bool resume = values->count("resume") > 0;
  if (fs::exists(output) && !resume) {
    throw UsageError(output + ": already exists; add --resume to continue it");
  }
  const std::string script = (*values)["script"].as<std::string>();
  if (!fs::exists(script)) throw UsageError("--script: no batch script at " + script);
  // Several nodes with the script's default of 4 ranks would leave most cores idle.
  if (values->count("nodes") && (*values)["nodes"].as<int>() > 1 && !values->count("ntasks") &&
      !values->count("ntasks-per-node")) {
    throw UsageError("--nodes " + std::to_string((*values)["nodes"].as<int>()) +
                     ": give --ntasks-per-node (one rank per core, e.g. 32) or --ntasks");
  }
  std::vector<std::string> command = {"sbatch", "--parsable"};
  for (const char* option : {"nodes", "ntasks", "ntasks-per-node"}) {
    if (values->count(option)) {
      command.push_back("--" + std::string(option) + "=" +
                        std::to_string((*values)[option].as<int>()));
    }
  }
  for (const char* option : {"time", "partition"}) {
    if (values->count(option)) {
      command.push_back("--" + std::string(option) + "=" + (*values)[option].as<std::string>());
    }
  }
  std::string exports = "--export=ALL,FRACSTUDY=" + self_executable();
  if (resume) exports += ",FRACSTUDY_RESUME=1";
  if (values->count("relays")) {
    exports += ",FRACSTUDY_RELAYS=" +
               relay_policy_option((*values)["relays"].as<std::string>()).to_string();
  }
  command.push_back(exports);
  command.insert(command.end(), sbatch_extra.begin(), sbatch_extra.end());
  command.insert(command.end(), {script, file.path, output});
  std::string printed;
  if (tools::run_program(command, printed) != 0) {
    std::cerr << "fracstudy submit: sbatch failed" << (printed.empty() ? "" : ": " + printed);
    return kFailure;
  }
  const std::string job_id = printed.substr(0, printed.find_first_of(";\n"));
  std::cout << job_id << "\n";
  std::cerr << "fracstudy submit: job " << job_id << " runs " << file.path << " into " << output
            << "; follow it with `squeue -j " << job_id << "` and `fracstudy status " << output
            << "`\n";
  return kSuccess;
}

}  // namespace fracstudy::cli
