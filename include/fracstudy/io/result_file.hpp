#pragma once
/// The HDF5 result file (docs/result-file.md): written whole to a temporary file and
/// renamed over the old one, so a reader, or a job killed at any moment, only ever sees
/// a complete file.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fracstudy/io/table.hpp"
#include "fracstudy/study/progress.hpp"
#include "fracstudy/study/spec.hpp"
#include "fracstudy/study/status.hpp"
#include "fracstudy/study/tasks.hpp"

namespace fracstudy::io {

inline constexpr const char* kFormatName = "fracstudy-results";
/// 2: the tasks table's status and host are fixed-width strings (1: variable-length, which
/// a reader of version 1 expects and cannot convert). Version 1 files are still read.
inline constexpr std::int64_t kFormatVersion = 2;
inline constexpr std::int64_t kOldestFormatVersion = 1;

/// Status and timestamps of one study (ISO 8601 UTC; "" when not reached yet).
struct StudyRun {
  study::StudyStatus status = study::StudyStatus::Created;
  std::string created_at, started_at, completed_at;
};

/// Everything a result file is written from.
/// Where the ranks of a run ran: the file's /ranks table and its `nodes` attribute.
struct JobLayout {
  std::vector<std::string> host_of_rank;    ///< each rank's node (hostname); may be empty
  std::vector<std::string> role_of_rank;    ///< "coordinator", "relay" or "worker"
  std::vector<std::string> excluded_hosts;  ///< nodes taken out of the run (bad nodes)
  /// Why the run stopped before its end, in its own words ("" when it did not): kept in
  /// the file because a killed job's output (mpirun forwarding it) may never arrive.
  std::string stop_reason;
};

struct ResultSnapshot {
  const study::StudyFile* file = nullptr;
  const study::TaskList* tasks = nullptr;  ///< every task, all studies
  study::RecordsView records;              ///< one per task
  std::vector<StudyRun> runs;              ///< one per study
  int ranks = 1;                           ///< ranks of the run
  double elapsed_s = 0;                    ///< wall time of this run so far
  double coordinator_cpu_s = 0;            ///< CPU time rank 0 used so far (its overhead)
  std::uint64_t coordinator_messages = 0;  ///< messages rank 0 received so far
  std::uint64_t relay_kept_results = 0;    ///< results read back from relays' journals
  int relay_ranks = 0;                ///< ranks that relayed work (sub-coordinators), not computing
  const JobLayout* layout = nullptr;  ///< where the ranks ran (none: no /ranks table)
  std::uint64_t generation = 0;       ///< which journal belongs to this file (see journal.hpp)
  /// Clusters to write as /studies/NAME/clusters/TASK_ID: global task index -> particle
  /// centres (n x dimension, row-major). Every rewrite writes all of them.
  const std::map<std::size_t, study::KeptCluster>* clusters = nullptr;
};

/// Writes the whole file atomically: `path`.tmp, fsync, rename over `path`.
void write_result_file(const std::string& path, const ResultSnapshot& snapshot);

/// One study as read back.
struct StudyData {
  std::string name;
  std::string algorithm;
  study::StudyStatus status = study::StudyStatus::Created;
  std::int64_t total = 0, completed = 0, failed = 0;
  std::string created_at, started_at, completed_at;
  /// One row per parameter point (the task rows: ResultReader). Read back, as of the
  /// last whole write: ResultReader::summary(s) brings it up to date with the journal.
  Table summary;
  /// The progress tally the file keeps (journal applied); nullopt in a file written before
  /// it: ResultReader::progress then counts the rows.
  std::optional<study::ProgressTally> progress;
};

/// A result file as read back.
struct ResultData {
  std::string software_version;
  std::int64_t format_version = 0;
  std::string study_yaml;  ///< the study file's text
  std::string study_path;  ///< the study file's path when the run started
  std::int64_t ranks = 0;
  double elapsed_s = 0;
  double coordinator_cpu_s = 0;
  std::int64_t coordinator_messages = 0;
  std::int64_t relay_ranks = 0;
  std::int64_t nodes = 0;                   ///< distinct hosts of the run's ranks (0: unknown)
  std::vector<std::string> excluded_hosts;  ///< nodes the run took out as bad
  std::string stop_reason;                  ///< why the last run stopped early ("": it did not)
  std::uint64_t generation = 0;
  std::size_t journal_records = 0;  ///< records applied from the checkpoint journal
  std::vector<StudyData> studies;
  study::StudyFile study_file;  ///< study_yaml, parsed once; its studies are `studies`

  /// The spec of studies[s].
  const study::StudySpec& study(std::size_t s) const { return study_file.studies.at(s); }
  /// The ranks that computed (not rank 0, nor relays): what the time left is shared by.
  int workers() const;
};

/// Which fields of a task record a reader fills.
enum class RecordFields { All, Progress };

/// A result file opened for reading: its attributes, its studies' attributes and
/// summaries, and its task rows a slab at a time, with the newer records of its checkpoint
/// journal applied (tasks, counts and status at once; summaries through summary(s)). It never holds
/// a whole tasks table, so reading a file of ten million tasks costs megabytes. Throws
/// ResultFileError for a missing, foreign or corrupt file. While a run writes the file, what
/// successive readers show never goes back. `after_file` is called between reading the file and its
/// journal (tests of that race).
class ResultReader {
 public:
  explicit ResultReader(const std::string& path, const std::function<void()>& after_file = {});
  ~ResultReader();
  ResultReader(const ResultReader&) = delete;
  ResultReader& operator=(const ResultReader&) = delete;

  /// The attributes, the studies (no task rows) and the parsed study file.
  const ResultData& data() const;

  using RecordVisitor = std::function<void(std::size_t task_id, const study::TaskRecord&)>;
  using RowVisitor = std::function<void(std::size_t task_id, const std::vector<Column>& columns,
                                        const std::vector<Cell>& row)>;

  /// The columns of study `s`'s tasks table.
  std::vector<Column> task_columns(std::size_t s) const;
  /// Study `s`'s summary with the journal applied: the first call reads the rows of the
  /// points the journal touched and updates data().studies[s].summary in place (so a
  /// `status` that needs only the progress never reads them).
  const Table& summary(std::size_t s) const;
  /// Study `s`'s progress (counts, the time left's sums, failures by reason) with the
  /// journal applied, `work.workers` the file's workers: from the tally the file keeps, so
  /// it costs no row of a file written with one; else from every row.
  study::ProgressTally progress(std::size_t s) const;
  /// Visits the task records of study `s` in task_id order: every field, or with
  /// RecordFields::Progress only status, wall_time_s and error (the rest default; a tenth
  /// of the columns to read, for status of millions of tasks).
  void for_each_record(std::size_t s, const RecordVisitor& visit,
                       RecordFields fields = RecordFields::All) const;
  /// Visits the rows of study `s`'s tasks table, every column, in task_id order.
  void for_each_row(std::size_t s, const RowVisitor& visit) const;
  /// Every task record of study `s`, in task_id order.
  std::vector<study::TaskRecord> records(std::size_t s) const;
  /// The task records of study `s`, checked before a run continues them: one row per task,
  /// each naming its own task (task_id, repetition, seed, parameters) in its place, with
  /// possible counts and, once completed, possible metrics (kernels::check_completed).
  /// Throws ResultFileError naming the file, study, row and value otherwise: a run must not
  /// continue a table that was edited or damaged. Each is visited once checked (a study of
  /// ten million tasks is never held as TaskRecords); the visit may have happened for some
  /// rows when a later one throws.
  void for_each_checked_record(std::size_t s, const RecordVisitor& visit) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The columns of the tasks table of a study of this model (what for_each_row visits).
std::vector<Column> task_columns_of(const study::StudySpec& spec);

/// Runs `read` (which reads the result file at `path`) in a child process and returns what
/// it returned: a damaged file can crash HDF5, or make it allocate gigabytes, which must
/// end in a one-line error (ResultFileError, exit code 2), never in a signal or a machine
/// out of memory. Errors `read` throws come back with their exit codes. The child may
/// allocate 1 GiB plus four times the file's size, more than any reader here needs.
std::string read_in_child(const std::string& path, const std::function<std::string()>& read);

/// read_in_child for a `read` that prints to stdout.
void read_isolated(const std::string& path, const std::function<void()>& read);

/// Reads all of a result file (attributes, every task row, summaries, clusters) in a child
/// process and throws ResultFileError when that fails or crashes: run before a run trusts
/// the file to continue it.
void check_readable(const std::string& path);

/// The saved clusters of a result file written from `file` (for resuming): global task
/// index -> particle centres.
std::map<std::size_t, study::KeptCluster> read_clusters(const std::string& path,
                                                        const study::StudyFile& file);

/// The current time as ISO 8601 UTC, e.g. "2026-11-28T13:17:36Z".
std::string utc_now_iso8601();
/// A time as ISO 8601 UTC.
std::string utc_iso8601(std::chrono::system_clock::time_point time);

}  // namespace fracstudy::io
