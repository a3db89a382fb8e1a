// The tool definitions: descriptions written for a language model, and JSON Schemas. The
// names and handlers are in the registry (ToolServer::tools()).
#include "definitions.hpp"

#include <cmath>
#include <string>

#include "fracstudy/kernels/metrics.hpp"
#include "fracstudy/kernels/models.hpp"
#include "fracstudy/study/spec.hpp"
#include "fracstudy/study/statistics.hpp"
#include "fracstudy/study/status.hpp"

namespace fracstudy::tools::definitions {
namespace {

using nlohmann::json;

const char* kDialect = "https://json-schema.org/draft/2020-12/schema";

/// The schema of one parameter value, from the same rules the study files use.
json parameter_schema(kernels::Parameter parameter) {
  const auto& rule = kernels::rule_of(parameter);
  json schema = {
      {"type", rule.integer ? "integer" : "number"},
      {"description", std::string(rule.description) + " (" + std::string(rule.allowed) + ")"}};
  schema[rule.minimum_inclusive ? "minimum" : "exclusiveMinimum"] = rule.minimum;
  if (std::isfinite(rule.maximum)) {
    schema[rule.maximum_inclusive ? "maximum" : "exclusiveMaximum"] = rule.maximum;
  }
  return schema;
}

json parameters_schema() {
  json properties = json::object();
  for (auto p : kernels::all_parameters()) {
    properties[std::string(kernels::name_of(p))] = parameter_schema(p);
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
  return {{"type", "object"},
          {"properties",
           {{"total", {{"type", "integer"}}},
            {"completed", {{"type", "integer"}}},
            {"failed", {{"type", "integer"}}},
            {"running", {{"type", "integer"}}},
            {"percentage", {{"type", "integer"}}}}}};
}

}  // namespace

json run_parametric_study() {
  json grid = json::object();
  for (auto p : kernels::all_parameters()) {
    grid[std::string(kernels::name_of(p))] = {
        {"type", "array"}, {"items", parameter_schema(p)}, {"minItems", 1}, {"maxItems", 100}};
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
          {"properties", parameters_schema()},
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
          {"description", "master seed (default 0); the same seed gives the same results"}}}}},
      {"required", {"algorithm"}},
      {"additionalProperties", false}};
  json output = {{"type", "object"},
                 {"properties",
                  {{"study_id", {{"type", "string"}}},
                   {"status", {{"type", "string"}}},
                   {"total_simulations", {{"type", "integer"}}},
                   {"parameter_points", {{"type", "integer"}}},
                   {"message", {{"type", "string"}}}}},
                 {"required", {"study_id", "status"}}};
  return {{"description",
           "Start a parametric study of fractal aggregation simulations and return at once with "
           "its study_id (status QUEUED); poll check_study_status until COMPLETED, then read "
           "get_study_results. Give either variable_parameter with values (a sweep) or grid "
           "(every combination), not both. Each simulation measures the fractal dimension df "
           "and the radius of gyration rg (in units of particle_radius). Limits: at most 100 "
           "values, 10 repetitions, and the operator's caps on tasks per study, n_particles "
           "and studies running at once. Example: a DLA sweep of n_particles from 100 to 1000 "
           "in steps of 100: {\"algorithm\": \"DLA\", \"variable_parameter\": \"n_particles\", "
           "\"values\": [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]}"},
          {"inputSchema", input},
          {"outputSchema", output}};
}

/// Every study status, from the one table in study/status.hpp.
json study_status_enum() {
  json names = json::array();
  for (const auto name : study::study_status_names())
    names.push_back(std::string(name));
  return {{"type", "string"}, {"enum", names}};
}

json check_study_status() {
  json output = {{"type", "object"},
                 {"properties",
                  {{"study_id", {{"type", "string"}}},
                   {"status", study_status_enum()},
                   {"progress", progress_schema()},
                   {"estimated_remaining", {{"type", "string"}}},
                   {"estimated_remaining_s", {{"type", {"number", "null"}}}},
                   {"active", {{"type", "boolean"}}}}},
                 {"required", {"study_id", "status", "progress"}}};
  return {{"description",
           "Report a study's status (QUEUED, RUNNING; when it has ended: COMPLETED, "
           "PARTIALLY_FAILED, FAILED, or, stopped before its end, CANCELLED or INTERRUPTED, "
           "which retry_failed_simulations continues; `active` says whether a run is going), "
           "its progress (total, completed, failed, running, percentage), failures by reason, "
           "and the estimated time left in words and seconds, from the measured speed. "
           "Cheap: poll it every few seconds. Example: {\"study_id\": \"dla_n_sweep\"}"},
          {"inputSchema", id_only_input()},
          {"outputSchema", output}};
}

json retry_failed_simulations() {
  return {{"description",
           "Run the failed (and never finished) simulations of a study that is no longer "
           "running again, with a fresh retry budget; results, summary and status are updated "
           "in place. Use it after PARTIALLY_FAILED, FAILED, CANCELLED or INTERRUPTED. "
           "Example: {\"study_id\": \"dla_n_sweep\"}"},
          {"inputSchema", id_only_input()},
          {"outputSchema",
           {{"type", "object"},
            {"properties",
             {{"study_id", {{"type", "string"}}},
              {"status", {{"type", "string"}}},
              {"retrying", {{"type", "integer"}}}}},
            {"required", {"study_id", "status", "retrying"}}}}};
}

json list_studies() {
  return {{"description",
           "List every study in the workspace with its algorithm, status and progress, oldest "
           "first. Takes no arguments. Example: {}"},
          {"inputSchema",
           {{"$schema", kDialect},
            {"type", "object"},
            {"properties", json::object()},
            {"additionalProperties", false}}},
          {"outputSchema",
           {{"type", "object"},
            {"properties", {{"studies", {{"type", "array"}}}}},
            {"required", {"studies"}}}}};
}

json get_study_results() {
  return {{"description",
           "Return a study's per-point results: the parameter values of each point, "
           "n_samples, n_failed, and for every metric its statistics, as fields named "
           "STATISTIC_METRIC (mean_df, sem_df, ...; sem is the standard error of the mean); "
           "null where there is no value. The metrics: " +
               metrics_in_words() +
               ". Available while running (partial) and after. Example: "
               "{\"study_id\": \"dla_n_sweep\"}"},
          {"inputSchema", id_only_input()},
          {"outputSchema",
           {{"type", "object"},
            {"properties",
             {{"study_id", {{"type", "string"}}},
              {"status", {{"type", "string"}}},
              {"results", {{"type", "array"}}}}},
            {"required", {"study_id", "status", "results"}}}}};
}

json cancel_study() {
  return {{"description",
           "Stop a running study cleanly: no new simulations start, running ones finish "
           "within a grace time, results so far are kept; retry_failed_simulations continues "
           "it later. Example: {\"study_id\": \"dla_n_sweep\"}"},
          {"inputSchema", id_only_input()},
          {"outputSchema",
           {{"type", "object"},
            {"properties",
             {{"study_id", {{"type", "string"}}},
              {"status", {{"type", "string"}}},
              {"cancel_requested", {{"type", "boolean"}}}}},
            {"required", {"study_id", "status", "cancel_requested"}}}}};
}

}  // namespace fracstudy::tools::definitions
