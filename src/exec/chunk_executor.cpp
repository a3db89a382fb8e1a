#include "fracstudy/exec/chunk_executor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>

#include "fracstudy/exec/protocol.hpp"

namespace fracstudy::exec {
namespace {

using Clock = std::chrono::steady_clock;
using sched::Assignment;
using sched::Outcome;

constexpr auto kPollInterval = std::chrono::milliseconds(50);

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// Writes all of `size` bytes, retrying after signals and short writes.
bool write_all(int fd, const void* data, std::size_t size) {
  const auto* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t written = ::write(fd, bytes, size);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    bytes += written;
    size -= static_cast<std::size_t>(written);
  }
  return true;
}

/// Ties the child's life to its worker's: the kernel kills the child when the worker ends,
/// however it ends (kill -9, the OOM killer, a job's teardown), so no task computes on
/// for nobody. A worker that ended before the tie was made is noticed at once.
void die_with(pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(1);
  // And when the node runs out of memory, the task that takes it is the one to go (it
  // then fails alone, "crashed (signal 9)"), not a rank that would take the job down.
  const int fd = ::open("/proc/self/oom_score_adj", O_WRONLY);
  if (fd >= 0) {
    [[maybe_unused]] const auto written = ::write(fd, "1000", 4);
    ::close(fd);
  }
}

/// The child's whole life: run the attempts, send each outcome as a length-prefixed
/// frame, leave without running any exit handler (MPI's among them).
[[noreturn]] void child_main(pid_t parent, int fd, const AttemptFunction& attempt,
                             std::span<const Assignment> attempts) {
  die_with(parent);
  // Drain requests and Ctrl-C are for the rank, which decides what to do with the child.
  std::signal(SIGTERM, SIG_IGN);
  std::signal(SIGUSR1, SIG_IGN);
  std::signal(SIGINT, SIG_IGN);
  // A crash is reported by the parent; MPI's backtrace printers would only add noise.
  for (int fatal : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT})
    std::signal(fatal, SIG_DFL);
  for (const Assignment& assignment : attempts) {
    const auto payload = encode_outcomes({attempt(assignment)});
    const auto length = static_cast<std::uint32_t>(payload.size());
    if (!write_all(fd, &length, sizeof length) || !write_all(fd, payload.data(), payload.size())) {
      ::_exit(1);
    }
  }
  ::_exit(0);
}

/// A forked child running a tail of a chunk, and the pipe its outcomes arrive through.
class ChildRun {
 public:
  ChildRun(const AttemptFunction& attempt, std::span<const Assignment> attempts) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) {
      ::close(fds[0]);
      ::close(fds[1]);
      throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
    }
    if (pid_ == 0) {
      ::close(fds[0]);
      child_main(parent, fds[1], attempt, attempts);
    }
    ::close(fds[1]);
    fd_ = fds[0];
  }
  ChildRun(const ChildRun&) = delete;
  ChildRun& operator=(const ChildRun&) = delete;
  ~ChildRun() {
    kill();
    ::close(fd_);
  }

  /// Waits up to `timeout` for outcomes; sets `closed` when the child closed the pipe.
  std::vector<Outcome> read(std::chrono::milliseconds timeout, bool& closed) {
    pollfd descriptor{fd_, POLLIN, 0};
    const int ready = ::poll(&descriptor, 1, static_cast<int>(timeout.count()));
    std::vector<Outcome> outcomes;
    if (ready <= 0) return outcomes;  // timeout, or a signal arrived
    std::byte chunk[65536];
    const ssize_t got = ::read(fd_, chunk, sizeof chunk);
    if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) closed = true;
    if (got > 0) buffer_.insert(buffer_.end(), chunk, chunk + got);
    take_frames(outcomes);
    return outcomes;
  }

  /// Reaps the child after it closed its pipe; returns its wait status.
  int wait() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }

  /// Kills the child if it still runs, and reaps it.
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    wait();
  }

 private:
  void take_frames(std::vector<Outcome>& outcomes) {
    std::size_t offset = 0;
    while (buffer_.size() - offset >= sizeof(std::uint32_t)) {
      std::uint32_t length = 0;
      std::memcpy(&length, buffer_.data() + offset, sizeof length);
      if (buffer_.size() - offset - sizeof length < length) break;
      const auto begin = buffer_.begin() + static_cast<std::ptrdiff_t>(offset + sizeof length);
      const std::vector<std::byte> payload(begin, begin + length);
      for (auto& outcome : decode_outcomes(payload))
        outcomes.push_back(std::move(outcome));
      offset += sizeof length + length;
    }
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(offset));
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  std::vector<std::byte> buffer_;
};

Outcome failed(const Assignment& assignment, std::string reason, double wall_time_s) {
  Outcome outcome;
  outcome.task = assignment.task;
  outcome.error = std::move(reason);
  outcome.wall_time_s = wall_time_s;
  return outcome;
}

/// Why a child ended without reporting its attempt.
std::string crash_reason(int status) {
  if (WIFSIGNALED(status)) return "crashed (signal " + std::to_string(WTERMSIG(status)) + ")";
  if (WIFEXITED(status)) return "crashed (exit code " + std::to_string(WEXITSTATUS(status)) + ")";
  return "crashed";
}

ChunkReport stopped_at(const std::vector<Assignment>& chunk, std::size_t next, StopRequest why) {
  ChunkReport report;
  report.not_run.assign(chunk.begin() + static_cast<std::ptrdiff_t>(next), chunk.end());
  report.stopped = why;
  return report;
}

}  // namespace

ChunkExecutor::ChunkExecutor(AttemptFunction attempt, Isolation isolation, double time_limit_s)
    : attempt_(std::move(attempt)), isolation_(isolation), time_limit_s_(time_limit_s) {}

double ChunkExecutor::hard_limit_s() const {
  if (!(time_limit_s_ > 0)) return 0;
  return time_limit_s_ + std::max(1.0, 0.1 * time_limit_s_);
}

ChunkReport ChunkExecutor::run(const std::vector<Assignment>& chunk,
                               const std::function<void(const Outcome&)>& report,
                               const std::function<StopRequest()>& poll_stop) const {
  return isolation_ == Isolation::Process ? run_isolated(chunk, report, poll_stop)
                                          : run_in_process(chunk, report, poll_stop);
}

ChunkReport ChunkExecutor::run_in_process(const std::vector<Assignment>& chunk,
                                          const std::function<void(const Outcome&)>& report,
                                          const std::function<StopRequest()>& poll_stop) const {
  for (std::size_t next = 0; next < chunk.size(); ++next) {
    if (const auto stop = poll_stop(); stop != StopRequest::None) {
      return stopped_at(chunk, next, stop);
    }
    report(attempt_(chunk[next]));
  }
  return {};
}

ChunkReport ChunkExecutor::run_isolated(const std::vector<Assignment>& chunk,
                                        const std::function<void(const Outcome&)>& report,
                                        const std::function<StopRequest()>& poll_stop) const {
  std::size_t next = 0;  // the first attempt not reported yet
  bool stop_after_current = false;
  while (next < chunk.size()) {
    // The attempt in progress ended (crash, kill): honour a pending soft stop now.
    if (stop_after_current) return stopped_at(chunk, next, StopRequest::AfterCurrent);
    // One child runs the rest of the chunk; after a crash or a kill, a new one goes on.
    ChildRun child(attempt_, std::span(chunk).subspan(next));
    auto started = Clock::now();
    while (next < chunk.size()) {
      bool closed = false;
      const auto outcomes = child.read(kPollInterval, closed);
      for (const auto& outcome : outcomes) {
        report(outcome);
        ++next;
        started = Clock::now();
      }
      if (next == chunk.size()) break;
      if (stop_after_current && !outcomes.empty()) {
        return stopped_at(chunk, next, StopRequest::AfterCurrent);
      }
      if (closed) {
        report(failed(chunk[next], crash_reason(child.wait()), seconds_since(started)));
        ++next;
        break;
      }
      const StopRequest stop = poll_stop();
      if (stop == StopRequest::Now) return stopped_at(chunk, next, stop);
      if (stop == StopRequest::AfterCurrent) stop_after_current = true;
      if (hard_limit_s() > 0 && seconds_since(started) > hard_limit_s()) {
        child.kill();
        report(failed(chunk[next], "timeout", seconds_since(started)));
        ++next;
        break;
      }
    }
  }
  return {};
}

}  // namespace fracstudy::exec
