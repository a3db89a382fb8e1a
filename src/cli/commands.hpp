#pragma once
// The subcommands (private to the CLI layer): each defined once in commands(), from which
// `fracstudy --help`, the dispatch and the list of commands in errors come.
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fracstudy::cli {

/// What a subcommand receives: the arguments after its name, and the program's own argc and
/// argv (MPI_Init wants them).
struct CommandLine {
  int argc = 0;
  char** argv = nullptr;
  std::vector<std::string> args;
};

/// One subcommand: its name, its synopsis and one-line summary for `fracstudy --help`, and
/// the function that runs it and returns the exit code.
struct Command {
  std::string_view name;
  std::string_view synopsis;  ///< e.g. "status OUT.h5 [--json]"
  std::string_view summary;   ///< what it does ("\n" starts another line)
  int (*run)(const CommandLine& line);
};

/// Every subcommand, in the order `fracstudy --help` lists them.
std::span<const Command> commands();

int run_command(const CommandLine& line);
int retry_command(const CommandLine& line);
int validate_command(const CommandLine& line);
int simulate_command(const CommandLine& line);
int status_command(const CommandLine& line);
int export_command(const CommandLine& line);
int submit_command(const CommandLine& line);
int tools_command(const CommandLine& line);
int tool_command(const CommandLine& line);
int mcp_command(const CommandLine& line);
int dispatch_queue_command(const CommandLine& line);

/// The path of this program, for launching it again.
std::string self_executable();

/// The batch script: the installed one, else the one in the source tree.
std::string default_sbatch_script();

}  // namespace fracstudy::cli
