#include "fracstudy/study/records.hpp"

#include <algorithm>
#include <limits>

namespace fracstudy::study {
namespace {

const std::string kNoError;

template <class Count>
Count saturated(int value) {
  return static_cast<Count>(std::clamp<long long>(value, 0, std::numeric_limits<Count>::max()));
}

}  // namespace

TaskRecords::TaskRecords(std::size_t count) : fixed_(count) {}

TaskRecords::TaskRecords(const std::vector<TaskRecord>& records) : fixed_(records.size()) {
  for (std::size_t task = 0; task < records.size(); ++task)
    assign(task, records[task]);
}

TaskRecords::TaskRecords(const TaskRecords& other)
    : fixed_(other.fixed_),
      hosts_(other.hosts_),
      host_ids_(other.host_ids_),
      errors_(other.errors_) {
  if (!other.store_) {
    metrics_ = other.metrics_;
    return;
  }
  metrics_.reserve(size());
  for (std::size_t task = 0; task < size(); ++task)
    metrics_.push_back(other.metrics(task));
}

TaskRecords& TaskRecords::operator=(const TaskRecords& other) {
  if (this != &other) *this = TaskRecords(other);
  return *this;
}

TaskRecords::~TaskRecords() = default;

void TaskRecords::keep_metrics_in(std::unique_ptr<MetricStore> store) {
  if (!store || store_) return;  // the first store stays: it holds what was set so far
  for (std::size_t task = 0; task < metrics_.size(); ++task) {
    if (!metrics_[task].all_missing()) store->put(task, metrics_[task]);
  }
  store_ = std::move(store);
  metrics_ = {};
}

TaskRecord TaskRecords::operator[](std::size_t task) const {
  TaskRecord record = without_metrics(task);
  record.metrics = metrics(task);
  return record;
}

TaskRecord TaskRecords::without_metrics(std::size_t task) const {
  TaskRecord record;
  record.status = status(task);
  record.attempts = attempts(task);
  record.worker_rank = worker_rank(task);
  record.host = host(task);
  record.wall_time_s = wall_time_s(task);
  record.error = error(task);
  record.interruptions = interruptions(task);
  return record;
}

void TaskRecords::assign(std::size_t task, const TaskRecord& record) {
  set_status(task, record.status);
  set_attempts(task, record.attempts);
  set_interruptions(task, record.interruptions);
  set_worker(task, record.worker_rank, host_id(record.host));
  set_wall_time_s(task, record.wall_time_s);
  set_error(task, record.error);
  set_metrics(task, record.metrics);
}

void TaskRecords::push_back(const TaskRecord& record) {
  fixed_.emplace_back();
  assign(size() - 1, record);
}

void TaskRecords::set_metrics(std::size_t task, const kernels::MetricValues& metrics) {
  fixed_[task].metrics_elsewhere = 0;
  if (store_) {
    store_->put(task, metrics);
    return;
  }
  if (task >= metrics_.size()) {
    if (metrics.all_missing()) return;  // what an unset record reads anyway
    metrics_.resize(size());
  }
  metrics_[task] = metrics;
}

void TaskRecords::set_attempts(std::size_t task, int attempts) {
  fixed_[task].attempts = saturated<std::uint32_t>(attempts);
}

void TaskRecords::set_interruptions(std::size_t task, int interruptions) {
  fixed_[task].interruptions = saturated<std::uint16_t>(interruptions);
}

std::uint32_t TaskRecords::host_id(const std::string& host) {
  if (host.empty()) return 0;
  const auto [at, added] = host_ids_.try_emplace(host, static_cast<std::uint32_t>(hosts_.size()));
  if (added) hosts_.push_back(host);
  return at->second;
}

const std::string& TaskRecords::error(std::size_t task) const {
  if (errors_.empty()) return kNoError;
  const auto at = errors_.find(task);
  return at == errors_.end() ? kNoError : at->second;
}

void TaskRecords::set_error(std::size_t task, std::string error) {
  if (error.empty()) {
    errors_.erase(task);
  } else {
    errors_[task] = std::move(error);
  }
}

RecordsView RecordsView::subview(std::size_t first, std::size_t count) const {
  RecordsView view;
  view.size_ = std::min(count, size_ - std::min(first, size_));
  if (compact_) {
    view.compact_ = compact_;
    view.first_ = first_ + first;
  } else {
    view.span_ = span_.subspan(std::min(first, size_), view.size_);
  }
  return view;
}

}  // namespace fracstudy::study
