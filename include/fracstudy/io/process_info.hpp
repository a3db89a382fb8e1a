#pragma once
/// What /proc says of a process: its state and when it started. A pid with its start time
/// names a process in a way a recycled pid cannot take over (the output lock, the tools'
/// launch records).
#include <cstdint>
#include <string>
#include <vector>

namespace fracstudy::io {

/// The fields of /proc/PID/stat after the command (which may hold spaces and parentheses):
/// [0] state, [1] parent pid, ..., [19] start time; empty when there is no such process.
std::vector<std::string> proc_stat_fields(long pid);

/// When process `pid` started, in clock ticks after boot; 0 when unknown.
std::uint64_t process_start_ticks(long pid);

}  // namespace fracstudy::io
