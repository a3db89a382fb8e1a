#pragma once
/// The tools' workspace: one folder per study (study.yaml, results.h5, run.log,
/// launch.json), set by the operator. Nothing outside it is ever read or written.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace fracstudy::tools {

/// At most `calls` calls over the last `window_s` seconds, of one tool (or, with `tool`
/// empty, of every tool), per client.
struct CallBudget {
  std::string tool;
  int calls = 0;
  double window_s = 60;
};

/// Why a call was refused: the budget it would break, and when a call would fit.
struct CallRefusal {
  CallBudget budget;
  double retry_after_s = 0;
};

/// Whether `id` is a valid study id: a valid study name (study::kStudyNamePattern).
bool is_valid_study_id(const std::string& id);

/// A folder of studies. Paths are built only from validated ids and fixed file names,
/// and every file is opened without following symbolic links.
class Workspace {
 public:
  /// Opens (and, with `create`, creates) the workspace folder; throws when it is not
  /// there and may not be made.
  explicit Workspace(const std::string& root, bool create = true);

  const std::filesystem::path& root() const { return root_; }

  /// The folder of a study (the id must be valid; throws std::invalid_argument otherwise).
  std::filesystem::path study_dir(const std::string& id) const;
  /// Whether a study folder exists (a symlink in its place does not count).
  bool has_study(const std::string& id) const;
  /// Creates a study's folder; false when it already exists.
  bool create_study(const std::string& id) const;
  /// Removes a study folder just created, with the files named (nothing else: a folder
  /// that holds more is left as it is).
  void remove_new_study(const std::string& id, const std::vector<std::string>& files) const;
  /// Every study id, in creation order.
  std::vector<std::string> study_ids() const;

  /// Writes a file in a study's folder (no symlinks followed; replaced atomically).
  void write_file(const std::string& id, const std::string& name, const std::string& content) const;
  /// Appends a line to a file of a study's folder (created if absent; no symlink followed,
  /// never blocks on a FIFO); best effort.
  void append_line(const std::string& id, const std::string& name, const std::string& line) const;
  /// Removes a file of a study's folder (a symlink itself, never its target), if there.
  void remove_file(const std::string& id, const std::string& name) const;
  /// Reads a file of a study's folder, at most its last `tail_bytes`; nullopt when absent,
  /// a symlink or not a regular file (a FIFO is never waited on).
  std::optional<std::string> read_file(const std::string& id, const std::string& name,
                                       std::size_t tail_bytes = std::size_t{16} << 20) const;
  /// The path of a file in a study's folder, for handing to the launcher.
  std::filesystem::path file(const std::string& id, const std::string& name) const;

  /// Records one call of `tool` by `client` and says whether it fits in every budget that
  /// applies to it (a budget without a tool counts every call of the client; one with a
  /// tool, that tool's calls), counted across every process using this workspace, under a
  /// file lock: one flooding client does not spend the others' calls. A refused call is
  /// not recorded; the budget it broke is returned, with when a call would fit.
  /// `client` and `tool` are words without spaces.
  std::optional<CallRefusal> admit_call(const std::string& client, const std::string& tool,
                                        std::span<const CallBudget> budgets) const;

  /// The queue of studies waiting for a slot: one small file per study in the workspace's
  /// state folder, its content the caller's. Callers hold the admission lock.
  void write_queue_entry(const std::string& id, const std::string& content) const;
  /// Removes a study from the queue; false when it was not in it.
  bool remove_queue_entry(const std::string& id) const;
  /// Every waiting study's id and entry (in no order), read without the lock: a cheap look
  /// for whether anything waits at all.
  std::vector<std::pair<std::string, std::string>> queue_entries() const;
  /// The next number of the queue's order (1, 2, ...), kept in the state folder: oldest
  /// first among studies of one priority, whichever process queued them.
  std::uint64_t next_queue_sequence() const;

  /// A file lock, held until destroyed (closing its descriptor releases it); `held()` is
  /// false when it could not be taken.
  class HeldLock {
   public:
    explicit HeldLock(int fd) : fd_(fd) {}
    HeldLock(const HeldLock&) = delete;
    HeldLock& operator=(const HeldLock&) = delete;
    ~HeldLock();
    bool held() const { return fd_ >= 0; }

   private:
    int fd_;
  };
  /// Held while a study is admitted and started: counting the running studies and starting
  /// one more is one step for every process and server sharing the workspace. Waits for it.
  HeldLock lock_admission() const;
  /// One of `slots` places for a simulation running while its caller waits, across every
  /// process using this workspace; not held when every place is taken.
  HeldLock take_simulation_slot(int slots) const;

 private:
  /// The workspace's own state folder (.fracstudy), opened; throws when it is a link.
  int state_dir() const;
  /// The queue's folder inside it, opened (made when absent and `create`; else -1 when
  /// absent); throws when it is a link.
  int queue_dir(bool create) const;
  std::filesystem::path root_;
};

}  // namespace fracstudy::tools
