#pragma once
/// Guarding a result file before a run writes it: one writer at a time, and a check that
/// it can be written at all, both before any work starts.
#include <string>

namespace fracstudy::io {

/// An exclusive lock on a hidden `.OUT.h5.lock` beside the result file for the whole run,
/// so two runs never write the same file. The kernel releases it when the process ends,
/// however it ends. The lock file names its holder (pid and start time).
class OutputLock {
 public:
  /// Takes the lock; throws ResultFileError when a live run holds it. A run that is ending
  /// (its holder gone, a zombie, or orphaned by a killed mpirun) is waited for, up to 10 s.
  explicit OutputLock(const std::string& output);
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;
  ~OutputLock();

 private:
  int fd_ = -1;
};

/// The hidden lock file beside the result file `output`.
std::string lock_path(const std::string& output);

/// Whether a run holds the lock of the result file `output` now (rank 0 of a run holds it
/// from its start to its end, whatever became of the mpirun above it; the kernel releases
/// it when the process dies, however).
bool run_holds_lock(const std::string& output);

/// The path a run must write: `path`, or the file its symbolic links lead to (so that the
/// lock is the target's and the final rename replaces the target, not the link).
std::string real_output_path(const std::string& path);

/// Throws ResultFileError when `output` cannot be a result file: empty, a folder (or ends
/// with a slash), not a regular file, or the study file itself. Creates nothing.
void check_output_path(const std::string& output, const std::string& study_path);

/// Throws ResultFileError when a run of the result file `path` (its real path) would
/// replace a file it did not write: the run writes its journals beside it, under its name
/// with a suffix (PATH.journal, PATH.journal.tmp, PATH.journal.relayN), and removes what it
/// finds there; a file at one of those names that is not a journal (a result file someone
/// named so) is refused, not deleted. Also refuses a name too long for those names.
void check_companion_files(const std::string& path);

/// Where a result file is written before it replaces `path`: hidden beside it, so that no
/// file of the user's can bear that name by accident (it was PATH.tmp).
std::string result_temporary_path(const std::string& path);

/// Throws ResultFileError unless a result file can be created at `path` (its folder is
/// created when missing).
void check_writable(const std::string& path);

}  // namespace fracstudy::io
