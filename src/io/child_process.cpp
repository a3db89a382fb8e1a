#include "fracstudy/io/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <fstream>
#include <optional>

#include "fracstudy/study/errors.hpp"

namespace fracstudy::io {
namespace {

// The child's answer: one byte, then for kFailed one byte of exit code; then the text.
constexpr char kDone = 'D';
constexpr char kFailed = 'F';

void write_all(int fd, const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the parent is gone: nobody to tell
    done += static_cast<std::size_t>(n);
  }
}

/// Caps the address space at what the process maps now plus `budget` bytes.
void limit_memory(std::uint64_t budget) {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t mapped_pages = 0;
  if (budget == 0 || !(statm >> mapped_pages)) return;
  const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  rlimit limit{};
  if (::getrlimit(RLIMIT_AS, &limit) != 0) return;
  const rlim_t wanted = mapped_pages * page + budget;
  if (limit.rlim_max != RLIM_INFINITY && wanted > limit.rlim_max) return;
  if (limit.rlim_cur != RLIM_INFINITY && wanted > limit.rlim_cur) return;
  limit.rlim_cur = wanted;
  ::setrlimit(RLIMIT_AS, &limit);
}

/// Caps the CPU time: SIGXCPU at `seconds`, SIGKILL a little later if it is caught.
void limit_cpu(double seconds) {
  if (seconds <= 0) return;
  const auto soft = static_cast<rlim_t>(std::ceil(seconds));
  rlimit limit{soft, soft + 5};
  ::setrlimit(RLIMIT_CPU, &limit);
}

[[noreturn]] void child_main(int fd, int stderr_copy, std::uint64_t memory_budget,
                             double cpu_limit_s, const std::function<std::string()>& work) {
  // A crash is the parent's to report; MPI's backtrace printers would only add noise.
  for (int fatal : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT})
    std::signal(fatal, SIG_DFL);
  // What the child writes to stderr (glibc's "free(): invalid pointer" before an abort)
  // goes to the parent, which passes it on or folds it into its one-line error.
  if (stderr_copy >= 0) ::dup2(stderr_copy, STDERR_FILENO);
  limit_memory(memory_budget);
  limit_cpu(cpu_limit_s);
  std::string answer;
  try {
    answer = kDone + work();
  } catch (const Error& error) {
    answer = std::string{kFailed, static_cast<char>(error.exit_code())} + error.what();
  } catch (const std::exception& error) {
    answer = std::string{kFailed, static_cast<char>(kFailure)} + error.what();
  } catch (...) {
    answer = std::string{kFailed, static_cast<char>(kFailure)} + "unknown error";
  }
  write_all(fd, answer);
  ::_exit(0);
}

/// The last non-empty line of `text`.
std::string last_line(const std::string& text) {
  std::size_t end = text.find_last_not_of("\r\n");
  if (end == std::string::npos) return {};
  const std::size_t start = text.rfind('\n', end);
  return text.substr(start == std::string::npos ? 0 : start + 1,
                     end + 1 - (start == std::string::npos ? 0 : start + 1));
}

/// Reads `fd` to its end, unless `wall_limit_s` (> 0: a limit) passes first: then nullopt.
std::optional<std::string> read_all(int fd, double wall_limit_s = 0) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(wall_limit_s));
  std::string text;
  char buffer[65536];
  while (true) {
    int wait_ms = -1;
    if (wall_limit_s > 0) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return std::nullopt;
      wait_ms = static_cast<int>(std::min<long long>(left.count() + 1, 60'000));
    }
    pollfd ready{fd, POLLIN, 0};
    const int polled = ::poll(&ready, 1, wait_ms);
    if (polled < 0 && errno != EINTR) return text;
    if (polled <= 0) continue;
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return text;
    text.append(buffer, static_cast<std::size_t>(got));
  }
}

/// Kills a child past its wall limit and reaps it, waiting a few seconds at most: one
/// blocked in the kernel on a file system that stopped answering dies only when its call
/// returns, and is then left to be reaped at the caller's exit rather than waited for.
void end_stalled(pid_t child) {
  ::kill(child, SIGKILL);
  for (int tries = 0; tries < 500; ++tries) {
    const pid_t reaped = ::waitpid(child, nullptr, WNOHANG);
    if (reaped == child || (reaped < 0 && errno != EINTR)) return;
    ::usleep(10'000);
  }
}

std::string seconds_text(double seconds) {
  return std::to_string(static_cast<long long>(std::ceil(seconds)));
}

}  // namespace

ChildStalled::ChildStalled(double wall_limit_s)
    : std::runtime_error("did not end within " + seconds_text(wall_limit_s) + " s"),
      wall_limit_s_(wall_limit_s) {}

ChildCrashed::ChildCrashed(int signal_number, const std::string& last_words)
    : std::runtime_error("crashed (signal " + std::to_string(signal_number) +
                         (last_words.empty() ? "" : ": " + last_words) + ")"),
      signal_number_(signal_number) {}

std::string in_child_process(const std::function<std::string()>& work,
                             std::uint64_t memory_budget_bytes, double cpu_limit_s,
                             double wall_limit_s) {
  int fds[2];
  // Close-on-exec: a run another thread spawns meanwhile must not keep the write end (the
  // read below would wait for that run's end).
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  // A file in memory rather than a pipe: the child may write any amount of it without
  // waiting for the parent, which reads its answer first.
  const int child_stderr = ::memfd_create("fracstudy-child-stderr", MFD_CLOEXEC);
  const pid_t child = ::fork();
  if (child < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    if (child_stderr >= 0) ::close(child_stderr);
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (child == 0) {
    ::close(fds[0]);
    child_main(fds[1], child_stderr, memory_budget_bytes, cpu_limit_s, work);
  }
  ::close(fds[1]);
  // Read before waiting: the answer may be large.
  const std::optional<std::string> read = read_all(fds[0], wall_limit_s);
  ::close(fds[0]);
  if (!read) {
    if (child_stderr >= 0) ::close(child_stderr);
    end_stalled(child);
    throw ChildStalled(wall_limit_s);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  const std::string& answer = *read;
  std::string stderr_text;
  if (child_stderr >= 0) {
    ::lseek(child_stderr, 0, SEEK_SET);
    stderr_text = read_all(child_stderr).value_or(std::string());
    ::close(child_stderr);
  }
  if (WIFSIGNALED(status)) throw ChildCrashed(WTERMSIG(status), last_line(stderr_text));
  if (!stderr_text.empty()) write_all(STDERR_FILENO, stderr_text);
  if (answer.empty()) throw std::runtime_error("the child process ended without an answer");
  if (answer[0] == kDone) return answer.substr(1);
  const auto code = answer.size() > 1 ? static_cast<ExitCode>(answer[1]) : kFailure;
  throw Error(answer.size() > 2 ? answer.substr(2) : "failed", code);
}

}  // namespace fracstudy::io
