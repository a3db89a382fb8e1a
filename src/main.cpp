// The program is a library; this file is only its driver.
#include "fracstudy/cli/cli.hpp"
#ifdef FRACSTUDY_FAULT_INJECTION
#include "fault_injection.hpp"
#endif

int main(int argc, char** argv) {
#ifdef FRACSTUDY_FAULT_INJECTION
  fracstudy::testing::install_fault_injection_from_environment();
#endif
  return fracstudy::cli::main(argc, argv);
}
