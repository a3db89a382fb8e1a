#include "simulation_call.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <stdexcept>

namespace fracstudy::tools {
namespace {

constexpr std::size_t kMostOut = std::size_t{1} << 20;
constexpr std::size_t kMostErr = std::size_t{64} << 10;

/// Reads what is there from `fd` into `into` (keeping at most `most` bytes); false at its
/// end.
bool drain(int fd, std::string& into, std::size_t most) {
  char buffer[4096];
  const ssize_t got = ::read(fd, buffer, sizeof buffer);
  if (got < 0) return errno == EINTR || errno == EAGAIN;
  if (got == 0) return false;
  const auto room = most > into.size() ? most - into.size() : 0;
  into.append(buffer, std::min(room, static_cast<std::size_t>(got)));
  return true;
}

}  // namespace

ChildOutcome run_for_call(const std::vector<std::string>& argv, double limit_s,
                          const CallContext& context, const std::string& what) {
  std::vector<char*> args;  // built before the fork: the server has threads
  for (const auto& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    throw std::runtime_error("pipe failed");
  }
  const auto start = std::chrono::steady_clock::now();
  const pid_t child = ::fork();
  if (child == 0) {
    ::setpgid(0, 0);
    const int in = ::open("/dev/null", O_RDONLY);
    if (in >= 0) ::dup2(in, STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  if (child < 0) {
    ::close(out[0]);
    ::close(err[0]);
    throw std::runtime_error("fork failed");
  }
  ::setpgid(child, child);  // also here: whichever runs first, the group exists before a kill
  ChildOutcome outcome;
  const auto seconds = [&start] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  std::array<pollfd, 2> fds = {pollfd{out[0], POLLIN, 0}, pollfd{err[0], POLLIN, 0}};
  double next_report = 1;
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    if (::poll(fds.data(), fds.size(), 200) > 0) {
      if (fds[0].fd >= 0 && fds[0].revents && !drain(out[0], outcome.out, kMostOut)) {
        fds[0].fd = -1;
      }
      if (fds[1].fd >= 0 && fds[1].revents && !drain(err[0], outcome.err, kMostErr)) {
        fds[1].fd = -1;
      }
    }
    const double now = seconds();
    if (context.is_cancelled() || now > limit_s) {
      outcome.cancelled = context.is_cancelled();
      outcome.timed_out = !outcome.cancelled;
      ::kill(-child, SIGKILL);
      break;
    }
    if (context.progress && now >= next_report) {
      next_report = std::floor(now) + 1;
      context.progress(std::floor(now), limit_s,
                       what + ": " + std::to_string(static_cast<int>(now)) + " s of at most " +
                           std::to_string(static_cast<int>(limit_s)) + " s");
    }
  }
  ::close(out[0]);
  ::close(err[0]);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  outcome.wall_s = seconds();
  return outcome;
}

}  // namespace fracstudy::tools
