#pragma once
// The layout of the result file's tables (private to the io layer).
#include <optional>
#include <span>
#include <vector>

#include <hdf5.h>

#include "fracstudy/io/table.hpp"
#include "fracstudy/study/progress.hpp"
#include "fracstudy/study/spec.hpp"
#include "fracstudy/study/statistics.hpp"
#include "fracstudy/study/status.hpp"

namespace fracstudy::io::detail {

/// A saved cluster's attributes that hold its S(q) - 1 and the q Rg of each value
/// (kernels::structure_factor_curve).
inline constexpr const char* kStructureFactorAttribute = "structure_factor";
inline constexpr const char* kStructureFactorGridAttribute = "structure_factor_q_rg";
/// Writes both onto a saved cluster (nothing when `curve` is empty).
void write_structure_factor(hid_t cluster, const std::vector<float>& curve);

/// Widths of the tasks table's fixed-width string columns: room for a task status (the
/// longest, COMPLETED, has 9 bytes; the padding compresses away) and a host name.
inline constexpr std::size_t kStatusWidth = 16;
inline constexpr std::size_t kHostWidth = 64;

/// The column type of a parameter: Int64 for integer parameters, else Float64.
ColumnType column_type_of(kernels::Parameter parameter);

/// A parameter's value at a point, as a cell of its column type.
Cell cell_of(kernels::Parameter parameter, const kernels::SimulationParameters& point);

/// The columns of a study's tasks table: task_id, seed, repetition, the model's
/// parameters, status, attempts, worker_rank, wall_time_s, error, every metric (float64,
/// NaN without a value), interruptions.
std::vector<Column> task_columns(const study::StudySpec& spec);

/// A study's summary table: per parameter point the parameters, n_samples, n_failed and
/// the statistics of every metric (study::summarize).
Table summary_table(const study::StudySpec& spec, study::RecordsView records);
/// The same from the points' summaries.
Table summary_table(const study::StudySpec& spec, std::span<const study::PointSummary> summaries);

/// Writes a study's progress tally onto its group: the counts by status, the sums the
/// time left is estimated from, and a failure_reasons table (reason, count).
void write_progress(hid_t study_group, const study::ProgressTally& tally);
/// The tally a study's group holds; nullopt for a file written before it, or one whose
/// tally does not add up (ProgressTally::consistent): the reader then counts the rows.
std::optional<study::ProgressTally> read_progress(hid_t study_group, std::int64_t total);

/// The /metrics table: name, unit, description, aggregation and statistics of every metric.
Table metrics_table();

}  // namespace fracstudy::io::detail
