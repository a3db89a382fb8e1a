// What the result file's tables hold: the columns of the tasks and summary tables, the
// summary rows and the /metrics table (private to the io layer; shared by the writer and the
// reader, which rebuilds summaries when it applies the journal).
#include "result_layout.hpp"

#include <algorithm>

#include "fracstudy/kernels/estimators.hpp"
#include "fracstudy/study/statistics.hpp"
#include "hdf5_table.hpp"

namespace fracstudy::io::detail {

using kernels::Parameter;

ColumnType column_type_of(Parameter parameter) {
  return kernels::rule_of(parameter).integer ? ColumnType::Int64 : ColumnType::Float64;
}

Cell cell_of(Parameter parameter, const kernels::SimulationParameters& point) {
  const double value = kernels::get_parameter(point, parameter);
  if (kernels::rule_of(parameter).integer) return static_cast<std::int64_t>(value);
  return value;
}

std::vector<Column> task_columns(const study::StudySpec& spec) {
  std::vector<Column> columns = {{"task_id", ColumnType::Int64},
                                 {"seed", ColumnType::UInt64},
                                 {"repetition", ColumnType::Int64}};
  for (Parameter p : kernels::parameters_of(spec.algorithm)) {
    columns.push_back({std::string(kernels::name_of(p)), column_type_of(p)});
  }
  // The status and the host repeat on every row: fixed widths (io::Column::width). A
  // host name is at most 64 bytes on Linux (HOST_NAME_MAX); the error stays variable.
  columns.insert(columns.end(), {{"status", ColumnType::String, kStatusWidth},
                                 {"attempts", ColumnType::Int64},
                                 {"worker_rank", ColumnType::Int64},
                                 {"host", ColumnType::String, kHostWidth},
                                 {"wall_time_s", ColumnType::Float64},
                                 {"error", ColumnType::String}});
  // Every metric as float64, so a task without a value holds NaN, never 0.
  for (const auto& metric : kernels::kMetrics) {
    columns.push_back({std::string(metric.name), ColumnType::Float64});
  }
  columns.push_back({"interruptions", ColumnType::Int64});
  return columns;
}

Table summary_table(const study::StudySpec& spec, study::RecordsView records) {
  return summary_table(spec, study::summarize(spec, records));
}

Table summary_table(const study::StudySpec& spec, std::span<const study::PointSummary> summaries) {
  Table table;
  for (Parameter p : kernels::parameters_of(spec.algorithm)) {
    table.columns.push_back({std::string(kernels::name_of(p)), column_type_of(p)});
  }
  table.columns.insert(table.columns.end(),
                       {{"n_samples", ColumnType::Int64}, {"n_failed", ColumnType::Int64}});
  for (const auto& metric : kernels::kMetrics) {
    for (const auto statistic : study::statistic_names(metric.aggregation)) {
      table.columns.push_back({study::statistic_column(statistic, metric), ColumnType::Float64});
    }
  }
  for (const auto& summary : summaries) {
    std::vector<Cell> row;
    for (Parameter p : kernels::parameters_of(spec.algorithm)) {
      row.push_back(cell_of(p, spec.points[summary.point]));
    }
    row.insert(row.end(), {summary.n_samples, summary.n_failed});
    for (const auto& statistics : summary.statistics) {
      row.insert(row.end(), statistics.begin(), statistics.end());
    }
    table.rows.push_back(std::move(row));
  }
  return table;
}

namespace {
// The tally's attributes (completed_simulations and failed_simulations are the study's own).
constexpr const char* kPending = "pending_simulations";
constexpr const char* kRunning = "running_simulations";
constexpr const char* kUnfinishedCost = "unfinished_cost";
constexpr const char* kTimedCost = "completed_cost";
constexpr const char* kTimedWall = "completed_wall_time_s";
constexpr const char* kFailureReasons = "failure_reasons";
}  // namespace

void write_progress(hid_t study_group, const study::ProgressTally& tally) {
  write_attribute(study_group, kPending, tally.counts.pending);
  write_attribute(study_group, kRunning, tally.counts.running);
  write_attribute(study_group, kUnfinishedCost, tally.work.unfinished_cost);
  write_attribute(study_group, kTimedCost, tally.work.timed_cost);
  write_attribute(study_group, kTimedWall, tally.work.timed_wall_s);
  Table reasons;
  reasons.columns = {{"reason", ColumnType::String}, {"count", ColumnType::Int64}};
  for (const auto& [reason, count] : tally.failures)
    reasons.rows.push_back({reason, count});
  write_table(study_group, kFailureReasons, reasons);
}

std::optional<study::ProgressTally> read_progress(hid_t study_group, std::int64_t total) {
  const auto pending = read_integer_attribute(study_group, kPending);
  const auto running = read_integer_attribute(study_group, kRunning);
  const auto completed = read_integer_attribute(study_group, "completed_simulations");
  const auto failed = read_integer_attribute(study_group, "failed_simulations");
  const auto unfinished_cost = read_double_attribute(study_group, kUnfinishedCost);
  const auto timed_cost = read_double_attribute(study_group, kTimedCost);
  const auto timed_wall = read_double_attribute(study_group, kTimedWall);
  if (!pending || !running || !completed || !failed || !unfinished_cost || !timed_cost ||
      !timed_wall || H5Lexists(study_group, kFailureReasons, H5P_DEFAULT) <= 0) {
    return std::nullopt;
  }
  study::ProgressTally tally;
  tally.counts = {total, *pending, *running, *completed, *failed};
  tally.work.unfinished = *pending + *running;
  tally.work.unfinished_cost = *unfinished_cost;
  tally.work.timed_cost = *timed_cost;
  tally.work.timed_wall_s = *timed_wall;
  const Table reasons = read_table(study_group, kFailureReasons);
  const auto reason = reasons.find("reason"), count = reasons.find("count");
  if (!reason || !count) return std::nullopt;
  for (const auto& row : reasons.rows) {
    tally.failures[Table::text(row[*reason])] +=
        static_cast<std::int64_t>(std::clamp(Table::number(row[*count]), -1e15, 1e15));
  }
  if (!tally.consistent()) return std::nullopt;
  return tally;
}

/// The metric definitions as a table (/metrics): what each metric column means.
Table metrics_table() {
  Table table;
  table.columns = {{"name", ColumnType::String},
                   {"unit", ColumnType::String},
                   {"description", ColumnType::String},
                   {"aggregation", ColumnType::String},
                   {"statistics", ColumnType::String}};
  for (const auto& metric : kernels::kMetrics) {
    std::string statistics;
    for (const auto statistic : study::statistic_names(metric.aggregation)) {
      statistics += (statistics.empty() ? "" : ",") + std::string(statistic);
    }
    table.rows.push_back(
        {std::string(metric.name), std::string(metric.unit), std::string(metric.description),
         metric.aggregation == kernels::Aggregation::Moments ? "moments" : "range", statistics});
  }
  return table;
}

void write_structure_factor(hid_t cluster, const std::vector<float>& curve) {
  if (curve.empty()) return;
  write_attribute(cluster, kStructureFactorAttribute, curve);
  const auto grid = kernels::structure_factor_grid();
  write_attribute(cluster, kStructureFactorGridAttribute,
                  std::vector<float>(grid.begin(), grid.end()));
}

}  // namespace fracstudy::io::detail
