#include "fault_injection.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "fracstudy/exec/task_runner.hpp"

namespace fracstudy::testing {
namespace {

enum class Fault { Throw, Crash, Hang, Abort };

std::map<std::int64_t, Fault> parse_faults(const std::string& text) {
  std::map<std::int64_t, Fault> faults;
  std::istringstream items(text);
  std::string item;
  while (std::getline(items, item, ',')) {
    const auto colon = item.find(':');
    const std::string kind = item.substr(0, colon);
    static const std::map<std::string, Fault> kinds = {{"throw", Fault::Throw},
                                                       {"crash", Fault::Crash},
                                                       {"hang", Fault::Hang},
                                                       {"abort", Fault::Abort}};
    if (colon == std::string::npos || !kinds.count(kind)) {
      std::cerr << "FRACSTUDY_FAULT_INJECT: '" << item
                << "' is not KIND:TASK_ID with KIND throw, crash, hang or abort\n";
      std::exit(2);
    }
    faults[std::stoll(item.substr(colon + 1))] = kinds.at(kind);
  }
  return faults;
}

void trace_attempt(const std::string& path, const study::Task& task, int attempt) {
  const std::string line = std::to_string(task.study) + " " + std::to_string(task.task_id) + " " +
                           std::to_string(attempt) + "\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) return;
  // One small O_APPEND write: lines from concurrent processes never interleave.
  [[maybe_unused]] const auto written = ::write(fd, line.data(), line.size());
  ::close(fd);
}

std::string this_host() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

[[noreturn]] void hang_forever() {
  while (true)
    std::this_thread::sleep_for(std::chrono::seconds(1));
}

void inject(Fault fault) {
  switch (fault) {
    case Fault::Throw:
      throw std::runtime_error("injected fault");
    case Fault::Crash:
      std::raise(SIGSEGV);
      break;
    case Fault::Hang:
      hang_forever();
    case Fault::Abort:
      std::abort();
  }
}

}  // namespace

void install_fault_injection_from_environment() {
  const char* inject_text = std::getenv("FRACSTUDY_FAULT_INJECT");
  const char* trace_path = std::getenv("FRACSTUDY_TRACE_ATTEMPTS");
  const auto faults = parse_faults(inject_text ? inject_text : "");
  const std::string trace = trace_path ? trace_path : "";
  // FRACSTUDY_FAULT_BAD_HOST=NAME: every attempt on the node of that hostname fails (a
  // bad node: a broken library, a full local disk).
  const char* bad_host_text = std::getenv("FRACSTUDY_FAULT_BAD_HOST");
  const std::string bad_host = bad_host_text ? bad_host_text : "";
  exec::TaskRunner::set_fault_hook([faults, trace, bad_host](const study::Task& task, int attempt) {
    if (!trace.empty()) trace_attempt(trace, task, attempt);
    if (!bad_host.empty() && this_host() == bad_host) {
      throw std::runtime_error("injected fault: bad node");
    }
    if (task.study != 0 || attempt != 1) return;
    if (const auto it = faults.find(task.task_id); it != faults.end()) inject(it->second);
  });
}

}  // namespace fracstudy::testing
