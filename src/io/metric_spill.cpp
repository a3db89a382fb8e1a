#include "fracstudy/io/metric_spill.hpp"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <unordered_map>
#include <utility>
#include <vector>

namespace fracstudy::io {
namespace {

using kernels::MetricValues;

constexpr std::size_t kRowBytes = sizeof(double) * kernels::kMetricCount;

/// Rows of metrics at task * kRowBytes in a file. Written rows wait in memory until a batch is
/// full or a row is read, then go out in runs of consecutive tasks (tasks end roughly in
/// order); reads go through a block of rows read at once (a whole write reads every task in
/// order). A put costs a copy: it is on rank 0's path for every completed task.
class SpilledMetrics final : public study::MetricStore {
 public:
  explicit SpilledMetrics(int fd) : fd_(fd) {}
  ~SpilledMetrics() override { ::close(fd_); }
  SpilledMetrics(const SpilledMetrics&) = delete;
  SpilledMetrics& operator=(const SpilledMetrics&) = delete;

  void put(std::size_t task, const MetricValues& values) override {
    // A task that never completed has no metrics: nothing to write, unless it replaces
    // some (a resumed file puts every task's, most of them empty).
    const bool held = task < held_.size() && held_[task];
    if (values.all_missing() && !held) return;
    if (!held) {
      if (held_.size() <= task) held_.resize(task + 1, false);
      held_[task] = true;
    }
    waiting_tasks_.push_back(task);
    waiting_values_.push_back(values);
    if (waiting_tasks_.size() >= kBatchRows) flush();
  }

  MetricValues get(std::size_t task) const override {
    flush();  // what waits may be the row asked for
    if (!in_memory_.empty()) {
      if (const auto kept = in_memory_.find(task); kept != in_memory_.end()) return kept->second;
    }
    if (task >= on_disk_.size() || !on_disk_[task]) return MetricValues();
    const std::size_t block = task / kBlockRows;
    if (block != cached_block_ && !read_block(block)) return MetricValues();
    MetricValues values;
    for (std::size_t m = 0; m < kernels::kMetricCount; ++m)
      values[m] = cache_[(task % kBlockRows) * kernels::kMetricCount + m];
    return values;
  }

 private:
  static constexpr std::size_t kBatchRows = 4096;
  static constexpr std::size_t kBlockRows = 1024;
  static constexpr std::size_t kNoBlock = static_cast<std::size_t>(-1);

  // Const: a read flushes first (what is kept does not change, only where).
  void flush() const {
    if (waiting_tasks_.empty()) return;
    // In task order; of two puts of one task, the later one (a stable sort keeps it last).
    std::vector<std::size_t> order(waiting_tasks_.size());
    for (std::size_t i = 0; i < order.size(); ++i)
      order[i] = i;
    std::stable_sort(order.begin(), order.end(), [this](std::size_t a, std::size_t b) {
      return waiting_tasks_[a] < waiting_tasks_[b];
    });
    std::vector<double> run;
    std::size_t first = 0;
    for (std::size_t k = 0; k < order.size(); ++k) {
      const std::size_t task = waiting_tasks_[order[k]];
      if (k + 1 < order.size() && waiting_tasks_[order[k + 1]] == task) continue;  // put again
      if (!run.empty() && task != first + run.size() / kernels::kMetricCount) {
        write_run(first, run);
        run.clear();
      }
      if (run.empty()) first = task;
      const MetricValues& values = waiting_values_[order[k]];
      run.insert(run.end(), values.begin(), values.end());
    }
    if (!run.empty()) write_run(first, run);
    waiting_tasks_.clear();
    waiting_values_.clear();
    cached_block_ = kNoBlock;  // it may hold rows written over now
  }

  void write_run(std::size_t first, const std::vector<double>& run) const {
    const auto* bytes = reinterpret_cast<const char*>(run.data());
    const std::size_t size = run.size() * sizeof(double);
    std::size_t done = 0;
    while (done < size) {
      const auto n =
          ::pwrite(fd_, bytes + done, size - done, static_cast<off_t>(first * kRowBytes + done));
      if (n <= 0) break;  // a full disk, an I/O error: those rows stay in memory
      done += static_cast<std::size_t>(n);
    }
    const std::size_t rows = run.size() / kernels::kMetricCount;
    const std::size_t rows_written = done / kRowBytes;
    if (on_disk_.size() < first + rows) on_disk_.resize(first + rows, false);
    for (std::size_t r = 0; r < rows; ++r) {
      const std::size_t task = first + r;
      on_disk_[task] = r < rows_written;
      if (r < rows_written) {
        if (!in_memory_.empty()) in_memory_.erase(task);
        continue;
      }
      MetricValues values;
      for (std::size_t m = 0; m < kernels::kMetricCount; ++m)
        values[m] = run[r * kernels::kMetricCount + m];
      in_memory_[task] = values;
    }
  }

  bool read_block(std::size_t block) const {
    cache_.assign(kBlockRows * kernels::kMetricCount, 0.0);
    auto* bytes = reinterpret_cast<char*>(cache_.data());
    const std::size_t size = cache_.size() * sizeof(double);
    std::size_t done = 0;
    while (done < size) {
      const auto n = ::pread(fd_, bytes + done, size - done,
                             static_cast<off_t>(block * kBlockRows * kRowBytes + done));
      if (n < 0) {
        cached_block_ = kNoBlock;
        return false;
      }
      if (n == 0) break;  // past the end: rows never written read as zeros, and are not asked
      done += static_cast<std::size_t>(n);
    }
    cached_block_ = block;
    return true;
  }

  int fd_;
  std::vector<bool> held_;  // per task: put with values at least once
  // Everything below changes on reads too (a read flushes what waits, and caches a block).
  mutable std::vector<bool> on_disk_;  // per task: its row in the file holds its metrics
  mutable std::vector<std::size_t> waiting_tasks_;  // put, not written yet, in order of put
  mutable std::vector<MetricValues> waiting_values_;
  mutable std::unordered_map<std::size_t, MetricValues> in_memory_;  // rows a full disk refused
  mutable std::vector<double> cache_;
  mutable std::size_t cached_block_ = kNoBlock;
};

}  // namespace

std::unique_ptr<study::MetricStore> metric_spill(int fd) {
  return std::make_unique<SpilledMetrics>(fd);
}

std::unique_ptr<study::MetricStore> open_metric_spill(const std::string& result_path,
                                                      std::size_t tasks) {
  auto directory = std::filesystem::path(result_path).parent_path();
  if (directory.empty()) directory = ".";
  struct statvfs disk {};
  if (::statvfs(directory.c_str(), &disk) != 0) return nullptr;
  const auto free_bytes =
      static_cast<long double>(disk.f_bavail) * static_cast<long double>(disk.f_frsize);
  if (free_bytes < 4.0L * static_cast<long double>(tasks) * static_cast<long double>(kRowBytes)) {
    return nullptr;
  }
  // A file without a name: nothing to clean up after a kill, nothing another process can
  // open or replace by its name.
  int fd = ::open(directory.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {  // a file system without O_TMPFILE: a named file, unlinked at once
    std::string name = (directory / ".fracstudy-metrics-XXXXXX").string();
    fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd < 0) return nullptr;
    ::unlink(name.c_str());
  }
  return metric_spill(fd);
}

}  // namespace fracstudy::io
