#pragma once
/// The tools' workspace: one folder per study (study.yaml, results.h5, run.log,
/// launch.json), set by the operator. Nothing outside it is ever read or written.
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace fracstudy::tools {

/// Whether `id` is a valid study id: a valid study name (study::kStudyNamePattern).
bool is_valid_study_id(const std::string& id);

/// A folder of studies. Paths are built only from validated ids and fixed file names,
/// and every file is opened without following symbolic links.
class Workspace {
 public:
  /// Opens (and creates) the workspace folder.
  explicit Workspace(const std::string& root);

  const std::filesystem::path& root() const { return root_; }

  /// The folder of a study (the id must be valid; throws std::invalid_argument otherwise).
  std::filesystem::path study_dir(const std::string& id) const;
  /// Whether a study folder exists (a symlink in its place does not count).
  bool has_study(const std::string& id) const;
  /// Creates a study's folder; false when it already exists.
  bool create_study(const std::string& id) const;
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

  /// Records one tool call of `client` and says whether it fits in `per_minute` calls of
  /// that client over the last 60 s (counted across every process using this workspace,
  /// under a file lock): one flooding client does not spend the others' calls. When it
  /// does not fit, `retry_after_s` says when it would. `client` is a word without spaces.
  bool admit_call(const std::string& client, int per_minute, double& retry_after_s) const;

  /// Held while a study is admitted and started: counting the running studies and starting
  /// one more is one step for every process and server sharing the workspace.
  class AdmissionLock {
   public:
    explicit AdmissionLock(int fd) : fd_(fd) {}
    AdmissionLock(const AdmissionLock&) = delete;
    AdmissionLock& operator=(const AdmissionLock&) = delete;
    ~AdmissionLock();

   private:
    int fd_;
  };
  AdmissionLock lock_admission() const;

 private:
  /// The workspace's own state folder (.fracstudy), opened; throws when it is a link.
  int state_dir() const;
  std::filesystem::path root_;
};

}  // namespace fracstudy::tools
