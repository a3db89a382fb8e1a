#include "fracstudy/tools/status.hpp"

#include <cmath>
#include <cstdio>
#include <map>
#include <span>

#include "fracstudy/kernels/models.hpp"
#include "fracstudy/study/progress.hpp"

namespace fracstudy::tools {
namespace {

using io::Table;

/// What a study's status is computed from, gathered in one pass over its task records.
struct StudyProgress {
  study::TaskCounts counts;
  study::RemainingWork work;
  std::map<std::string, std::int64_t> failures;  // by the reason of the last failed attempt
};

StudyProgress progress_of(const io::ResultReader& reader, std::size_t s) {
  const auto& spec = reader.data().study(s);
  const auto repetitions = static_cast<std::size_t>(spec.repetitions);
  StudyProgress progress;
  progress.work.workers = reader.data().workers();
  reader.for_each_record(s, [&](std::size_t i, const study::TaskRecord& record) {
    progress.counts.add(record.status);
    progress.work.add(kernels::estimated_cost(spec.algorithm, spec.points[i / repetitions]),
                      record);
    if (record.status == study::TaskStatus::Failed) ++progress.failures[last_reason(record.error)];
  });
  return progress;
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

nlohmann::json study_status_json(const io::ResultReader& reader, std::size_t s) {
  const io::StudyData& study = reader.data().studies.at(s);
  const StudyProgress progress = progress_of(reader, s);
  const auto& counts = progress.counts;
  const auto remaining = study::estimated_remaining_s(progress.work);
  nlohmann::json failures = nlohmann::json::object();
  for (const auto& [reason, count] : progress.failures)
    failures[reason] = count;
  return {
      {"study_id", study.name},
      {"algorithm", study.algorithm},
      {"status", study::name_of(study.status)},
      {"progress",
       {{"total", counts.total},
        {"completed", counts.completed},
        {"failed", counts.failed},
        {"running", counts.running},
        {"percentage", counts.percentage()}}},
      {"estimated_remaining", duration_in_words(remaining.value_or(std::nan("")))},
      {"estimated_remaining_s", remaining ? nlohmann::json(*remaining) : nlohmann::json(nullptr)},
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
