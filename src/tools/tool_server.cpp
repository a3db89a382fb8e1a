#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>
#include <iomanip>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "definitions.hpp"
#include "fracstudy/io/child_process.hpp"
#include "fracstudy/io/output_file.hpp"
#include "fracstudy/io/result_file.hpp"
#include "fracstudy/kernels/models.hpp"
#include "fracstudy/study/errors.hpp"
#include "fracstudy/study/parser.hpp"
#include "fracstudy/study/status.hpp"
#include "fracstudy/study/writer.hpp"
#include "fracstudy/tools/json_input.hpp"
#include "fracstudy/tools/schema.hpp"
#include "fracstudy/tools/status.hpp"
#include "fracstudy/tools/tools.hpp"
#include "json_fields.hpp"
#include "simulation_call.hpp"

namespace fracstudy::tools {
namespace {

using nlohmann::json;

constexpr const char* kStudyFile = "study.yaml";
constexpr const char* kResultFile = "results.h5";
constexpr const char* kLogFile = "run.log";
/// cancel_study's request, kept in the study folder: the run looks for it at its start and
/// while it runs (run --stop-file), so no timing of the cancel can lose it.
constexpr const char* kStopFile = "cancel";
constexpr const char* kLaunchFile = "launch.json";
/// Who asked for the study and at what priority: {"client": ..., "priority": ...}.
constexpr const char* kSubmissionFile = "submission.json";
/// What the stop file says when a study was cancelled while it waited: it never started.
constexpr const char* kCancelledWaiting = "cancelled while waiting in the queue";
/// How long a starter's claim (launch.json before the spawn) counts as a start going on.
constexpr auto kClaimLifetime = std::chrono::seconds(30);

/// The base of a study id when the caller gave no name: algorithm, what varies, time.
std::string generated_id_base(const json& arguments) {
  std::string base = arguments["algorithm"].get<std::string>();
  for (char& c : base)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  base += arguments.contains("grid") ? "_grid"
                                     : "_" + arguments.value("variable_parameter", "n_particles");
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &utc);
  return base + "_" + std::string(stamp);
}

/// The values of a JSON array of numbers (schema-checked).
std::vector<double> numbers(const json& values) {
  std::vector<double> result;
  for (const auto& value : values)
    result.push_back(value.get<double>());
  return result;
}

/// The parameter of a schema-checked name.
kernels::Parameter parameter_named(const std::string& name) {
  const auto parameter = kernels::parameter_from_name(name);
  if (!parameter) throw std::invalid_argument("unknown parameter " + name);
  return *parameter;
}

/// The simulations a run_parametric_study call asks for (points x repetitions), counted
/// from its arguments without expanding a grid (at most 10^18: no overflow).
std::int64_t requested_task_count(const json& arguments) {
  constexpr std::int64_t kMost = 1'000'000'000'000'000'000;
  std::int64_t count = arguments.value("repetitions", 1);
  const auto times = [&count](std::size_t values) {
    const auto n = static_cast<std::int64_t>(values);
    count = n != 0 && count > kMost / n ? kMost : count * n;
  };
  if (arguments.contains("values")) times(arguments["values"].size());
  if (const auto grid = arguments.find("grid"); grid != arguments.end() && grid->is_object()) {
    for (const auto& values : *grid)
      times(values.is_array() ? values.size() : 1);
  }
  return count;
}

/// Whether `seed` is a seed exactly: an integer from 0 to 2^64 - 1. JSON numbers past that
/// arrive as doubles, and 2^64 became seed 0 without a word.
bool exact_seed(const json& seed) {
  if (seed.is_number_unsigned()) return true;
  if (seed.is_number_integer()) return seed.get<std::int64_t>() >= 0;
  if (!seed.is_number_float()) return false;
  const double value = seed.get<double>();
  return value >= 0 && value < 9007199254740992.0 && std::floor(value) == value;  // 2^53
}

/// The study file for a run_parametric_study call (arguments already schema-valid).
std::string study_yaml(const std::string& id, const json& arguments, double task_time_limit_s) {
  study::StudyDraft draft;
  draft.name = id;
  draft.algorithm = *kernels::algorithm_from_name(arguments["algorithm"].get<std::string>());
  const json base = arguments.value("base_parameters", json::object());
  for (const auto& [key, value] : base.items()) {
    draft.base_parameters.emplace_back(parameter_named(key), value.get<double>());
  }
  if (arguments.contains("values")) {
    draft.axes.emplace_back(parameter_named(arguments.value("variable_parameter", "n_particles")),
                            numbers(arguments["values"]));
  }
  const json grid = arguments.value("grid", json::object());
  for (const auto& [key, values] : grid.items()) {
    draft.axes.emplace_back(parameter_named(key), numbers(values));
    draft.grid = true;
  }
  draft.repetitions = arguments.value("repetitions", 1);
  study::StudyFileDraft file;
  file.comment = "written by the run_parametric_study tool";
  if (arguments.contains("seed")) {
    file.seed = arguments["seed"].is_number_float()
                    ? static_cast<std::uint64_t>(arguments["seed"].get<double>())
                    : arguments["seed"].get<std::uint64_t>();
  }
  file.task_time_limit_s = task_time_limit_s;
  file.studies.push_back(std::move(draft));
  return study::write_study_file(file);
}

/// What `read` makes of a study's result file, read in a child process: a damaged file can
/// crash HDF5, and must not take the server down. nullopt when there is no readable file
/// (not written yet, or damaged).
std::optional<json> read_results(const std::filesystem::path& file,
                                 const std::function<json(const io::ResultReader&)>& read) {
  // Only a file of the study's own: a planted link could lead to another study's results.
  std::error_code error;
  if (std::filesystem::symlink_status(file, error).type() != std::filesystem::file_type::regular) {
    return std::nullopt;
  }
  try {
    return json::parse(io::read_in_child(file.string(), [&] {
      const io::ResultReader reader(file.string());
      return read(reader).dump();
    }));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

/// The tool argument behind a study-file key: "studies[0].values[1]" -> "values[1]".
std::string field_of(const std::string& key) {
  const std::string prefix = "studies[0].";
  return key.rfind(prefix, 0) == 0 ? key.substr(prefix.size()) : key;
}

/// The rule part of a StudyFileError: what follows "file:line: key: ".
std::string rule_of_error(const study::StudyFileError& error) {
  const std::string text = error.what();
  const std::string marker = error.key().empty() ? ": " : error.key() + ": ";
  const auto at = text.find(marker);
  return at == std::string::npos ? text : text.substr(at + marker.size());
}

std::string tail(const std::string& text, std::size_t lines) {
  std::size_t at = text.size();
  for (std::size_t found = 0; at > 0 && found <= lines; --at) {
    if (text[at - 1] == '\n') ++found;
  }
  return text.substr(at);
}

/// The line start() writes into the log before each run: what a run said before it belongs
/// to an earlier run (the log is appended to by every start and retry).
constexpr const char* kRunStartsMarker = "fracstudy-tools: a run starts";

/// The last thing the latest run said about how it ended: its last "fracstudy: " line after
/// the latest run's start ("" if none).
std::string last_words(const std::string& log) {
  std::string found;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("fracstudy: ", 0) == 0) found = line.substr(11);
    if (line.rfind(kRunStartsMarker, 0) == 0) found.clear();
  }
  return found.size() <= 300 ? found : found.substr(0, 300) + "...";
}

/// The command of a study's run: a first run, or a retry of the runs before it.
std::vector<std::string> run_command(bool retry) {
  if (retry) return {"retry", kResultFile};
  return {"run", kStudyFile, "-o", kResultFile};
}

/// What a batch job of that run needs besides (the batch script's choice of command).
std::vector<std::string> run_environment(bool retry) {
  if (retry) return {"FRACSTUDY_RETRY=1"};
  return {};
}

/// 128 random bits as hex: a queue entry's name for its run.
std::string random_token() {
  std::random_device device;
  std::ostringstream token;
  token << std::hex;
  for (int k = 0; k < 4; ++k)
    token << std::setw(8) << std::setfill('0') << device();
  return token.str();
}

/// "minute", "hour", or "N s".
std::string window_in_words(double seconds) {
  if (seconds == 60) return "minute";
  if (seconds == 3600) return "hour";
  if (seconds == 1) return "second";
  std::ostringstream words;
  words << seconds << " s";
  return words.str();
}

bool is_unfinished(study::StudyStatus status) {
  return status == study::StudyStatus::Queued || status == study::StudyStatus::Running ||
         status == study::StudyStatus::Created;
}

std::string base64(const std::string& bytes) {
  static constexpr char kDigits[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t word = 0;
    for (std::size_t k = 0; k < 3; ++k) {
      word = (word << 8) | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
    }
    for (std::size_t k = 0; k < 4; ++k) {
      out.push_back(k <= n ? kDigits[(word >> (18 - 6 * k)) & 63] : '=');
    }
  }
  return out;
}

/// A file:// URI of an absolute path, every byte outside the unreserved set escaped.
std::string file_uri(const std::filesystem::path& path) {
  std::string uri = "file://";
  for (const char byte : path.string()) {
    const auto c = static_cast<unsigned char>(byte);
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      uri.push_back(static_cast<char>(c));
    } else {
      char escaped[4];
      std::snprintf(escaped, sizeof escaped, "%%%02X", c);
      uri += escaped;
    }
  }
  return uri;
}

json resource_link(const std::filesystem::path& path, const char* mime, const char* what) {
  return {{"type", "resource_link"},
          {"uri", file_uri(path)},
          {"name", path.filename().string()},
          {"mimeType", mime},
          {"description", what}};
}

}  // namespace

ToolResult ToolResult::invalid(const std::string& field, const std::string& message) {
  return {
      {{"error", {{"field", field.empty() ? json(nullptr) : json(field)}, {"message", message}}}},
      true,
      true,
      json::array()};
}

ToolResult ToolResult::failure(const std::string& message) {
  return {{{"error", {{"field", nullptr}, {"message", message}}}}, true, false, json::array()};
}

ToolServer::ToolServer(ToolServerOptions options)
    : options_(std::move(options)),
      workspace_(options_.workspace, options_.create_workspace),
      launcher_(options_.launcher),
      definitions_(tool_definitions(options_.limits)) {}

std::span<const ToolEntry> ToolServer::tools() {
  static constexpr ToolEntry kTools[] = {
      {"run_parametric_study", definitions::run_parametric_study,
       &ToolServer::run_parametric_study},
      {"check_study_status", definitions::check_study_status, &ToolServer::check_study_status},
      {"wait_for_study", definitions::wait_for_study, &ToolServer::wait_for_study},
      {"retry_failed_simulations", definitions::retry_failed_simulations,
       &ToolServer::retry_failed_simulations},
      {"list_studies", definitions::list_studies, &ToolServer::list_studies},
      {"get_study_results", definitions::get_study_results, &ToolServer::get_study_results},
      {"cancel_study", definitions::cancel_study, &ToolServer::cancel_study},
      {"run_simulation", definitions::run_simulation, &ToolServer::run_simulation},
  };
  return kTools;
}

const ToolEntry* ToolServer::find_tool(std::string_view name) {
  for (const auto& tool : tools()) {
    if (tool.name == name) return &tool;
  }
  return nullptr;
}

json tool_definitions(const ToolLimits& limits) {
  json all = json::array();
  for (const auto& tool : ToolServer::tools()) {
    json definition = tool.definition(limits);
    definition["name"] = tool.name;
    definition["annotations"]["title"] = definition["title"];
    all.push_back(std::move(definition));
  }
  return all;
}

ToolResult ToolServer::call(const std::string& name, const json& arguments_in,
                            const CallContext& context) {
  const ToolEntry* tool = find_tool(name);
  if (!tool) {
    std::string names;
    for (const auto& t : tools())
      names += (names.empty() ? "" : ", ") + std::string(t.name);
    return ToolResult::invalid("name", "unknown tool '" + name + "' (tools: " + names + ")");
  }
  const json& definition = definitions_.at(static_cast<std::size_t>(tool - tools().data()));
  const json arguments = arguments_in.is_null() ? json::object() : arguments_in;
  if (!arguments.is_object()) return ToolResult::invalid("", "arguments must be a JSON object");
  if (auto violation = validate(definition["inputSchema"], arguments)) {
    return ToolResult::invalid(violation->field, violation->message);
  }
  try {
    std::vector<CallBudget> budgets = {{"", options_.limits.max_calls_per_minute, 60}};
    budgets.insert(budgets.end(), options_.limits.tool_budgets.begin(),
                   options_.limits.tool_budgets.end());
    if (const auto refused = workspace_.admit_call(context.client, name, budgets)) {
      const auto& budget = refused->budget;
      return ToolResult::invalid(
          "", "rate limit: at most " + std::to_string(budget.calls) + " " +
                  (budget.tool.empty() ? "tool calls" : "calls of " + budget.tool) + " per " +
                  window_in_words(budget.window_s) + " per client; try again in " +
                  std::to_string(static_cast<int>(std::ceil(refused->retry_after_s))) +
                  " s (wait_for_study waits without spending calls)");
    }
    try {
      dispatch_queue();  // every call looks whether a slot has freed for a waiting study
    } catch (const std::exception&) {
      // A broken queue folder must not stop the calls that say so or cancel.
    }
    return (this->*tool->handler)(arguments, context);
  } catch (const std::exception& error) {
    return ToolResult::failure(error.what());
  }
}

std::optional<std::string> ToolServer::create_generated_study(const json& arguments) const {
  const std::string base = generated_id_base(arguments);
  for (int n = 1; n < 100000; ++n) {
    const std::string id = base + "_" + std::to_string(n);
    if (workspace_.create_study(id)) return id;  // mkdir: one caller wins each id
  }
  return std::nullopt;
}

ToolResult ToolServer::run_parametric_study(const json& arguments, const CallContext& context) {
  const bool sweep = arguments.contains("values");
  const bool grid = arguments.contains("grid");
  if (sweep && grid) {
    return ToolResult::invalid("grid",
                               "give either variable_parameter with values, or grid, not both");
  }
  if (!sweep && !grid) {
    return ToolResult::invalid("values",
                               "missing: give variable_parameter with values (a sweep), or grid");
  }
  if (grid && arguments.contains("variable_parameter")) {
    return ToolResult::invalid("variable_parameter", "not allowed with grid");
  }
  if (grid && arguments["grid"].empty()) {
    return ToolResult::invalid("grid", "must name at least one parameter");
  }
  if (arguments.contains("seed") && !exact_seed(arguments["seed"])) {
    return ToolResult::invalid("seed", "must be " + std::string(study::kSeedAllowed));
  }
  // Counted before anything is expanded: a grid of 5e7 points took 2 GB and 5 s to refuse.
  const auto limit = options_.limits.max_tasks_per_study;
  if (const auto requested = requested_task_count(arguments); requested > limit) {
    return ToolResult::invalid(grid ? "grid" : "values",
                               "the study would run " + std::to_string(requested) +
                                   " simulations (points x repetitions); the limit is " +
                                   std::to_string(limit));
  }
  const bool named = arguments.contains("name");
  if (named && workspace_.has_study(arguments["name"].get<std::string>())) {
    return ToolResult::invalid(
        "name", "a study named '" + arguments["name"].get<std::string>() + "' already exists");
  }
  // Checked under the name it will have; a generated one is only known once created.
  const std::string draft_id = named ? arguments["name"].get<std::string>() : "study";
  const double task_limit = options_.limits.task_time_limit_s;
  study::StudyFile file;
  try {
    file = study::parse_study_text(study_yaml(draft_id, arguments, task_limit),
                                   draft_id + "/" + kStudyFile);
  } catch (const study::StudyFileError& error) {
    return ToolResult::invalid(field_of(error.key()), rule_of_error(error));
  }
  const auto& spec = file.studies.front();
  for (const auto& point : spec.points) {
    if (point.n_particles > options_.limits.max_particles) {
      const bool varied = std::find(spec.varied.begin(), spec.varied.end(),
                                    kernels::Parameter::NParticles) != spec.varied.end();
      return ToolResult::invalid(
          varied ? (grid ? "grid.n_particles" : "values") : "base_parameters.n_particles",
          "n_particles " + std::to_string(point.n_particles) + " exceeds the limit of " +
              std::to_string(options_.limits.max_particles));
    }
  }
  const Priority priority =
      *priority_from_name(arguments.value("priority", std::string(name_of(Priority::Normal))));
  const auto admission = workspace_.lock_admission();  // count and start as one step
  start_waiting();  // a slot freed since the last look goes to those who waited
  const auto waiting = waiting_studies(true);  // under the admission lock
  if (auto full = refuse_when_full(waiting.size())) return *full;
  if (priority == Priority::High) {
    if (auto over = refuse_high(context.client, waiting)) return *over;
  }
  std::string id = draft_id;
  if (!named) {
    const auto created = create_generated_study(arguments);
    if (!created)
      return ToolResult::failure("no free study id for " + generated_id_base(arguments));
    id = *created;
  } else if (!workspace_.create_study(id)) {
    return ToolResult::invalid("name", "a study named '" + id + "' already exists");
  }
  try {
    workspace_.write_file(id, kStudyFile, study_yaml(id, arguments, task_limit));
    workspace_.write_file(
        id, kSubmissionFile,
        json{{"client", context.client}, {"priority", name_of(priority)}}.dump() + "\n");
  } catch (const std::exception&) {
    // A full disk: no half-made study is left behind, so that its name can be asked for
    // again.
    workspace_.remove_new_study(id, {kStudyFile, kSubmissionFile});
    throw;
  }
  const auto position = submit(id, priority, context.client, false, true);  // throws if it failed
  json reply = {{"study_id", id},
                {"status", study::name_of(study::StudyStatus::Queued)},
                {"priority", name_of(priority)},
                {"started", !position},
                {"total_simulations", spec.task_count()},
                {"parameter_points", spec.points.size()}};
  if (position) {
    reply["queue_position"] = *position;
    reply["message"] = "waiting for a free slot (" + std::to_string(*position) +
                       " in the queue); it starts by itself. wait_for_study with this study_id";
  } else {
    reply["message"] = "started; wait_for_study (or check_study_status) with this study_id";
  }
  return ToolResult::ok(reply);
}

ToolResult ToolServer::start(const std::string& id, const std::vector<std::string>& fracstudy_args,
                             const std::vector<std::string>& slurm_env, Priority priority,
                             const std::string& queue_token) {
  std::vector<std::string> environment = slurm_env;
  environment.push_back("FRACSTUDY=" + options_.launcher.fracstudy_exe);
  environment.push_back("FRACSTUDY_STOP_FILE=" + workspace_.file(id, kStopFile).string());
  std::vector<std::string> args = fracstudy_args;
  args.insert(args.end(), {"--stop-file", kStopFile});
  if (options_.limits.study_time_limit_s > 0) {
    // On the command line of a local run; for a batch job, where the script builds the
    // command, in its environment (the script then does not requeue a spent budget).
    std::ostringstream limit;
    limit << options_.limits.study_time_limit_s;
    args.insert(args.end(), {"--time-limit", limit.str()});
    environment.push_back("FRACSTUDY_TIME_LIMIT=" + limit.str());
  }
  workspace_.remove_file(id, kStopFile);  // an earlier cancel does not stop this run
  if (!queue_token.empty()) {
    // The entry is claimed before the spawn: a starter that dies between the spawn and the
    // record below leaves an entry this record names, and it is never started twice.
    LaunchRecord claim;
    claim.launcher = options_.launcher.kind == LauncherKind::Slurm ? "slurm" : "local";
    claim.queue_token = queue_token;
    claim.started_at = io::utc_now_iso8601();
    workspace_.write_file(id, kLaunchFile, claim.to_json().dump(2) + "\n");
  }
  workspace_.append_line(id, kLogFile,
                         std::string(kRunStartsMarker) + ", " + io::utc_now_iso8601());
  LaunchExtras extras;
  extras.after_exit = options_.dispatch_command;
  if (!extras.after_exit.empty()) extras.after_exit.push_back("--after=" + id);
  if (const auto found = options_.priority_sbatch_args.find(priority);
      found != options_.priority_sbatch_args.end()) {
    extras.sbatch_args = found->second;
  } else {
    extras.sbatch_args = {"--nice=" + std::to_string(slurm_nice(priority))};
  }
  auto record = launcher_.launch(args, {kStudyFile, kResultFile}, environment,
                                 workspace_.file(id, kLogFile), workspace_.study_dir(id), extras);
  record.queue_token = queue_token;
  try {
    workspace_.write_file(id, kLaunchFile, record.to_json().dump(2) + "\n");
  } catch (const std::exception& error) {
    // The run is going all the same (its rank 0's lock shows it active): it counts as
    // started, and only its record is missing.
    workspace_.append_line(id, kLogFile,
                           "fracstudy-tools: the run started, but its launch record could not "
                           "be written: " +
                               std::string(error.what()));
  }
  return ToolResult::ok(json::object());
}

void ToolServer::own(const std::string& id, const std::string& token) {
  const std::lock_guard lock(started_mutex_);
  started_[id] = token;
}

std::vector<std::string> ToolServer::started_studies() const {
  const std::lock_guard lock(started_mutex_);
  std::vector<std::string> ids;
  for (const auto& [id, token] : started_)
    ids.push_back(id);
  return ids;
}

bool ToolServer::cancel_if_own(const std::string& id) const {
  std::string token;
  {
    const std::lock_guard lock(started_mutex_);
    const auto found = started_.find(id);
    if (found == started_.end()) return false;
    token = found->second;
  }
  {
    const auto admission = workspace_.lock_admission();
    for (const auto& [waiting_id, text] : workspace_.queue_entries()) {
      const auto entry = QueuedStudy::from_json(waiting_id, text);
      if (waiting_id != id || !entry) continue;
      if (entry->token != token) return false;  // queued again by someone else
      return take_out_of_queue_locked(id);
    }
  }
  // Started: only the run this server's submission started, not a later one of another.
  const auto launch =
      parse_untrusted_or_discarded(workspace_.read_file(id, kLaunchFile).value_or(""));
  if (!launch.is_object() || LaunchRecord::from_json(launch).queue_token != token) return false;
  return request_cancel(id);
}

bool ToolServer::is_active(const std::string& id) const {
  if (io::run_holds_lock(workspace_.file(id, kResultFile).string())) return true;
  const auto launch = workspace_.read_file(id, kLaunchFile);
  if (!launch) return false;
  const auto parsed = parse_untrusted_or_discarded(*launch);
  if (!parsed.is_object()) return false;
  const auto record = LaunchRecord::from_json(parsed);
  if (record.pid == 0 && record.job_id.empty() && !record.queue_token.empty()) {
    // A starter's claim, its spawn a moment away: starting. A claim left by a starter
    // that died before its spawn stops counting after a while.
    std::error_code error;
    const auto written = std::filesystem::last_write_time(workspace_.file(id, kLaunchFile), error);
    return !error && std::filesystem::file_time_type::clock::now() - written < kClaimLifetime;
  }
  return launcher_.is_active(record);
}

std::optional<ToolResult> ToolServer::refuse_when_full(std::size_t waiting) const {
  const auto& limits = options_.limits;
  const int active = active_studies();
  const bool slurm = options_.launcher.kind == LauncherKind::Slurm;
  // With Slurm its own queue holds the waiting: as many may be submitted as run and wait.
  const bool full = slurm ? active >= limits.max_running_studies + limits.max_queued_studies
                          : active >= limits.max_running_studies &&
                                static_cast<int>(waiting) >= limits.max_queued_studies;
  if (!full) return std::nullopt;
  return ToolResult::invalid("", std::to_string(limits.max_running_studies) +
                                     " studies are running, the most allowed at once, and " +
                                     std::to_string(limits.max_queued_studies) +
                                     " wait in the queue, the most allowed; wait for one to finish "
                                     "(wait_for_study) and call again");
}

std::optional<ToolResult> ToolServer::refuse_high(const std::string& client,
                                                  const std::vector<QueuedStudy>& waiting) const {
  int mine = 0;
  for (const auto& id : workspace_.study_ids()) {
    const auto submission =
        parse_untrusted_or_discarded(workspace_.read_file(id, kSubmissionFile).value_or(""));
    if (text_field(submission, "client") != client ||
        text_field(submission, "priority") != name_of(Priority::High)) {
      continue;
    }
    const bool waits = std::any_of(waiting.begin(), waiting.end(),
                                   [&id](const QueuedStudy& study) { return study.id == id; });
    mine += waits || is_active(id);
  }
  const int cap = options_.limits.max_high_per_client;
  if (mine < cap) return std::nullopt;
  return ToolResult::invalid("priority", "you have " + std::to_string(mine) +
                                             " high-priority studies waiting or running, the "
                                             "most allowed per client (" +
                                             std::to_string(cap) +
                                             "); use normal or batch, or wait for one to end");
}

std::optional<std::size_t> ToolServer::submit(const std::string& id, Priority priority,
                                              const std::string& client, bool retry,
                                              bool new_study) {
  if (options_.launcher.kind == LauncherKind::Slurm) {  // Slurm's queue is the queue
    const std::string token = random_token();
    auto started = start(id, run_command(retry), run_environment(retry), priority, token);
    if (started.is_error) throw std::runtime_error(started.value["error"]["message"]);
    own(id, token);
    return std::nullopt;
  }
  QueuedStudy entry;
  entry.id = id;
  entry.priority = priority;
  entry.client = client;
  entry.queued_at = io::utc_now_iso8601();
  entry.retry = retry;
  entry.token = random_token();
  try {
    entry.sequence = workspace_.next_queue_sequence();
    workspace_.write_queue_entry(id, entry.to_json().dump() + "\n");
  } catch (const std::exception&) {
    // Not queued (a full disk): a new study leaves no folder behind, so that its name can
    // be asked for again; a study that was there before stays as it was.
    if (new_study) workspace_.remove_new_study(id, {kStudyFile, kSubmissionFile});
    throw;
  }
  own(id, entry.token);
  start_waiting(id);
  return queue_position(id);
}

int ToolServer::dispatch_queue() {
  if (options_.launcher.kind == LauncherKind::Slurm) return 0;
  if (workspace_.queue_entries().empty()) return 0;  // a look without the lock
  const auto admission = workspace_.lock_admission();
  return start_waiting();
}

int ToolServer::start_waiting(const std::string& rethrow_for) {
  int started = 0;
  int active = active_studies();
  for (const auto& study : waiting_studies(true)) {
    if (active >= options_.limits.max_running_studies) break;
    try {
      start(study.id, run_command(study.retry), run_environment(study.retry), study.priority,
            study.token);
    } catch (const std::exception& error) {
      // That study leaves the queue (it must not block the rest for good); the others stay
      // for the next look, in case the cause passes (no fork to be had, no descriptor).
      workspace_.remove_queue_entry(study.id);
      workspace_.append_line(study.id, kLogFile,
                             "fracstudy: could not start the study: " + std::string(error.what()));
      if (study.id == rethrow_for) throw;
      break;
    }
    workspace_.remove_queue_entry(study.id);
    ++active;
    ++started;
  }
  return started;
}

std::vector<QueuedStudy> ToolServer::waiting_studies(bool prune) const {
  std::vector<QueuedStudy> waiting;
  for (const auto& [id, text] : workspace_.queue_entries()) {
    auto study = QueuedStudy::from_json(id, text);
    // An entry of a study that is gone, or that started (a process that started it died
    // before it could take it out), does not wait; under the lock it is taken out, so
    // that nothing starts twice (without it, a newer entry of that name could go).
    if (!study || !workspace_.has_study(id) || is_active(id) || was_started(*study)) {
      if (prune) workspace_.remove_queue_entry(id);
      continue;
    }
    waiting.push_back(std::move(*study));
  }
  return in_start_order(std::move(waiting));
}

bool ToolServer::was_started(const QueuedStudy& study) const {
  const auto launch = workspace_.read_file(study.id, kLaunchFile);
  const auto parsed = launch ? parse_untrusted_or_discarded(*launch) : json();
  return parsed.is_object() && LaunchRecord::from_json(parsed).queue_token == study.token;
}

std::optional<std::size_t> ToolServer::queue_position(const std::string& id) const {
  return position_in(waiting_studies(false), id);
}

std::optional<std::size_t> ToolServer::position_in(const std::vector<QueuedStudy>& waiting,
                                                   const std::string& id) {
  for (std::size_t k = 0; k < waiting.size(); ++k) {
    if (waiting[k].id == id) return k + 1;
  }
  return std::nullopt;
}

int ToolServer::active_studies() const {
  int active = 0;
  for (const auto& id : workspace_.study_ids())
    active += is_active(id);
  return active;
}

json ToolServer::status_of(const std::string& id) const {
  // The queue first: a start takes the entry out only after its claim or launch record is
  // written, so a study seen out of the queue is seen active by run_status_of.
  return status_of(id, waiting_studies(false));
}

json ToolServer::status_of(const std::string& id, const std::vector<QueuedStudy>& waiting) const {
  const auto position = position_in(waiting, id);
  json status = run_status_of(id, position.has_value());
  if (position) {
    status["status"] = study::name_of(study::StudyStatus::Queued);
    status["queue_position"] = *position;
    status.erase("reason");
    status.erase("resumable");
  }
  const auto submission =
      parse_untrusted_or_discarded(workspace_.read_file(id, kSubmissionFile).value_or(""));
  if (const auto priority = priority_from_name(text_field(submission, "priority"))) {
    status["priority"] = name_of(*priority);
  }
  return status;
}

json ToolServer::run_status_of(const std::string& id, bool queued) const {
  const bool active = is_active(id);
  const auto status_in_file =
      read_results(workspace_.file(id, kResultFile),
                   [](const auto& reader) { return study_status_json(reader, 0); });
  // A long run's log is megabytes: its last words are in its tail.
  const std::string log_tail = workspace_.read_file(id, kLogFile, 64 << 10).value_or("");
  const std::string said = last_words(log_tail);
  if (status_in_file) {
    json status = *status_in_file;
    status["study_id"] = id;
    status["active"] = active;
    const auto state = study::study_status_from_name(status.value("status", ""));
    if (active && state && !is_unfinished(*state)) {
      // A retry has started and not yet rewritten the status of the run before it.
      status["status"] = study::name_of(study::StudyStatus::Running);
    } else if (!active && state && is_unfinished(*state)) {
      // The file was left as the run went (killed, its node lost): it ended all the same.
      status["status"] = study::name_of(study::StudyStatus::Interrupted);
      status["estimated_remaining_s"] = nullptr;
      status["estimated_remaining"] = "unknown";
    }
    if (!active) {
      const auto shown = study::study_status_from_name(status.value("status", ""));
      const bool done = shown == study::StudyStatus::Completed;
      status["resumable"] = !done;
      // The run's own record of why it stopped (in the file), else its log's last words:
      // the output of a run that exits early may never be forwarded to the log.
      if (!done && !status.contains("reason")) {
        status["reason"] = shown == study::StudyStatus::Interrupted && said.empty()
                               ? "the run ended without a word (killed, or its node lost); "
                                 "retry_failed_simulations finishes the rest"
                               : said;
      }
    } else {
      status.erase("reason");  // an earlier run's, while a retry runs
    }
    return status;
  }
  // No readable result file yet: the run is starting (its totals from the study file), or
  // it ended before writing one.
  std::int64_t total = 0;
  json algorithm = "";
  try {
    const auto file = study::parse_study_text(workspace_.read_file(id, kStudyFile).value_or(""),
                                              id + "/" + kStudyFile);
    total = file.studies.at(0).task_count();
    algorithm = std::string(kernels::name_of(file.studies.at(0).algorithm));
  } catch (const std::exception&) {
  }
  json status = {
      {"study_id", id},
      {"algorithm", algorithm},
      {"status", study::name_of(active ? study::StudyStatus::Queued : study::StudyStatus::Failed)},
      {"progress",
       {{"total", total}, {"completed", 0}, {"failed", 0}, {"running", 0}, {"percentage", 0}}},
      {"estimated_remaining", "unknown"},
      {"estimated_remaining_s", nullptr},
      {"active", active}};
  if (!active && workspace_.read_file(id, kStopFile).value_or("").find(kCancelledWaiting) !=
                     std::string::npos) {
    status["status"] = study::name_of(study::StudyStatus::Cancelled);
    status["resumable"] = true;
    status["reason"] =
        std::string(kCancelledWaiting) + "; it never started (retry_failed_simulations starts it)";
  } else if (!active && !queued && !workspace_.read_file(id, kLaunchFile) &&
             !workspace_.read_file(id, kLogFile, 1)) {
    // Never launched, never failed to start (that leaves a log), not in the queue: its
    // run_parametric_study is still writing it (the queue entry or the launch comes last).
    // Seen as FAILED, "ended without results", an agent sharing the workspace gave up a
    // study about to start.
    status["status"] = study::name_of(study::StudyStatus::Created);
    status["active"] = true;  // about to wait or run: not finished
  } else if (!active) {
    status["resumable"] = false;
    status["reason"] =
        "the run ended without results: " +
        (said.empty() ? tail(workspace_.read_file(id, kLogFile).value_or(""), 5) : said);
  }
  return status;
}

ToolResult ToolServer::check_study_status(const json& arguments, const CallContext&) {
  const std::string id = arguments["study_id"];
  if (!workspace_.has_study(id)) {
    return ToolResult::invalid("study_id", "no study '" + id +
                                               "' in the workspace (list_studies "
                                               "shows them)");
  }
  return ToolResult::ok(status_of(id));
}

ToolResult ToolServer::wait_for_study(const json& arguments, const CallContext& context) {
  const std::string id = arguments["study_id"];
  if (!workspace_.has_study(id)) {
    return ToolResult::invalid("study_id", "no study '" + id + "' in the workspace");
  }
  const double timeout_s = arguments.value("timeout_s", std::min(60.0, options_.limits.max_wait_s));
  const auto start = std::chrono::steady_clock::now();
  const auto waited = [&start] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  double reported = -1;  // progress must grow from one notification to the next
  for (;;) {
    try {
      dispatch_queue();  // a waiting study starts while its caller waits, server or not
    } catch (const std::exception&) {  // a broken queue folder: the status says the rest
    }
    json status = status_of(id);
    const auto& progress = status["progress"];
    const double done = progress["completed"].get<double>() + progress["failed"].get<double>();
    if (context.progress && done > reported) {
      reported = done;
      context.progress(done, progress["total"].get<double>(),
                       std::string(status["status"].get<std::string>()) + ": " +
                           std::to_string(progress["completed"].get<std::int64_t>()) + " of " +
                           std::to_string(progress["total"].get<std::int64_t>()) + " done");
    }
    const bool finished = !status["active"].get<bool>() && !status.contains("queue_position");
    if (finished || waited() >= timeout_s || context.is_cancelled()) {
      status["finished"] = finished;
      status["waited_s"] = std::round(waited() * 10) / 10;
      return ToolResult::ok(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

ToolResult ToolServer::retry_failed_simulations(const json& arguments, const CallContext& context) {
  const std::string id = arguments["study_id"];
  if (!workspace_.has_study(id)) {
    return ToolResult::invalid("study_id", "no study '" + id + "' in the workspace");
  }
  const auto admission = workspace_.lock_admission();  // count and start as one step
  if (is_active(id)) {
    return ToolResult::invalid("study_id", "study '" + id +
                                               "' is still running; retry it when "
                                               "wait_for_study shows it ended");
  }
  start_waiting();
  const auto waiting = waiting_studies(true);  // under the admission lock
  if (const auto position = position_in(waiting, id)) {
    return ToolResult::invalid("study_id", "study '" + id + "' already waits in the queue (" +
                                               std::to_string(*position) + ")");
  }
  if (auto full = refuse_when_full(waiting.size())) return *full;  // a retry runs like any study
  const json status = status_of(id);
  const auto& progress = status["progress"];
  const std::int64_t unfinished =
      progress["total"].get<std::int64_t>() - progress["completed"].get<std::int64_t>();
  const bool has_results = std::filesystem::exists(workspace_.file(id, kResultFile));
  // No run ever began: no launch record, or only the claim of a start that failed.
  const auto launch =
      parse_untrusted_or_discarded(workspace_.read_file(id, kLaunchFile).value_or(""));
  const auto record = launch.is_object() ? LaunchRecord::from_json(launch) : LaunchRecord{};
  const bool never_started = !has_results && record.pid == 0 && record.job_id.empty() &&
                             workspace_.read_file(id, kStudyFile).has_value();
  if (!has_results && !never_started) {
    return ToolResult::failure("study '" + id +
                               "' has no results to retry: " + status.value("reason", ""));
  }
  if (unfinished == 0) {
    return ToolResult::ok({{"study_id", id}, {"status", status["status"]}, {"retrying", 0}});
  }
  const auto priority = priority_from_name(status.value("priority", "")).value_or(Priority::Normal);
  if (priority == Priority::High) {
    if (auto over = refuse_high(context.client, waiting)) return *over;
  }
  workspace_.remove_file(id, kStopFile);  // a cancel while it waited does not hold it back
  const auto position = submit(id, priority, context.client, has_results, false);
  json reply = {{"study_id", id},
                {"status", study::name_of(study::StudyStatus::Queued)},
                {"retrying", unfinished}};
  if (position) reply["queue_position"] = *position;
  return ToolResult::ok(reply);
}

ToolResult ToolServer::list_studies(const json&, const CallContext&) {
  json studies = json::array();
  const auto waiting = waiting_studies(false);  // read once, not once a study
  for (const auto& id : workspace_.study_ids()) {
    const json status = status_of(id, waiting);
    json entry = {{"study_id", id},
                  {"algorithm", status.value("algorithm", "")},
                  {"status", status["status"]},
                  {"active", status["active"]},
                  {"progress", status["progress"]}};
    for (const char* key : {"priority", "queue_position"}) {
      if (status.contains(key)) entry[key] = status[key];
    }
    studies.push_back(std::move(entry));
  }
  return ToolResult::ok({{"studies", studies}});
}

ToolResult ToolServer::get_study_results(const json& arguments, const CallContext&) {
  const std::string id = arguments["study_id"];
  if (!workspace_.has_study(id)) {
    return ToolResult::invalid("study_id", "no study '" + id + "' in the workspace");
  }
  const json status = status_of(id);
  const auto result_file = workspace_.file(id, kResultFile);
  json reply = {{"study_id", id},
                {"status", status["status"]},
                {"results", json::array()},
                {"result_file", result_file.string()},
                {"log_file", workspace_.file(id, kLogFile).string()}};
  const std::int64_t offset = arguments.value("rows_offset", std::int64_t{0});
  const std::int64_t limit = arguments.value("rows_limit", std::int64_t{0});
  const auto results = read_results(result_file, [&](const io::ResultReader& reader) {
    reader.summary(0);  // brought up to date with the journal
    const auto& study = reader.data().studies.at(0);
    json read = {{"algorithm", study.algorithm}, {"results", study_results_json(study)}};
    if (const auto sweep = dimension_from_sweep(study, reader.data().study(0))) {
      read["df_from_sweep"] = {{"df", sweep->df},
                               {"df_err", sweep->df_err},
                               {"points", sweep->points},
                               {"weighted", sweep->weighted}};
    }
    if (limit > 0) {
      json rows = json::array();
      std::int64_t total = 0;
      reader.for_each_row(0, [&](std::size_t task, const auto& columns, const auto& row) {
        ++total;
        const auto t = static_cast<std::int64_t>(task);
        if (t < offset || t >= offset + limit) return;
        json entry = json::object();
        for (std::size_t c = 0; c < columns.size(); ++c)
          entry[columns[c].name] = cell_json(row[c]);
        rows.push_back(std::move(entry));
      });
      read["rows"] = rows;
      read["rows_total"] = total;
      read["next_offset"] = offset + limit < total ? json(offset + limit) : json(nullptr);
    }
    return read;
  });
  if (results) reply.update(*results);  // not readable yet: no results so far
  ToolResult result = ToolResult::ok(reply);
  if (results) {
    result.extra_content.push_back(
        resource_link(result_file, "application/x-hdf5", "the study's result file (HDF5)"));
  }
  result.extra_content.push_back(
      resource_link(workspace_.file(id, kLogFile), "text/plain", "the log of the study's runs"));
  if (arguments.value("figure", false) && results) {
    json files = json::array();
    for (const auto& [path, bytes] : draw_figures(id)) {
      files.push_back(path.string());
      result.extra_content.push_back(
          {{"type", "image"}, {"data", base64(bytes)}, {"mimeType", "image/png"}});
    }
    result.value["figure_files"] = files;
  }
  return result;
}

std::vector<std::pair<std::filesystem::path, std::string>> ToolServer::draw_figures(
    const std::string& id) const {
  std::vector<std::pair<std::filesystem::path, std::string>> figures;
  if (options_.plot_command.empty()) return figures;
  const auto folder = workspace_.study_dir(id) / "figures";
  std::error_code error;
  const auto type = std::filesystem::symlink_status(folder, error).type();
  if (type != std::filesystem::file_type::not_found &&
      type != std::filesystem::file_type::directory) {
    return figures;  // a planted link: nothing is drawn through it
  }
  std::vector<std::string> command = options_.plot_command;
  command.insert(command.end(), {workspace_.file(id, kResultFile).string(), "-o", folder.string(),
                                 "--format", "png", "--max-clusters", "1"});
  std::string printed;
  if (run_program(command, printed) != 0) return figures;
  // The first figure of the metric, and the first picture of a saved cluster.
  bool metric_seen = false, cluster_seen = false;
  std::istringstream paths(printed);
  for (std::string line; std::getline(paths, line);) {
    const std::filesystem::path path = line;
    // Only a figure of this study's own folder, a file and no link.
    if (path.parent_path() != folder || path.extension() != ".png") continue;
    if (std::filesystem::symlink_status(path, error).type() !=
        std::filesystem::file_type::regular) {
      continue;
    }
    const bool cluster = path.filename().string().rfind("cluster_", 0) == 0;
    if (cluster ? cluster_seen : metric_seen) continue;
    auto bytes = workspace_.read_file(id, "figures/" + path.filename().string(), 8u << 20);
    if (!bytes || bytes->empty()) continue;
    (cluster ? cluster_seen : metric_seen) = true;
    figures.emplace_back(path, std::move(*bytes));
  }
  return figures;
}

bool ToolServer::take_out_of_queue(const std::string& id) const {
  const auto admission = workspace_.lock_admission();  // not started while it is taken out
  return take_out_of_queue_locked(id);
}

bool ToolServer::take_out_of_queue_locked(const std::string& id) const {
  if (!workspace_.remove_queue_entry(id) || is_active(id)) return false;
  workspace_.write_file(id, kStopFile,
                        std::string(kCancelledWaiting) + ", " + io::utc_now_iso8601() + "\n");
  return true;
}

bool ToolServer::request_cancel(const std::string& id) const {
  if (take_out_of_queue(id)) return true;
  if (!is_active(id)) return false;
  // Kept in the study folder, the request waits for the run wherever it is: still
  // starting (a signal then would be lost, or kill mpirun), or draining already.
  workspace_.write_file(id, kStopFile, io::utc_now_iso8601() + "\n");
  const auto launch = workspace_.read_file(id, kLaunchFile);
  const auto parsed = launch ? parse_untrusted_or_discarded(*launch) : json();
  const auto record = parsed.is_object() ? LaunchRecord::from_json(parsed) : LaunchRecord{};
  const bool watches = std::find(record.command.begin(), record.command.end(), "--stop-file") !=
                       record.command.end();
  if (!watches) launcher_.cancel(record);                    // a run from before stop files
  if (record.launcher == "slurm") launcher_.cancel(record);  // the batch script too
  return true;
}

ToolResult ToolServer::cancel_study(const json& arguments, const CallContext&) {
  const std::string id = arguments["study_id"];
  if (!workspace_.has_study(id)) {
    return ToolResult::invalid("study_id", "no study '" + id + "' in the workspace");
  }
  if (take_out_of_queue(id)) {
    const json status = status_of(id);
    return ToolResult::ok({{"study_id", id},
                           {"status", status["status"]},
                           {"cancel_requested", true},
                           {"message",
                            "the study waited in the queue and will not start; "
                            "retry_failed_simulations starts it later"}});
  }
  const bool requested = request_cancel(id);
  const json status = status_of(id);
  return ToolResult::ok({{"study_id", id},
                         {"status", status["status"]},
                         {"cancel_requested", requested},
                         {"message", requested ? "the run is draining: running simulations "
                                                 "finish, the rest stay pending"
                                               : "the study is not running"}});
}

ToolResult ToolServer::run_simulation(const json& arguments, const CallContext& context) {
  const std::string name = arguments["algorithm"];
  const auto algorithm = *kernels::algorithm_from_name(name);
  const auto& limits = options_.limits;
  if (arguments.contains("seed") && !exact_seed(arguments["seed"])) {
    return ToolResult::invalid("seed", "must be " + std::string(study::kSeedAllowed));
  }
  kernels::SimulationParameters parameters;
  std::vector<std::string> command = {options_.launcher.fracstudy_exe, "simulate", "--algorithm",
                                      name};
  const json given = arguments.value("parameters", json::object());
  for (const auto& [key, value] : given.items()) {
    const auto parameter = parameter_named(key);
    if (!kernels::uses_parameter(algorithm, parameter)) {
      return ToolResult::invalid("parameters." + key, name + " does not use " + key);
    }
    if (auto broken = kernels::check_parameter(parameter, value.get<double>())) {
      return ToolResult::invalid("parameters." + key, *broken);
    }
    kernels::set_parameter(parameters, parameter, value.get<double>());
    std::ostringstream text;
    text.precision(17);
    text << value.get<double>();
    std::string flag = key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    command.insert(command.end(), {"--" + flag, text.str()});
  }
  if (parameters.n_particles > limits.max_simulation_particles) {
    return ToolResult::invalid("parameters.n_particles",
                               "n_particles " + std::to_string(parameters.n_particles) +
                                   " exceeds run_simulation's limit of " +
                                   std::to_string(limits.max_simulation_particles) +
                                   " (a study, run_parametric_study, takes up to " +
                                   std::to_string(limits.max_particles) + ")");
  }
  try {
    kernels::check_parameters(algorithm, parameters);
  } catch (const std::exception& error) {
    return ToolResult::invalid("parameters", error.what());
  }
  const std::uint64_t seed = !arguments.contains("seed") ? 0
                             : arguments["seed"].is_number_float()
                                 ? static_cast<std::uint64_t>(arguments["seed"].get<double>())
                                 : arguments["seed"].get<std::uint64_t>();
  std::ostringstream limit;
  limit << limits.simulation_time_limit_s;
  command.insert(command.end(), {"--seed", std::to_string(seed), "--time-limit", limit.str()});
  // Every client and session of the workspace together: single simulations run beside the
  // studies, so their number is capped as the studies' is.
  const auto slot = workspace_.take_simulation_slot(limits.max_simulations_at_once);
  if (!slot.held()) {
    return ToolResult::invalid("", std::to_string(limits.max_simulations_at_once) +
                                       " simulations of run_simulation are running, the most "
                                       "at once; try again in a few seconds");
  }
  // A second past the kernel's own deadline, then the process is killed: a stuck one too.
  const auto outcome =
      run_for_call(command, limits.simulation_time_limit_s + 2, context, "simulating " + name);
  if (outcome.cancelled) return ToolResult::failure("cancelled");
  const bool past_limit = outcome.timed_out || outcome.err.find("timeout") != std::string::npos;
  if (past_limit) {
    return ToolResult::failure("the simulation was stopped after " + limit.str() +
                               " s, run_simulation's time limit; run bigger ones as a study "
                               "(run_parametric_study)");
  }
  json result = parse_untrusted_or_discarded(outcome.out);
  if (outcome.exit_code != 0 || !result.is_object()) {
    std::string said = outcome.err.substr(0, outcome.err.find('\n'));
    return ToolResult::failure("the simulation failed (exit " + std::to_string(outcome.exit_code) +
                               "): " + said.substr(0, 300));
  }
  return ToolResult::ok(result);
}

}  // namespace fracstudy::tools
