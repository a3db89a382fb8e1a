#include "fracstudy/exec/drain.hpp"

#include <csignal>

namespace fracstudy::exec {
namespace {

volatile std::sig_atomic_t g_drain_signal = 0;

extern "C" void on_drain_signal(int signal_number) {
  g_drain_signal = signal_number;
}

void install(int signal_number, int flags) {
  struct sigaction action {};
  action.sa_handler = on_drain_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = flags;
  sigaction(signal_number, &action, nullptr);
}

}  // namespace

void install_drain_signal_handlers() {
  install(SIGUSR1, SA_RESTART);
  install(SIGTERM, SA_RESTART);
  install(SIGINT, static_cast<int>(SA_RESTART | SA_RESETHAND));  // a second Ctrl-C kills
}

bool drain_requested() {
  return g_drain_signal != 0;
}

int drain_signal() {
  return g_drain_signal;
}

}  // namespace fracstudy::exec
