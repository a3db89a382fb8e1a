#pragma once
/// Guarding a result file before a run writes it: one writer at a time, and a check that
/// it can be written at all, both before any work starts.
#include <string>

namespace fracstudy::io {

/// An exclusive lock on a hidden `.OUT.h5.lock` beside the result file for the whole run,
/// so two runs never write the same file. The kernel releases it when the process ends,
/// however it ends.
class OutputLock {
 public:
  /// Takes the lock; throws ResultFileError when another run holds it.
  explicit OutputLock(const std::string& output);
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;
  ~OutputLock();

 private:
  int fd_ = -1;
};

/// Throws ResultFileError unless a result file can be created at `path` (its folder is
/// created when missing).
void check_writable(const std::string& path);

}  // namespace fracstudy::io
