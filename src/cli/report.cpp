#include "report.hpp"

#include "fracstudy/kernels/metrics.hpp"
#include "fracstudy/study/statistics.hpp"
#include "fracstudy/tools/status.hpp"

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

constexpr std::size_t kMetricWidth = 22;

/// A metric the printed summary shows, and its mean and sem columns.
struct ShownMetric {
  const kernels::MetricDefinition* definition;
  std::size_t mean, sem;
};

/// The metrics with a summary format whose mean and sem the summary table holds.
std::vector<ShownMetric> shown_metrics(const Table& summary) {
  std::vector<ShownMetric> shown;
  for (const auto& metric : kernels::kMetrics) {
    if (metric.summary_format.empty()) continue;
    const auto mean = summary.find(study::statistic_column("mean", metric));
    const auto sem = summary.find(study::statistic_column("sem", metric));
    if (mean && sem) shown.push_back({&metric, *mean, *sem});
  }
  return shown;
}

}  // namespace

void print_summaries(std::ostream& out, std::span<const io::StudyData> studies) {
  for (const auto& study : studies) {
    out << "\nstudy " << study.name << " (" << study.algorithm
        << "): " << study::name_of(study.status) << ", " << study.completed << "/" << study.total
        << " tasks completed, " << study.failed << " failed\n";
    const Table& summary = study.summary;
    const auto varied = varied_columns(summary);
    const auto shown = shown_metrics(summary);
    const std::size_t n = *summary.find("n_samples");
    std::string header;
    for (std::size_t c : varied)
      header += pad(summary.columns[c].name, 22);
    header += pad("n", 6);
    for (const auto& metric : shown)
      header += pad("mean_" + std::string(metric.definition->name) + " ± sem", kMetricWidth);
    out << header << "\n";
    for (const auto& row : summary.rows) {
      std::string line;
      for (std::size_t c : varied)
        line += pad(Table::text(row[c]), 22);
      line += pad(Table::text(row[n]), 6);
      for (const auto& metric : shown) {
        const std::string format(metric.definition->summary_format);
        line += pad(mean_pm_sem(Table::number(row[metric.mean]), Table::number(row[metric.sem]),
                                format.c_str()),
                    kMetricWidth);
      }
      out << line << "\n";
    }
  }
}

void print_status_table(std::ostream& out, const io::ResultReader& reader) {
  const io::ResultData& data = reader.data();
  out << pad("study", 24) << pad("algorithm", 11) << pad("status", 18) << pad("completed", 18)
      << pad("failed", 8) << pad("running", 9) << pad("done", 7) << pad("remaining", 14) << "\n";
  for (std::size_t s = 0; s < data.studies.size(); ++s) {
    const auto& study = data.studies[s];
    const auto json = tools::study_status_json(reader, s);
    const auto& progress = json["progress"];
    out << pad(study.name, 24) << pad(study.algorithm, 11)
        << pad(std::string(study::name_of(study.status)), 18)
        << pad(std::to_string(progress["completed"].get<std::int64_t>()) + "/" +
                   std::to_string(progress["total"].get<std::int64_t>()),
               18)
        << pad(std::to_string(progress["failed"].get<std::int64_t>()), 8)
        << pad(std::to_string(progress["running"].get<std::int64_t>()), 9)
        << pad(std::to_string(progress["percentage"].get<std::int64_t>()) + "%", 7)
        << pad(json["estimated_remaining"].get<std::string>(), 14) << "\n";
    for (const auto& [reason, count] : json["failures"].items()) {
      out << "    failed " << count.get<std::int64_t>() << "x: " << reason << "\n";
    }
  }
}

}  // namespace fracstudy::cli
