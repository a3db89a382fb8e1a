#include "report.hpp"

#include "fracstudy/kernels/metrics.hpp"
#include "fracstudy/study/statistics.hpp"
#include "fracstudy/tools/status.hpp"

#include <algorithm>
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

/// Display width of UTF-8 text: code points, not bytes, so "±" lines up.
std::size_t display_width(const std::string& text) {
  std::size_t length = 0;
  for (char c : text)
    length += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return length;
}

/// Rows (the first is the header) as lines of right-aligned columns, each as wide as its
/// widest cell plus a gap of two: a million-task count or a long study name never runs
/// into its neighbour.
std::vector<std::string> aligned_lines(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (std::size_t c = 0; c < row.size(); ++c)
      widths[c] = std::max(widths[c], display_width(row[c]));
  }
  std::vector<std::string> lines;
  for (const auto& row : rows) {
    std::string& line = lines.emplace_back();
    for (std::size_t c = 0; c < row.size(); ++c)
      line += std::string(widths[c] + 2 - display_width(row[c]), ' ') + row[c];
  }
  return lines;
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

/// The study-level df of a sweep over n_particles, when the study is one.
void print_sweep_dimension(std::ostream& out, const io::StudyData& study,
                           const study::StudySpec& spec) {
  const auto sweep = tools::dimension_from_sweep(study, spec);
  if (!sweep) return;
  char line[160];
  std::snprintf(line, sizeof line,
                "    df from the sweep (log Rg against log N over %lld points%s): %.3f +- %.3f\n",
                static_cast<long long>(sweep->points),
                sweep->weighted ? ", weighted by their errors" : "", sweep->df, sweep->df_err);
  out << line;
}

}  // namespace

void print_summaries(std::ostream& out, std::span<const io::StudyData> studies,
                     std::span<const study::StudySpec> specs) {
  for (std::size_t s = 0; s < studies.size(); ++s) {
    const auto& study = studies[s];
    out << "\nstudy " << study.name << " (" << study.algorithm
        << "): " << study::name_of(study.status) << ", " << study.completed << "/" << study.total
        << " tasks completed, " << study.failed << " failed\n";
    const Table& summary = study.summary;
    const auto varied = varied_columns(summary);
    const auto shown = shown_metrics(summary);
    const std::size_t n = *summary.find("n_samples");
    std::vector<std::vector<std::string>> rows(1);
    for (std::size_t c : varied)
      rows[0].push_back(summary.columns[c].name);
    rows[0].emplace_back("n");
    for (const auto& metric : shown)
      rows[0].push_back("mean_" + std::string(metric.definition->name) + " ± sem");
    // The flags column only where a point has one: most studies need no warning.
    std::vector<std::string> flags;
    for (const auto& row : summary.rows)
      flags.push_back(tools::point_flags_text(summary, row));
    const bool any_flag =
        std::any_of(flags.begin(), flags.end(), [](const auto& text) { return !text.empty(); });
    if (any_flag) rows[0].emplace_back("flags");
    for (std::size_t r = 0; r < summary.rows.size(); ++r) {
      const auto& row = summary.rows[r];
      auto& line = rows.emplace_back();
      for (std::size_t c : varied)
        line.push_back(Table::text(row[c]));
      line.push_back(Table::text(row[n]));
      for (const auto& metric : shown) {
        const std::string format(metric.definition->summary_format);
        line.push_back(mean_pm_sem(Table::number(row[metric.mean]), Table::number(row[metric.sem]),
                                   format.c_str()));
      }
      if (any_flag) line.push_back(flags[r]);
    }
    for (const auto& line : aligned_lines(rows))
      out << line << "\n";
    if (s < specs.size()) print_sweep_dimension(out, study, specs[s]);
  }
}

void print_status_table(std::ostream& out, const io::ResultReader& reader, bool run_alive) {
  const io::ResultData& data = reader.data();
  std::vector<std::vector<std::string>> rows{
      {"study", "algorithm", "status", "completed", "failed", "running", "done", "remaining"}};
  std::vector<nlohmann::json> failures;
  bool gone = false;
  for (std::size_t s = 0; s < data.studies.size(); ++s) {
    const auto& study = data.studies[s];
    const auto json = tools::study_status_json(reader, s, run_alive);
    const auto& progress = json["progress"];
    const auto count = [&progress](const char* key) {
      return std::to_string(progress[key].get<std::int64_t>());
    };
    rows.push_back({study.name, study.algorithm, json["status"].get<std::string>(),
                    count("completed") + "/" + count("total"), count("failed"), count("running"),
                    count("percentage") + "%", json["estimated_remaining"].get<std::string>()});
    failures.push_back(json["failures"]);
    if (json.contains("reason") && json["reason"] == tools::kRunGoneReason) gone = true;
  }
  const auto lines = aligned_lines(rows);
  out << lines[0] << "\n";
  for (std::size_t s = 0; s < failures.size(); ++s) {
    out << lines[s + 1] << "\n";
    for (const auto& [reason, count] : failures[s].items()) {
      out << "    failed " << count.get<std::int64_t>() << "x: " << reason << "\n";
    }
    // Only a sweep over n_particles needs the summary (brought up to date with the
    // journal in data.studies[s]): the progress of other studies costs no task row.
    if (!tools::sweeps_n_particles(data.study(s))) continue;
    reader.summary(s);
    print_sweep_dimension(out, data.studies[s], data.study(s));
  }
  if (gone) out << "INTERRUPTED: " << tools::kRunGoneReason << "\n";
}

}  // namespace fracstudy::cli
