#pragma once
/// The `fracstudy` command line.

namespace fracstudy::cli {

/// Exit codes of every command (see shared/contract.md).
enum ExitCode : int {
  kSuccess = 0,      ///< done (a PARTIALLY_FAILED study still counts)
  kFailure = 1,      ///< the run failed
  kBadInput = 2,     ///< usage, study file, result file or tool arguments; nothing started
  kInterrupted = 3,  ///< stopped by SIGUSR1/SIGTERM after a clean checkpoint: resume it
};

/// Runs the command line and returns the process's exit code.
int main(int argc, char** argv);

}  // namespace fracstudy::cli
