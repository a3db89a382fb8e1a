#pragma once
/// The `fracstudy` command line. Exit codes: fracstudy::ExitCode (study/errors.hpp).
#include "fracstudy/study/errors.hpp"

namespace fracstudy::cli {

/// Runs the command line and returns the process's exit code.
int main(int argc, char** argv);

}  // namespace fracstudy::cli
