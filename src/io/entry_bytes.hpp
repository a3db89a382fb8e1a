#pragma once
// What the journals (journal.cpp, relay_journal.cpp) share to write and read their entries:
// fixed-size values in the machine's byte order, a CRC-32 per entry, whole writes. Private
// to the io layer.
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>

#include "fracstudy/io/errors.hpp"

namespace fracstudy::io::detail {

/// Whether the file at `path` is empty or starts with one of the 4-byte `magics` (a
/// journal's header); false when it cannot be read.
inline bool file_starts_with_one_of(const std::string& path,
                                    std::initializer_list<const char*> magics) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  char header[4] = {};
  const ssize_t got = ::pread(fd, header, sizeof header, 0);
  ::close(fd);
  if (got == 0) return true;
  if (got != static_cast<ssize_t>(sizeof header)) return false;
  for (const char* magic : magics) {
    if (std::memcmp(header, magic, sizeof header) == 0) return true;
  }
  return false;
}

/// CRC-32 (IEEE 802.3, zlib's), to tell a complete entry from one a kill cut short.
inline std::uint32_t crc32_of(const char* data, std::size_t size) {
  return static_cast<std::uint32_t>(::crc32(
      ::crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(data), static_cast<uInt>(size)));
}

template <typename T>
void put(std::string& out, const T& value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

/// Reads a value at `at` and moves past it; false (nothing read) past the end of `in`.
template <typename T>
bool get(std::string_view in, std::size_t& at, T& value) {
  if (at + sizeof value > in.size()) return false;
  std::memcpy(&value, in.data() + at, sizeof value);
  at += sizeof value;
  return true;
}

/// Writes all of `bytes` (retrying short writes); throws WriteError naming `path`.
inline void write_all(int fd, const std::string& bytes, const std::string& path) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw WriteError(path + ": " + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace fracstudy::io::detail
