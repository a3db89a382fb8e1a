#pragma once
// Human and JSON reports of a result file (private to the CLI layer).
#include <nlohmann/json.hpp>
#include <ostream>

#include "fracstudy/io/result_file.hpp"

namespace fracstudy::cli {

/// Per-value summary tables of every study: the parameters that vary, n, df and rg.
void print_summaries(std::ostream& out, const io::ResultData& data);

/// One line per study: status, counts, percentage, estimated time left, failures.
void print_status_table(std::ostream& out, const io::ResultData& data);

}  // namespace fracstudy::cli
