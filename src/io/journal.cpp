#include "fracstudy/io/journal.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "fracstudy/io/errors.hpp"

namespace fracstudy::io {
namespace {

// Version 3 adds the host after the error; version 2 carries the metrics with their count
// (kernels/metrics.hpp); version 1, written before the metric table, held df, rg and kf in
// fixed places. All are read.
constexpr char kMagic[4] = {'F', 'S', 'J', '3'};
constexpr char kMagicVersion2[4] = {'F', 'S', 'J', '2'};
constexpr char kMagicVersion1[4] = {'F', 'S', 'J', '1'};
constexpr std::size_t kVersion1Metrics = 3;  // df, rg, kf: the first three of kMetrics

/// CRC-32 (IEEE 802.3, zlib's), to tell a complete record from one a kill cut short.
std::uint32_t crc32_of(const char* data, std::size_t size) {
  return static_cast<std::uint32_t>(::crc32(
      ::crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(data), static_cast<uInt>(size)));
}

template <typename T>
void put(std::string& out, const T& value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

template <typename T>
bool get(const std::string& in, std::size_t& at, T& value) {
  if (at + sizeof value > in.size()) return false;
  std::memcpy(&value, in.data() + at, sizeof value);
  at += sizeof value;
  return true;
}

/// Appends one record's payload to `payload`.
void encode(std::string& payload, std::size_t task, const study::TaskRecord& r) {
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
}

/// Reads `count` metrics into `metrics`; those beyond this build's are skipped.
bool get_metrics(const std::string& payload, std::size_t& at, std::size_t count,
                 kernels::MetricValues& metrics) {
  for (std::size_t i = 0; i < count; ++i) {
    double value = 0;
    if (!get(payload, at, value)) return false;
    if (i < kernels::kMetricCount) metrics[i] = value;
  }
  return true;
}

bool decode(const std::string& payload, int version, RecordUpdate& update) {
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
  if (!fields_read || !get(payload, at, error_size) || at + error_size > payload.size() ||
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
  if (at + host_size != payload.size()) return false;
  update.first = static_cast<std::size_t>(task);
  r.status = static_cast<study::TaskStatus>(status);
  r.attempts = attempts;
  r.worker_rank = worker;
  r.interruptions = interruptions;
  return true;
}

void write_all(int fd, const std::string& bytes, const std::string& path) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw WriteError(path + ": " + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

std::string journal_path(const std::string& result_path) {
  return result_path + ".journal";
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

std::size_t append_to_journal(const std::string& result_path, std::span<const std::size_t> tasks,
                              const std::vector<study::TaskRecord>& records) {
  const std::string path = journal_path(result_path);
  // Each record: its length, its payload, the payload's CRC; encoded in place.
  std::string bytes;
  bytes.reserve(tasks.size() * 128);
  for (const std::size_t task : tasks) {
    const std::size_t length_at = bytes.size();
    put(bytes, std::uint32_t{0});
    const std::size_t payload_at = bytes.size();
    encode(bytes, task, records[task]);
    const auto length = static_cast<std::uint32_t>(bytes.size() - payload_at);
    std::memcpy(bytes.data() + length_at, &length, sizeof length);
    put(bytes, crc32_of(bytes.data() + payload_at, length));
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_NOFOLLOW);
  if (fd < 0) throw WriteError(path + ": " + std::strerror(errno));
  try {
    write_all(fd, bytes, path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) throw WriteError(path + ": " + std::strerror(errno));
  return tasks.size();
}

std::vector<RecordUpdate> read_journal(const std::string& result_path, std::uint64_t generation) {
  Journal journal = read_journal(result_path);
  if (journal.generation != generation) return {};
  return std::move(journal.updates);
}

Journal read_journal(const std::string& result_path) {
  std::ifstream in(journal_path(result_path), std::ios::binary);
  if (!in) return {};
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::size_t at = sizeof kMagic;
  std::uint64_t file_generation = 0;
  if (bytes.size() < sizeof kMagic) return {};
  const int version = std::memcmp(bytes.data(), kMagic, sizeof kMagic) == 0           ? 3
                      : std::memcmp(bytes.data(), kMagicVersion2, sizeof kMagic) == 0 ? 2
                      : std::memcmp(bytes.data(), kMagicVersion1, sizeof kMagic) == 0 ? 1
                                                                                      : 0;
  if (version == 0 || !get(bytes, at, file_generation)) return {};
  Journal journal{file_generation, {}};
  auto& updates = journal.updates;
  std::uint32_t length = 0, crc = 0;
  while (get(bytes, at, length) && at + length + sizeof crc <= bytes.size()) {
    const std::string payload = bytes.substr(at, length);
    at += length;
    get(bytes, at, crc);
    RecordUpdate update;
    if (crc != crc32_of(payload.data(), payload.size()) || !decode(payload, version, update)) {
      break;  // the tail of a write cut short: nothing after it is trusted
    }
    updates.push_back(std::move(update));
  }
  return journal;
}

void remove_journal(const std::string& result_path) {
  std::error_code ignored;
  std::filesystem::remove(journal_path(result_path), ignored);
}

}  // namespace fracstudy::io
