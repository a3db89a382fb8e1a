#include "memory.hpp"

#include <unistd.h>

#include <cstdio>

#include "errors.hpp"
#include "fracstudy/study/tasks.hpp"

namespace fracstudy::cli {
namespace {

std::uint64_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0
             ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page)
             : 0;
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
  return "rank 0 needs about " + bytes_in_words(study::coordinator_memory_bytes(file)) +
         " of memory; this machine has " + bytes_in_words(physical_memory_bytes());
}

void check_fits_in_memory(const study::StudyFile& file) {
  const std::uint64_t needed = study::coordinator_memory_bytes(file);
  const std::uint64_t machine = physical_memory_bytes();
  if (machine == 0 || needed <= machine) return;
  throw UsageError(file.path + ": " + std::to_string(file.task_count()) + " tasks need about " +
                   bytes_in_words(needed) + " of memory on rank 0, more than this machine's " +
                   bytes_in_words(machine) +
                   "; split the study into several files (or keep fewer clusters)");
}

}  // namespace fracstudy::cli
