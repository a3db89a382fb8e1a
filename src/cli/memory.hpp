#pragma once
// Whether a study file fits in the memory of the machine (private to the CLI layer).
#include <cstdint>
#include <string>

#include "fracstudy/study/spec.hpp"

namespace fracstudy::cli {

/// "230 MB", "12.8 GB".
std::string bytes_in_words(std::uint64_t bytes);

/// The memory rank 0 needs for `file`, and the most it may use (the machine, the job's
/// cgroup limit or ulimit -v, whichever is lowest), in words.
std::string memory_report(const study::StudyFile& file);

/// Throws UsageError (exit 2, before anything starts) when rank 0 would need more memory
/// for `file` than it may use (see memory_report): better refused with the figure than killed by
/// the kernel or by bad_alloc hours later.
void check_fits_in_memory(const study::StudyFile& file);

}  // namespace fracstudy::cli
