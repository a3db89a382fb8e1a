#pragma once
/// Saving a run's results as it goes: the checkpoint policy. A whole rewrite of the result
/// file (atomic) when it is cheap next to the time since the last one, else the changed
/// records appended to the journal (journal.hpp), so a checkpoint of a large study costs
/// time in proportion to the new results; clusters always go into whole rewrites.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "fracstudy/io/journal.hpp"
#include "fracstudy/io/result_file.hpp"
#include "fracstudy/study/progress.hpp"
#include "fracstudy/study/statistics.hpp"

namespace fracstudy::io {

/// Where a run starts from.
struct RunStart {
  std::vector<StudyRun> earlier_runs;    ///< per study, from the file being continued
  std::uint64_t earlier_generation = 0;  ///< of the file being continued (journal.hpp)
  bool continues_file = false;           ///< --resume or retry: the file's clusters stay
  int ranks = 1;                         ///< ranks of the run
  int relay_ranks = 0;                   ///< ranks that relay work rather than compute
  JobLayout layout;                      ///< where each rank runs and what it does
  /// A whole rewrite may take at most this share of the time between two of them, else
  /// checkpoints append to the journal (0: only the first and the final write are whole).
  double whole_write_share = 0.05;
};

/// Writes one run's result file at each checkpoint and keeps each study's status and times.
class ResultWriter {
 public:
  /// `file` and `tasks` must outlive the writer. Reads the clusters of the file being
  /// continued (they are rewritten with every whole write).
  ResultWriter(std::string path, const study::StudyFile& file, const study::TaskList& tasks,
               RunStart start);

  /// The status a study that has not ended gets from now on (RUNNING until the run stops
  /// early: then INTERRUPTED or CANCELLED).
  void set_unfinished_status(study::StudyStatus status) { unfinished_status_ = status; }

  /// Why the run stops before its end, for the file's `stop_reason`.
  void set_stop_reason(const std::string& reason) { start_.layout.stop_reason = reason; }
  /// The nodes taken out of the run as bad, for the file's `excluded_hosts`.
  void set_excluded_hosts(const std::vector<std::string>& hosts) {
    start_.layout.excluded_hosts = hosts;
  }
  const std::vector<std::string>& excluded_hosts() const { return start_.layout.excluded_hosts; }

  /// Marks the moment the run's clock starts (the seconds update_study takes count from).
  void start_clock();

  /// Keeps a cluster's positions for the file; the next checkpoint is a whole rewrite.
  void keep_cluster(std::size_t task, study::KeptCluster cluster);

  /// Where study `s` stands: its status and timestamps follow from its counts and from
  /// when (seconds after start_clock) its first task started and its last one ended.
  void update_study(std::size_t s, const study::TaskCounts& counts, std::optional<double> started_s,
                    std::optional<double> ended_s);

  /// A checkpoint: the whole file when `final` or when due, else `changed` appended to the
  /// journal, in blocks each ended by every study's progress after it (what `status` of a
  /// killed run reads instead of the records). A failure leaves the previous checkpoint
  /// valid, is reported on stderr and makes the next checkpoint a whole rewrite; the final
  /// one's is kept in final_error().
  /// `now`, when given, is each study's tally of `records` as they stand (the scheduler's
  /// counts): the journal's last end then takes it, and the results whose metrics a relay
  /// keeps are not counted one by one (rank 0's cost per result, docs/performance.md).
  void checkpoint(study::RecordsView records, std::span<const std::size_t> changed, bool final,
                  std::span<const study::ProgressTally> now = {});

  /// The relays' journals hold results the file does not (rank 0 did not find them): the
  /// final write leaves them for --resume.
  void keep_relay_journals() { keep_relay_journals_ = true; }
  /// From now on a checkpoint rewrites the file whole only when it must (clusters, a
  /// failed checkpoint): once relays keep the results, rank 0's journal stays small.
  void set_whole_write_share(double share) { start_.whole_write_share = share; }

  /// Whether the next checkpoint that is not final writes the file whole (what it writes
  /// must then hold every metric: those the relays keep are read back first).
  bool whole_write_due() const;

  /// Rewrites the whole file (a new generation) and starts its journal afresh; the final
  /// write leaves no journal. Throws when it cannot.
  void write(study::RecordsView records, bool final);

  /// The studies as they stand, with their summaries (no task rows): what the end-of-run
  /// report prints, without reading the file back.
  std::vector<StudyData> studies(study::RecordsView records) const;

  /// Why the final checkpoint could not be written ("" when it was).
  const std::string& final_error() const { return final_error_; }
  /// Rows appended to the journal so far (the incremental checkpoints' whole cost).
  std::size_t journaled_rows() const { return journaled_rows_; }
  /// Messages rank 0 received so far (counted by the coordinator loop), for the file.
  std::uint64_t coordinator_messages = 0;
  /// Results of this run read back from the relays' journals so far, for the file.
  std::uint64_t relay_kept_results = 0;

 private:
  void write_whole(study::RecordsView records, bool final);
  double cost_of(std::size_t task) const;
  void count_written(study::RecordsView records);
  void track_point(std::size_t task, study::TaskList::StudyPoint of,
                   const study::CountedState& before, study::RecordsView records);
  void append_journal_blocks(std::span<const std::size_t> changed, study::RecordsView records,
                             std::span<const study::ProgressTally> now);
  // Counts `tasks` as written now; what each counted as before goes to `replaced` if given
  // (not for a task whose metrics a relay keeps: it is not written). With `kept_in_now`,
  // such a task's tally is left to the checkpoint's `now`.
  void count_changed(std::span<const std::size_t> tasks, study::RecordsView records,
                     std::vector<std::optional<study::CountedState>>* replaced = nullptr,
                     bool kept_in_now = false);
  bool count_kept(std::size_t task, study::RecordsView records);
  std::string at(double seconds) const;

  std::string path_;
  const study::StudyFile& file_;
  const study::TaskList& tasks_;
  RunStart start_;
  study::StudyStatus unfinished_status_ = study::StudyStatus::Running;
  std::vector<StudyRun> runs_;
  // Every saved cluster (those of the file being continued too): each whole rewrite writes
  // them all. (Copying them from the old file with H5Ocopy crashed HDF5 1.10 when the disk
  // filled up; `save_clusters: all` therefore costs rank 0 their memory.)
  std::map<std::size_t, study::KeptCluster> clusters_;
  bool unsaved_clusters_ = false;  // clusters not in the file yet: the next write is whole
  std::chrono::system_clock::time_point clock_start_ = std::chrono::system_clock::now();
  std::string final_error_;
  std::uint64_t generation_ = 0;
  std::size_t journaled_rows_ = 0;
  // Each study's progress as the file and its journal hold it, kept one written record at a
  // time: what each block of the journal ends with. One byte per task, and the reason of
  // each task written as FAILED.
  JournalEnd written_;
  std::vector<std::uint8_t> written_status_;
  std::unordered_map<std::size_t, std::string> written_failure_;
  // The running statistics of the points the run changed, as written, kept one record at a
  // time across whole writes (a point of millions of tasks is read once); the journal's
  // ends carry those of the points changed since the last whole write, so a reader of a
  // killed run's summaries reads no row, while there are few enough of them.
  using PointKey = std::pair<std::size_t, std::size_t>;  // study, point
  std::map<PointKey, study::PointAccumulator> point_statistics_;
  std::set<PointKey> journaled_points_;  // changed since the last whole write
  bool journaled_points_known_ = true;
  bool force_full_write_ = false;
  bool wrote_whole_ = false;
  bool keep_relay_journals_ = false;              // some of their results are not in the file
  std::vector<std::vector<double>> point_costs_;  // per study, each point's estimated cost  // this
                                                  // run wrote the file whole at least once
  double last_full_write_s_ = 0;
  std::chrono::steady_clock::time_point last_full_write_end_ = std::chrono::steady_clock::now();
};

}  // namespace fracstudy::io
