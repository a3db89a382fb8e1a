#pragma once
/// Doing HDF5 work in a child process. HDF5 1.10 cannot be made safe against every damaged
/// byte of a file (it can crash reading one), and a file it failed to close (a full disk)
/// leaves its library state broken until it crashes at exit: whatever goes wrong in the
/// child stays there, and the caller gets an error it can report.
#include <functional>
#include <stdexcept>
#include <string>

namespace fracstudy::io {

/// The child died of a signal before it finished.
class ChildCrashed : public std::runtime_error {
 public:
  explicit ChildCrashed(int signal_number);
  int signal_number() const { return signal_number_; }

 private:
  int signal_number_;
};

/// Runs `work` in a forked child process and returns the text it returned. When `work`
/// throws, the same message (and, for a fracstudy::Error, exit code) is thrown here as a
/// fracstudy::Error; when the child dies of a signal, ChildCrashed. The child never runs
/// exit handlers (MPI's, HDF5's) and must not use MPI.
std::string in_child_process(const std::function<std::string()>& work);

}  // namespace fracstudy::io
