#include "report.hpp"

#include <cmath>
#include <cstdio>
#include <map>
#include <set>

namespace fracstudy::cli {
namespace {

using io::Table;

std::string format(const char* pattern, double value) {
  if (!std::isfinite(value)) return "-";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

std::string mean_pm_sem(double mean, double sem, const char* pattern) {
  std::string text = format(pattern, mean);
  if (std::isfinite(sem)) text += " ± " + format(pattern, sem);
  return text;
}

std::string pad(const std::string& text, std::size_t width) {
  // Count UTF-8 code points, not bytes, so "±" lines up.
  std::size_t length = 0;
  for (char c : text)
    length += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return length >= width ? text : std::string(width - length, ' ') + text;
}

/// Parameters whose value differs between rows of the summary: the varied ones.
std::vector<std::size_t> varied_columns(const Table& summary) {
  std::vector<std::size_t> varied;
  const auto first_statistic = summary.find("n_samples").value_or(summary.columns.size());
  for (std::size_t c = 0; c < first_statistic; ++c) {
    std::set<std::string> distinct;
    for (const auto& row : summary.rows)
      distinct.insert(Table::text(row[c]));
    if (distinct.size() > 1) varied.push_back(c);
  }
  return varied;
}

/// The reason of the last failed attempt in "attempt 1: X; attempt 2: Y".
std::string last_reason(const std::string& history) {
  const auto last = history.rfind("; attempt ");
  const std::string entry = last == std::string::npos ? history : history.substr(last + 2);
  const auto colon = entry.find(": ");
  return entry.rfind("attempt ", 0) == 0 && colon != std::string::npos ? entry.substr(colon + 2)
                                                                       : entry;
}

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

void print_summaries(std::ostream& out, const io::ResultData& data) {
  for (const auto& study : data.studies) {
    out << "\nstudy " << study.name << " (" << study.algorithm << "): " << study.status << ", "
        << study.completed << "/" << study.total << " tasks completed, " << study.failed
        << " failed\n";
    const Table& summary = study.summary;
    const auto varied = varied_columns(summary);
    const std::size_t n = *summary.find("n_samples"), mean_df = *summary.find("mean_df"),
                      sem_df = *summary.find("sem_df"), mean_rg = *summary.find("mean_rg"),
                      sem_rg = *summary.find("sem_rg");
    std::string header;
    for (std::size_t c : varied)
      header += pad(summary.columns[c].name, 22);
    out << header << pad("n", 6) << pad("mean_df ± sem", 20) << pad("mean_rg ± sem", 24) << "\n";
    for (const auto& row : summary.rows) {
      std::string line;
      for (std::size_t c : varied)
        line += pad(Table::text(row[c]), 22);
      out << line << pad(Table::text(row[n]), 6)
          << pad(mean_pm_sem(Table::number(row[mean_df]), Table::number(row[sem_df]), "%.3f"), 20)
          << pad(mean_pm_sem(Table::number(row[mean_rg]), Table::number(row[sem_rg]), "%.4g"), 24)
          << "\n";
    }
  }
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

void print_status_table(std::ostream& out, const io::ResultData& data) {
  out << pad("study", 24) << pad("algorithm", 11) << pad("status", 18) << pad("completed", 12)
      << pad("failed", 8) << pad("done", 7) << pad("remaining", 14) << "\n";
  for (const auto& study : data.studies) {
    const auto json = study_status_json(study, data.ranks);
    const auto& progress = json["progress"];
    out << pad(study.name, 24) << pad(study.algorithm, 11) << pad(study.status, 18)
        << pad(std::to_string(progress["completed"].get<std::int64_t>()) + "/" +
                   std::to_string(progress["total"].get<std::int64_t>()),
               12)
        << pad(std::to_string(progress["failed"].get<std::int64_t>()), 8)
        << pad(std::to_string(progress["percentage"].get<std::int64_t>()) + "%", 7)
        << pad(json["estimated_remaining"].get<std::string>(), 14) << "\n";
    for (const auto& [reason, count] : json["failures"].items()) {
      out << "    failed " << count.get<std::int64_t>() << "x: " << reason << "\n";
    }
  }
}

}  // namespace fracstudy::cli
