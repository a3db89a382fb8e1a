#pragma once
// The subcommands (private to the CLI layer). Each returns an exit code.
#include <string>
#include <vector>

namespace fracstudy::cli {

int run_command(int argc, char** argv, const std::vector<std::string>& args);
int retry_command(int argc, char** argv, const std::vector<std::string>& args);
int validate_command(const std::vector<std::string>& args);
int tools_command(const std::vector<std::string>& args);
int tool_command(const std::vector<std::string>& args);
int mcp_command(const std::vector<std::string>& args);
int submit_command(const std::vector<std::string>& args);

/// The path of this program, for launching it again.
std::string self_executable();

/// The batch script: the installed one, else the one in the source tree.
std::string default_sbatch_script();
int simulate_command(const std::vector<std::string>& args);
int status_command(const std::vector<std::string>& args);
int export_command(const std::vector<std::string>& args);

}  // namespace fracstudy::cli
