#include "memory.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <fstream>

#include "errors.hpp"
#include "fracstudy/study/tasks.hpp"

namespace fracstudy::cli {
namespace {

/// The most memory this process may use, and what sets it.
struct MemoryLimit {
  std::uint64_t bytes = 0;  // 0: unknown
  std::string source;
};

void lower_to(MemoryLimit& limit, std::uint64_t bytes, const std::string& source) {
  if (bytes > 0 && (limit.bytes == 0 || bytes < limit.bytes)) limit = {bytes, source};
}

std::uint64_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0
             ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page)
             : 0;
}

/// A cgroup limit file's number; 0 for "max", unreadable or absent.
std::uint64_t read_limit_file(const std::string& path) {
  std::ifstream in(path);
  std::string word;
  if (!(in >> word) || word == "max") return 0;
  try {
    return std::stoull(word);
  } catch (const std::exception&) {
    return 0;
  }
}

/// The memory limit of the cgroup this process is in (Slurm's --mem, a container's
/// limit): cgroup v2's memory.max or v1's memory.limit_in_bytes. Inside a cgroup
/// namespace the path reads "/" and the mount is the cgroup itself, so both are tried.
std::uint64_t cgroup_limit_bytes() {
  std::ifstream cgroups("/proc/self/cgroup");
  std::string line;
  std::uint64_t lowest = 0;
  const auto take = [&lowest](std::uint64_t bytes) {
    if (bytes > 0 && (lowest == 0 || bytes < lowest)) lowest = bytes;
  };
  while (std::getline(cgroups, line)) {
    const auto first = line.find(':');
    const auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    if (controllers.empty()) {
      take(read_limit_file("/sys/fs/cgroup" + path + "/memory.max"));
      take(read_limit_file("/sys/fs/cgroup/memory.max"));
    } else if (controllers == "memory") {
      take(read_limit_file("/sys/fs/cgroup/memory" + path + "/memory.limit_in_bytes"));
      take(read_limit_file("/sys/fs/cgroup/memory/memory.limit_in_bytes"));
    }
  }
  return lowest;
}

std::uint64_t address_space_limit_bytes() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 0;
  return static_cast<std::uint64_t>(limit.rlim_cur);
}

MemoryLimit memory_limit() {
  MemoryLimit limit;
  lower_to(limit, physical_memory_bytes(), "this machine's");
  lower_to(limit, cgroup_limit_bytes(), "the job's memory limit (cgroup) of");
  lower_to(limit, address_space_limit_bytes(), "the address-space limit (ulimit -v) of");
  return limit;
}

}  // namespace

std::string bytes_in_words(std::uint64_t bytes) {
  char text[32];
  const double value = static_cast<double>(bytes);
  if (value >= 1e9) {
    std::snprintf(text, sizeof text, "%.1f GB", value / 1e9);
  } else {
    std::snprintf(text, sizeof text, "%.0f MB", value / 1e6);
  }
  return text;
}

std::string memory_report(const study::StudyFile& file) {
  const MemoryLimit limit = memory_limit();
  return "rank 0 needs about " + bytes_in_words(study::coordinator_memory_bytes(file)) +
         " of memory; it may use " + limit.source + " " + bytes_in_words(limit.bytes);
}

void check_fits_in_memory(const study::StudyFile& file) {
  const std::uint64_t needed = study::coordinator_memory_bytes(file);
  const MemoryLimit limit = memory_limit();
  if (limit.bytes == 0 || needed <= limit.bytes) return;
  throw UsageError(file.path + ": " + std::to_string(file.task_count()) + " tasks need about " +
                   bytes_in_words(needed) + " of memory on rank 0, more than " + limit.source +
                   " " + bytes_in_words(limit.bytes) +
                   "; split the study into several files (or keep fewer clusters)");
}

}  // namespace fracstudy::cli
