// `fracstudy tools`, `fracstudy tool` and `fracstudy mcp`: the AI tools on the command line
// and over the Model Context Protocol.
#include <unistd.h>

#include <cmath>
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
      "cap on tool calls per minute of one client (an MCP session, or --client)")(
      "task-time-limit", po::value<double>()->default_value(defaults.task_time_limit_s),
      "seconds one attempt of a simulation may take before it is stopped and retried")(
      "study-time-limit", po::value<double>()->default_value(defaults.study_time_limit_s),
      "seconds one run of a study (a start or a retry) may take; then it stops cleanly, "
      "INTERRUPTED, and a retry continues it")(
      "max-wait", po::value<double>()->default_value(defaults.max_wait_s),
      "the longest wait_for_study call, in seconds");
}

/// A positive number of seconds, or a usage error naming the option.
double seconds_option(const po::variables_map& values, const char* name) {
  const double seconds = values[name].as<double>();
  if (!(seconds > 0) || !std::isfinite(seconds)) {
    throw UsageError(std::string("--") + name + ": must be a number of seconds > 0");
  }
  return seconds;
}

/// python (Debian's, which has h5py and matplotlib, when there) and fracstudy-plot: the
/// installed one beside this program, else the source tree's.
std::vector<std::string> plot_command() {
  const fs::path installed = fs::path(self_executable()).parent_path() / "fracstudy-plot";
  const fs::path script = fs::exists(installed)
                              ? installed
                              : fs::path(FRACSTUDY_SOURCE_DIR) / "plot" / "fracstudy-plot";
  if (!fs::exists(script)) return {};
  const char* python = fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  // A figure that takes a minute is not worth the wait of the call that asked for it.
  if (fs::exists("/usr/bin/timeout")) {
    return {"/usr/bin/timeout", "-k", "5", "60", python, script.string()};
  }
  return {python, script.string()};
}

tools::ToolServerOptions server_options(const po::variables_map& values, bool serving = true) {
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
  if (serving) options.launcher.fracstudy_exe = self_executable();
  options.launcher.sbatch_script = values.count("sbatch-script")
                                       ? values["sbatch-script"].as<std::string>()
                                       : default_sbatch_script();
  options.limits.max_tasks_per_study = values["max-tasks-per-study"].as<std::int64_t>();
  options.limits.max_particles = values["max-particles"].as<std::int64_t>();
  options.limits.max_running_studies = values["max-running"].as<int>();
  options.limits.max_calls_per_minute = values["max-calls-per-minute"].as<int>();
  options.limits.task_time_limit_s = seconds_option(values, "task-time-limit");
  options.limits.study_time_limit_s = seconds_option(values, "study-time-limit");
  options.limits.max_wait_s = seconds_option(values, "max-wait");
  for (const auto* cap : {"max-running", "max-calls-per-minute"}) {
    if (values[cap].as<int>() < 1)
      throw UsageError(std::string("--") + cap + ": must be at least 1");
  }
  for (const auto* cap : {"max-tasks-per-study", "max-particles"}) {
    if (values[cap].as<std::int64_t>() < 1) {
      throw UsageError(std::string("--") + cap + ": must be at least 1");
    }
  }
  options.plot_command = plot_command();
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
  CommandSpec spec{"fracstudy tools [OPERATOR OPTIONS]",
                   "Prints the JSON definitions of every AI tool under the operator's limits:\n"
                   "name, title, description, inputSchema and outputSchema (JSON Schema\n"
                   "2020-12) and annotations.",
                   "  fracstudy tools > tools.json\n"
                   "  fracstudy tools --max-particles 20000 > tools.json"};
  add_operator_options(spec);
  const auto values = parse_command(args, spec);
  if (!values) return kSuccess;
  std::cout << tools::tool_definitions(server_options(*values, false).limits).dump(2) << "\n";
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
  spec.options.add_options()("client", po::value<std::string>()->default_value("cli"),
                             "who calls, for the rate limit: letters, digits, _ - . : "
                             "(default cli; each MCP session is a client of its own)")(
      "name", po::value<std::string>()->required(), "the tool")(
      "arguments", po::value<std::string>(), "its arguments as a JSON object");
  spec.positional.add("name", 1).add("arguments", 1);
  const auto values = parse_command(args, spec);
  if (!values) return kSuccess;
  auto options = server_options(*values);
  tools::CallContext context;
  context.client = (*values)["client"].as<std::string>();
  if (context.client.empty() || context.client.size() > 64 ||
      context.client.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                       "0123456789_-.:") != std::string::npos) {
    throw UsageError("--client: 1 to 64 letters, digits, _ - . or :, got '" +
                     context.client.substr(0, 64) + "'");
  }
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
      result = server.call((*values)["name"].as<std::string>(), arguments, context);
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
  spec.options.add_options()("on-exit", po::value<std::string>()->default_value("keep"),
                             "what becomes of the studies this session started when its client "
                             "goes away: keep (they run on) or cancel (they drain, CANCELLED)");
  const auto values = parse_command(args, spec);
  if (!values) return kSuccess;
  const std::string on_exit = (*values)["on-exit"].as<std::string>();
  if (on_exit != "keep" && on_exit != "cancel") {
    throw UsageError("--on-exit: must be keep or cancel, got '" + on_exit.substr(0, 64) + "'");
  }
  tools::McpOptions mcp_options;
  mcp_options.cancel_on_exit = on_exit == "cancel";
  tools::ToolServer server(server_options(*values));
  std::cerr << "fracstudy mcp: serving on stdio, workspace "
            << fs::absolute((*values)["workspace"].as<std::string>()).string() << "\n";
  return tools::serve_mcp(server, std::cin, std::cout, std::cerr, mcp_options);
}

}  // namespace fracstudy::cli
