// What the result file's tables hold: the columns of the tasks and summary tables, the
// summary rows and the /metrics table (private to the io layer; shared by the writer and the
// reader, which rebuilds summaries when it applies the journal).
#include "result_layout.hpp"

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

Table summary_table(const study::StudySpec& spec, std::span<const study::TaskRecord> records) {
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
