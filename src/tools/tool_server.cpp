#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <ctime>
#include <functional>
#include <optional>
#include <set>

#include "definitions.hpp"
#include "fracstudy/io/child_process.hpp"
#include "fracstudy/io/result_file.hpp"
#include "fracstudy/study/errors.hpp"
#include "fracstudy/study/parser.hpp"
#include "fracstudy/study/writer.hpp"
#include "fracstudy/tools/schema.hpp"
#include "fracstudy/tools/status.hpp"
#include "fracstudy/tools/tools.hpp"

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

/// A study id when the caller gave no name: algorithm, what varies, time, counter.
std::string generated_id(const json& arguments, const Workspace& workspace) {
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
  base += "_" + std::string(stamp);
  for (int n = 1;; ++n) {
    const std::string id = base + "_" + std::to_string(n);
    if (!workspace.has_study(id)) return id.substr(0, 64);
  }
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
std::string study_yaml(const std::string& id, const json& arguments) {
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
  return study::write_study_file(
      {"written by the run_parametric_study tool",
       arguments.contains("seed")
           ? (arguments["seed"].is_number_float()
                  ? static_cast<std::uint64_t>(arguments["seed"].get<double>())
                  : arguments["seed"].get<std::uint64_t>())
           : std::uint64_t{0},
       {draft}});
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

}  // namespace

ToolResult ToolResult::invalid(const std::string& field, const std::string& message) {
  return {
      {{"error", {{"field", field.empty() ? json(nullptr) : json(field)}, {"message", message}}}},
      true,
      true};
}

ToolResult ToolResult::failure(const std::string& message) {
  return {{{"error", {{"field", nullptr}, {"message", message}}}}, true, false};
}

ToolServer::ToolServer(ToolServerOptions options)
    : options_(std::move(options)), workspace_(options_.workspace), launcher_(options_.launcher) {}

std::span<const ToolEntry> ToolServer::tools() {
  static constexpr ToolEntry kTools[] = {
      {"run_parametric_study", definitions::run_parametric_study,
       &ToolServer::run_parametric_study},
      {"check_study_status", definitions::check_study_status, &ToolServer::check_study_status},
      {"retry_failed_simulations", definitions::retry_failed_simulations,
       &ToolServer::retry_failed_simulations},
      {"list_studies", definitions::list_studies, &ToolServer::list_studies},
      {"get_study_results", definitions::get_study_results, &ToolServer::get_study_results},
      {"cancel_study", definitions::cancel_study, &ToolServer::cancel_study},
  };
  return kTools;
}

const ToolEntry* ToolServer::find_tool(std::string_view name) {
  for (const auto& tool : tools()) {
    if (tool.name == name) return &tool;
  }
  return nullptr;
}

const json& tool_definitions() {
  static const json definitions = [] {
    json all = json::array();
    for (const auto& tool : ToolServer::tools()) {
      json definition = tool.definition();
      definition["name"] = tool.name;
      all.push_back(std::move(definition));
    }
    return all;
  }();
  return definitions;
}

ToolResult ToolServer::call(const std::string& name, const json& arguments_in) {
  const ToolEntry* tool = find_tool(name);
  if (!tool) {
    std::string names;
    for (const auto& t : tools())
      names += (names.empty() ? "" : ", ") + std::string(t.name);
    return ToolResult::invalid("name", "unknown tool '" + name + "' (tools: " + names + ")");
  }
  const json& definition = tool_definitions().at(static_cast<std::size_t>(tool - tools().data()));
  const json arguments = arguments_in.is_null() ? json::object() : arguments_in;
  if (!arguments.is_object()) return ToolResult::invalid("", "arguments must be a JSON object");
  if (auto violation = validate(definition["inputSchema"], arguments)) {
    return ToolResult::invalid(violation->field, violation->message);
  }
  try {
    double retry_after_s = 0;
    if (!workspace_.admit_call(options_.limits.max_calls_per_minute, retry_after_s)) {
      return ToolResult::invalid(
          "", "rate limit: at most " + std::to_string(options_.limits.max_calls_per_minute) +
                  " tool calls per minute; try again in " +
                  std::to_string(static_cast<int>(std::ceil(retry_after_s))) + " s");
    }
    return (this->*tool->handler)(arguments);
  } catch (const std::exception& error) {
    return ToolResult::failure(error.what());
  }
}

ToolResult ToolServer::run_parametric_study(const json& arguments) {
  const bool sweep = arguments.contains("values");
  const bool grid = arguments.contains("grid");
  if (sweep == grid) {
    return ToolResult::invalid(sweep ? "grid" : "values",
                               "give either variable_parameter with values, or grid, not both");
  }
  if (grid && arguments.contains("variable_parameter")) {
    return ToolResult::invalid("variable_parameter", "not allowed with grid");
  }
  if (grid && arguments["grid"].empty()) {
    return ToolResult::invalid("grid", "must name at least one parameter");
  }
  if (arguments.contains("seed") && !exact_seed(arguments["seed"])) {
    return ToolResult::invalid("seed", "must be an integer from 0 to 18446744073709551615");
  }
  // Counted before anything is expanded: a grid of 5e7 points took 2 GB and 5 s to refuse.
  const auto limit = options_.limits.max_tasks_per_study;
  if (const auto requested = requested_task_count(arguments); requested > limit) {
    return ToolResult::invalid(grid ? "grid" : "values",
                               "the study would run " + std::to_string(requested) +
                                   " simulations (points x repetitions); the limit is " +
                                   std::to_string(limit));
  }
  std::string id;
  if (arguments.contains("name")) {
    id = arguments["name"].get<std::string>();
    if (workspace_.has_study(id)) {
      return ToolResult::invalid("name", "a study named '" + id + "' already exists");
    }
  } else {
    id = generated_id(arguments, workspace_);
  }
  const std::string text = study_yaml(id, arguments);
  study::StudyFile file;
  try {
    file = study::parse_study_text(text, id + "/" + kStudyFile);
  } catch (const study::StudyFileError& error) {
    return ToolResult::invalid(field_of(error.key()), rule_of_error(error));
  }
  const auto& spec = file.studies.front();
  if (spec.task_count() > options_.limits.max_tasks_per_study) {
    return ToolResult::invalid(grid ? "grid" : "values",
                               "the study would run " + std::to_string(spec.task_count()) +
                                   " simulations (points x repetitions); the limit is " +
                                   std::to_string(options_.limits.max_tasks_per_study));
  }
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
  const auto admission = workspace_.lock_admission();  // count and start as one step
  if (auto full = refuse_when_full()) return *full;
  if (!workspace_.create_study(id)) {
    return ToolResult::invalid("name", "a study named '" + id + "' already exists");
  }
  workspace_.write_file(id, kStudyFile, text);
  auto started = start(id, {"run", kStudyFile, "-o", kResultFile}, {});
  if (started.is_error) return started;
  return ToolResult::ok({{"study_id", id},
                         {"status", study::name_of(study::StudyStatus::Queued)},
                         {"total_simulations", spec.task_count()},
                         {"parameter_points", spec.points.size()},
                         {"message", "started; poll check_study_status with this study_id"}});
}

ToolResult ToolServer::start(const std::string& id, const std::vector<std::string>& fracstudy_args,
                             const std::vector<std::string>& slurm_env) {
  std::vector<std::string> environment = slurm_env;
  environment.push_back("FRACSTUDY=" + options_.launcher.fracstudy_exe);
  environment.push_back("FRACSTUDY_STOP_FILE=" + workspace_.file(id, kStopFile).string());
  std::vector<std::string> args = fracstudy_args;
  args.insert(args.end(), {"--stop-file", kStopFile});
  workspace_.remove_file(id, kStopFile);  // an earlier cancel does not stop this run
  const auto record = launcher_.launch(args, {kStudyFile, kResultFile}, environment,
                                       workspace_.file(id, kLogFile), workspace_.study_dir(id));
  workspace_.write_file(id, kLaunchFile, record.to_json().dump(2) + "\n");
  return ToolResult::ok(json::object());
}

bool ToolServer::is_active(const std::string& id) const {
  const auto launch = workspace_.read_file(id, kLaunchFile);
  if (!launch) return false;
  const auto parsed = json::parse(*launch, nullptr, false);
  return !parsed.is_discarded() && launcher_.is_active(LaunchRecord::from_json(parsed));
}

std::optional<ToolResult> ToolServer::refuse_when_full() const {
  if (active_studies() < options_.limits.max_running_studies) return std::nullopt;
  return ToolResult::invalid("", std::to_string(options_.limits.max_running_studies) +
                                     " studies are running, the most allowed at once; wait "
                                     "for one to finish (check_study_status) and call again");
}

int ToolServer::active_studies() const {
  int active = 0;
  for (const auto& id : workspace_.study_ids())
    active += is_active(id);
  return active;
}

json ToolServer::status_of(const std::string& id) const {
  const bool active = is_active(id);
  const auto status_in_file =
      read_results(workspace_.file(id, kResultFile),
                   [](const auto& reader) { return study_status_json(reader, 0); });
  if (status_in_file) {
    json status = *status_in_file;
    status["study_id"] = id;
    status["active"] = active;
    const auto state = study::study_status_from_name(status.value("status", ""));
    if (!active && (state == study::StudyStatus::Running || state == study::StudyStatus::Queued)) {
      // The file was left as the run went (killed, its node lost): it ended all the same.
      status["status"] = study::name_of(study::StudyStatus::Interrupted);
      status["estimated_remaining_s"] = nullptr;
      status["estimated_remaining"] = "unknown";
    }
    const auto shown = study::study_status_from_name(status.value("status", ""));
    if (!active &&
        (shown == study::StudyStatus::Interrupted || shown == study::StudyStatus::Cancelled)) {
      status["note"] = "the run stopped before the end; retry_failed_simulations finishes the rest";
    }
    return status;
  }
  json status = {
      {"study_id", id},
      {"status", study::name_of(active ? study::StudyStatus::Queued : study::StudyStatus::Failed)},
      {"progress",
       {{"total", 0}, {"completed", 0}, {"failed", 0}, {"running", 0}, {"percentage", 0}}},
      {"estimated_remaining", "unknown"},
      {"estimated_remaining_s", nullptr},
      {"active", active}};
  if (!active) {
    status["error"] = "the run ended without results: " +
                      tail(workspace_.read_file(id, kLogFile).value_or(""), 5);
  }
  return status;
}

ToolResult ToolServer::check_study_status(const json& arguments) {
  const std::string id = arguments["study_id"];
  if (!workspace_.has_study(id)) {
    return ToolResult::invalid("study_id", "no study '" + id +
                                               "' in the workspace (list_studies "
                                               "shows them)");
  }
  return ToolResult::ok(status_of(id));
}

ToolResult ToolServer::retry_failed_simulations(const json& arguments) {
  const std::string id = arguments["study_id"];
  if (!workspace_.has_study(id)) {
    return ToolResult::invalid("study_id", "no study '" + id + "' in the workspace");
  }
  const auto admission = workspace_.lock_admission();  // count and start as one step
  if (is_active(id)) {
    return ToolResult::invalid("study_id", "study '" + id +
                                               "' is still running; retry it when "
                                               "check_study_status shows it ended");
  }
  if (auto full = refuse_when_full()) return *full;  // a retry runs like any study
  const json status = status_of(id);
  const auto& progress = status["progress"];
  const std::int64_t unfinished =
      progress["total"].get<std::int64_t>() - progress["completed"].get<std::int64_t>();
  if (!std::filesystem::exists(workspace_.file(id, kResultFile))) {
    return ToolResult::failure(
        "study '" + id + "' has no results to retry: " + status.value("error", std::string()));
  }
  if (unfinished == 0) {
    return ToolResult::ok({{"study_id", id}, {"status", status["status"]}, {"retrying", 0}});
  }
  auto started = start(id, {"retry", kResultFile}, {"FRACSTUDY_RETRY=1"});
  if (started.is_error) return started;
  return ToolResult::ok({{"study_id", id},
                         {"status", study::name_of(study::StudyStatus::Queued)},
                         {"retrying", unfinished}});
}

ToolResult ToolServer::list_studies(const json&) {
  json studies = json::array();
  for (const auto& id : workspace_.study_ids()) {
    const json status = status_of(id);
    studies.push_back({{"study_id", id},
                       {"algorithm", status.value("algorithm", "")},
                       {"status", status["status"]},
                       {"progress", status["progress"]}});
  }
  return ToolResult::ok({{"studies", studies}});
}

ToolResult ToolServer::get_study_results(const json& arguments) {
  const std::string id = arguments["study_id"];
  if (!workspace_.has_study(id)) {
    return ToolResult::invalid("study_id", "no study '" + id + "' in the workspace");
  }
  const json status = status_of(id);
  json reply = {{"study_id", id}, {"status", status["status"]}, {"results", json::array()}};
  const auto results =
      read_results(workspace_.file(id, kResultFile), [](const io::ResultReader& reader) {
        const auto& study = reader.data().studies.at(0);
        return json{{"algorithm", study.algorithm}, {"results", study_results_json(study)}};
      });
  if (results) reply.update(*results);  // not readable yet: no results so far
  return ToolResult::ok(reply);
}

ToolResult ToolServer::cancel_study(const json& arguments) {
  const std::string id = arguments["study_id"];
  if (!workspace_.has_study(id)) {
    return ToolResult::invalid("study_id", "no study '" + id + "' in the workspace");
  }
  const auto launch = workspace_.read_file(id, kLaunchFile);
  bool requested = false;
  if (launch) {
    const auto parsed = json::parse(*launch, nullptr, false);
    const auto record = parsed.is_discarded() ? LaunchRecord{} : LaunchRecord::from_json(parsed);
    if (launcher_.is_active(record)) {
      // Kept in the study folder, the request waits for the run wherever it is: still
      // starting (a signal then would be lost, or kill mpirun), or draining already.
      workspace_.write_file(id, kStopFile, io::utc_now_iso8601() + "\n");
      const bool watches = std::find(record.command.begin(), record.command.end(), "--stop-file") !=
                           record.command.end();
      requested = watches || launcher_.cancel(record);
      if (record.launcher == "slurm") launcher_.cancel(record);  // the batch script too
    }
  }
  const json status = status_of(id);
  return ToolResult::ok({{"study_id", id},
                         {"status", status["status"]},
                         {"cancel_requested", requested},
                         {"message", requested ? "the run is draining: running simulations "
                                                 "finish, the rest stay pending"
                                               : "the study is not running"}});
}

}  // namespace fracstudy::tools
