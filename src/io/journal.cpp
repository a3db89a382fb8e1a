#include "fracstudy/io/journal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string_view>

#include "entry_bytes.hpp"
#include "fracstudy/io/errors.hpp"

namespace fracstudy::io {
namespace {

using detail::crc32_of;
using detail::get;
using detail::put;
using detail::write_all;

// Version 4 starts each entry's payload with its kind (a record, or an append's end);
// version 3 adds the host after the error; version 2 carries the metrics with their count
// (kernels/metrics.hpp); version 1, written before the metric table, held df, rg and kf in
// fixed places. All are read.
constexpr char kMagic[4] = {'F', 'S', 'J', '4'};
constexpr char kMagicVersion3[4] = {'F', 'S', 'J', '3'};
constexpr char kMagicVersion2[4] = {'F', 'S', 'J', '2'};
constexpr char kMagicVersion1[4] = {'F', 'S', 'J', '1'};
constexpr std::uint8_t kRecordEntry = 1;
constexpr std::uint8_t kEndEntry = 2;
// An end entry's payload closes with its own length and this mark, so a reader finds the
// last one from the journal's last bytes: [length][payload ... length, mark][CRC].
constexpr char kEndMark[4] = {'F', 'S', 'J', 'E'};
constexpr std::size_t kHeaderSize = sizeof kMagic + sizeof(std::uint64_t);
constexpr std::size_t kVersion1Metrics = 3;  // df, rg, kf: the first three of kMetrics

constexpr std::uint8_t kUnknownStatus = 0xFF;

/// Appends one record's payload to `payload`: the record, then what it replaces.
void encode(std::string& payload, std::size_t task, const study::TaskRecord& r,
            const std::optional<study::CountedState>& before) {
  put(payload, kRecordEntry);
  put(payload, static_cast<std::uint64_t>(task));
  put(payload, static_cast<std::uint8_t>(r.status));
  put(payload, static_cast<std::int32_t>(r.attempts));
  put(payload, static_cast<std::int32_t>(r.worker_rank));
  put(payload, r.wall_time_s);
  put(payload, static_cast<std::int32_t>(r.interruptions));
  put(payload, static_cast<std::uint32_t>(kernels::kMetricCount));
  for (double value : r.metrics)
    put(payload, value);
  put(payload, static_cast<std::uint32_t>(r.error.size()));
  payload += r.error;
  put(payload, static_cast<std::uint32_t>(r.host.size()));
  payload += r.host;
  put(payload, before ? static_cast<std::uint8_t>(before->status) : kUnknownStatus);
  const std::string no_reason;
  const std::string& reason = before ? before->failure_reason : no_reason;
  put(payload, static_cast<std::uint32_t>(reason.size()));
  payload += reason;
}

/// A sum kept by adding and taking away may end a rounding error below zero, which a
/// reader would take for a damaged tally.
double not_negative(double sum) {
  return sum > 0 ? sum : 0.0;
}

/// Appends an append's end (JournalEnd) to `payload`.
void encode(std::string& payload, const JournalEnd& end) {
  const std::size_t start = payload.size();
  put(payload, kEndEntry);
  put(payload, end.records);
  put(payload, static_cast<std::uint32_t>(end.tallies.size()));
  for (std::size_t s = 0; s < end.tallies.size(); ++s) {
    const auto& tally = end.tallies[s];
    put(payload, s < end.records_of_study.size() ? end.records_of_study[s] : end.records);
    for (const std::int64_t count : {tally.counts.total, tally.counts.pending, tally.counts.running,
                                     tally.counts.completed, tally.counts.failed}) {
      put(payload, count);
    }
    const bool unfinished = tally.work.unfinished > 0;
    put(payload, unfinished ? not_negative(tally.work.unfinished_cost) : 0.0);
    put(payload, not_negative(tally.work.timed_cost));
    put(payload, not_negative(tally.work.timed_wall_s));
    put(payload, static_cast<std::uint32_t>(tally.failures.size()));
    for (const auto& [reason, count] : tally.failures) {
      put(payload, static_cast<std::uint32_t>(reason.size()));
      payload += reason;
      put(payload, count);
    }
  }
  put(payload, static_cast<std::uint8_t>(end.points.has_value()));
  if (end.points) {
    put(payload, static_cast<std::uint32_t>(end.points->size()));
    for (const auto& [study, accumulator] : *end.points) {
      const auto state = accumulator.state();
      put(payload, static_cast<std::uint64_t>(study));
      put(payload, static_cast<std::uint64_t>(state.point));
      put(payload, state.n_samples);
      put(payload, state.n_failed);
      put(payload, static_cast<std::uint32_t>(state.metrics.size()));
      for (const auto& metric : state.metrics) {
        put(payload, metric.n);
        for (const double value : {metric.mean, metric.squares, metric.min, metric.max})
          put(payload, value);
      }
    }
  }
  put(payload,
      static_cast<std::uint32_t>(payload.size() - start + sizeof(std::uint32_t) + sizeof kEndMark));
  payload.append(kEndMark, sizeof kEndMark);
}

/// Reads the points' summaries of an end into end.points; false when malformed. Points of
/// another build's metrics are left unknown.
bool decode_points(std::string_view payload, std::size_t& at, JournalEnd& end) {
  std::uint32_t count = 0;
  if (!get(payload, at, count) || count > payload.size()) return false;
  std::vector<JournaledPoint> points;
  bool same_metrics = true;
  for (std::uint32_t i = 0; i < count; ++i) {
    std::uint64_t study = 0, point = 0;
    std::uint32_t metrics = 0;
    study::PointAccumulator::State state;
    if (!get(payload, at, study) || !get(payload, at, point) ||
        !get(payload, at, state.n_samples) || !get(payload, at, state.n_failed) ||
        !get(payload, at, metrics) || metrics > payload.size()) {
      return false;
    }
    state.point = static_cast<std::size_t>(point);
    same_metrics = same_metrics && metrics == state.metrics.size();
    for (std::uint32_t m = 0; m < metrics; ++m) {
      study::RunningStatistics::State metric;
      if (!get(payload, at, metric.n) || !get(payload, at, metric.mean) ||
          !get(payload, at, metric.squares) || !get(payload, at, metric.min) ||
          !get(payload, at, metric.max)) {
        return false;
      }
      if (m < state.metrics.size()) state.metrics[m] = metric;
    }
    points.push_back({static_cast<std::size_t>(study), study::PointAccumulator(state)});
  }
  if (same_metrics) end.points = std::move(points);
  return true;
}

/// Reads an append's end from its whole payload (kind byte first); false when malformed.
bool decode(std::string_view payload, JournalEnd& end) {
  std::size_t at = 0;
  std::uint8_t kind = 0;
  std::uint32_t studies = 0;
  if (!get(payload, at, kind) || kind != kEndEntry || !get(payload, at, end.records) ||
      !get(payload, at, studies) || studies > payload.size()) {
    return false;
  }
  for (std::uint32_t s = 0; s < studies; ++s) {
    std::uint64_t records = 0;
    study::ProgressTally tally;
    auto& c = tally.counts;
    auto& w = tally.work;
    std::uint32_t reasons = 0;
    if (!get(payload, at, records) || !get(payload, at, c.total) || !get(payload, at, c.pending) ||
        !get(payload, at, c.running) || !get(payload, at, c.completed) ||
        !get(payload, at, c.failed) || !get(payload, at, w.unfinished_cost) ||
        !get(payload, at, w.timed_cost) || !get(payload, at, w.timed_wall_s) ||
        !get(payload, at, reasons) || reasons > payload.size()) {
      return false;
    }
    w.unfinished = c.pending + c.running;
    for (std::uint32_t r = 0; r < reasons; ++r) {
      std::uint32_t size = 0;
      std::int64_t count = 0;
      if (!get(payload, at, size) || size > payload.size() - at) return false;
      const std::string reason(payload.substr(at, size));
      at += size;
      if (!get(payload, at, count)) return false;
      tally.failures[reason] += count;
    }
    if (!tally.consistent()) return false;
    end.records_of_study.push_back(records);
    end.tallies.push_back(std::move(tally));
  }
  std::uint8_t has_points = 0;
  if (!get(payload, at, has_points) || has_points > 1) return false;
  if (has_points == 1 && !decode_points(payload, at, end)) return false;
  std::uint32_t length = 0;
  return get(payload, at, length) && length == payload.size() &&
         payload.substr(at) == std::string_view(kEndMark, sizeof kEndMark);
}

/// Reads `count` metrics into `metrics`; those beyond this build's are skipped.
bool get_metrics(std::string_view payload, std::size_t& at, std::size_t count,
                 kernels::MetricValues& metrics) {
  for (std::size_t i = 0; i < count; ++i) {
    double value = 0;
    if (!get(payload, at, value)) return false;
    if (i < kernels::kMetricCount) metrics[i] = value;
  }
  return true;
}

/// Reads a record entry's payload (after its kind byte, in version 4), and in version 4
/// what it replaces into `before`.
bool decode(std::string_view payload, int version, RecordUpdate& update,
            std::optional<study::CountedState>* before = nullptr) {
  std::size_t at = 0;
  std::uint64_t task = 0;
  std::uint8_t status = 0;
  std::int32_t attempts = 0, worker = 0, interruptions = 0;
  std::uint32_t error_size = 0, metric_count = kVersion1Metrics;
  study::TaskRecord& r = update.second;
  if (!get(payload, at, task) || !get(payload, at, status) || !get(payload, at, attempts) ||
      !get(payload, at, worker) || !get(payload, at, r.wall_time_s)) {
    return false;
  }
  const bool fields_read =
      version == 1
          ? get_metrics(payload, at, metric_count, r.metrics) && get(payload, at, interruptions)
          : get(payload, at, interruptions) && get(payload, at, metric_count) &&
                get_metrics(payload, at, metric_count, r.metrics);
  if (!fields_read || !get(payload, at, error_size) || error_size > payload.size() - at ||
      status > 3) {
    return false;
  }
  r.error = payload.substr(at, error_size);
  at += error_size;
  std::uint32_t host_size = 0;
  if (version >= 3 && (!get(payload, at, host_size) || host_size > payload.size() - at)) {
    return false;
  }
  r.host = payload.substr(at, host_size);
  at += host_size;
  if (version >= 4) {
    std::uint8_t status_before = 0;
    std::uint32_t reason_size = 0;
    if (!get(payload, at, status_before) || !get(payload, at, reason_size) ||
        reason_size != payload.size() - at ||
        (status_before > 3 && status_before != kUnknownStatus)) {
      return false;
    }
    if (before && status_before != kUnknownStatus) {
      *before = study::CountedState{static_cast<study::TaskStatus>(status_before),
                                    std::string(payload.substr(at))};
    }
    at = payload.size();
  }
  if (at != payload.size()) return false;
  update.first = static_cast<std::size_t>(task);
  r.status = static_cast<study::TaskStatus>(status);
  r.attempts = attempts;
  r.worker_rank = worker;
  r.interruptions = interruptions;
  return true;
}

/// Reads up to `size` bytes at `offset` (fewer at the file's end or on an error).
std::string read_at(int fd, std::uint64_t offset, std::size_t size) {
  std::string bytes(size, '\0');
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n =
        ::pread(fd, bytes.data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

/// The entry framing: a length before the payload, its CRC after it.
template <typename EncodePayload>
void frame(std::string& bytes, const EncodePayload& encode_payload) {
  const std::size_t length_at = bytes.size();
  put(bytes, std::uint32_t{0});
  const std::size_t payload_at = bytes.size();
  encode_payload(bytes);
  const auto length = static_cast<std::uint32_t>(bytes.size() - payload_at);
  std::memcpy(bytes.data() + length_at, &length, sizeof length);
  put(bytes, crc32_of(bytes.data() + payload_at, length));
}

}  // namespace

std::string journal_path(const std::string& result_path) {
  return result_path + ".journal";
}

bool is_journal_or_empty(const std::string& path) {
  return detail::file_starts_with_one_of(path,
                                         {kMagic, kMagicVersion3, kMagicVersion2, kMagicVersion1});
}

void start_journal(const std::string& result_path, std::uint64_t generation) {
  const std::string path = journal_path(result_path);
  const std::string temporary = path + ".tmp";
  std::string header(kMagic, sizeof kMagic);
  put(header, generation);
  // A new file, never an old one truncated: a link planted at this name must not lead
  // the write into someone else's file.
  ::unlink(temporary.c_str());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644);
  if (fd < 0) throw WriteError(temporary + ": " + std::strerror(errno));
  try {
    write_all(fd, header, temporary);
    if (::fsync(fd) != 0) throw WriteError(temporary + ": " + std::strerror(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(temporary.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    ::unlink(temporary.c_str());
    throw WriteError(path + ": " + reason);
  }
}

JournalAppender::JournalAppender(const std::string& result_path)
    : path_(journal_path(result_path)),
      fd_(::open(path_.c_str(), O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC)) {
  if (fd_ < 0) throw WriteError(path_ + ": " + std::strerror(errno));
}

JournalAppender::~JournalAppender() {
  if (fd_ >= 0) ::close(fd_);
}

void JournalAppender::append(const JournalBlock& block, study::RecordsView records) {
  std::string bytes;
  bytes.reserve(block.tasks.size() * 170);
  for (std::size_t k = 0; k < block.tasks.size(); ++k) {
    const std::size_t task = block.tasks[k];
    const auto& before = k < block.before.size() ? block.before[k] : std::nullopt;
    frame(bytes, [&](std::string& out) { encode(out, task, records[task], before); });
  }
  frame(bytes, [&](std::string& out) { encode(out, block.end); });
  write_all(fd_, bytes, path_);
  records_ += block.tasks.size();
}

std::size_t JournalAppender::finish() {
  const bool synced = ::fsync(fd_) == 0;
  const int error = errno;
  ::close(fd_);
  fd_ = -1;
  if (!synced) throw WriteError(path_ + ": " + std::strerror(error));
  return records_;
}

std::size_t append_to_journal(const std::string& result_path, std::span<const JournalBlock> blocks,
                              study::RecordsView records) {
  JournalAppender journal(result_path);
  for (const auto& block : blocks)
    journal.append(block, records);
  return journal.finish();
}

std::size_t append_to_journal(const std::string& result_path, std::span<const std::size_t> tasks,
                              study::RecordsView records) {
  JournalBlock block;
  block.tasks.assign(tasks.begin(), tasks.end());
  return append_to_journal(result_path, std::span(&block, 1), records);
}

OpenJournal::OpenJournal(const std::string& result_path) {
  // Non-blocking: a FIFO planted at the journal's name must not hang the reader.
  fd_ = ::open(journal_path(result_path).c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd_ < 0) return;
  struct stat status {};
  if (::fstat(fd_, &status) != 0 || !S_ISREG(status.st_mode)) return;
  size_ = static_cast<std::uint64_t>(status.st_size);
  const std::string header = read_at(fd_, 0, kHeaderSize);
  if (header.size() < kHeaderSize) return;
  const auto magic_is = [&](const char* magic) {
    return std::memcmp(header.data(), magic, sizeof kMagic) == 0;
  };
  version_ = magic_is(kMagic)           ? 4
             : magic_is(kMagicVersion3) ? 3
             : magic_is(kMagicVersion2) ? 2
             : magic_is(kMagicVersion1) ? 1
                                        : 0;
  std::size_t at = sizeof kMagic;
  if (version_ != 0) get(std::string_view(header), at, generation_);
}

OpenJournal::~OpenJournal() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {

/// A journal's entries read forward from an offset, a block at a time (a journal of
/// gigabytes is never held whole), each checked against its CRC.
class EntryReader {
 public:
  EntryReader(int fd, std::uint64_t from, std::uint64_t size) : fd_(fd), next_(from), size_(size) {}

  /// The next whole entry's payload (valid until the next call); nullopt at the end, or at
  /// an entry cut short or damaged: nothing after it is trusted.
  std::optional<std::string_view> next() {
    std::uint32_t length = 0, crc = 0;
    if (!available(sizeof length) || !get(std::string_view(buffer_), at_, length) ||
        !available(std::size_t{length} + sizeof crc)) {
      return std::nullopt;
    }
    const std::string_view payload = std::string_view(buffer_).substr(at_, length);
    at_ += length;
    get(std::string_view(buffer_), at_, crc);
    if (crc != crc32_of(payload.data(), payload.size())) return std::nullopt;
    return payload;
  }

 private:
  bool available(std::size_t bytes) {
    constexpr std::size_t kBlock = std::size_t{8} << 20;
    while (buffer_.size() - at_ < bytes && next_ < size_) {
      buffer_.erase(0, at_);
      at_ = 0;
      const auto want = static_cast<std::size_t>(
          std::min<std::uint64_t>(std::max(kBlock, bytes - buffer_.size()), size_ - next_));
      const std::string more = read_at(fd_, next_, want);
      if (more.empty()) break;
      buffer_ += more;
      next_ += more.size();
    }
    return buffer_.size() - at_ >= bytes;
  }

  int fd_;
  std::uint64_t next_, size_;
  std::string buffer_;
  std::size_t at_ = 0;
};

/// Reads a version-4 record entry's payload (kind byte first).
bool decode_record(std::string_view payload, RecordUpdate& update,
                   std::optional<study::CountedState>* before = nullptr) {
  return !payload.empty() && static_cast<std::uint8_t>(payload[0]) == kRecordEntry &&
         decode(payload.substr(1), 4, update, before);
}

bool is_end(std::string_view payload) {
  return !payload.empty() && static_cast<std::uint8_t>(payload[0]) == kEndEntry;
}

}  // namespace

std::optional<JournalEnd> OpenJournal::end_with_mark_at(std::uint64_t mark) const {
  // [length][payload ... length, mark][CRC]
  constexpr auto kWord = sizeof(std::uint32_t);
  if (mark < kHeaderSize + 2 * kWord || mark + sizeof kEndMark + kWord > size_) {
    return std::nullopt;
  }
  const std::string words = read_at(fd_, mark - kWord, 2 * kWord + sizeof kEndMark);
  std::uint32_t length = 0, crc = 0;
  std::size_t at = 0;
  get(std::string_view(words), at, length);
  at += sizeof kEndMark;
  if (words.size() != 2 * kWord + sizeof kEndMark || !get(std::string_view(words), at, crc) ||
      length > mark + sizeof kEndMark - kHeaderSize - kWord) {
    return std::nullopt;
  }
  const std::uint64_t payload_at = mark + sizeof kEndMark - length;
  const std::string entry = read_at(fd_, payload_at - kWord, length + kWord);
  std::uint32_t framed_length = 0;
  at = 0;
  JournalEnd end;
  if (entry.size() != length + kWord || !get(std::string_view(entry), at, framed_length) ||
      framed_length != length) {
    return std::nullopt;
  }
  const std::string_view payload = std::string_view(entry).substr(kWord);
  if (crc != crc32_of(payload.data(), payload.size()) || !decode(payload, end)) {
    return std::nullopt;
  }
  return end;
}

std::optional<JournalProgress> OpenJournal::progress() const {
  if (version_ < 4) return std::nullopt;
  // The last end is searched for from the journal's end back: past it lie at most the
  // records of one block cut short. Far more than that and the journal is not one of ours.
  constexpr std::uint64_t kWindow = std::uint64_t{4} << 20;
  constexpr std::uint64_t kSearchLimit = std::uint64_t{64} << 20;
  const std::string_view mark(kEndMark, sizeof kEndMark);
  for (std::uint64_t window_end = size_;
       window_end > kHeaderSize && size_ - window_end < kSearchLimit;) {
    const std::uint64_t window_start = window_end - std::min(kWindow, window_end - kHeaderSize);
    // Marks that begin in this window, also one that ends in the next.
    const std::string bytes =
        read_at(fd_, window_start,
                static_cast<std::size_t>(window_end - window_start + sizeof kEndMark - 1));
    const std::string_view view(bytes);
    for (std::size_t pos = view.rfind(mark); pos != std::string_view::npos;
         pos = pos == 0 ? std::string_view::npos : view.rfind(mark, pos - 1)) {
      const std::uint64_t at = window_start + pos;
      if (at >= window_end) continue;
      auto end = end_with_mark_at(at);
      if (!end) continue;
      JournalProgress progress{std::move(*end), {}};
      EntryReader entries(fd_, at + sizeof kEndMark + sizeof(std::uint32_t), size_);
      while (const auto payload = entries.next()) {
        if (is_end(*payload)) break;  // cannot be: it would have been found first
        RecordAfterEnd record;
        if (!decode_record(*payload, record.update, &record.before)) break;
        progress.after.push_back(std::move(record));
      }
      return progress;
    }
    window_end = window_start;
  }
  return std::nullopt;
}

std::vector<RecordUpdate> OpenJournal::records() const {
  std::vector<RecordUpdate> updates;
  if (version_ == 0) return updates;
  EntryReader entries(fd_, kHeaderSize, size_);
  while (const auto payload = entries.next()) {
    if (version_ >= 4 && is_end(*payload)) continue;
    RecordUpdate update;
    const bool decoded =
        version_ >= 4 ? decode_record(*payload, update) : decode(*payload, version_, update);
    if (!decoded) break;  // nothing after it is trusted
    updates.push_back(std::move(update));
  }
  return updates;
}

std::vector<RecordUpdate> read_journal(const std::string& result_path, std::uint64_t generation) {
  Journal journal = read_journal(result_path);
  if (journal.generation != generation) return {};
  return std::move(journal.updates);
}

Journal read_journal(const std::string& result_path) {
  const OpenJournal journal(result_path);
  return Journal{journal.generation(), journal.records()};
}

void remove_journal(const std::string& result_path) {
  std::error_code ignored;
  std::filesystem::remove(journal_path(result_path), ignored);
}

}  // namespace fracstudy::io
