#pragma once
/// A relay's journal: the results its group completed, kept by the relay beside the result
/// file (OUT.h5.journal.relay<RANK>) so that rank 0 receives only their task numbers. Rank
/// 0 reads the metrics back when it writes the file whole; a reader of a killed run, and
/// --resume, take them as completions of the tasks the file still shows unfinished.
///
/// Written only after rank 0 has read the file's token (the relay and rank 0 see the same
/// file: a directory that is not shared between their nodes is found out before any result
/// depends on it). Each entry carries a CRC, so one a kill cut short ends the journal; the
/// relay writes its entries before it tells rank 0 of them (a killed job loses none: the
/// kernel holds them) and flushes them to disk about every second (a node's crash may lose
/// the last second's, which are then computed again).
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fracstudy/kernels/metrics.hpp"
#include "fracstudy/study/status.hpp"

namespace fracstudy::io {

/// A task a relay's worker completed, as the relay keeps it.
struct RelayedCompletion {
  std::size_t task = 0;  ///< global task index
  int attempt = 1;       ///< the attempt that completed it
  int rank = -1;         ///< the worker that computed it
  double wall_time_s = 0;
  std::string host;  ///< the worker's node
  kernels::MetricValues metrics;
};

/// The journal of the relay of rank `relay_rank` for the result file `result_path`.
std::string relay_journal_path(const std::string& result_path, int relay_rank);

/// Every relay journal beside `result_path` (whatever rank wrote it), sorted.
std::vector<std::string> relay_journal_paths(const std::string& result_path);

/// Whether `path` holds a relay journal, or is empty (one cut before its header).
bool is_relay_journal_or_empty(const std::string& path);

/// Removes every relay journal beside `result_path` (their results are in the file).
void remove_relay_journals(const std::string& result_path);

/// Creates a relay journal and appends to it. Refuses a path that exists (an earlier run's
/// journal, or a link planted there): the relay then passes its results up whole.
class RelayJournalWriter {
 public:
  /// Creates `path` with a fresh token; throws io::WriteError when it cannot.
  explicit RelayJournalWriter(const std::string& path);
  ~RelayJournalWriter();
  RelayJournalWriter(const RelayJournalWriter&) = delete;
  RelayJournalWriter& operator=(const RelayJournalWriter&) = delete;

  /// What rank 0 compares with the file it reads (never 0).
  std::uint64_t token() const { return token_; }
  /// Appends `completions`, and flushes the journal to disk when `flush`; throws
  /// io::WriteError when it cannot (what was written before stays valid; a partial entry
  /// fails its CRC).
  void append(std::span<const RelayedCompletion> completions, bool flush);

 private:
  std::string path_;
  int fd_ = -1;
  std::uint64_t token_ = 0;
};

/// The token of the relay journal at `path`; nullopt when there is none, it is not a
/// regular file, or its header is not a relay journal's.
std::optional<std::uint64_t> relay_journal_token(const std::string& path);

/// Where a scan of a relay journal ended: its token (0: no relay journal there) and the
/// offset after its last valid entry (where the next scan starts).
struct RelayJournalScan {
  std::uint64_t token = 0;
  std::uint64_t end_offset = 0;
};
using RelayCompletionVisitor = std::function<void(const RelayedCompletion&)>;
/// Visits a relay journal's valid entries from `offset` on (0: the start), up to the first
/// damaged or incomplete one, reading a block of the file at a time (a journal of millions
/// of results is never held whole).
RelayJournalScan scan_relay_journal(const std::string& path, std::uint64_t offset,
                                    const RelayCompletionVisitor& visit);

/// The same, collected (for a few).
struct RelayJournalRead {
  std::uint64_t token = 0;  ///< of the journal read; 0: none there
  std::vector<RelayedCompletion> completions;
  std::uint64_t end_offset = 0;
};
RelayJournalRead read_relay_journal(const std::string& path, std::uint64_t offset = 0);

/// Applies a relayed completion to the record it completes: a task the record does not
/// show COMPLETED (PENDING, RUNNING, or FAILED before rank 0 reopened it) becomes COMPLETED
/// with the relay's metrics; its earlier failures and interruptions stay. Returns false
/// (and changes nothing) for a task already COMPLETED.
bool apply_completion(const RelayedCompletion& completion, study::TaskRecord& record);

}  // namespace fracstudy::io
