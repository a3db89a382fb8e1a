#include "fracstudy/io/output_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "fracstudy/io/errors.hpp"

namespace fracstudy::io {

namespace fs = std::filesystem;

OutputLock::OutputLock(const std::string& output) {
  // Hidden, beside the result file; left in place (only the lock on it matters).
  const fs::path target(output);
  const std::string path =
      (target.parent_path() / ("." + target.filename().string() + ".lock")).string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);
  if (fd_ < 0) {
    throw ResultFileError(path + ": cannot create the lock file (" + std::strerror(errno) + ")");
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    fd_ = -1;
    throw ResultFileError(output +
                          ": another run is writing this file now (or its ranks are still "
                          "running after their mpirun was killed); wait for it or stop it first");
  }
}

OutputLock::~OutputLock() {
  if (fd_ >= 0) ::close(fd_);
}

void check_writable(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  std::error_code ignored;
  if (!parent.empty()) fs::create_directories(parent, ignored);
  const std::string probe = path + ".tmp";
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0 && errno != EEXIST) {
    throw ResultFileError(path + ": cannot write the result file here (" + std::strerror(errno) +
                          ")");
  }
  if (fd >= 0) {
    ::close(fd);
    ::unlink(probe.c_str());
  }
}

}  // namespace fracstudy::io
