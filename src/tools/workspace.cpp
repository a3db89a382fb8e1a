#include "fracstudy/tools/workspace.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "fracstudy/study/spec.hpp"

namespace fracstudy::tools {
namespace {

namespace fs = std::filesystem;

bool is_real_directory(const fs::path& path) {
  struct stat info {};
  return ::lstat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

/// A file descriptor that closes itself.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

/// Whether an open descriptor is a regular file (not a FIFO, a device, a folder).
bool is_regular(int fd) {
  struct stat info {};
  return ::fstat(fd, &info) == 0 && S_ISREG(info.st_mode);
}

/// Replaces `name` in the folder `dir` with `content`, through `temporary` and a rename (a
/// reader never sees half a file; a symlink at `name` is replaced, never followed). Never
/// blocks on a FIFO planted under the temporary's name (the admission lock may be held),
/// and writes only a regular file. Throws "`what`: reason".
void replace_file_at(int dir, const std::string& name, const std::string& temporary,
                     const std::string& content, const std::string& what) {
  const auto fail = [&what] { return std::runtime_error(what + ": " + std::strerror(errno)); };
  {
    Fd fd(::openat(dir, temporary.c_str(),
                   O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644));
    if (fd.get() < 0 || !is_regular(fd.get()) ||
        ::write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
      throw fail();
    }
  }
  if (::renameat(dir, temporary.c_str(), dir, name.c_str()) != 0) throw fail();
}

/// At most the first `most` bytes of `name` in the folder `dir`; nullopt when it is absent,
/// a link or not a regular file (a FIFO is never waited on).
std::optional<std::string> read_regular_at(int dir, const std::string& name, std::size_t most) {
  Fd fd(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  struct stat info {};
  if (fd.get() < 0 || ::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
    return std::nullopt;
  }
  std::string content(std::min(most, static_cast<std::size_t>(info.st_size)), '\0');
  const auto got = ::pread(fd.get(), content.data(), content.size(), 0);
  content.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
  return content;
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

bool is_valid_study_id(const std::string& id) {
  return study::is_valid_study_name(id);  // a study id is the name of its study
}

Workspace::Workspace(const std::string& root, bool create) {
  if (create) fs::create_directories(root);
  root_ = fs::canonical(root);  // throws when it is not there
  if (create) fs::create_directories(root_ / ".fracstudy");
  state_dir();  // refuses a planted symlink at once
}

int Workspace::state_dir() const {
  // Opened without following a link: a `.fracstudy` symlink would send every call's
  // bookkeeping outside the workspace.
  const fs::path state = root_ / ".fracstudy";
  const int fd = ::open(state.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    throw std::runtime_error(state.string() + " is not a folder of the workspace's own (a " +
                             "symbolic link?); remove it");
  }
  return fd;
}

fs::path Workspace::study_dir(const std::string& id) const {
  if (!is_valid_study_id(id)) throw std::invalid_argument("invalid study id");
  return root_ / id;
}

bool Workspace::has_study(const std::string& id) const {
  return is_valid_study_id(id) && is_real_directory(study_dir(id));
}

bool Workspace::create_study(const std::string& id) const {
  return ::mkdir(study_dir(id).c_str(), 0755) == 0;  // fails on anything already there
}

void Workspace::remove_new_study(const std::string& id,
                                 const std::vector<std::string>& files) const {
  if (!has_study(id)) return;
  for (const auto& name : files) {
    remove_file(id, name);
    remove_file(id, "." + name + ".tmp");  // what write_file left when the disk was full
  }
  ::rmdir(study_dir(id).c_str());  // fails, harmlessly, when anything else is there
}

std::vector<std::string> Workspace::study_ids() const {
  std::vector<std::pair<fs::file_time_type, std::string>> found;
  for (const auto& entry : fs::directory_iterator(root_)) {
    const std::string name = entry.path().filename().string();
    if (is_valid_study_id(name) && is_real_directory(entry.path())) {
      std::error_code missing;  // a folder being created has no study.yaml yet
      found.emplace_back(fs::last_write_time(entry.path() / "study.yaml", missing), name);
    }
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> ids;
  for (auto& [time, name] : found)
    ids.push_back(std::move(name));
  return ids;
}

fs::path Workspace::file(const std::string& id, const std::string& name) const {
  return study_dir(id) / name;
}

void Workspace::write_file(const std::string& id, const std::string& name,
                           const std::string& content) const {
  if (!has_study(id)) throw std::runtime_error("no study folder " + id);
  const Fd dir(::open(study_dir(id).c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (dir.get() < 0) throw std::runtime_error("no study folder " + id);
  replace_file_at(dir.get(), name, "." + name + ".tmp", content,
                  "cannot write " + file(id, name).string());
}

void Workspace::remove_file(const std::string& id, const std::string& name) const {
  if (!has_study(id)) return;
  std::error_code ignored;
  fs::remove(file(id, name), ignored);
}

void Workspace::append_line(const std::string& id, const std::string& name,
                            const std::string& line) const {
  if (!has_study(id)) return;
  Fd fd(::open(file(id, name).c_str(),
               O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644));
  struct stat info {};
  if (fd.get() < 0 || ::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) return;
  const std::string text = line + "\n";
  [[maybe_unused]] const auto written = ::write(fd.get(), text.data(), text.size());
}

std::optional<std::string> Workspace::read_file(const std::string& id, const std::string& name,
                                                std::size_t tail_bytes) const {
  if (!has_study(id)) return std::nullopt;
  // Never blocks (a FIFO planted in a study folder), and only a regular file is read.
  Fd fd(::open(file(id, name).c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  struct stat info {};
  if (fd.get() < 0 || ::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
    return std::nullopt;
  }
  const auto size = static_cast<std::size_t>(info.st_size);
  const std::size_t start = size > tail_bytes ? size - tail_bytes : 0;
  std::string content;
  char buffer[65536];
  for (std::size_t at = start; content.size() < tail_bytes;) {
    const ssize_t got =
        ::pread(fd.get(), buffer, std::min(sizeof buffer, tail_bytes - content.size()),
                static_cast<off_t>(at));
    if (got <= 0) break;
    content.append(buffer, static_cast<std::size_t>(got));
    at += static_cast<std::size_t>(got);
  }
  return content;
}

Workspace::HeldLock::~HeldLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

Workspace::HeldLock Workspace::take_simulation_slot(int slots) const {
  const Fd state(state_dir());
  for (int k = 0; k < slots; ++k) {
    const std::string name = "simulation-slot-" + std::to_string(k);
    const int fd = ::openat(state.get(), name.c_str(),
                            O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return HeldLock(fd);
    ::close(fd);
  }
  return HeldLock(-1);
}

Workspace::HeldLock Workspace::lock_admission() const {
  const Fd state(state_dir());
  const int fd =
      ::openat(state.get(), "admission", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open the workspace's admission lock");
  while (::flock(fd, LOCK_EX) != 0 && errno == EINTR) {
  }
  return HeldLock(fd);
}

std::optional<CallRefusal> Workspace::admit_call(const std::string& client, const std::string& tool,
                                                 std::span<const CallBudget> budgets) const {
  const fs::path log = root_ / ".fracstudy" / "calls";
  const Fd state(state_dir());
  // Never blocks on a FIFO planted as the log, and reads only a regular file.
  Fd fd(
      ::openat(state.get(), "calls", O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644));
  if (fd.get() < 0 || !is_regular(fd.get())) {
    throw std::runtime_error("cannot open " + log.string() + " (" + std::strerror(errno) +
                             "): the workspace's call log must be a file of its own");
  }
  ::flock(fd.get(), LOCK_EX);  // released when fd closes
  std::string content;
  char buffer[4096];
  ssize_t got;
  while ((got = ::read(fd.get(), buffer, sizeof buffer)) > 0) {
    content.append(buffer, static_cast<std::size_t>(got));
  }
  // One line per call still inside the widest window: "TIME CLIENT TOOL".
  double widest_s = 60;
  for (const auto& budget : budgets)
    widest_s = std::max(widest_s, budget.window_s);
  const double now = now_s();
  struct Call {
    double time;
    std::string client, tool;
  };
  std::vector<Call> recent;
  std::istringstream lines(content);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    Call call{};
    if (!(fields >> call.time >> call.client) || !(now - call.time < widest_s)) continue;
    fields >> call.tool;  // absent in lines of older versions: counted for every tool only
    recent.push_back(std::move(call));
  }
  std::optional<CallRefusal> refusal;
  for (const auto& budget : budgets) {
    if (!budget.tool.empty() && budget.tool != tool) continue;
    double oldest = now;
    int counted = 0;
    for (const auto& call : recent) {
      if (call.client != client || !(now - call.time < budget.window_s)) continue;
      if (!budget.tool.empty() && call.tool != budget.tool) continue;
      ++counted;
      oldest = std::min(oldest, call.time);
    }
    if (counted >= budget.calls) {
      const double retry_after_s = budget.window_s - (now - oldest);
      if (!refusal || retry_after_s > refusal->retry_after_s) {
        refusal = CallRefusal{budget, retry_after_s};
      }
    }
  }
  if (!refusal) recent.push_back({now, client, tool});
  std::ostringstream out;
  out.precision(17);
  for (const auto& call : recent)
    out << call.time << " " << call.client << " " << call.tool << "\n";
  const std::string text = out.str();
  // Best effort: on a full disk the count is lost (the limit starts over), while the calls
  // that read a study's status must go on working.
  if (::ftruncate(fd.get(), 0) == 0) {
    [[maybe_unused]] const auto written = ::pwrite(fd.get(), text.data(), text.size(), 0);
  }
  return refusal;
}

int Workspace::queue_dir(bool create) const {
  const Fd state(state_dir());
  if (!create) {
    const int fd = ::openat(state.get(), "queue", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) return -1;  // nothing ever waited here
    if (fd >= 0) return fd;
  }
  if (::mkdirat(state.get(), "queue", 0755) != 0 && errno != EEXIST) {
    throw std::runtime_error("cannot make the workspace's queue folder: " +
                             std::string(std::strerror(errno)));
  }
  const int fd = ::openat(state.get(), "queue", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    throw std::runtime_error((root_ / ".fracstudy" / "queue").string() +
                             " is not a folder of the workspace's own (a symbolic link?)");
  }
  return fd;
}

void Workspace::write_queue_entry(const std::string& id, const std::string& content) const {
  if (!is_valid_study_id(id)) throw std::invalid_argument("invalid study id");
  const Fd queue(queue_dir(true));
  replace_file_at(queue.get(), id, "." + id + ".tmp", content, "cannot queue study " + id);
}

bool Workspace::remove_queue_entry(const std::string& id) const {
  if (!is_valid_study_id(id)) return false;
  int fd = -1;
  try {
    fd = queue_dir(false);
  } catch (const std::exception&) {  // no queue folder of its own: nothing to remove
    return false;
  }
  const Fd queue(fd);
  return queue.get() >= 0 && ::unlinkat(queue.get(), id.c_str(), 0) == 0;
}

std::vector<std::pair<std::string, std::string>> Workspace::queue_entries() const {
  std::vector<std::pair<std::string, std::string>> entries;
  // Read only, nothing made: the waiter of a run that ends as its workspace is removed
  // must not put a folder back into it. A queue folder that is not one (a planted link or
  // file) holds no entries: the calls that only look or cancel go on; a start says why.
  int queue_fd = -1;
  try {
    queue_fd = queue_dir(false);
  } catch (const std::exception&) {
    return entries;
  }
  const Fd queue(queue_fd);
  if (queue.get() < 0) return entries;
  DIR* listing = ::fdopendir(::dup(queue.get()));
  if (!listing) return entries;
  while (const dirent* entry = ::readdir(listing)) {
    const std::string id = entry->d_name;
    if (!is_valid_study_id(id)) continue;  // ".", "..", temporaries
    // Only a regular file of the queue's own: never a link, never a FIFO waited on. An
    // entry is a few hundred bytes: one cut at 64 KiB does not parse, and is skipped.
    if (auto content = read_regular_at(queue.get(), id, std::size_t{64} << 10)) {
      entries.emplace_back(id, std::move(*content));
    }
  }
  ::closedir(listing);
  return entries;
}

std::uint64_t Workspace::next_queue_sequence() const {
  // Callers hold the admission lock. The count is replaced by rename: a full disk leaves
  // the old count, never an empty file that would start the order over.
  const Fd state(state_dir());
  const auto text = read_regular_at(state.get(), "queue-sequence", 31);
  const std::uint64_t last = text ? std::strtoull(text->c_str(), nullptr, 10) : 0;
  replace_file_at(state.get(), "queue-sequence", "queue-sequence.tmp",
                  std::to_string(last + 1) + "\n", "cannot write the workspace's queue sequence");
  return last + 1;
}

}  // namespace fracstudy::tools
