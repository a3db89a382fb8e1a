// `fracstudy tools`, `fracstudy tool` and `fracstudy mcp`: the AI tools on the command line
// and over the Model Context Protocol.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <sstream>
#include <thread>

#include "commands.hpp"
#include "errors.hpp"
#include "fracstudy/cli/cli.hpp"
#include "fracstudy/study/errors.hpp"
#include "fracstudy/tools/json_input.hpp"
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
      "the longest wait_for_study call, in seconds")(
      "max-queued", po::value<int>()->default_value(defaults.max_queued_studies),
      "studies that wait for a slot when --max-running run (0: refuse them); with "
      "--launcher slurm, studies pending in Slurm's queue")(
      "max-high-per-client", po::value<int>()->default_value(defaults.max_high_per_client),
      "high-priority studies one client may have waiting or running")(
      "priority-sbatch-arg", po::value<std::vector<std::string>>()->composing(),
      "PRIORITY=ARG: an sbatch argument of that priority's studies (repeatable; default "
      "high=--nice=0, normal=--nice=100, batch=--nice=1000), e.g. high=--qos=urgent")(
      "rate-limit", po::value<std::vector<std::string>>()->composing(),
      "TOOL=N/UNIT: at most N calls of TOOL per second, minute or hour (s, m, h) per client "
      "(repeatable; default run_simulation=10/m)")(
      "max-simulation-particles",
      po::value<std::int64_t>()->default_value(defaults.max_simulation_particles),
      "cap on n_particles of run_simulation (one simulation while the caller waits)")(
      "simulation-time-limit", po::value<double>()->default_value(defaults.simulation_time_limit_s),
      "seconds a run_simulation call may take")(
      "max-simulations", po::value<int>()->default_value(defaults.max_simulations_at_once),
      "run_simulation calls running at once in the workspace (every client together)");
}

/// The operator's options as given, for the command that starts waiting studies later:
/// it must apply the same caps as the server that queued them.
std::vector<std::string> operator_arguments(const po::variables_map& values) {
  std::vector<std::string> args;
  const tools::ToolLimits defaults;
  CommandSpec spec{"", "", ""};
  add_operator_options(spec);
  for (const auto& option : spec.options.options()) {
    const std::string name = option->long_name();
    if (!values.count(name) || values[name].defaulted()) continue;
    const auto& value = values[name].value();
    std::vector<std::string> texts;
    if (const auto* word = boost::any_cast<std::string>(&value)) {
      texts = {*word};
    } else if (const auto* many = boost::any_cast<std::vector<std::string>>(&value)) {
      texts = *many;
    } else if (const auto* number = boost::any_cast<int>(&value)) {
      texts = {std::to_string(*number)};
    } else if (const auto* big = boost::any_cast<std::int64_t>(&value)) {
      texts = {std::to_string(*big)};
    } else if (const auto* real = boost::any_cast<double>(&value)) {
      std::ostringstream text;
      text.precision(17);
      text << *real;
      texts = {text.str()};
    }
    for (const auto& text : texts)
      args.push_back("--" + name + "=" + text);
  }
  return args;
}

/// "TOOL=N/UNIT" as a budget, or a usage error.
tools::CallBudget rate_limit(const std::string& text) {
  const auto equals = text.find('=');
  const auto slash = text.find('/', equals == std::string::npos ? 0 : equals);
  const auto bad = [&text](const std::string& why) {
    return UsageError("--rate-limit: " + why + " in '" + text.substr(0, 64) +
                      "' (allowed: TOOL=N/s, TOOL=N/m or TOOL=N/h)");
  };
  if (equals == std::string::npos || slash == std::string::npos) throw bad("not TOOL=N/UNIT");
  tools::CallBudget budget;
  budget.tool = text.substr(0, equals);
  if (!tools::ToolServer::find_tool(budget.tool)) throw bad("no tool " + budget.tool);
  const std::string count = text.substr(equals + 1, slash - equals - 1);
  if (count.empty() || count.size() > 6 || count.find_first_not_of("0123456789") != count.npos ||
      std::stoi(count) < 1) {
    throw bad("N must be a whole number from 1 to 999999");
  }
  budget.calls = std::stoi(count);
  const std::string unit = text.substr(slash + 1);
  if (unit == "s") {
    budget.window_s = 1;
  } else if (unit == "m") {
    budget.window_s = 60;
  } else if (unit == "h") {
    budget.window_s = 3600;
  } else {
    throw bad("unknown unit '" + unit.substr(0, 8) + "'");
  }
  return budget;
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
  options.workspace = fs::absolute(values["workspace"].as<std::string>()).string();
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
  options.limits.max_queued_studies = values["max-queued"].as<int>();
  options.limits.max_high_per_client = values["max-high-per-client"].as<int>();
  options.limits.max_simulation_particles = values["max-simulation-particles"].as<std::int64_t>();
  options.limits.max_simulations_at_once = values["max-simulations"].as<int>();
  if (options.limits.max_simulations_at_once < 1) {
    throw UsageError("--max-simulations: must be at least 1");
  }
  options.limits.simulation_time_limit_s = seconds_option(values, "simulation-time-limit");
  if (options.limits.max_queued_studies < 0) throw UsageError("--max-queued: must be at least 0");
  if (options.limits.max_high_per_client < 0) {
    throw UsageError("--max-high-per-client: must be at least 0");
  }
  if (options.limits.max_simulation_particles < 1) {
    throw UsageError("--max-simulation-particles: must be at least 1");
  }
  if (values.count("rate-limit")) {
    for (const auto& text : values["rate-limit"].as<std::vector<std::string>>()) {
      auto budget = rate_limit(text);
      auto& budgets = options.limits.tool_budgets;
      std::erase_if(budgets, [&budget](const auto& b) { return b.tool == budget.tool; });
      budgets.push_back(std::move(budget));
    }
  }
  if (values.count("priority-sbatch-arg")) {
    for (const auto& text : values["priority-sbatch-arg"].as<std::vector<std::string>>()) {
      const auto equals = text.find('=');
      const auto priority =
          tools::priority_from_name(text.substr(0, equals == std::string::npos ? 0 : equals));
      if (!priority || equals + 1 >= text.size()) {
        throw UsageError("--priority-sbatch-arg: '" + text.substr(0, 64) +
                         "' is not PRIORITY=ARG with PRIORITY high, normal or batch");
      }
      options.priority_sbatch_args[*priority].push_back(text.substr(equals + 1));
    }
  }
  options.plot_command = plot_command();
  if (serving) {
    options.dispatch_command = {self_executable(), "dispatch-queue"};
    for (auto& arg : operator_arguments(values)) {
      // The workspace as an absolute path: the command runs in a study's folder.
      if (arg.rfind("--workspace=", 0) == 0) continue;
      options.dispatch_command.push_back(std::move(arg));
    }
    options.dispatch_command.push_back("--workspace=" + options.workspace);
  }
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
  std::string problem;
  const std::optional<json> arguments = text.size() > tools::kMaxMessageBytes
                                            ? std::nullopt
                                            : tools::parse_untrusted_json(text, &problem);
  if (text.size() > tools::kMaxMessageBytes) {
    result = tools::ToolResult::invalid(
        "", "the arguments are longer than " + std::to_string(tools::kMaxMessageBytes) + " bytes");
  } else if (!arguments) {
    result = tools::ToolResult::invalid("", "the arguments are " + problem);
  } else {
    try {
      tools::ToolServer server(std::move(options));
      result = server.call((*values)["name"].as<std::string>(), *arguments, context);
    } catch (const std::exception& error) {  // a broken workspace: still a JSON answer
      result = tools::ToolResult::failure(error.what());
    }
  }
  std::cout << tools::dump_untrusted(result.value, 2) << "\n";
  if (!result.is_error) return kSuccess;
  return result.bad_arguments ? kBadInput : kFailure;
}

int dispatch_queue_command(const CommandLine& line) {
  CommandSpec spec{"fracstudy dispatch-queue [OPERATOR OPTIONS]",
                   "Starts the studies waiting in the workspace's queue while fewer than\n"
                   "--max-running run, highest priority first, then oldest. The tools run it\n"
                   "when a study's run ends; an operator may run it from cron as well.",
                   "  fracstudy dispatch-queue --workspace ws --max-running 2"};
  add_operator_options(spec);
  spec.options.add_options()("after", po::value<std::string>(),
                             "first wait (up to 10 minutes) until this study's run has ended, "
                             "its rank 0 too: the ranks of a killed mpirun outlive it a while");
  const auto values = parse_command(line.args, spec);
  if (!values) return kSuccess;
  auto options = server_options(*values);
  options.create_workspace = false;
  if (!fs::is_directory(options.workspace)) return kSuccess;  // removed: nothing waits
  tools::ToolServer server(std::move(options));
  if (values->count("after")) {
    const std::string after = (*values)["after"].as<std::string>();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(10);
    while (tools::is_valid_study_id(after) && server.study_is_active(after) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }
  const int started = server.dispatch_queue();
  if (started > 0) {
    std::cout << "fracstudy-tools: started " << started << " waiting "
              << (started == 1 ? "study" : "studies") << "\n";
  }
  return kSuccess;
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
