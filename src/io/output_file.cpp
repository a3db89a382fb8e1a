#include "fracstudy/io/output_file.hpp"
#include "fracstudy/io/process_info.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "fracstudy/io/errors.hpp"
#include "fracstudy/io/journal.hpp"
#include "fracstudy/io/relay_journal.hpp"

namespace fracstudy::io {
namespace {

namespace fs = std::filesystem;

/// How long a lock may take to be released by a run that is ending.
constexpr auto kEndingRunGrace = std::chrono::seconds(10);

/// A process by its pid and start time (which a recycled pid does not share).
struct ProcessIdentity {
  long pid = 0;
  unsigned long long start_ticks = 0;
};

ProcessIdentity this_process() {
  return {static_cast<long>(::getpid()), process_start_ticks(::getpid())};
}

/// Whether the run that holds a lock is ending: the process named in the lock file is gone,
/// a zombie, or an orphan (its mpirun was killed: the ranks follow within seconds).
bool holder_is_ending(int fd) {
  char text[64] = {};
  const ssize_t got = ::pread(fd, text, sizeof text - 1, 0);
  ProcessIdentity holder;
  if (got <= 0 || std::sscanf(text, "%ld %llu", &holder.pid, &holder.start_ticks) != 2) {
    return false;  // an older build's lock, or one being written: treat as a live run
  }
  const auto fields = proc_stat_fields(holder.pid);
  if (fields.size() < 2 || process_start_ticks(holder.pid) != holder.start_ticks) return true;
  return fields[0] == "Z" || fields[1] == "1";
}

}  // namespace

std::string lock_path(const std::string& output) {
  // Hidden, beside the result file; left in place (only the lock on it matters).
  const fs::path target(output);
  return (target.parent_path() / ("." + target.filename().string() + ".lock")).string();
}

bool run_holds_lock(const std::string& output) {
  const std::string lock = lock_path(output);
  const int fd = ::open(lock.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // releases a lock taken
  return held;
}

OutputLock::OutputLock(const std::string& output) {
  const std::string path = lock_path(output);
  // Never through a link: the lock file is emptied and rewritten, and a link planted at
  // its name led that into someone else's file (and `status` took the run for gone).
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0644);
  struct stat opened {};
  if (fd_ >= 0 && (::fstat(fd_, &opened) != 0 || !S_ISREG(opened.st_mode))) {
    ::close(fd_);
    throw ResultFileError(path + ": is not a regular file; remove it (it is the lock of " + output +
                          ", a file a run makes)");
  }
  if (fd_ < 0 && errno == ELOOP) {
    throw ResultFileError(path + ": is a symbolic link; remove it (it is the lock of " + output +
                          ", a file a run makes, never followed)");
  }
  if (fd_ < 0) {
    throw ResultFileError(path + ": cannot create the lock file (" + std::strerror(errno) + ")");
  }
  const auto deadline = std::chrono::steady_clock::now() + kEndingRunGrace;
  while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    if (!holder_is_ending(fd_) || std::chrono::steady_clock::now() > deadline) {
      ::close(fd_);
      fd_ = -1;
      throw ResultFileError(output +
                            ": another run is writing this file now (or its ranks are still "
                            "running after their mpirun was killed); wait for it or stop it "
                            "first");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // Who holds it, so that a run that finds it taken can tell a live run from an ending one.
  const ProcessIdentity self = this_process();
  const std::string holder =
      std::to_string(self.pid) + " " + std::to_string(self.start_ticks) + "\n";
  if (::ftruncate(fd_, 0) == 0) {
    [[maybe_unused]] const auto written = ::pwrite(fd_, holder.data(), holder.size(), 0);
  }
}

OutputLock::~OutputLock() {
  if (fd_ >= 0) ::close(fd_);
}

std::string real_output_path(const std::string& path) {
  // Only the last component matters: the lock and the temporary file live in the folder
  // the path names, and folders are followed anyway; a symbolic link as the file itself
  // would get its own lock and be replaced by the file at the first rename.
  fs::path real(path);
  for (int links = 0; fs::is_symlink(real); ++links) {
    if (links == 40) throw ResultFileError(path + ": too many levels of symbolic links");
    const fs::path target = fs::read_symlink(real);
    real = target.is_absolute() ? target : real.parent_path() / target;
  }
  return real.string();
}

namespace {

/// The longest suffix a run adds to its result file's name: `.journal.relay` and a rank.
constexpr std::size_t kLongestSuffix = std::string_view(".journal.relay").size() + 10;

/// Refuses a result file's name whose companions' names would be too long to create (the
/// run used to create the result file, then fail on its journal, exit 1, for ever).
void check_name_length(const std::string& output) {
  const fs::path path(output);
  const std::string name = path.filename().string();
  const fs::path folder = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  long name_max = ::pathconf(folder.c_str(), _PC_NAME_MAX);
  if (name_max <= 0) name_max = 255;  // a folder still to be made, or no figure: the usual
  const auto allowed = static_cast<std::size_t>(name_max) - kLongestSuffix;
  if (name.size() > allowed) {
    throw ResultFileError(output + ": the file name is too long (" + std::to_string(name.size()) +
                          " characters; at most " + std::to_string(allowed) +
                          " here, as a run writes its journals " +
                          "beside it under the same name and a suffix)");
  }
}

}  // namespace

void check_companion_files(const std::string& path) {
  check_name_length(path);
  const auto refuse_foreign = [&](const std::string& companion,
                                  bool (*is_ours)(const std::string&)) {
    std::error_code error;
    const fs::file_status status = fs::symlink_status(companion, error);
    // A link is removed as a link, never written through: no harm to anything.
    if (!fs::exists(status) || fs::is_symlink(status)) return;
    if (!fs::is_regular_file(status)) {  // a folder: the run made the file, then failed
      throw ResultFileError(companion + ": is not a file, but a run of " + path +
                            " writes its journal there; move it away first (nothing was changed)");
    }
    if (is_ours(companion)) return;
    throw ResultFileError(companion + ": is not a journal of " + path + ", but a run of " + path +
                          " writes there; move it away first (nothing was changed)");
  };
  const std::string journal = journal_path(path);
  for (const std::string& companion : {journal, journal + ".tmp"}) {
    refuse_foreign(companion, is_journal_or_empty);
  }
  for (const std::string& relay : relay_journal_paths(path)) {
    refuse_foreign(relay, is_relay_journal_or_empty);
  }
}

std::string result_temporary_path(const std::string& path) {
  const fs::path file(path);
  return (file.parent_path() / ("." + file.filename().string() + ".tmp")).string();
}

void check_output_path(const std::string& output, const std::string& study_path) {
  if (output.empty()) throw ResultFileError("the result file's name is empty");
  const fs::path path(output);
  if (path.has_filename()) check_name_length(output);
  if (!path.has_filename()) {
    throw ResultFileError(output + ": names a folder; give a result file, e.g. " + output +
                          "results.h5");
  }
  std::error_code error;
  const auto status = fs::status(path, error);
  if (fs::is_directory(status)) {
    throw ResultFileError(output + ": is a folder; give a result file, e.g. " +
                          (path / "results.h5").string());
  }
  if (fs::exists(status) && !fs::is_regular_file(status)) {
    throw ResultFileError(output + ": is not a regular file");
  }
  if (fs::exists(status) && fs::equivalent(path, study_path, error)) {
    throw ResultFileError(output + ": is the study file itself; give the results another name");
  }
}

void check_writable(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  std::error_code ignored;
  if (!parent.empty()) fs::create_directories(parent, ignored);
  const std::string probe = result_temporary_path(path);
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
