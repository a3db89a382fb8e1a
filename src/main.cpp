// The program is a library; this file is only its driver.
#include "fracstudy/cli/cli.hpp"

int main(int argc, char** argv) {
  return fracstudy::cli::main(argc, argv);
}
