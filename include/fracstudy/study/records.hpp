#pragma once
/// Every task's record, held compactly: what the coordinator keeps for a study of ten
/// million tasks. A TaskRecord is about 200 bytes (two strings, thirteen metrics); most
/// tasks share their host and have no error, so those live in tables, and the fixed part
/// of a record takes 24 bytes.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "fracstudy/kernels/huge_pages.hpp"
#include "fracstudy/study/index_iterator.hpp"
#include "fracstudy/study/status.hpp"

namespace fracstudy::study {

/// Where TaskRecords keeps its tasks' metrics when not in memory (io::open_metric_spill: a
/// scratch file, so that rank 0 of ten million tasks does not hold a gigabyte of them).
class MetricStore {
 public:
  virtual ~MetricStore() = default;
  /// Keeps task `task`'s metrics (replacing any kept before).
  virtual void put(std::size_t task, const kernels::MetricValues& values) = 0;
  /// What put(task, ...) kept last, NaN everywhere when nothing.
  virtual kernels::MetricValues get(std::size_t task) const = 0;
};

/// One record per task, read and changed field by field (the scheduler's hot path) or
/// whole (operator[] assembles a TaskRecord).
class TaskRecords {
 public:
  TaskRecords() = default;
  /// `count` PENDING records.
  explicit TaskRecords(std::size_t count);
  /// The records as given (a resumed file's).
  TaskRecords(const std::vector<TaskRecord>& records);  // NOLINT(google-explicit-constructor)
  /// A copy holds its metrics in memory.
  TaskRecords(const TaskRecords& other);
  TaskRecords& operator=(const TaskRecords& other);
  TaskRecords(TaskRecords&&) noexcept = default;
  TaskRecords& operator=(TaskRecords&&) noexcept = default;
  ~TaskRecords();

  /// From now on the metrics live in `store` (those held so far move there); a null store,
  /// or one given after another, changes nothing.
  void keep_metrics_in(std::unique_ptr<MetricStore> store);

  std::size_t size() const { return fixed_.size(); }
  bool empty() const { return fixed_.empty(); }

  /// Task `task`'s record, assembled.
  TaskRecord operator[](std::size_t task) const;
  /// The same without its metrics (NaN): what counting needs, without reading them back.
  TaskRecord without_metrics(std::size_t task) const;
  /// Replaces task `task`'s record.
  void assign(std::size_t task, const TaskRecord& record);
  /// Adds a record after the last.
  void push_back(const TaskRecord& record);

  TaskStatus status(std::size_t task) const { return TaskStatus(fixed_[task].status); }
  void set_status(std::size_t task, TaskStatus status) {
    fixed_[task].status = static_cast<std::uint8_t>(status);
  }
  int attempts(std::size_t task) const { return static_cast<int>(fixed_[task].attempts); }
  void set_attempts(std::size_t task, int attempts);
  int interruptions(std::size_t task) const { return fixed_[task].interruptions; }
  void set_interruptions(std::size_t task, int interruptions);
  int worker_rank(std::size_t task) const { return fixed_[task].worker_rank; }
  const std::string& host(std::size_t task) const { return hosts_[fixed_[task].host]; }
  /// The number of `host` in the table of hosts (added when new): set_worker's argument.
  std::uint32_t host_id(const std::string& host);
  void set_worker(std::size_t task, int rank, std::uint32_t host_id) {
    fixed_[task].worker_rank = rank;
    fixed_[task].host = host_id;
  }
  double wall_time_s(std::size_t task) const { return fixed_[task].wall_time_s; }
  void set_wall_time_s(std::size_t task, double seconds) { fixed_[task].wall_time_s = seconds; }
  /// Every failed attempt, "" when none.
  const std::string& error(std::size_t task) const;
  void set_error(std::size_t task, std::string error);
  kernels::MetricValues metrics(std::size_t task) const {
    if (store_) return store_->get(task);
    return task < metrics_.size() ? metrics_[task] : kernels::MetricValues();
  }
  void set_metrics(std::size_t task, const kernels::MetricValues& metrics);
  /// Whether task `task`'s metrics are kept by a relay (io/relay_journal.hpp) rather than
  /// here: set when its completion came without them, cleared when they are set.
  bool metrics_elsewhere(std::size_t task) const { return fixed_[task].metrics_elsewhere != 0; }
  void set_metrics_elsewhere(std::size_t task) { fixed_[task].metrics_elsewhere = 1; }

  /// Reads the records in order, each assembled in turn.
  using const_iterator = IndexIterator<TaskRecords, TaskRecord>;
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, size()}; }

 private:
  // The part every record has, 24 bytes. The status, attempts and interruptions saturate
  // far beyond any real count.
  struct Fixed {
    std::uint8_t status = 0;
    std::uint8_t metrics_elsewhere = 0;  // in the padding after the status: still 24 bytes
    std::uint16_t interruptions = 0;
    std::uint32_t attempts = 0;
    std::int32_t worker_rank = -1;
    std::uint32_t host = 0;  // into hosts_; 0 is ""
    double wall_time_s = kNoValue;
  };
  static_assert(sizeof(Fixed) == 24, "rank 0 keeps one per task: keep it small");
  // On huge pages: written task by task after every fork of the result file's writer
  // (kernels/huge_pages.hpp).
  kernels::HugePageVector<Fixed> fixed_;
  // In memory: allocated at the first metrics set (none when store_ holds them).
  std::vector<kernels::MetricValues> metrics_;
  std::unique_ptr<MetricStore> store_;
  std::vector<std::string> hosts_{std::string()};
  std::unordered_map<std::string, std::uint32_t> host_ids_;
  std::unordered_map<std::size_t, std::string> errors_;  // the few tasks with a failed attempt
};

/// Records read in task order, from a span of TaskRecords (a file's) or from TaskRecords
/// (the coordinator's): what counting, summarizing and writing take.
class RecordsView {
 public:
  RecordsView() = default;                          ///< no records
  RecordsView(std::span<const TaskRecord> records)  // NOLINT(google-explicit-constructor)
      : span_(records), size_(records.size()) {}
  RecordsView(const std::vector<TaskRecord>& records)  // NOLINT(google-explicit-constructor)
      : RecordsView(std::span<const TaskRecord>(records)) {}
  RecordsView(const TaskRecords& records)  // NOLINT(google-explicit-constructor)
      : compact_(&records), size_(records.size()) {}

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  /// Record `i` of the view, assembled.
  TaskRecord operator[](std::size_t i) const {
    return compact_ ? (*compact_)[first_ + i] : span_[i];
  }
  /// Record `i`'s status and wall time, read alone.
  TaskStatus status(std::size_t i) const {
    return compact_ ? compact_->status(first_ + i) : span_[i].status;
  }
  double wall_time_s(std::size_t i) const {
    return compact_ ? compact_->wall_time_s(first_ + i) : span_[i].wall_time_s;
  }
  /// Record `i` without its metrics (NaN): what counting needs, without reading them back.
  TaskRecord without_metrics(std::size_t i) const {
    return compact_ ? compact_->without_metrics(first_ + i) : span_[i];
  }
  /// Record `i`'s host and error, where they are kept (they outlive the view).
  const std::string& host(std::size_t i) const {
    return compact_ ? compact_->host(first_ + i) : span_[i].host;
  }
  const std::string& error(std::size_t i) const {
    return compact_ ? compact_->error(first_ + i) : span_[i].error;
  }
  /// Whether record `i` completed with its metrics kept by a relay, not read yet.
  bool metrics_elsewhere(std::size_t i) const {
    return compact_ && compact_->metrics_elsewhere(first_ + i);
  }
  /// Records first .. first + count - 1 of this view.
  RecordsView subview(std::size_t first, std::size_t count) const;
  /// What for_each assembles of records kept compactly: counting and tallies need no
  /// metrics, which may be on disk.
  enum class Parts { All, WithoutMetrics };
  /// Calls visit(record) for each record in order (no copy from a span).
  template <class Visit>
  void for_each(Visit&& visit, Parts parts = Parts::All) const {
    if (!compact_) {
      for (const TaskRecord& record : span_)
        visit(record);
      return;
    }
    for (std::size_t i = 0; i < size_; ++i) {
      visit(parts == Parts::All ? (*compact_)[first_ + i] : compact_->without_metrics(first_ + i));
    }
  }

 private:
  std::span<const TaskRecord> span_;
  const TaskRecords* compact_ = nullptr;
  std::size_t first_ = 0;  // into *compact_
  std::size_t size_ = 0;
};

}  // namespace fracstudy::study
