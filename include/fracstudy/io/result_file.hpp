#pragma once
/// The HDF5 result file (docs/result-file.md): written whole to a temporary file and
/// renamed over the old one, so a reader, or a job killed at any moment, only ever sees
/// a complete file.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "fracstudy/io/table.hpp"
#include "fracstudy/study/spec.hpp"
#include "fracstudy/study/status.hpp"
#include "fracstudy/study/tasks.hpp"

namespace fracstudy::io {

inline constexpr const char* kFormatName = "fracstudy-results";
inline constexpr std::int64_t kFormatVersion = 1;

/// Status and timestamps of one study (ISO 8601 UTC; "" when not reached yet).
struct StudyRun {
  study::StudyStatus status = study::StudyStatus::Created;
  std::string created_at, started_at, completed_at;
};

/// Everything a result file is written from.
struct ResultSnapshot {
  const study::StudyFile* file = nullptr;
  const std::vector<study::Task>* tasks = nullptr;          ///< every task, all studies
  const std::vector<study::TaskRecord>* records = nullptr;  ///< one per task
  std::vector<StudyRun> runs;                               ///< one per study
  int ranks = 1;                                            ///< ranks of the run
  double elapsed_s = 0;                                     ///< wall time of this run so far
  double coordinator_cpu_s = 0;            ///< CPU time rank 0 used so far (its overhead)
  std::uint64_t coordinator_messages = 0;  ///< messages rank 0 received so far
  int relay_ranks = 0;           ///< ranks that relayed work (sub-coordinators), not computing
  std::uint64_t generation = 0;  ///< which journal belongs to this file (see journal.hpp)
  /// Clusters to write as /studies/NAME/clusters/TASK_ID: global task index -> particle
  /// centres (n x dimension, row-major). Every rewrite writes all of them.
  const std::map<std::size_t, std::vector<float>>* clusters = nullptr;
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
  Table tasks;
  Table summary;
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
  std::uint64_t generation = 0;
  std::size_t journal_records = 0;  ///< records applied from the checkpoint journal
  std::vector<StudyData> studies;
  study::StudyFile study_file;  ///< study_yaml, parsed once; its studies are `studies`

  /// The spec of studies[s].
  const study::StudySpec& study(std::size_t s) const { return study_file.studies.at(s); }
  /// The ranks that computed (not rank 0, nor relays): what the time left is shared by.
  int workers() const;
};

/// Reads a result file, with the newer records of its checkpoint journal applied (tasks,
/// counts, status and summary); throws ResultFileError for a missing, foreign or
/// corrupt file. While a run writes it, what successive reads show never goes back.
/// `after_file` is called between reading the file and its journal (tests of that race).
ResultData read_result_file(const std::string& path, const std::function<void()>& after_file = {});

/// The saved clusters of a result file written from `file` (for resuming): global task
/// index -> particle centres.
std::map<std::size_t, std::vector<float>> read_clusters(const std::string& path,
                                                        const study::StudyFile& file);

/// The task records of a study as read back, in row order.
std::vector<study::TaskRecord> records_of(const StudyData& study);

/// The task records of a study, checked before a run continues them: one row per task of
/// `spec` (expanded with `master_seed`), each naming its task (task_id, repetition, seed,
/// parameters) in its place, with possible counts and, once completed, possible metrics
/// (kernels::check_completed). Throws ResultFileError naming the file, study, row and
/// value otherwise: a run must not continue a table that was edited or damaged.
std::vector<study::TaskRecord> checked_records_of(const StudyData& study,
                                                  const study::StudySpec& spec,
                                                  std::uint64_t master_seed,
                                                  const std::string& path);

/// The current time as ISO 8601 UTC, e.g. "2026-11-28T13:17:36Z".
std::string utc_now_iso8601();
/// A time as ISO 8601 UTC.
std::string utc_iso8601(std::chrono::system_clock::time_point time);

}  // namespace fracstudy::io
