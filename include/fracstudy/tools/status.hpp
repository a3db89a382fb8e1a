#pragma once
/// A study's status and results as JSON: what `fracstudy status --json` prints and what
/// the AI tools return.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "fracstudy/io/result_file.hpp"

namespace fracstudy::tools {

/// The status of study `s` of a result file in the product brief's JSON shape, plus running
/// count, failures by reason, timestamps and `estimated_remaining_s` (the same estimate as
/// the progress lines of `run`: study::estimated_remaining_s). With `run_alive` false (no
/// run holds the file's lock), a study the file says is RUNNING or CREATED is INTERRUPTED:
/// its job was killed or lost without a word, and nothing will ever finish it but a resume.
nlohmann::json study_status_json(const io::ResultReader& reader, std::size_t s,
                                 bool run_alive = true);

/// The reason given for a study whose run is gone without a word.
inline constexpr const char* kRunGoneReason =
    "no run is writing this file: its job ended without a word (killed or lost); resume it "
    "with `fracstudy run STUDY.yaml -o FILE --resume`";

/// The summary rows of one study: the parameter values, n_samples, n_failed, the
/// statistics of every metric (e.g. mean_df, std_df, sem_df; NaN as null), and `flags`
/// (point_flags).
nlohmann::json study_results_json(const io::StudyData& study);

/// What a physicist should look at twice at one parameter point (a row of a study's
/// summary): "fit_window_under_a_decade" (the growth fit spans less than a factor 10 in
/// N) and "A_B_disagree" for two estimators of df (df, df_mr, df_sq) whose means differ
/// by more than twice their combined error (sem, or a single task's own error).
std::vector<std::string> point_flags(const io::Table& summary, const std::vector<io::Cell>& row);
/// The same joined by ';' ("" when none): the `flags` column of `export --table summary`
/// and of the printed summary.
std::string point_flags_text(const io::Table& summary, const std::vector<io::Cell>& row);

/// The study-level df of a sweep over n_particles: the slope of log Rg against log N
/// across its parameter points (weighted by the points' standard errors when they have
/// them), inverted, with its error.
struct SweepDimension {
  double df = 0;
  double df_err = 0;
  std::int64_t points = 0;
  bool weighted = false;  ///< by the points' sem of rg (else from the residuals)
};
/// Whether a study is a sweep over n_particles alone (what dimension_from_sweep needs).
bool sweeps_n_particles(const study::StudySpec& spec);
std::optional<SweepDimension> dimension_from_sweep(const io::StudyData& study,
                                                   const study::StudySpec& spec);

/// One table cell as JSON (NaN and infinities as null).
nlohmann::json cell_json(const io::Cell& cell);

/// One task's value of a metric as JSON: null when there is none, an integer for the
/// metrics that count.
nlohmann::json metric_json(const kernels::MetricDefinition& metric, double value);

/// "3 minutes", "45 seconds", "2.5 hours"; "unknown" for NaN.
std::string duration_in_words(double seconds);

}  // namespace fracstudy::tools
