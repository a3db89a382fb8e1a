#pragma once
/// A study's status and results as JSON: what `fracstudy status --json` prints and what
/// the AI tools return.
#include <nlohmann/json.hpp>
#include <string>

#include "fracstudy/io/result_file.hpp"

namespace fracstudy::tools {

/// The status of study `s` of a result file in the product brief's JSON shape, plus running
/// count, failures by reason, timestamps and `estimated_remaining_s` (the same estimate as
/// the progress lines of `run`: study::estimated_remaining_s).
nlohmann::json study_status_json(const io::ResultReader& reader, std::size_t s);

/// The summary rows of one study: the parameter values, n_samples, n_failed, and the
/// statistics of every metric (e.g. mean_df, std_df, sem_df; NaN as null).
nlohmann::json study_results_json(const io::StudyData& study);

/// One table cell as JSON (NaN and infinities as null).
nlohmann::json cell_json(const io::Cell& cell);

/// One task's value of a metric as JSON: null when there is none, an integer for the
/// metrics that count.
nlohmann::json metric_json(const kernels::MetricDefinition& metric, double value);

/// "3 minutes", "45 seconds", "2.5 hours"; "unknown" for NaN.
std::string duration_in_words(double seconds);

/// The reason of the last failed attempt in "attempt 1: X; attempt 2: Y".
std::string last_reason(const std::string& history);

}  // namespace fracstudy::tools
