#include "fracstudy/sched/scheduler.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace fracstudy::sched {

Scheduler::Scheduler(RunLength<std::size_t> study_of_task, study::TaskRecords records,
                     std::size_t study_count, SchedulerOptions options)
    : study_of_task_(std::move(study_of_task)),
      records_(std::move(records)),
      counts_(study_count),
      options_(options),
      health_(options_.host_of_rank) {
  if (records_.size() != study_of_task_.size()) {
    throw std::invalid_argument("scheduler: one record per task is required");
  }
  options_.worker_count = std::max(1, options_.worker_count);
  running_worker_.assign(records_.size(), kNotRunning);
  if (options_.fresh_retry_budget) {
    budget_base_.reserve(records_.size());
    for (std::size_t task = 0; task < records_.size(); ++task)
      budget_base_.push_back(records_.attempts(task));
  }
  for (const auto& host : options_.host_of_rank)
    host_id_of_rank_.push_back(records_.host_id(host));
  if (!options_.task_cost.empty() && options_.task_cost.size() != records_.size()) {
    throw std::invalid_argument("scheduler: one cost per task is required");
  }
  for (auto& counts : counts_)
    counts.work.workers = options_.worker_count;
  std::vector<std::size_t> interrupted;  // computing when the job died: they go last
  for (std::size_t task = 0; task < records_.size(); ++task) {
    StudyCounts& counts = counts_[study_of_task_[task]];
    bool was_running = false;
    if (records_.status(task) == TaskStatus::Running) {
      TaskRecord record = records_[task];
      was_running = recover_interrupted(record);
      records_.assign(task, record);
    }
    const TaskStatus status = records_.status(task);
    counts.add(status);
    counts.work.add(cost_of(task), status, records_.wall_time_s(task));
    if (status == TaskStatus::Pending) {
      if (was_running) {
        interrupted.push_back(task);
      } else {
        queue_.push_back(task);
      }
      ++unfinished_;
    }
  }
  if (!options_.task_cost.empty()) order_by_cost();
  // A task that was computing when the job died runs after the others: if it is what ends
  // the job, everything else is done first; if not, random kills rarely meet it again.
  queue_.append(interrupted);
}

void Scheduler::order_by_cost() {
  // Longest first: the big tasks of a sweep start early instead of finishing last. A run of
  // tasks shares its cost, so the runs are sorted (stably: equal costs keep the study's
  // order) rather than the tasks, which may be millions.
  const auto& runs = options_.task_cost.runs();
  std::vector<std::size_t> ends;
  for (std::size_t r = 0; r < runs.size(); ++r)
    ends.push_back(r + 1 < runs.size() ? runs[r + 1].first : options_.task_cost.size());
  std::vector<std::size_t> order(runs.size());
  for (std::size_t r = 0; r < order.size(); ++r)
    order[r] = r;
  std::stable_sort(order.begin(), order.end(),
                   [&runs](std::size_t a, std::size_t b) { return runs[a].value > runs[b].value; });
  std::vector<bool> waiting(records_.size(), false);
  for (const std::size_t task : queue_)
    waiting[task] = true;
  queue_.clear();
  for (const std::size_t r : order) {
    for (std::size_t task = runs[r].first; task < ends[r]; ++task) {
      if (waiting[task]) queue_.push_back(task);
    }
  }
}

bool Scheduler::recover_interrupted(TaskRecord& record) const {
  // The file said RUNNING: the job ended while a worker computed it. That attempt did not
  // end, so it does not count; the task waits again, unless the job died under it too often.
  ++record.interruptions;
  record.attempts = std::max(0, record.attempts - 1);
  record.status = TaskStatus::Pending;
  const auto limit = options_.max_interruptions;
  if (!limit || record.interruptions < *limit) return true;
  ++record.attempts;  // the failure is recorded as its next attempt
  append_failure(record, "interrupted: the job ended while this task was computing (" +
                             std::to_string(record.interruptions) +
                             " times); run it alone to see why");
  record.status = TaskStatus::Failed;
  return false;
}

void Scheduler::append_failure(TaskRecord& record, const std::string& reason) {
  // Every failed attempt stays on record, also when a later one succeeds.
  if (!record.error.empty()) record.error += "; ";
  record.error += "attempt " + std::to_string(record.attempts) + ": " + reason;
}

void Scheduler::append_failure(std::size_t task, const std::string& reason) {
  TaskRecord record;
  record.attempts = records_.attempts(task);
  record.error = records_.error(task);
  append_failure(record, reason);
  records_.set_error(task, std::move(record.error));
}

bool Scheduler::retry_elsewhere(int failed_on, int worker, int capacity) const {
  // Across nodes a retry waits for another node (a bad node, a full local disk); on one
  // node, for another worker. A relay shares its chunk among many workers: the retry
  // most likely lands elsewhere.
  if (health_.several_hosts()) {
    return health_.host_of_rank(failed_on) != health_.host_of_rank(worker);
  }
  return options_.worker_count == 1 || capacity > 1 || failed_on != worker;
}

void Scheduler::exclude_host(int host) {
  // The attempts the node failed were its fault, not the tasks': each is given back, and
  // a task whose budget they used up waits again.
  for (const auto& [task, failures] : health_.failures_on(host)) {
    records_.set_attempts(task, std::max(0, records_.attempts(task) - failures));
    records_.set_error(task, records_.error(task) + "; " + health_.name(host) +
                                 " excluded as a bad node: its " + std::to_string(failures) +
                                 " failed attempt" + (failures == 1 ? "" : "s") + " not counted");
    mark_changed(task);
    if (records_.status(task) == TaskStatus::Failed && retries_used(task) <= options_.max_retries) {
      reopen(task);
    }
  }
  // What its ranks hold goes back to the queue; their late reports are stale.
  for (int rank = 0; rank < static_cast<int>(options_.host_of_rank.size()); ++rank) {
    if (health_.host_of_rank(rank) == host) release_worker(rank);
  }
}

void Scheduler::reopen(std::size_t task) {
  ++unfinished_;
  StudyCounts& counts = counts_[study_of_task_[task]];
  --counts.ended_this_run;
  counts.work.unfinished_cost += cost_of(task);
  ++counts.work.unfinished;
  counts.ended_s.reset();
  move_status(task, TaskStatus::Pending);
  queue_.push_front(task);
}

std::uint32_t Scheduler::host_id_of(int rank) const {
  const auto index = static_cast<std::size_t>(rank);
  return rank >= 0 && index < host_id_of_rank_.size() ? host_id_of_rank_[index] : 0;
}

int Scheduler::retries_used(std::size_t task) const {
  const int base = budget_base_.empty() ? 0 : budget_base_[task];
  return records_.attempts(task) - base;
}

void Scheduler::move_status(std::size_t task, TaskStatus to) {
  counts_[study_of_task_[task]].move(records_.status(task), to);
  records_.set_status(task, to);
  mark_changed(task);
}

double Scheduler::cost_of(std::size_t task) const {
  return options_.task_cost.empty() ? 1.0 : options_.task_cost[task];
}

int Scheduler::capacity_of(int worker) const {
  const auto index = static_cast<std::size_t>(worker);
  return index < options_.worker_capacity.size() ? std::max(1, options_.worker_capacity[index]) : 1;
}

std::size_t Scheduler::chunk_count_limit(int capacity) const {
  // A relay's chunk is shared by `capacity` workers: it is that many chunks in one.
  if (options_.chunk_size) return static_cast<std::size_t>(*options_.chunk_size * capacity);
  // Before anything was measured, one task per worker: its duration is unknown.
  if (completed_cost_ == 0) return static_cast<std::size_t>(capacity);
  // Guided self-scheduling: a share of what is left, so the last chunks are small and
  // the workers finish together.
  const auto waiting = static_cast<std::int64_t>(queue_.size() + ready_retries_.size());
  const std::int64_t guided =
      std::max<std::int64_t>(1, waiting * capacity / (4 * options_.worker_count));
  return static_cast<std::size_t>(std::min(guided, options_.max_auto_chunk * capacity));
}

bool Scheduler::fits(const std::vector<Assignment>& chunk, double chunk_cost, double task_cost,
                     std::size_t limit, int capacity) const {
  if (chunk.size() >= limit) return false;
  if (chunk.empty() || options_.chunk_size || completed_cost_ == 0) return true;
  // Automatic chunks hold about target_chunk_s of work per worker, predicted from the
  // measured time per unit of estimated cost: long tasks go out alone, short ones by the
  // hundred.
  const double seconds_per_cost = completed_time_s_ / completed_cost_;
  return (chunk_cost + task_cost) * seconds_per_cost <= options_.target_chunk_s * capacity;
}

std::int64_t Scheduler::current_chunk_size() const {
  const std::size_t limit = chunk_count_limit(1);
  std::vector<Assignment> chunk;
  double chunk_cost = 0;
  for (const std::size_t task : queue_) {
    if (!fits(chunk, chunk_cost, cost_of(task), limit, 1)) break;
    chunk.push_back(Assignment{task, 0});
    chunk_cost += cost_of(task);
  }
  return static_cast<std::int64_t>(std::max<std::size_t>(1, chunk.size()));
}

void Scheduler::promote_ready_retries(double now_s) {
  auto ready = [now_s](const DelayedRetry& r) { return r.ready_at_s <= now_s; };
  for (const auto& retry : retries_) {
    if (!ready(retry)) continue;
    ready_retries_.push_back(
        ReadyRetry{retry.task, retry.failed_on, now_s + options_.avoid_failed_worker_s});
  }
  std::erase_if(retries_, ready);
}

void Scheduler::start_attempt(std::size_t task, int worker, double now_s,
                              std::vector<Assignment>& chunk) {
  // Handed out, not started: the task stays PENDING (its attempt counts once the worker
  // says it computes it, or reports it).
  StudyCounts& counts = counts_[study_of_task_[task]];
  if (!counts.started_s) counts.started_s = now_s;
  running_on_[static_cast<std::size_t>(worker)].push_back(task);
  running_worker_[task] = worker;
  chunk.push_back(Assignment{task, records_.attempts(task) + 1});
}

void Scheduler::started(int worker, std::size_t task) {
  if (task >= running_worker_.size() || running_worker_[task] != worker) return;
  if (records_.status(task) != TaskStatus::Pending) return;  // already known to run
  records_.set_attempts(task, records_.attempts(task) + 1);
  records_.set_worker(task, worker, host_id_of(worker));
  move_status(task, TaskStatus::Running);
}

std::vector<Assignment> Scheduler::next_chunk(int worker, double now_s) {
  promote_ready_retries(now_s);
  if (health_.excluded_rank(worker)) return {};  // a bad node: it waits for the end
  const int capacity = capacity_of(worker);
  const std::size_t limit = chunk_count_limit(capacity);
  std::vector<Assignment> chunk;
  double chunk_cost = 0;
  if (running_on_.size() <= static_cast<std::size_t>(worker)) {
    running_on_.resize(static_cast<std::size_t>(worker) + 1);
  }
  // Forget the worker's finished tasks (record() only marks them, in O(1)).
  std::erase_if(running_on_[static_cast<std::size_t>(worker)],
                [this, worker](std::size_t task) { return running_worker_[task] != worker; });
  // Retries first, each preferably on another worker than the one it failed on (a bad
  // node, a full local disk): for a while it waits for another worker to ask.
  for (auto it = ready_retries_.begin();
       it != ready_retries_.end() && fits(chunk, chunk_cost, cost_of(it->task), limit, capacity);) {
    if (!retry_elsewhere(it->failed_on, worker, capacity) && now_s < it->avoid_until_s) {
      ++it;
      continue;
    }
    chunk_cost += cost_of(it->task);
    start_attempt(it->task, worker, now_s, chunk);
    it = ready_retries_.erase(it);
  }
  // A relay's chunk holds thousands: each task's cost is looked up once, the chunk sized once.
  chunk.reserve(std::min(limit, chunk.size() + queue_.size()));
  while (!queue_.empty()) {
    const std::size_t task = queue_.front();
    const double task_cost = cost_of(task);
    if (!fits(chunk, chunk_cost, task_cost, limit, capacity)) break;
    queue_.pop_front();
    chunk_cost += task_cost;
    start_attempt(task, worker, now_s, chunk);
  }
  // A worker asks only when idle and starts a chunk's first task as soon as it gets it. (A
  // relay shares its chunk out: which tasks its workers compute, it says itself.)
  if (!chunk.empty() && capacity == 1) started(worker, chunk.front().task);
  return chunk;
}

/// The attempt of `task` that `worker` ran ended: false for a stale report (the task was
/// released, or handed elsewhere), which changes nothing.
bool Scheduler::end_attempt(int worker, std::size_t task, int rank, double wall_time_s) {
  if (task >= running_worker_.size() || running_worker_[task] != worker) return false;
  running_worker_[task] = kNotRunning;
  if (records_.status(task) == TaskStatus::Pending) {
    records_.set_attempts(task, records_.attempts(task) + 1);  // it ran unannounced
  }
  records_.set_wall_time_s(task, wall_time_s);
  const int ran_on = rank >= 0 ? rank : worker;
  records_.set_worker(task, ran_on, host_id_of(ran_on));
  return true;
}

/// The attempt that ended succeeded (its metrics already set, or kept elsewhere).
void Scheduler::complete(std::size_t task, double now_s) {
  if (const auto bad = health_.succeeded(task, records_.worker_rank(task))) exclude_host(*bad);
  const double cost = cost_of(task);  // looked up once: rank 0 does this per result
  completed_time_s_ += records_.wall_time_s(task);
  completed_cost_ += cost;
  move_status(task, TaskStatus::Completed);
  task_ended(task, now_s, cost);
}

bool Scheduler::record_kept(int worker, const KeptResult& result, double now_s) {
  if (!end_attempt(worker, result.task, result.rank, result.wall_time_s)) return false;
  records_.set_metrics_elsewhere(result.task);
  complete(result.task, now_s);
  return true;
}

bool Scheduler::record(int worker, const Outcome& outcome, double now_s) {
  const std::size_t task = outcome.task;
  if (!end_attempt(worker, task, outcome.rank, outcome.wall_time_s)) return false;
  const int ran_on = records_.worker_rank(task);
  if (outcome.succeeded) {
    records_.set_metrics(task, outcome.metrics);
    complete(task, now_s);
    return true;
  }
  // Across nodes, each failure names its node: how a user finds a bad one.
  const std::string& host = records_.host(task);
  append_failure(task, health_.several_hosts() && !host.empty() ? outcome.error + " [" + host + "]"
                                                                : outcome.error);
  if (health_.excluded_rank(ran_on)) {
    // Failed on a node already taken out (it was running there): not the task's fault.
    records_.set_attempts(task, records_.attempts(task) - 1);
    move_status(task, TaskStatus::Pending);
    queue_.push_front(task);
    return true;
  }
  health_.failed(task, ran_on);
  if (retries_used(task) <= options_.max_retries) {
    // The backoff grows with the retries of this run (`retry` starts a fresh budget).
    const double backoff =
        std::min(options_.retry_backoff_max_s,
                 options_.retry_backoff_s * std::pow(2.0, retries_used(task) - 1));
    move_status(task, TaskStatus::Pending);
    retries_.push_back(DelayedRetry{task, worker, now_s + backoff});
    return true;
  }
  move_status(task, TaskStatus::Failed);
  task_ended(task, now_s);
  return true;
}

bool Scheduler::fill_metrics(std::size_t task, const kernels::MetricValues& metrics) {
  if (task >= records_.size() || !records_.metrics_elsewhere(task) ||
      records_.status(task) != TaskStatus::Completed) {
    return false;
  }
  records_.set_metrics(task, metrics);
  return true;
}

std::size_t Scheduler::kept_elsewhere() const {
  std::size_t kept = 0;
  for (std::size_t task = 0; task < records_.size(); ++task)
    kept += records_.metrics_elsewhere(task) ? 1U : 0U;
  return kept;
}

std::size_t Scheduler::reopen_unfilled() {
  std::size_t reopened = 0;
  for (std::size_t task = 0; task < records_.size(); ++task) {
    if (!records_.metrics_elsewhere(task)) continue;
    records_.set_metrics(task, kernels::MetricValues());  // clears the mark
    if (records_.status(task) != TaskStatus::Completed) continue;
    const double wall_time_s = records_.wall_time_s(task);
    completed_time_s_ -= wall_time_s;
    completed_cost_ -= cost_of(task);
    if (std::isfinite(wall_time_s)) {  // what task_ended counted
      auto& work = counts_[study_of_task_[task]].work;
      work.timed_cost -= cost_of(task);
      work.timed_wall_s -= wall_time_s;
    }
    reopen(task);
    ++reopened;
  }
  return reopened;
}

void Scheduler::task_ended(std::size_t task, double now_s) {
  task_ended(task, now_s, cost_of(task));
}

void Scheduler::task_ended(std::size_t task, double now_s, double cost) {
  --unfinished_;
  StudyCounts& counts = counts_[study_of_task_[task]];
  ++counts.ended_this_run;
  counts.work.unfinished_cost -= cost;
  --counts.work.unfinished;
  const double wall_time_s = records_.wall_time_s(task);
  if (records_.status(task) == TaskStatus::Completed && std::isfinite(wall_time_s)) {
    counts.work.timed_cost += cost;
    counts.work.timed_wall_s += wall_time_s;
  }
  if (counts.all_ended()) counts.ended_s = now_s;
}

void Scheduler::release_worker(int worker) {
  if (static_cast<std::size_t>(worker) >= running_on_.size()) return;
  auto& running = running_on_[static_cast<std::size_t>(worker)];
  // Front of the queue, in their original order: they were next anyway.
  for (auto it = running.rbegin(); it != running.rend(); ++it) {
    if (running_worker_[*it] != worker) continue;  // it finished
    running_worker_[*it] = kNotRunning;
    if (records_.status(*it) == TaskStatus::Running) {
      // An attempt cut short by a stop does not count.
      records_.set_attempts(*it, records_.attempts(*it) - 1);
      move_status(*it, TaskStatus::Pending);
    }
    queue_.push_front(*it);
  }
  running.clear();
}

std::optional<double> Scheduler::next_retry_time() const {
  if (!ready_retries_.empty()) {
    // A retry waiting for another worker becomes anyone's at avoid_until_s.
    double earliest = ready_retries_.front().avoid_until_s;
    for (const auto& retry : ready_retries_)
      earliest = std::min(earliest, retry.avoid_until_s);
    for (const auto& retry : retries_)
      earliest = std::min(earliest, retry.ready_at_s);
    return earliest;
  }
  if (retries_.empty()) return std::nullopt;
  double earliest = retries_.front().ready_at_s;
  for (const auto& retry : retries_)
    earliest = std::min(earliest, retry.ready_at_s);
  return earliest;
}

void Scheduler::mark_changed(std::size_t task) {
  if (changed_flags_.empty()) changed_flags_.assign(records_.size(), false);
  if (changed_flags_[task]) return;
  changed_flags_[task] = true;
  changed_.push_back(task);
}

std::vector<std::size_t> Scheduler::take_changed_tasks() {
  for (const std::size_t task : changed_)
    changed_flags_[task] = false;
  return std::exchange(changed_, {});
}

}  // namespace fracstudy::sched
