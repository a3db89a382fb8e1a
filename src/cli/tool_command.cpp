// `fracstudy tools`, `fracstudy tool` and `fracstudy mcp`: the AI tools on the command line
// and over the Model Context Protocol.
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <iterator>

#include "commands.hpp"
#include "errors.hpp"
#include "fracstudy/cli/cli.hpp"
#include "fracstudy/study/errors.hpp"
#include "fracstudy/tools/mcp.hpp"
#include "fracstudy/tools/tools.hpp"
#include "options.hpp"

namespace fracstudy::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

/// The options the operator sets; a caller of the tools cannot change them.
void add_operator_options(CommandSpec& spec) {
  const tools::ToolLimits defaults;
  spec.options.add_options()("workspace",
                             po::value<std::string>()->default_value("fracstudy-workspace"),
                             "folder holding one subfolder per study")(
      "launcher", po::value<std::string>()->default_value("local"),
      "local (detached mpirun on this machine) or slurm (sbatch)")(
      "ranks", po::value<int>()->default_value(2), "MPI ranks per study (local launcher)")(
      "sbatch-arg", po::value<std::vector<std::string>>()->composing(),
      "an extra sbatch argument (repeatable), e.g. --sbatch-arg=--partition=debug")(
      "sbatch-script", po::value<std::string>(), "the batch script (default: fracstudy's own)")(
      "max-tasks-per-study", po::value<std::int64_t>()->default_value(defaults.max_tasks_per_study),
      "cap on simulations per study")(
      "max-particles", po::value<std::int64_t>()->default_value(defaults.max_particles),
      "cap on n_particles of any simulation")(
      "max-running", po::value<int>()->default_value(defaults.max_running_studies),
      "cap on studies running at once")(
      "max-calls-per-minute", po::value<int>()->default_value(defaults.max_calls_per_minute),
      "cap on tool calls per minute (all callers of this workspace)");
}

tools::ToolServerOptions server_options(const po::variables_map& values) {
  tools::ToolServerOptions options;
  options.workspace = values["workspace"].as<std::string>();
  const std::string launcher = values["launcher"].as<std::string>();
  if (launcher != "local" && launcher != "slurm") {
    throw UsageError("--launcher: must be local or slurm, got '" + launcher + "'");
  }
  options.launcher.kind =
      launcher == "local" ? tools::LauncherKind::Local : tools::LauncherKind::Slurm;
  options.launcher.ranks = values["ranks"].as<int>();
  if (options.launcher.ranks < 1) throw UsageError("--ranks: must be at least 1");
  if (values.count("sbatch-arg")) {
    options.launcher.sbatch_args = values["sbatch-arg"].as<std::vector<std::string>>();
  }
  options.launcher.fracstudy_exe = self_executable();
  options.launcher.sbatch_script = values.count("sbatch-script")
                                       ? values["sbatch-script"].as<std::string>()
                                       : default_sbatch_script();
  options.limits.max_tasks_per_study = values["max-tasks-per-study"].as<std::int64_t>();
  options.limits.max_particles = values["max-particles"].as<std::int64_t>();
  options.limits.max_running_studies = values["max-running"].as<int>();
  options.limits.max_calls_per_minute = values["max-calls-per-minute"].as<int>();
  return options;
}

/// Stdin up to one byte past kMaxMessageBytes: enough to know it is too long.
std::string read_arguments(std::istream& in) {
  std::string text(tools::kMaxMessageBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

}  // namespace

int tools_command(const CommandLine& line) {
  const auto& args = line.args;
  CommandSpec spec{"fracstudy tools",
                   "Prints the JSON definitions of every AI tool: name, description,\n"
                   "inputSchema and outputSchema (JSON Schema 2020-12).",
                   "  fracstudy tools > tools.json"};
  const auto values = parse_command(args, spec);
  if (!values) return kSuccess;
  std::cout << tools::tool_definitions().dump(2) << "\n";
  return kSuccess;
}

int tool_command(const CommandLine& line) {
  const auto& args = line.args;
  CommandSpec spec{
      "fracstudy tool [OPERATOR OPTIONS] NAME [JSON]",
      "Calls one AI tool with its JSON arguments (the argument, else stdin, else\n"
      "{}) and prints its JSON result. Invalid arguments print\n"
      "{\"error\": {\"field\": ..., \"message\": ...}} and exit 2; nothing starts.",
      "  fracstudy tool --workspace ws --ranks 3 run_parametric_study \\\n"
      "    '{\"algorithm\": \"DLA\", \"values\": [100, 200, 300], \"repetitions\": 3}'\n"
      "  fracstudy tool --workspace ws check_study_status '{\"study_id\": \"...\"}'"};
  add_operator_options(spec);
  spec.options.add_options()("name", po::value<std::string>()->required(), "the tool")(
      "arguments", po::value<std::string>(), "its arguments as a JSON object");
  spec.positional.add("name", 1).add("arguments", 1);
  const auto values = parse_command(args, spec);
  if (!values) return kSuccess;
  auto options = server_options(*values);
  std::string text;
  if (values->count("arguments")) {
    text = (*values)["arguments"].as<std::string>();
  } else if (!::isatty(STDIN_FILENO)) {
    text = read_arguments(std::cin);
  }
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) text = "{}";
  tools::ToolResult result;
  const json arguments =
      text.size() > tools::kMaxMessageBytes ? json(nullptr) : json::parse(text, nullptr, false);
  if (text.size() > tools::kMaxMessageBytes) {
    result = tools::ToolResult::invalid(
        "", "the arguments are longer than " + std::to_string(tools::kMaxMessageBytes) + " bytes");
  } else if (arguments.is_discarded()) {
    result = tools::ToolResult::invalid("", "the arguments are not valid JSON");
  } else {
    try {
      tools::ToolServer server(std::move(options));
      result = server.call((*values)["name"].as<std::string>(), arguments);
    } catch (const std::exception& error) {  // a broken workspace: still a JSON answer
      result = tools::ToolResult::failure(error.what());
    }
  }
  std::cout << result.value.dump(2) << "\n";
  if (!result.is_error) return kSuccess;
  return result.bad_arguments ? kBadInput : kFailure;
}

int mcp_command(const CommandLine& line) {
  const auto& args = line.args;
  CommandSpec spec{"fracstudy mcp [OPERATOR OPTIONS]",
                   "Serves the AI tools as a Model Context Protocol server on stdin/stdout\n"
                   "(JSON-RPC 2.0, one message per line). Logs go to stderr. Register it with\n"
                   "an MCP client as the command `fracstudy mcp --workspace DIR`.",
                   "  fracstudy mcp --workspace ~/fracstudy-ws --ranks 8 --max-running 2"};
  add_operator_options(spec);
  const auto values = parse_command(args, spec);
  if (!values) return kSuccess;
  tools::ToolServer server(server_options(*values));
  std::cerr << "fracstudy mcp: serving on stdio, workspace "
            << fs::absolute((*values)["workspace"].as<std::string>()).string() << "\n";
  return tools::serve_mcp(server, std::cin, std::cout, std::cerr);
}

}  // namespace fracstudy::cli
