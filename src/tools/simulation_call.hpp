#pragma once
// Running one program while a tool call waits (private to the tools layer): in the server's
// own process tree, with a time limit, progress while it runs, and a stop on cancel.
#include <string>
#include <vector>

#include "fracstudy/tools/tools.hpp"

namespace fracstudy::tools {

/// How a program run for a call ended.
struct ChildOutcome {
  int exit_code = -1;      ///< its exit code; 128 + signal when killed
  bool timed_out = false;  ///< killed at the time limit
  bool cancelled = false;  ///< killed because the caller cancelled the call
  std::string out;         ///< its standard output (at most 1 MiB)
  std::string err;         ///< its standard error (at most 64 KiB)
  double wall_s = 0;
};

/// Runs `argv` (no shell) in a process group of its own, reporting progress through
/// `context` about once a second (seconds so far of `limit_s`), and kills the group when
/// `limit_s` passes or the call is cancelled.
ChildOutcome run_for_call(const std::vector<std::string>& argv, double limit_s,
                          const CallContext& context, const std::string& what);

}  // namespace fracstudy::tools
