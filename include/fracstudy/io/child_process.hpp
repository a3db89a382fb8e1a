#pragma once
/// Doing HDF5 work in a child process. HDF5 1.10 cannot be made safe against every damaged
/// byte of a file (it can crash reading one), and a file it failed to close (a full disk)
/// leaves its library state broken until it crashes at exit: whatever goes wrong in the
/// child stays there, and the caller gets an error it can report.
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

namespace fracstudy::io {

/// The child died of a signal before it finished; its message names the signal and the
/// last line the child wrote to stderr (glibc's reason for an abort, say).
class ChildCrashed : public std::runtime_error {
 public:
  ChildCrashed(int signal_number, const std::string& last_words);
  int signal_number() const { return signal_number_; }

 private:
  int signal_number_;
};

/// The child neither finished nor died within its wall-clock limit: it was killed. A damaged
/// file cannot cause this alone (its loops meet the CPU limit first); a child blocked without
/// using CPU can (a file system that stopped answering, or a lock some other thread of the
/// parent held when it forked, such as MPI's).
class ChildStalled : public std::runtime_error {
 public:
  explicit ChildStalled(double wall_limit_s);
  double wall_limit_s() const { return wall_limit_s_; }

 private:
  double wall_limit_s_;
};

/// Runs `work` in a forked child process and returns the text it returned. When `work`
/// throws, the same message (and, for a fracstudy::Error, exit code) is thrown here as a
/// fracstudy::Error; when the child dies of a signal, ChildCrashed. What the child writes
/// to stderr is passed on after it ends, or, when it crashed, folded into ChildCrashed.
/// `memory_budget_bytes` (0: none) caps what the child may allocate beyond what it
/// inherited: a damaged length field makes HDF5 allocate and clear gigabytes, which the
/// cap turns into a failed allocation. `cpu_limit_s` (0: none) caps its CPU time: a damaged
/// heap can make HDF5 loop forever, and the child then dies of SIGXCPU (ChildCrashed).
/// `wall_limit_s` (0: none) bounds the wait for it whatever it does: past it the child is
/// killed and ChildStalled thrown, so a blocked child cannot hang the caller forever.
/// The child never runs exit handlers (MPI's, HDF5's) and must not use MPI.
std::string in_child_process(const std::function<std::string()>& work,
                             std::uint64_t memory_budget_bytes = 0, double cpu_limit_s = 0,
                             double wall_limit_s = 0);

}  // namespace fracstudy::io
