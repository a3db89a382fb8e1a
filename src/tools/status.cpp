#include "fracstudy/tools/status.hpp"

#include <cmath>
#include <cstdio>
#include <map>

namespace fracstudy::tools {
namespace {

using io::Table;

struct Progress {
  std::int64_t total = 0, completed = 0, failed = 0, running = 0;
  double mean_wall_s = std::nan("");
  std::map<std::string, std::int64_t> failures;  // reason -> count
};

Progress progress_of(const io::StudyData& study) {
  Progress progress;
  const Table& tasks = study.tasks;
  const auto status = tasks.find("status"), wall = tasks.find("wall_time_s"),
             error = tasks.find("error");
  double wall_sum = 0;
  std::int64_t timed = 0;
  for (const auto& row : tasks.rows) {
    ++progress.total;
    const std::string state = status ? Table::text(row[*status]) : "";
    if (state == "COMPLETED") {
      ++progress.completed;
      if (wall && std::isfinite(Table::number(row[*wall]))) {
        wall_sum += Table::number(row[*wall]);
        ++timed;
      }
    } else if (state == "FAILED") {
      ++progress.failed;
      if (error) ++progress.failures[last_reason(Table::text(row[*error]))];
    } else if (state == "RUNNING") {
      ++progress.running;
    }
  }
  if (timed > 0) progress.mean_wall_s = wall_sum / static_cast<double>(timed);
  return progress;
}

/// Seconds left: the tasks not yet done times the mean task time, shared by the workers.
double remaining_seconds(const Progress& progress, std::int64_t ranks) {
  const std::int64_t left = progress.total - progress.completed - progress.failed;
  if (left == 0) return 0;
  if (!std::isfinite(progress.mean_wall_s)) return std::nan("");
  const auto workers = static_cast<double>(std::max<std::int64_t>(1, ranks - 1));
  return static_cast<double>(left) * progress.mean_wall_s / workers;
}

}  // namespace

nlohmann::json cell_json(const io::Cell& cell) {
  if (const auto* s = std::get_if<std::string>(&cell)) return *s;
  if (const auto* i = std::get_if<std::int64_t>(&cell)) return *i;
  if (const auto* u = std::get_if<std::uint64_t>(&cell)) return *u;
  const double value = std::get<double>(cell);
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

std::string last_reason(const std::string& history) {
  const auto last = history.rfind("; attempt ");
  const std::string entry = last == std::string::npos ? history : history.substr(last + 2);
  const auto colon = entry.find(": ");
  return entry.rfind("attempt ", 0) == 0 && colon != std::string::npos ? entry.substr(colon + 2)
                                                                       : entry;
}

std::string duration_in_words(double seconds) {
  if (!std::isfinite(seconds)) return "unknown";
  auto words = [](double value, const char* unit) {
    const long rounded = std::lround(value);
    return std::to_string(rounded) + " " + unit + (rounded == 1 ? "" : "s");
  };
  if (seconds < 10) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.1f seconds", seconds);
    return buffer;
  }
  if (seconds < 90) return words(seconds, "second");
  if (seconds < 90 * 60) return words(seconds / 60, "minute");
  if (seconds < 48 * 3600) return words(seconds / 3600, "hour");
  return words(seconds / 86400, "day");
}

nlohmann::json study_status_json(const io::StudyData& study, std::int64_t ranks) {
  const Progress progress = progress_of(study);
  const double remaining = remaining_seconds(progress, ranks);
  const std::int64_t done = progress.completed + progress.failed;
  nlohmann::json failures = nlohmann::json::object();
  for (const auto& [reason, count] : progress.failures)
    failures[reason] = count;
  return {{"study_id", study.name},
          {"algorithm", study.algorithm},
          {"status", study.status},
          {"progress",
           {{"total", progress.total},
            {"completed", progress.completed},
            {"failed", progress.failed},
            {"running", progress.running},
            {"percentage", progress.total ? 100 * done / progress.total : 100}}},
          {"estimated_remaining", duration_in_words(remaining)},
          {"estimated_remaining_s",
           std::isfinite(remaining) ? nlohmann::json(remaining) : nlohmann::json(nullptr)},
          {"failures", failures},
          {"created_at", study.created_at},
          {"started_at", study.started_at},
          {"completed_at", study.completed_at}};
}

nlohmann::json study_results_json(const io::StudyData& study) {
  // The parameters come first in a summary, then n_samples and every statistic.
  const Table& summary = study.summary;
  const std::size_t first_statistic = summary.find("n_samples").value_or(summary.columns.size());
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : summary.rows) {
    nlohmann::json parameters = nlohmann::json::object();
    for (std::size_t c = 0; c < first_statistic; ++c) {
      parameters[summary.columns[c].name] = cell_json(row[c]);
    }
    nlohmann::json entry = {{"parameters", parameters}};
    for (std::size_t c = first_statistic; c < summary.columns.size(); ++c) {
      entry[summary.columns[c].name] = cell_json(row[c]);
    }
    rows.push_back(std::move(entry));
  }
  return rows;
}

nlohmann::json metric_json(const kernels::MetricDefinition& metric, double value) {
  if (!std::isfinite(value)) return nullptr;
  if (metric.integer) return static_cast<std::int64_t>(std::llround(value));
  return value;
}

}  // namespace fracstudy::tools
