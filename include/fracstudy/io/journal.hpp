#pragma once
/// The checkpoint journal: between full rewrites of a large result file, new task records
/// are appended to OUT.h5.journal, so a checkpoint costs time in proportion to the new
/// results only. Each record carries a CRC, so a write cut short by a kill is ignored;
/// the journal belongs to one generation of the result file and is ignored by others.
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "fracstudy/study/status.hpp"

namespace fracstudy::io {

/// One task's new record, by global task index (studies in file order, then task_id).
using RecordUpdate = std::pair<std::size_t, study::TaskRecord>;

/// The journal next to a result file.
std::string journal_path(const std::string& result_path);

/// Replaces the journal with an empty one of `generation` (atomically).
void start_journal(const std::string& result_path, std::uint64_t generation);

/// Appends the records of `tasks` and flushes them to disk; returns how many were written.
std::size_t append_to_journal(const std::string& result_path, std::span<const std::size_t> tasks,
                              const std::vector<study::TaskRecord>& records);

/// A journal as read: the generation of the file it belongs to (0: no readable journal)
/// and its valid records, in order.
struct Journal {
  std::uint64_t generation = 0;
  std::vector<RecordUpdate> updates;
};

/// Reads the journal next to a result file, whatever generation it belongs to.
Journal read_journal(const std::string& result_path);

/// The valid records of the journal of `generation`, in order; empty when there is no
/// journal or it belongs to another generation of the file.
std::vector<RecordUpdate> read_journal(const std::string& result_path, std::uint64_t generation);

/// Removes the journal (after a full write that holds everything).
void remove_journal(const std::string& result_path);

}  // namespace fracstudy::io
