#pragma once
// Human and JSON reports of a result file (private to the CLI layer).
#include <nlohmann/json.hpp>
#include <ostream>
#include <span>

#include "fracstudy/io/result_file.hpp"

namespace fracstudy::cli {

/// Per-value summary tables of every study: the parameters that vary, n, and mean ± sem of
/// each metric with a summary format (kernels/metrics.hpp), the points' flags when one has
/// any (tools::point_flags), and a sweep over n_particles' df (tools::dimension_from_sweep).
void print_summaries(std::ostream& out, std::span<const io::StudyData> studies,
                     std::span<const study::StudySpec> specs);

/// One line per study: status, counts, percentage, estimated time left, failures.
/// With `run_alive` false, studies the file says are running show as INTERRUPTED, with the
/// reason (tools::study_status_json).
void print_status_table(std::ostream& out, const io::ResultReader& reader, bool run_alive = true);

}  // namespace fracstudy::cli
