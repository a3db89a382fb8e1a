#pragma once
/// A scratch file for the metrics of a run's tasks (issue 17): rank 0 of a study of ten
/// million tasks would otherwise hold about a gigabyte of them, which it reads back only to
/// write the result file whole. The file has no name (it is gone when rank 0 ends, however it
/// ends), lives beside the result file (a real disk, where node-local /tmp may be memory),
/// and is written in batches; rows that cannot be written (a full disk) stay in memory.
#include <memory>
#include <string>

#include "fracstudy/study/records.hpp"

namespace fracstudy::io {

/// A store of metrics in the scratch file `fd` (taken over: closed by the store).
std::unique_ptr<study::MetricStore> metric_spill(int fd);

/// A store of the metrics of up to `tasks` tasks in a new nameless file in `result_path`'s
/// directory; null (the metrics then stay in memory) when none can be made there, or when
/// the disk has less than 4 times what the file would take at most free: the result file's
/// rewrites and journal need that disk more.
std::unique_ptr<study::MetricStore> open_metric_spill(const std::string& result_path,
                                                      std::size_t tasks);

}  // namespace fracstudy::io
