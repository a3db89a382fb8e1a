#include "fracstudy/tools/status.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <span>

#include "fracstudy/kernels/models.hpp"
#include "fracstudy/study/progress.hpp"

namespace fracstudy::tools {

using io::Table;

nlohmann::json cell_json(const io::Cell& cell) {
  if (const auto* s = std::get_if<std::string>(&cell)) return *s;
  if (const auto* i = std::get_if<std::int64_t>(&cell)) return *i;
  if (const auto* u = std::get_if<std::uint64_t>(&cell)) return *u;
  const double value = std::get<double>(cell);
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
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

namespace {

/// The status study_status_json tells: a study in progress whose run is gone is INTERRUPTED.
study::StudyStatus effective_status(const io::StudyData& study, bool run_alive) {
  const bool in_progress =
      study.status == study::StudyStatus::Running || study.status == study::StudyStatus::Created;
  return in_progress && !run_alive ? study::StudyStatus::Interrupted : study.status;
}

}  // namespace

nlohmann::json study_status_json(const io::ResultReader& reader, std::size_t s, bool run_alive) {
  const io::StudyData& study = reader.data().studies.at(s);
  const study::ProgressTally progress = reader.progress(s);
  auto counts = progress.counts;
  const study::StudyStatus shown = effective_status(study, run_alive);
  const bool gone = shown != study.status;
  if (gone) counts.running = 0;  // nothing runs: the tasks it held wait for the resume
  // A stopped study has no time left to estimate until it is resumed.
  const bool stopped_here =
      shown == study::StudyStatus::Interrupted || shown == study::StudyStatus::Cancelled;
  // NaN: no estimate (nothing done yet, or nothing running to finish it).
  const double remaining_s =
      stopped_here ? std::nan("")
                   : study::estimated_remaining_s(progress.work).value_or(std::nan(""));
  nlohmann::json failures = nlohmann::json::object();
  for (const auto& [reason, count] : progress.failures)
    failures[reason] = count;
  nlohmann::json status = {
      {"study_id", study.name},
      {"algorithm", study.algorithm},
      {"status", study::name_of(shown)},
      {"progress",
       {{"total", counts.total},
        {"completed", counts.completed},
        {"failed", counts.failed},
        {"running", counts.running},
        {"percentage", counts.percentage()}}},
      {"estimated_remaining", duration_in_words(remaining_s)},
      {"estimated_remaining_s",
       std::isnan(remaining_s) ? nlohmann::json(nullptr) : nlohmann::json(remaining_s)},
      {"failures", failures},
      {"created_at", study.created_at},
      {"started_at", study.started_at},
      {"completed_at", study.completed_at}};
  const bool stopped = study.status == study::StudyStatus::Interrupted ||
                       study.status == study::StudyStatus::Cancelled;
  if (stopped && !reader.data().stop_reason.empty()) status["reason"] = reader.data().stop_reason;
  if (gone) status["reason"] = kRunGoneReason;
  return status;
}

namespace {

/// A summary cell by column name, as a double (NaN when the column is absent).
double cell_of(const Table& summary, const std::vector<io::Cell>& row, const std::string& name) {
  const auto column = summary.find(name);
  return column ? Table::number(row[*column]) : std::nan("");
}

/// The error of one estimator's mean at a point: its sem over the repetitions, or with a
/// single repetition the task's own standard error.
double error_of(const Table& summary, const std::vector<io::Cell>& row, const std::string& df) {
  const double sem = cell_of(summary, row, "sem_" + df);
  return std::isfinite(sem) ? sem : cell_of(summary, row, "mean_" + df + "_err");
}

}  // namespace

std::vector<std::string> point_flags(const Table& summary, const std::vector<io::Cell>& row) {
  std::vector<std::string> flags;
  // The growth fit's window: a decade at least, or its slope says little.
  const double window =
      cell_of(summary, row, "min_fit_n_max") / cell_of(summary, row, "max_fit_n_min");
  if (std::isfinite(window) && window < 10) flags.push_back("fit_window_under_a_decade");
  // Two estimators further apart than twice their combined error.
  constexpr const char* kEstimators[] = {"df", "df_mr", "df_sq"};
  for (std::size_t a = 0; a < std::size(kEstimators); ++a) {
    for (std::size_t b = a + 1; b < std::size(kEstimators); ++b) {
      const double gap = std::abs(cell_of(summary, row, std::string("mean_") + kEstimators[a]) -
                                  cell_of(summary, row, std::string("mean_") + kEstimators[b]));
      const double error = std::hypot(error_of(summary, row, kEstimators[a]),
                                      error_of(summary, row, kEstimators[b]));
      if (std::isfinite(gap) && std::isfinite(error) && gap > 2 * error) {
        flags.push_back(std::string(kEstimators[a]) + "_" + kEstimators[b] + "_disagree");
      }
    }
  }
  return flags;
}

std::string point_flags_text(const Table& summary, const std::vector<io::Cell>& row) {
  std::string text;
  for (const auto& flag : point_flags(summary, row))
    text += (text.empty() ? "" : ";") + flag;
  return text;
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
    entry["flags"] = point_flags(summary, row);
    rows.push_back(std::move(entry));
  }
  return rows;
}

bool sweeps_n_particles(const study::StudySpec& spec) {
  return spec.varied.size() == 1 && spec.varied[0] == kernels::Parameter::NParticles;
}

std::optional<SweepDimension> dimension_from_sweep(const io::StudyData& study,
                                                   const study::StudySpec& spec) {
  const Table& summary = study.summary;
  const auto n_column = summary.find("n_particles");
  const auto rg_column = summary.find("mean_rg");
  const auto sem_column = summary.find("sem_rg");
  if (!n_column || !rg_column || !sweeps_n_particles(spec)) return std::nullopt;
  // Weighted least squares of log Rg on log N, weights 1/var(log Rg) = (rg/sem)^2; with a
  // single repetition per point (no sem) unweighted, its error from the residuals.
  std::vector<double> x, y, w;
  for (const auto& row : summary.rows) {
    const double n = Table::number(row[*n_column]), rg = Table::number(row[*rg_column]);
    const double sem = sem_column ? Table::number(row[*sem_column]) : std::nan("");
    if (!(n > 0) || !(rg > 0)) continue;
    x.push_back(std::log(n));
    y.push_back(std::log(rg));
    w.push_back(std::isfinite(sem) && sem > 0 ? (rg / sem) * (rg / sem) : std::nan(""));
  }
  if (x.size() < 3) return std::nullopt;
  const bool weighted = std::all_of(w.begin(), w.end(), [](double v) { return std::isfinite(v); });
  if (!weighted) std::fill(w.begin(), w.end(), 1.0);
  double sw = 0, sx = 0, sy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sw += w[i];
    sx += w[i] * x[i];
    sy += w[i] * y[i];
  }
  const double mx = sx / sw, my = sy / sw;
  double sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxx += w[i] * (x[i] - mx) * (x[i] - mx);
    sxy += w[i] * (x[i] - mx) * (y[i] - my);
  }
  const double slope = sxy / sxx;
  if (!(slope > 0)) return std::nullopt;
  double slope_err = std::sqrt(1 / sxx);
  if (!weighted) {
    double residual = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double r = y[i] - my - slope * (x[i] - mx);
      residual += r * r;
    }
    slope_err = std::sqrt(residual / static_cast<double>(x.size() - 2) / sxx);
  }
  return SweepDimension{1 / slope, slope_err / (slope * slope), static_cast<std::int64_t>(x.size()),
                        weighted};
}

nlohmann::json metric_json(const kernels::MetricDefinition& metric, double value) {
  if (!std::isfinite(value)) return nullptr;
  if (metric.integer) return static_cast<std::int64_t>(std::llround(value));
  return value;
}

}  // namespace fracstudy::tools
