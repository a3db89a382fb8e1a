#pragma once
/// A folder for a test process's scratch files, removed when the process ends: ctest runs
/// each test in a process of its own, and they used to leave a folder each in /tmp.
#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace fracstudy::test_support {

/// This process's scratch folder (made on first use, removed at exit with what it holds).
inline std::filesystem::path scratch_dir() {
  struct RemovedAtExit {
    std::filesystem::path dir;
    ~RemovedAtExit() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  };
  static const RemovedAtExit scratch{std::filesystem::temp_directory_path() /
                                     ("fracstudy_test_" + std::to_string(::getpid()))};
  std::filesystem::create_directories(scratch.dir);
  return scratch.dir;
}

}  // namespace fracstudy::test_support
