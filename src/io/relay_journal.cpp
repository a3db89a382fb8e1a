#include "fracstudy/io/relay_journal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>
#include <string_view>

#include "entry_bytes.hpp"
#include "fracstudy/io/errors.hpp"
#include "fracstudy/io/journal.hpp"

namespace fracstudy::io {
namespace {

using detail::crc32_of;
using detail::get;
using detail::put;
using detail::write_all;

// [magic][token] then entries [payload length][payload][CRC-32 of the payload].
constexpr char kMagic[4] = {'F', 'S', 'R', '1'};
constexpr std::size_t kHeaderSize = sizeof kMagic + sizeof(std::uint64_t);
constexpr const char* kSuffix = ".relay";
// No entry is near this: a length beyond it is damage, not an entry to allocate for.
constexpr std::uint32_t kLongestEntry = 1 << 20;

void encode(std::string& out, const RelayedCompletion& completion) {
  std::string payload;
  put(payload, static_cast<std::uint64_t>(completion.task));
  put(payload, static_cast<std::int32_t>(completion.attempt));
  put(payload, static_cast<std::int32_t>(completion.rank));
  put(payload, completion.wall_time_s);
  put(payload, static_cast<std::uint32_t>(completion.host.size()));
  payload += completion.host;
  put(payload, static_cast<std::uint32_t>(kernels::kMetricCount));
  for (const double value : completion.metrics)
    put(payload, value);
  put(out, static_cast<std::uint32_t>(payload.size()));
  out += payload;
  put(out, crc32_of(payload.data(), payload.size()));
}

bool decode(std::string_view payload, RelayedCompletion& completion) {
  std::size_t at = 0;
  std::uint64_t task = 0;
  std::int32_t attempt = 0, rank = 0;
  std::uint32_t host_size = 0, metrics = 0;
  if (!get(payload, at, task) || !get(payload, at, attempt) || !get(payload, at, rank) ||
      !get(payload, at, completion.wall_time_s) || !get(payload, at, host_size) ||
      host_size > payload.size() - at) {
    return false;
  }
  completion.task = static_cast<std::size_t>(task);
  completion.attempt = attempt;
  completion.rank = rank;
  completion.host.assign(payload.substr(at, host_size));
  at += host_size;
  if (!get(payload, at, metrics)) return false;
  for (std::uint32_t m = 0; m < metrics; ++m) {
    double value = 0;
    if (!get(payload, at, value)) return false;
    if (m < kernels::kMetricCount) completion.metrics[m] = value;  // another build's: skipped
  }
  return at == payload.size();
}

/// A relay journal opened for reading: its token (0 when it is not one: missing, not a
/// regular file, another kind of file).
class JournalReader {
 public:
  explicit JournalReader(const std::string& path)
      : fd_(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) {
    struct stat info {};
    char header[kHeaderSize];
    if (fd_ < 0 || ::fstat(fd_, &info) != 0 || !S_ISREG(info.st_mode) ||
        ::pread(fd_, header, kHeaderSize, 0) != static_cast<ssize_t>(kHeaderSize) ||
        std::memcmp(header, kMagic, sizeof kMagic) != 0) {
      return;
    }
    std::memcpy(&token_, header + sizeof kMagic, sizeof token_);
    size_ = static_cast<std::uint64_t>(info.st_size);
  }
  ~JournalReader() {
    if (fd_ >= 0) ::close(fd_);
  }
  JournalReader(const JournalReader&) = delete;
  JournalReader& operator=(const JournalReader&) = delete;

  std::uint64_t token() const { return token_; }

  /// Visits the valid entries from `offset` (at least the first after the header) up to
  /// the first damaged or incomplete one, a block of the file at a time; returns the
  /// offset after the last valid entry.
  std::uint64_t scan(std::uint64_t offset, const RelayCompletionVisitor& visit) const {
    constexpr std::size_t kBlock = std::size_t{4} << 20;
    std::uint64_t at = std::max<std::uint64_t>(offset, kHeaderSize);
    std::string buffer;
    while (at < size_) {
      // An entry is at most kLongestEntry: a block that holds none whole is damage.
      buffer.resize(static_cast<std::size_t>(std::min<std::uint64_t>(size_ - at, kBlock)));
      const ssize_t got = ::pread(fd_, buffer.data(), buffer.size(), static_cast<off_t>(at));
      if (got <= 0) break;
      buffer.resize(static_cast<std::size_t>(got));
      const std::size_t used = decode_entries(buffer, visit);
      if (used == 0) break;  // damage, or an entry cut short
      at += used;
      if (used < buffer.size() && buffer.size() < kBlock) break;  // damage before the end
    }
    return at;
  }

 private:
  /// Decodes the whole valid entries at the start of `in`; returns the bytes they take.
  static std::size_t decode_entries(std::string_view in, const RelayCompletionVisitor& visit) {
    std::size_t at = 0;
    while (true) {
      std::uint32_t length = 0, crc = 0;
      std::size_t next = at;
      if (!get(in, next, length) || length > kLongestEntry || next + length > in.size()) break;
      const std::string_view payload = in.substr(next, length);
      next += length;
      RelayedCompletion completion;
      if (!get(in, next, crc) || crc != crc32_of(payload.data(), payload.size()) ||
          !decode(payload, completion)) {
        break;
      }
      visit(completion);
      at = next;
    }
    return at;
  }

  int fd_ = -1;
  std::uint64_t token_ = 0;
  std::uint64_t size_ = 0;
};

std::uint64_t fresh_token() {
  std::random_device entropy;
  std::uint64_t token = 0;
  while (token == 0) {
    token = (std::uint64_t{entropy()} << 32) ^ entropy() ^
            static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  return token;
}

}  // namespace

std::string relay_journal_path(const std::string& result_path, int relay_rank) {
  return journal_path(result_path) + kSuffix + std::to_string(relay_rank);
}

std::vector<std::string> relay_journal_paths(const std::string& result_path) {
  const std::filesystem::path prefix(journal_path(result_path) + kSuffix);
  std::vector<std::string> paths;
  std::error_code error;
  auto directory = prefix.parent_path();
  if (directory.empty()) directory = ".";
  const std::string stem = prefix.filename().string();
  for (std::filesystem::directory_iterator it(directory, error), end; !error && it != end;
       it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= stem.size() || name.compare(0, stem.size(), stem) != 0) continue;
    const std::string_view rank(name.data() + stem.size(), name.size() - stem.size());
    if (!std::all_of(rank.begin(), rank.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    paths.push_back((prefix.parent_path() / name).string());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

bool is_relay_journal_or_empty(const std::string& path) {
  return detail::file_starts_with_one_of(path, {kMagic});
}

void remove_relay_journals(const std::string& result_path) {
  for (const auto& path : relay_journal_paths(result_path))
    ::unlink(path.c_str());  // a link is removed, never what it points to
}

RelayJournalWriter::RelayJournalWriter(const std::string& path)
    : path_(path),
      fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
                 0644)),
      token_(fresh_token()) {
  if (fd_ < 0) throw WriteError(path + ": " + std::strerror(errno));
  std::string header(kMagic, sizeof kMagic);
  put(header, token_);
  try {
    write_all(fd_, header, path_);
    if (::fdatasync(fd_) != 0) throw WriteError(path_ + ": " + std::strerror(errno));
  } catch (...) {
    ::close(fd_);
    ::unlink(path_.c_str());
    throw;
  }
}

RelayJournalWriter::~RelayJournalWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void RelayJournalWriter::append(std::span<const RelayedCompletion> completions, bool flush) {
  std::string bytes;
  for (const auto& completion : completions)
    encode(bytes, completion);
  write_all(fd_, bytes, path_);
  if (flush && ::fdatasync(fd_) != 0) throw WriteError(path_ + ": " + std::strerror(errno));
}

std::optional<std::uint64_t> relay_journal_token(const std::string& path) {
  const JournalReader reader(path);
  if (reader.token() == 0) return std::nullopt;
  return reader.token();
}

RelayJournalScan scan_relay_journal(const std::string& path, std::uint64_t offset,
                                    const RelayCompletionVisitor& visit) {
  const JournalReader reader(path);
  if (reader.token() == 0) return {0, offset};
  return {reader.token(), reader.scan(offset, visit)};
}

RelayJournalRead read_relay_journal(const std::string& path, std::uint64_t offset) {
  RelayJournalRead read;
  const auto scan = scan_relay_journal(path, offset, [&read](const RelayedCompletion& completion) {
    read.completions.push_back(completion);
  });
  read.token = scan.token;
  read.end_offset = scan.end_offset;
  return read;
}

bool apply_completion(const RelayedCompletion& completion, study::TaskRecord& record) {
  // A FAILED task too: reopened on rank 0 (a bad node's failures given back) and then
  // computed under a relay; a valid result is never thrown away for a failure.
  if (record.status == study::TaskStatus::Completed) return false;
  record.status = study::TaskStatus::Completed;
  record.attempts = std::max(record.attempts, completion.attempt);
  record.worker_rank = completion.rank;
  record.host = completion.host;
  record.wall_time_s = completion.wall_time_s;
  record.metrics = completion.metrics;
  return true;
}

}  // namespace fracstudy::io
