#pragma once
/// The per-task metrics: every number a simulation reports, each defined once, here.
/// Everything that carries, stores, summarises or shows metrics (the outcome and the task
/// record, the protocol and the journal, the result file's columns and summaries, the
/// tools' JSON, `export`, the printed summary, the plot script through the file's /metrics
/// table) iterates over kMetrics: a new metric is a field of the kernel's result and one
/// entry below.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "fracstudy/kernels/simulation.hpp"

namespace fracstudy::kernels {

/// How a metric is summarised over the completed tasks of one parameter point.
enum class Aggregation {
  Moments,  ///< mean, std and sem of the finite values: a physical observable
  Range,    ///< min and max: bookkeeping of how it was measured (e.g. the fit window)
};

/// One metric.
struct MetricDefinition {
  std::string_view name;         ///< column and JSON key, e.g. "df"
  std::string_view unit;         ///< "" when dimensionless
  std::string_view description;  ///< for help texts, tool descriptions and the file
  Aggregation aggregation = Aggregation::Moments;  ///< its per-point statistics
  bool integer = false;  ///< a task's value is a whole number (JSON shows it as one)
  /// printf format of its mean in the printed end-of-run summary; "" leaves it out there
  /// (it is still in the file, `export` and the tools' results).
  std::string_view summary_format = "";
  /// Reads the metric from a simulation's result.
  double (*value_of)(const SimulationResult& result) = nullptr;
  /// The values a completed task can have (NaN aside): what a file to continue is checked
  /// against.
  double lowest = 0;
  double highest = std::numeric_limits<double>::infinity();
  bool in_every_completed_task = false;  ///< never NaN once a task completed
  /// The estimate this one comes from the same fit as ("" for none): when that one is
  /// rejected (NaN), so is this (a CCA fit whose df of 27 was rejected still gave kf 6.6e-25).
  std::string_view same_fit_as = "";
};

/// Every metric, in column order. Only append: the journal and old files know metrics by
/// position.
inline constexpr MetricDefinition kMetrics[] = {
    {.name = "df",
     .unit = "",
     .description = "fractal dimension: 1 / slope of log Rg against log N over the fit window",
     .summary_format = "%.3f",
     .value_of = [](const SimulationResult& r) { return r.fit.df; },
     .highest = 20},  // the fits' search ends at 20
    {.name = "rg",
     .unit = "length unit of particle_radius",
     .description = "radius of gyration of the final cluster (particle centres)",
     .summary_format = "%.4g",
     .value_of = [](const SimulationResult& r) { return r.rg; },
     .in_every_completed_task = true},
    {.name = "kf",
     .unit = "",
     .description = "fractal prefactor in N = kf (Rg/a)^df, from the same fit",
     .value_of = [](const SimulationResult& r) { return r.fit.kf; },
     .same_fit_as = "df"},
    {.name = "fit_n_min",
     .unit = "particles",
     .description = "smallest cluster size N in the df fit",
     .aggregation = Aggregation::Range,
     .integer = true,
     .value_of = [](const SimulationResult& r) { return static_cast<double>(r.fit.n_min); },
     .highest = 1e9},
    {.name = "fit_n_max",
     .unit = "particles",
     .description = "largest cluster size N in the df fit",
     .aggregation = Aggregation::Range,
     .integer = true,
     .value_of = [](const SimulationResult& r) { return static_cast<double>(r.fit.n_max); },
     .highest = 1e9},
    {.name = "n_fit_points",
     .unit = "",
     .description = "points of the df fit: growth sizes (CCA: bins of cluster sizes)",
     .aggregation = Aggregation::Range,
     .integer = true,
     .value_of = [](const SimulationResult& r) { return static_cast<double>(r.fit.n_points); },
     .highest = 1e9},
    {.name = "df_err",
     .unit = "",
     .description = "standard error of df: the scatter of df over 4 sub-windows of the fit, "
                    "divided by 2",
     .value_of = [](const SimulationResult& r) { return r.fit.df_err; },
     .highest = 100,
     .same_fit_as = "df"},
    {.name = "df_mr",
     .unit = "",
     .description = "fractal dimension from the mass-radius relation M(r) ~ r^df, M(r) the "
                    "particles within r of a particle (averaged over the particles), over "
                    "max(4 a, Rg/10) <= r <= Rg/2",
     .summary_format = "%.3f",
     .value_of = [](const SimulationResult& r) { return r.mass_radius.df; },
     .highest = 20},
    {.name = "df_mr_err",
     .unit = "",
     .description = "standard error of df_mr (sub-window scatter, as df_err)",
     .value_of = [](const SimulationResult& r) { return r.mass_radius.df_err; },
     .highest = 100,
     .same_fit_as = "df_mr"},
    {.name = "df_sq",
     .unit = "",
     .description = "fractal dimension from the structure factor S(q) ~ q^-df of the final "
                    "cluster (what scattering measures), over q Rg >= 5 and q a <= 0.3",
     .summary_format = "%.3f",
     .value_of = [](const SimulationResult& r) { return r.structure_factor.df; },
     .highest = 20},
    {.name = "df_sq_err",
     .unit = "",
     .description = "standard error of df_sq (sub-window scatter, as df_err)",
     .value_of = [](const SimulationResult& r) { return r.structure_factor.df_err; },
     .highest = 100,
     .same_fit_as = "df_sq"},
};

inline constexpr std::size_t kMetricCount = std::size(kMetrics);

/// The index of a metric in kMetrics; nullopt when there is none of that name.
constexpr std::optional<std::size_t> metric_index(std::string_view name) {
  for (std::size_t i = 0; i < kMetricCount; ++i) {
    if (kMetrics[i].name == name) return i;
  }
  return std::nullopt;
}

/// A metric's value in a simulation's result: NaN (no value) where the estimate falls
/// outside the values the metric can have, so that what a task reports is what a file to
/// continue is checked against (a degenerate fit of a 40-site cluster gave df_err = 6,445,
/// and its --resume was refused as a damaged file).
inline double metric_value(const MetricDefinition& metric, const SimulationResult& result) {
  const double value = metric.value_of(result);
  if (metric.in_every_completed_task || std::isnan(value)) return value;
  if (!metric.same_fit_as.empty()) {
    const auto estimate = metric_index(metric.same_fit_as);
    if (estimate && std::isnan(metric_value(kMetrics[*estimate], result))) {
      return std::numeric_limits<double>::quiet_NaN();
    }
  }
  return value >= metric.lowest && value <= metric.highest
             ? value
             : std::numeric_limits<double>::quiet_NaN();
}

/// One value per metric, in kMetrics order; NaN where there is none (never 0).
class MetricValues {
 public:
  MetricValues() { values_.fill(std::numeric_limits<double>::quiet_NaN()); }

  /// Every metric of a simulation's result.
  static MetricValues of(const SimulationResult& result) {
    MetricValues metrics;
    for (std::size_t i = 0; i < kMetricCount; ++i) {
      metrics.values_[i] = metric_value(kMetrics[i], result);
    }
    return metrics;
  }

  double& operator[](std::size_t index) { return values_[index]; }
  double operator[](std::size_t index) const { return values_[index]; }
  /// By name, e.g. value("df"); throws std::out_of_range for an unknown name.
  double& value(std::string_view name) { return values_.at(index_of(name)); }
  double value(std::string_view name) const { return values_.at(index_of(name)); }

  auto begin() const { return values_.begin(); }
  auto end() const { return values_.end(); }
  /// No metric has a value (what a task that never completed holds).
  bool all_missing() const {
    return std::all_of(values_.begin(), values_.end(), [](double v) { return std::isnan(v); });
  }

 private:
  static std::size_t index_of(std::string_view name) {
    return metric_index(name).value_or(kMetricCount);  // at() throws for kMetricCount
  }
  std::array<double, kMetricCount> values_;
};

/// What is impossible about the metrics of a completed task, or nullopt when nothing is: a
/// value outside its metric's range, or a metric every completed task has (rg) missing.
/// (A NaN df is possible: a fit whose sizes give no growing Rg has none.)
std::optional<std::string> check_completed(const MetricValues& values);

}  // namespace fracstudy::kernels
