// The tool definitions: descriptions written for a language model, and JSON Schemas. The
// names and handlers are in the registry (ToolServer::tools()).
#include "definitions.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>

#include "fracstudy/io/result_file.hpp"
#include "fracstudy/kernels/metrics.hpp"
#include "fracstudy/kernels/models.hpp"
#include "fracstudy/study/spec.hpp"
#include "fracstudy/study/statistics.hpp"
#include "fracstudy/study/status.hpp"

namespace fracstudy::tools::definitions {
namespace {

using nlohmann::json;

const char* kDialect = "https://json-schema.org/draft/2020-12/schema";

/// The schema of one parameter value, from the same rules the study files use, with the
/// operator's cap on n_particles.
json parameter_schema(kernels::Parameter parameter, const ToolLimits& limits) {
  const auto& rule = kernels::rule_of(parameter);
  json schema = {
      {"type", rule.integer ? "integer" : "number"},
      {"description", std::string(rule.description) + " (" + std::string(rule.allowed) + ")"}};
  schema[rule.minimum_inclusive ? "minimum" : "exclusiveMinimum"] = rule.minimum;
  if (parameter == kernels::Parameter::NParticles &&
      static_cast<double>(limits.max_particles) < rule.maximum) {
    schema["maximum"] = limits.max_particles;
    schema["description"] = std::string(rule.description) + " (at most " +
                            std::to_string(limits.max_particles) + " here, the operator's cap)";
  } else if (std::isfinite(rule.maximum)) {
    schema[rule.maximum_inclusive ? "maximum" : "exclusiveMaximum"] = rule.maximum;
  }
  return schema;
}

json parameters_schema(const ToolLimits& limits) {
  json properties = json::object();
  for (auto p : kernels::all_parameters()) {
    properties[std::string(kernels::name_of(p))] = parameter_schema(p, limits);
  }
  return properties;
}

/// The models, from the registry: their names and what each is.
json algorithm_schema() {
  json names = json::array();
  std::string description = "aggregation model:";
  for (const auto& model : kernels::all_models()) {
    names.push_back(model.name);
    description += " " + std::string(model.name) + " (" + std::string(model.description) + ");";
  }
  description.back() = '.';
  return {{"type", "string"}, {"enum", names}, {"description", description}};
}

json parameter_names() {
  json names = json::array();
  for (auto p : kernels::all_parameters())
    names.push_back(kernels::name_of(p));
  return names;
}

/// The JSON Schema pattern of a study name or id.
std::string name_pattern() {
  return std::string("^") + study::kStudyNamePattern + "$";
}

/// Every metric and the statistics the results give of it, for a description.
std::string metrics_in_words() {
  std::string words;
  for (const auto& metric : kernels::kMetrics) {
    std::string statistics;
    for (const auto statistic : study::statistic_names(metric.aggregation)) {
      statistics += (statistics.empty() ? "" : ", ") + std::string(statistic);
    }
    words += (words.empty() ? "" : "; ") + std::string(metric.name) + " (" +
             std::string(metric.description) +
             (metric.unit.empty() ? "" : ", in " + std::string(metric.unit)) + "): " + statistics;
  }
  return words;
}

json study_id_schema() {
  return {{"type", "string"},
          {"pattern", name_pattern()},
          {"description", "the study_id that run_parametric_study returned"}};
}

json id_only_input() {
  return {{"$schema", kDialect},
          {"type", "object"},
          {"properties", {{"study_id", study_id_schema()}}},
          {"required", {"study_id"}},
          {"additionalProperties", false}};
}

json progress_schema() {
  json properties = json::object();
  json required = json::array();
  for (const char* count : {"total", "completed", "failed", "running"}) {
    properties[count] = {{"type", "integer"}, {"minimum", 0}};
    required.push_back(count);
  }
  properties["percentage"] = {{"type", "integer"}, {"minimum", 0}, {"maximum", 100}};
  required.push_back("percentage");
  return {{"type", "object"},
          {"properties", properties},
          {"required", required},
          {"additionalProperties", false}};
}

/// What an error result carries: the argument at fault (null when none) and why.
json error_schema() {
  return {{"type", "object"},
          {"properties",
           {{"field", {{"type", {"string", "null"}}}}, {"message", {{"type", "string"}}}}},
          {"required", {"field", "message"}},
          {"additionalProperties", false}};
}

/// A tool's output schema: its result's fields, every one declared, or an error
/// ({"error": {field, message}}) that comes back as structured content too.
json output_schema(json properties, const json& required) {
  properties["error"] = error_schema();
  return {{"type", "object"},
          {"properties", std::move(properties)},
          {"additionalProperties", false},
          {"anyOf", {{{"required", required}}, {{"required", {"error"}}}}}};
}

/// Every study status, from the one table in study/status.hpp.
json study_status_enum() {
  json names = json::array();
  for (const auto name : study::study_status_names())
    names.push_back(std::string(name));
  return {{"type", "string"}, {"enum", names}};
}

/// The priorities, from the one table in tools/queue.hpp.
json priority_schema() {
  json names = json::array();
  for (const auto priority : all_priorities())
    names.push_back(std::string(name_of(priority)));
  return {{"type", "string"},
          {"enum", names},
          {"description",
           "how soon the study runs when the running slots are taken: high studies start "
           "before every waiting one (never stopping a running one), batch after every other "
           "(default normal)"}};
}

json queue_position_schema() {
  return {{"type", "integer"},
          {"minimum", 1},
          {"description",
           "present while the study waits for a free slot: 1 starts next (it starts by itself)"}};
}

/// What check_study_status and wait_for_study return about a study.
json status_properties() {
  return {
      {"priority", priority_schema()},
      {"queue_position", queue_position_schema()},
      {"study_id", {{"type", "string"}}},
      {"algorithm", {{"type", "string"}}},
      {"status", study_status_enum()},
      {"active", {{"type", "boolean"}, {"description", "whether a run of the study is going"}}},
      {"progress", progress_schema()},
      {"estimated_remaining", {{"type", "string"}}},
      {"estimated_remaining_s", {{"type", {"number", "null"}}}},
      {"failures",
       {{"type", "object"},
        {"additionalProperties", {{"type", "integer"}}},
        {"description", "failed simulations by the reason of their last attempt"}}},
      {"created_at", {{"type", "string"}}},
      {"started_at", {{"type", "string"}}},
      {"completed_at", {{"type", "string"}}},
      {"reason",
       {{"type", "string"}, {"description", "why a run ended early or failed (its last words)"}}},
      {"resumable",
       {{"type", "boolean"},
        {"description", "whether retry_failed_simulations continues the study"}}}};
}

/// The parameter values of a parameter point or a simulation.
json parameter_values_schema() {
  json properties = json::object();
  for (auto p : kernels::all_parameters()) {
    properties[std::string(kernels::name_of(p))] = {
        {"type", kernels::rule_of(p).integer ? "integer" : "number"}};
  }
  return {{"type", "object"}, {"properties", properties}, {"additionalProperties", false}};
}

/// One row of get_study_results' `results`: a parameter point and its statistics.
json point_schema() {
  json properties = {
      {"parameters", parameter_values_schema()},
      {"n_samples", {{"type", "integer"}}},
      {"n_failed", {{"type", "integer"}}},
      {"flags",
       {{"type", "array"},
        {"items", {{"type", "string"}}},
        {"description",
         "what to look at twice: fit_window_under_a_decade, or A_B_disagree for two "
         "estimators of df whose means differ by more than twice their combined error"}}}};
  for (const auto& metric : kernels::kMetrics) {
    for (const auto statistic : study::statistic_names(metric.aggregation)) {
      properties[study::statistic_column(statistic, metric)] = {{"type", {"number", "null"}}};
    }
  }
  return {{"type", "object"},
          {"properties", properties},
          {"required", {"parameters", "n_samples", "n_failed"}},
          {"additionalProperties", false}};
}

/// One simulation's row, with the columns of the tasks table of every model.
json task_row_schema() {
  json properties = json::object();
  for (const auto& model : kernels::all_models()) {
    study::StudySpec spec;
    spec.algorithm = model.algorithm;
    for (const auto& column : io::task_columns_of(spec)) {
      json type = "string";
      if (column.type == io::ColumnType::Int64 || column.type == io::ColumnType::UInt64) {
        type = "integer";
      } else if (column.type == io::ColumnType::Float64) {
        type = {"number", "null"};
      }
      properties[column.name] = {{"type", type}};
    }
  }
  return {{"type", "object"}, {"properties", properties}, {"additionalProperties", false}};
}

/// Tool annotations (MCP): hints a client shows or uses to ask its user before a call.
/// The title is the tool's own (tool_definitions copies it in).
json annotations(bool read_only, bool destructive, bool idempotent) {
  return {{"readOnlyHint", read_only},
          {"destructiveHint", destructive},
          {"idempotentHint", idempotent},
          {"openWorldHint", false}};
}

std::string number_text(double value) {
  std::ostringstream text;
  text << value;
  return text.str();
}

/// The operator's limits, for the descriptions.
std::string limits_in_words(const ToolLimits& limits) {
  return "Limits set by the operator: at most " + std::to_string(limits.max_tasks_per_study) +
         " simulations per study, n_particles up to " + std::to_string(limits.max_particles) +
         ", " + std::to_string(limits.max_running_studies) + " studies running at once (" +
         std::to_string(limits.max_queued_studies) + " more wait in the queue, " +
         std::to_string(limits.max_high_per_client) +
         " high-priority study per client at a time), a simulation stopped after " +
         number_text(limits.task_time_limit_s) + " s (and retried), a run stopped after " +
         number_text(limits.study_time_limit_s) + " s (INTERRUPTED; retry_failed_simulations " +
         "continues it), and " + std::to_string(limits.max_calls_per_minute) +
         " tool calls per minute per client.";
}

}  // namespace

json run_parametric_study(const ToolLimits& limits) {
  json grid = json::object();
  for (auto p : kernels::all_parameters()) {
    grid[std::string(kernels::name_of(p))] = {{"type", "array"},
                                              {"items", parameter_schema(p, limits)},
                                              {"minItems", 1},
                                              {"maxItems", 100}};
  }
  json input = {
      {"$schema", kDialect},
      {"type", "object"},
      {"properties",
       {{"algorithm", algorithm_schema()},
        {"variable_parameter",
         {{"type", "string"},
          {"enum", parameter_names()},
          {"default", "n_particles"},
          {"description", "the parameter that takes each of `values` (default n_particles)"}}},
        {"values",
         {{"type", "array"},
          {"items", {{"type", "number"}}},
          {"minItems", 1},
          {"maxItems", 100},
          {"description", "the values of variable_parameter, one parameter point each"}}},
        {"base_parameters",
         {{"type", "object"},
          {"properties", parameters_schema(limits)},
          {"additionalProperties", false},
          {"description",
           "parameters fixed for every simulation; defaults: dimension 2, particle_radius 1, "
           "sticking_probability 1 (not for EDEN), volume_fraction (CCA only)"}}},
        {"repetitions",
         {{"type", "integer"},
          {"minimum", 1},
          {"maximum", 10},
          {"default", 1},
          {"description", "independent simulations (seeds) per parameter point"}}},
        {"grid",
         {{"type", "object"},
          {"properties", grid},
          {"additionalProperties", false},
          {"description",
           "instead of variable_parameter/values: lists of values per parameter; every "
           "combination is a parameter point"}}},
        {"name",
         {{"type", "string"},
          {"pattern", name_pattern()},
          {"description",
           "optional study_id; letters, digits, _ and - only (generated if absent)"}}},
        {"seed",
         {{"type", "integer"},
          {"minimum", 0},
          {"maximum", 18446744073709551615ULL},
          {"description", "master seed (default 0); the same seed gives the same results"}}},
        {"priority", priority_schema()}}},
      {"required", {"algorithm"}},
      {"additionalProperties", false}};
  json output = output_schema({{"study_id", {{"type", "string"}}},
                               {"status", study_status_enum()},
                               {"priority", priority_schema()},
                               {"started", {{"type", "boolean"}}},
                               {"queue_position", queue_position_schema()},
                               {"total_simulations", {{"type", "integer"}}},
                               {"parameter_points", {{"type", "integer"}}},
                               {"message", {{"type", "string"}}}},
                              {"study_id", "status", "total_simulations", "parameter_points"});
  return {{"title", "Run a parametric study"},
          {"description",
           "Start a parametric study of fractal aggregation simulations and return at once with "
           "its study_id (status QUEUED). When every running slot is taken the study waits in "
           "the queue (queue_position; priority high jumps it, batch lets others go first) and "
           "starts by itself when a slot frees. For one simulation while the user waits, use "
           "run_simulation instead. Then call wait_for_study (it returns when the study "
           "ends or after its timeout, with progress notifications) until the status is no "
           "longer QUEUED or RUNNING, and read get_study_results. Give either "
           "variable_parameter with values (a sweep) or grid (every combination), not both. "
           "Each simulation measures the fractal dimension df and the radius of gyration rg "
           "(in units of particle_radius). Studies run on after the MCP session ends unless "
           "the operator chose otherwise. At most 100 values and 10 repetitions. " +
               limits_in_words(limits) +
               " Example: a DLA sweep of n_particles from 100 to 1000 in steps of 100: "
               "{\"algorithm\": \"DLA\", \"variable_parameter\": \"n_particles\", "
               "\"values\": [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]}"},
          {"inputSchema", input},
          {"outputSchema", output},
          {"annotations", annotations(false, false, false)}};
}

json check_study_status(const ToolLimits&) {
  return {{"title", "Check a study's status"},
          {"description",
           "Report a study's status (QUEUED: waiting for a slot, with its queue_position, or "
           "starting; RUNNING; when it has ended: COMPLETED, "
           "PARTIALLY_FAILED, FAILED, or, stopped before its end, CANCELLED or INTERRUPTED, "
           "with the `reason` and whether retry_failed_simulations continues it, "
           "`resumable`; `active` says whether a run is going), its progress (total, "
           "completed, failed, running, percentage), failures by reason, and the estimated "
           "time left in words and seconds, from the measured speed. To wait for the end, "
           "call wait_for_study rather than polling this. Example: "
           "{\"study_id\": \"dla_n_sweep\"}"},
          {"inputSchema", id_only_input()},
          {"outputSchema",
           output_schema(status_properties(), {"study_id", "status", "progress", "active"})},
          {"annotations", annotations(true, false, true)}};
}

json wait_for_study(const ToolLimits& limits) {
  json input = id_only_input();
  input["properties"]["timeout_s"] = {
      {"type", "number"},
      {"minimum", 0},
      {"maximum", limits.max_wait_s},
      {"default", std::min(60.0, limits.max_wait_s)},
      {"description", "return after this many seconds even if the study still runs"}};
  json properties = status_properties();
  properties["finished"] = {
      {"type", "boolean"},
      {"description", "whether the study ended (else the timeout passed: call again)"}};
  properties["waited_s"] = {{"type", "number"}};
  return {{"title", "Wait for a study"},
          {"description",
           "Wait until a study is no longer QUEUED or RUNNING (a study waiting in the queue "
           "starts by itself meanwhile), or until timeout_s (at most " +
               number_text(limits.max_wait_s) +
               " s) passes, then return its status as check_study_status does, with "
               "`finished`. While it waits it sends notifications/progress (simulations done "
               "of the total) when the request has a progressToken, and it stops when the "
               "request is cancelled. Other calls are answered meanwhile. Example: "
               "{\"study_id\": \"dla_n_sweep\", \"timeout_s\": 120}"},
          {"inputSchema", input},
          {"outputSchema",
           output_schema(properties, {"study_id", "status", "progress", "active", "finished"})},
          {"annotations", annotations(true, false, true)}};
}

json retry_failed_simulations(const ToolLimits& limits) {
  return {{"title", "Retry a study's failed simulations"},
          {"description",
           "Run the failed (and never finished) simulations of a study that is no longer "
           "running again, with a fresh retry budget; results, summary and status are updated "
           "in place. Use it after PARTIALLY_FAILED, FAILED, CANCELLED or INTERRUPTED. It "
           "counts against the studies running at once. " +
               limits_in_words(limits) + " Example: {\"study_id\": \"dla_n_sweep\"}"},
          {"inputSchema", id_only_input()},
          {"outputSchema", output_schema({{"study_id", {{"type", "string"}}},
                                          {"status", study_status_enum()},
                                          {"retrying", {{"type", "integer"}}},
                                          {"queue_position", queue_position_schema()}},
                                         {"study_id", "status", "retrying"})},
          {"annotations", annotations(false, false, false)}};
}

json list_studies(const ToolLimits&) {
  json study = {{"type", "object"},
                {"properties",
                 {{"study_id", {{"type", "string"}}},
                  {"algorithm", {{"type", "string"}}},
                  {"status", study_status_enum()},
                  {"active", {{"type", "boolean"}}},
                  {"progress", progress_schema()},
                  {"priority", priority_schema()},
                  {"queue_position", queue_position_schema()}}},
                {"required", {"study_id", "algorithm", "status", "active", "progress"}},
                {"additionalProperties", false}};
  return {{"title", "List studies"},
          {"description",
           "List every study in the workspace with its algorithm, status, whether a run is "
           "going, progress and priority, oldest first; a study waiting for a slot shows its "
           "queue_position (1 starts next). Takes no arguments. Example: {}"},
          {"inputSchema",
           {{"$schema", kDialect},
            {"type", "object"},
            {"properties", json::object()},
            {"additionalProperties", false}}},
          {"outputSchema",
           output_schema({{"studies", {{"type", "array"}, {"items", study}}}}, {"studies"})},
          {"annotations", annotations(true, false, true)}};
}

json get_study_results(const ToolLimits& limits) {
  json input = id_only_input();
  input["properties"]["rows_offset"] = {
      {"type", "integer"},
      {"minimum", 0},
      {"maximum", limits.max_tasks_per_study},
      {"default", 0},
      {"description", "the first simulation (task_id) of the page of per-simulation rows"}};
  input["properties"]["rows_limit"] = {
      {"type", "integer"},
      {"minimum", 0},
      {"maximum", limits.max_rows_per_page},
      {"default", 0},
      {"description", "how many per-simulation rows to return (0: none, only the summary)"}};
  input["properties"]["figure"] = {
      {"type", "boolean"},
      {"default", false},
      {"description",
       "also return figures as PNG images: df against the varied parameter (or its "
       "histogram), and the picture of a saved cluster"}};
  return {{"title", "Get a study's results"},
          {"description",
           "Return a study's per-point results: the parameter values of each point, n_samples, "
           "n_failed, and for every metric its statistics, as fields named STATISTIC_METRIC "
           "(mean_df, sem_df, ...; sem is the standard error of the mean); null where there is no "
           "value. The metrics: " +
               metrics_in_words() +
               ". Each point has `flags` (a fit window under a decade; estimators of df that "
               "disagree beyond their errors); a sweep over n_particles also gives df_from_sweep. "
               "Available while running (partial) and after. On request, one page of "
               "per-simulation rows (rows_offset, rows_limit up to " +
               std::to_string(limits.max_rows_per_page) +
               "; next_offset gives the next page) and figures as images. The result file "
               "(HDF5) and the run's log come as resource links. Example: "
               "{\"study_id\": \"dla_n_sweep\", \"rows_limit\": 100}"},
          {"inputSchema", input},
          {"outputSchema",
           output_schema({{"study_id", {{"type", "string"}}},
                          {"algorithm", {{"type", "string"}}},
                          {"status", study_status_enum()},
                          {"results", {{"type", "array"}, {"items", point_schema()}}},
                          {"rows", {{"type", "array"}, {"items", task_row_schema()}}},
                          {"df_from_sweep",
                           {{"type", "object"},
                            {"description",
                             "a sweep over n_particles: df from log Rg against log N across the "
                             "points, with its error"},
                            {"properties",
                             {{"df", {{"type", "number"}}},
                              {"df_err", {{"type", "number"}}},
                              {"points", {{"type", "integer"}}},
                              {"weighted", {{"type", "boolean"}}}}},
                            {"additionalProperties", false}}},
                          {"rows_total", {{"type", "integer"}}},
                          {"next_offset", {{"type", {"integer", "null"}}}},
                          {"result_file", {{"type", "string"}}},
                          {"log_file", {{"type", "string"}}},
                          {"figure_files", {{"type", "array"}, {"items", {{"type", "string"}}}}}},
                         {"study_id", "status", "results"})},
          {"annotations", annotations(true, false, true)}};
}

json cancel_study(const ToolLimits&) {
  return {{"title", "Cancel a study"},
          {"description",
           "Stop a running study cleanly: no new simulations start, running ones finish "
           "within a grace time, results so far are kept and the study ends CANCELLED; "
           "retry_failed_simulations continues it later. A study waiting in the queue is taken "
           "out of it and never starts (CANCELLED). The request is kept with the study, "
           "so a cancel right after a start is not lost. Example: "
           "{\"study_id\": \"dla_n_sweep\"}"},
          {"inputSchema", id_only_input()},
          {"outputSchema", output_schema({{"study_id", {{"type", "string"}}},
                                          {"status", study_status_enum()},
                                          {"cancel_requested", {{"type", "boolean"}}},
                                          {"message", {{"type", "string"}}}},
                                         {"study_id", "status", "cancel_requested"})},
          {"annotations", annotations(false, true, true)}};
}

/// Read-only and idempotent: it changes nothing in the workspace, and the same arguments
/// give the same cluster.
json run_simulation(const ToolLimits& limits) {
  json parameters = parameters_schema(limits);
  parameters["n_particles"]["maximum"] = limits.max_simulation_particles;
  parameters["n_particles"]["description"] = "number of particles (at most " +
                                             std::to_string(limits.max_simulation_particles) +
                                             " here: run_simulation's cap; larger ones as a study)";
  json input = {{"$schema", kDialect},
                {"type", "object"},
                {"properties",
                 {{"algorithm", algorithm_schema()},
                  {"parameters",
                   {{"type", "object"},
                    {"properties", parameters},
                    {"additionalProperties", false},
                    {"description",
                     "the simulation's parameters; defaults: n_particles 1000, dimension 2, "
                     "particle_radius 1, sticking_probability 1 (not for EDEN), "
                     "volume_fraction (CCA only)"}}},
                  {"seed",
                   {{"type", "integer"},
                    {"minimum", 0},
                    {"maximum", 18446744073709551615ULL},
                    {"description",
                     "random seed (default 0); the same seed gives the same "
                     "cluster"}}}}},
                {"required", {"algorithm"}},
                {"additionalProperties", false}};
  json properties = {{"algorithm", {{"type", "string"}}},
                     {"parameters", parameter_values_schema()},
                     {"seed", {{"type", "integer"}}},
                     {"n_particles", {{"type", "integer"}}},
                     {"wall_time_s", {{"type", "number"}}}};
  for (const auto& metric : kernels::kMetrics) {
    properties[std::string(metric.name)] = {{"type", {"number", "null"}},
                                            {"description", std::string(metric.description)}};
  }
  return {{"title", "Run one simulation"},
          {"description",
           "Run one simulation while you wait and return its metrics in the same call: the "
           "fractal dimension df with its error and fit window (fit_n_min to fit_n_max "
           "particles), rg, kf, the other estimators and the wall time. For a quick question "
           "(\"what df does a 5,000-particle DLA in 3D give?\"); it takes no study slot. "
           "n_particles up to " +
               std::to_string(limits.max_simulation_particles) + ", stopped after " +
               number_text(limits.simulation_time_limit_s) +
               " s; progress notifications while it runs (with a progressToken); a cancelled "
               "request stops it. Sweeps, repetitions and larger sizes are studies "
               "(run_parametric_study). Example: {\"algorithm\": \"DLA\", \"parameters\": "
               "{\"n_particles\": 5000, \"dimension\": 3}, \"seed\": 1}"},
          {"inputSchema", input},
          {"outputSchema", output_schema(properties, {"algorithm", "n_particles", "df", "rg"})},
          {"annotations", annotations(true, false, true)}};
}

}  // namespace fracstudy::tools::definitions
