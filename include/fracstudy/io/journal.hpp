#pragma once
/// The checkpoint journal: between full rewrites of a large result file, new task records
/// are appended to OUT.h5.journal, so a checkpoint costs time in proportion to the new
/// results only. Each record carries a CRC, so a write cut short by a kill is ignored;
/// the journal belongs to one generation of the result file and is ignored by others.
/// Since version 4 each append ends with each study's progress tally after it (JournalEnd),
/// which a reader of progress finds from the journal's end without reading the records.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "fracstudy/study/progress.hpp"
#include "fracstudy/study/statistics.hpp"
#include "fracstudy/study/status.hpp"

namespace fracstudy::io {

/// One task's new record, by global task index (studies in file order, then task_id).
using RecordUpdate = std::pair<std::size_t, study::TaskRecord>;

/// The journal next to a result file.
std::string journal_path(const std::string& result_path);

/// Whether `path` holds what a run's journal code writes there (a journal of any version, or
/// one cut before its header: empty), so that a run may replace it; another file at a
/// journal's name is someone's and must not be.
bool is_journal_or_empty(const std::string& path);

/// Replaces the journal with an empty one of `generation` (atomically).
void start_journal(const std::string& result_path, std::uint64_t generation);

/// A point's summary as the journal's records left it.
struct JournaledPoint {
  std::size_t study = 0;
  study::PointAccumulator accumulator;
};

/// Where the studies stand once the journal's records up to it are applied: written after
/// each block of records, so `status` of a killed run of millions of tasks reads the end
/// of the journal only.
struct JournalEnd {
  std::uint64_t records = 0;                    ///< records the journal holds before it
  std::vector<std::uint64_t> records_of_study;  ///< of those, each study's (file order)
  std::vector<study::ProgressTally> tallies;    ///< each study's progress; empty: not known
  /// The summary of each point the journal changed, so far; nullopt when not known (too
  /// many points to carry: their rows are read instead).
  std::optional<std::vector<JournaledPoint>> points;
};

/// A block of records to append: the tasks, what each task's record counted as before
/// (the last one written; nullopt when not known) and the end after them.
struct JournalBlock {
  std::vector<std::size_t> tasks;
  std::vector<std::optional<study::CountedState>> before;  ///< one per task
  JournalEnd end;
};

/// Appends blocks to a result file's journal one at a time (a checkpoint of millions of
/// records never holds them all encoded), and flushes them to disk at finish().
class JournalAppender {
 public:
  explicit JournalAppender(const std::string& result_path);
  ~JournalAppender();
  JournalAppender(const JournalAppender&) = delete;
  JournalAppender& operator=(const JournalAppender&) = delete;
  /// Writes `block` (each task's record from `records`).
  void append(const JournalBlock& block, study::RecordsView records);
  /// Flushes what was appended to disk; returns how many records that was.
  std::size_t finish();

 private:
  std::string path_;
  int fd_ = -1;
  std::size_t records_ = 0;
};

/// Appends `blocks` (each task's record from `records`) and flushes them to disk; returns
/// how many records were written.
std::size_t append_to_journal(const std::string& result_path, std::span<const JournalBlock> blocks,
                              study::RecordsView records);

/// Appends the records of `tasks` as one block with nothing known of the studies' progress.
std::size_t append_to_journal(const std::string& result_path, std::span<const std::size_t> tasks,
                              study::RecordsView records);

/// A record read after the journal's last end: the progress must take it into account.
struct RecordAfterEnd {
  RecordUpdate update;
  std::optional<study::CountedState> before;  ///< what it replaces; nullopt: not known
};

/// The journal's last end and the whole records after it (a write cut short).
struct JournalProgress {
  JournalEnd end;
  std::vector<RecordAfterEnd> after;
};

/// A journal as read: the generation of the file it belongs to (0: no readable journal)
/// and its valid records, in order.
struct Journal {
  std::uint64_t generation = 0;
  std::vector<RecordUpdate> updates;
};

/// Reads the journal next to a result file, whatever generation it belongs to.
Journal read_journal(const std::string& result_path);

/// The journal next to a result file, opened once: what is read from it later is what it
/// held when opened, even if a run appends to it or replaces it meanwhile.
class OpenJournal {
 public:
  /// Opens the journal of `result_path`; one that is missing or unreadable reads as empty.
  explicit OpenJournal(const std::string& result_path);
  ~OpenJournal();
  OpenJournal(const OpenJournal&) = delete;
  OpenJournal& operator=(const OpenJournal&) = delete;

  /// The generation of the file it belongs to (0: no readable journal).
  std::uint64_t generation() const { return generation_; }
  /// Its last end and the records after it: read from its end, a block of records at
  /// most. nullopt for a journal of version 3 or older, or without an end.
  std::optional<JournalProgress> progress() const;
  /// Its valid records, in order (a record cut short ends them).
  std::vector<RecordUpdate> records() const;

 private:
  std::optional<JournalEnd> end_with_mark_at(std::uint64_t mark) const;

  int fd_ = -1;
  std::uint64_t size_ = 0;  // when opened: later appends are not read
  std::uint64_t generation_ = 0;
  int version_ = 0;
};

/// The valid records of the journal of `generation`, in order; empty when there is no
/// journal or it belongs to another generation of the file.
std::vector<RecordUpdate> read_journal(const std::string& result_path, std::uint64_t generation);

/// Removes the journal (after a full write that holds everything).
void remove_journal(const std::string& result_path);

}  // namespace fracstudy::io
