#include "fracstudy/io/child_process.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

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

[[noreturn]] void child_main(int fd, const std::function<std::string()>& work) {
  // A crash is the parent's to report; MPI's backtrace printers would only add noise.
  for (int fatal : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT})
    std::signal(fatal, SIG_DFL);
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

std::string read_all(int fd) {
  std::string text;
  char buffer[65536];
  while (true) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return text;
    text.append(buffer, static_cast<std::size_t>(got));
  }
}

}  // namespace

ChildCrashed::ChildCrashed(int signal_number)
    : std::runtime_error("crashed (signal " + std::to_string(signal_number) + ")"),
      signal_number_(signal_number) {}

std::string in_child_process(const std::function<std::string()>& work) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  const pid_t child = ::fork();
  if (child < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (child == 0) {
    ::close(fds[0]);
    child_main(fds[1], work);
  }
  ::close(fds[1]);
  const std::string answer = read_all(fds[0]);  // before waiting: the answer may be large
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) throw ChildCrashed(WTERMSIG(status));
  if (answer.empty()) throw std::runtime_error("the child process ended without an answer");
  if (answer[0] == kDone) return answer.substr(1);
  const auto code = answer.size() > 1 ? static_cast<ExitCode>(answer[1]) : kFailure;
  throw Error(answer.size() > 2 ? answer.substr(2) : "failed", code);
}

}  // namespace fracstudy::io
