#include "fracstudy/io/result_writer.hpp"

#include <sys/resource.h>

#include <iostream>

#include "fracstudy/io/journal.hpp"
#include "fracstudy/io/relay_journal.hpp"
#include "result_layout.hpp"

namespace fracstudy::io {
namespace {

/// CPU time this process used so far: the coordinator's overhead.
double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec);
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

ResultWriter::ResultWriter(std::string path, const study::StudyFile& file,
                           const study::TaskList& tasks, RunStart start)
    : path_(std::move(path)),
      file_(file),
      tasks_(tasks),
      start_(std::move(start)),
      runs_(start_.earlier_runs),
      generation_(start_.earlier_generation) {
  runs_.resize(file_.studies.size());
  const std::string now = utc_now_iso8601();
  for (auto& run : runs_) {
    if (run.created_at.empty()) run.created_at = now;
  }
  if (start_.continues_file) clusters_ = read_clusters(path_, file_);
  for (const auto& spec : file_.studies) {
    auto& costs = point_costs_.emplace_back();
    costs.reserve(spec.points.size());
    for (const auto& point : spec.points)
      costs.push_back(kernels::estimated_cost(spec.algorithm, point));
  }
}

void ResultWriter::start_clock() {
  clock_start_ = std::chrono::system_clock::now();
}

void ResultWriter::keep_cluster(std::size_t task, study::KeptCluster cluster) {
  clusters_[task] = std::move(cluster);
  unsaved_clusters_ = true;
}

void ResultWriter::update_study(std::size_t s, const study::TaskCounts& counts,
                                std::optional<double> started_s, std::optional<double> ended_s) {
  StudyRun& run = runs_.at(s);
  if (run.started_at.empty() && started_s) run.started_at = at(*started_s);
  if (!counts.all_ended()) {
    run.completed_at.clear();         // a retry or resume reopened it
    run.status = unfinished_status_;  // RUNNING from the moment the run created the file
    return;
  }
  run.status = counts.status();
  if (run.completed_at.empty()) run.completed_at = ended_s ? at(*ended_s) : utc_now_iso8601();
  if (run.started_at.empty()) run.started_at = run.completed_at;
}

void ResultWriter::checkpoint(study::RecordsView records, std::span<const std::size_t> changed,
                              bool final, std::span<const study::ProgressTally> now) {
  try {
    if (final || whole_write_due()) {
      count_changed(changed, records);  // the points' statistics stay current
      write_whole(records, final);
    } else {
      append_journal_blocks(changed, records, now);
    }
  } catch (const std::exception& error) {
    // The previous checkpoint stays valid (files are replaced atomically, journal records
    // carry checksums); the next checkpoint writes everything again.
    force_full_write_ = true;
    if (final) final_error_ = error.what();
    std::cerr << "fracstudy: warning: checkpoint failed: " << error.what() << "\n";
  }
}

void ResultWriter::write(study::RecordsView records, bool final) {
  point_statistics_.clear();  // the records changed in ways not counted: read them again
  write_whole(records, final);
}

void ResultWriter::write_whole(study::RecordsView records, bool final) {
  const auto start = std::chrono::steady_clock::now();
  ResultSnapshot snapshot{&file_, &tasks_, records, runs_, start_.ranks};
  snapshot.elapsed_s =
      std::chrono::duration<double>(std::chrono::system_clock::now() - clock_start_).count();
  snapshot.coordinator_cpu_s = process_cpu_seconds();
  snapshot.coordinator_messages = coordinator_messages;
  snapshot.relay_kept_results = relay_kept_results;
  snapshot.relay_ranks = start_.relay_ranks;
  snapshot.layout = &start_.layout;
  snapshot.generation = ++generation_;
  snapshot.clusters = &clusters_;
  // A new file owes nothing to relay journals found beside it (another run's, another
  // study's): they go before it exists. A continued file's earlier relay journals are in it
  // once written (the run read them with it), as are this run's at its end, unless some
  // were not found (kept for --resume); in between, the relays append to theirs. Removed
  // before the new generation's journal starts, so no reader applies them to a file they
  // do not belong to.
  const bool first = !wrote_whole_;
  if (first && !start_.continues_file) remove_relay_journals(path_);
  write_result_file(path_, snapshot);
  unsaved_clusters_ = false;
  if ((first && start_.continues_file) || (final && !keep_relay_journals_)) {
    remove_relay_journals(path_);
  }
  wrote_whole_ = true;
  if (final) {
    remove_journal(path_);
  } else {
    start_journal(path_, generation_);
  }
  count_written(records);
  last_full_write_end_ = std::chrono::steady_clock::now();
  last_full_write_s_ = std::chrono::duration<double>(last_full_write_end_ - start).count();
  force_full_write_ = false;
}

double ResultWriter::cost_of(std::size_t task) const {
  const auto [study, point] = tasks_.study_point(task);
  return point_costs_.at(study).at(point);
}

void ResultWriter::count_written(study::RecordsView records) {
  written_ = JournalEnd{};
  written_.records_of_study.assign(file_.studies.size(), 0);
  std::size_t first = 0;
  for (const auto& spec : file_.studies) {
    const auto count = static_cast<std::size_t>(spec.task_count());
    written_.tallies.push_back(study::tally_progress(spec, records.subview(first, count)));
    first += count;
  }
  written_status_.resize(records.size());
  written_failure_.clear();
  journaled_points_.clear();
  journaled_points_known_ = true;
  std::size_t task = 0;
  records.for_each(
      [&](const study::TaskRecord& record) {
        written_status_[task] = static_cast<std::uint8_t>(record.status);
        if (record.status == study::TaskStatus::Failed) {
          written_failure_[task] = study::last_reason(record.error);
        }
        ++task;
      },
      study::RecordsView::Parts::WithoutMetrics);
}

void ResultWriter::track_point(std::size_t task, study::TaskList::StudyPoint of,
                               const study::CountedState& before, study::RecordsView records) {
  // An end carries at most kMostPoints points: a study of a few points with many
  // repetitions, whose rows a reader must not read; beyond, a reader reads the changed
  // points' rows, few for each point. Points not changed since the last whole write are
  // forgotten when more than kMostKept are kept (reading one again costs its repetitions).
  constexpr std::size_t kMostPoints = 256;
  constexpr std::size_t kMostKept = 1024;
  const PointKey key{of.study, of.point};
  if (records.metrics_elsewhere(task)) {  // a relay keeps them: the point is not known here
    if (!point_statistics_.empty()) point_statistics_.erase(key);
    journaled_points_known_ = false;
    return;
  }
  auto point = point_statistics_.find(key);
  if (point == point_statistics_.end()) {
    if (point_statistics_.size() >= kMostKept) {
      std::erase_if(point_statistics_,
                    [this](const auto& kept) { return !journaled_points_.contains(kept.first); });
      if (point_statistics_.size() >= kMostKept) point_statistics_.clear();
    }
    // The point as written: its tasks' records as they were counted, in task order.
    study::PointAccumulator accumulator(of.point);
    const auto repetitions = static_cast<std::size_t>(file_.studies[of.study].repetitions);
    const std::size_t first = tasks_.first_of_study(of.study) + of.point * repetitions;
    study::TaskRecord failed;
    failed.status = study::TaskStatus::Failed;
    for (std::size_t t = first; t < first + repetitions; ++t) {
      if (records.metrics_elsewhere(t)) {  // a relay keeps its metrics: not known here
        journaled_points_known_ = false;
        return;
      }
      const auto status = static_cast<study::TaskStatus>(written_status_[t]);
      // A completed task's record never changes; a failed one counts as failed.
      if (status == study::TaskStatus::Completed) accumulator.add(records[t]);
      if (status == study::TaskStatus::Failed) accumulator.add(failed);
    }
    point = point_statistics_.emplace(key, accumulator).first;
  }
  if (!point->second.replace(before, records[task])) {
    point_statistics_.erase(point);  // not known any more: read again from the rows
    journaled_points_known_ = false;
    return;
  }
  journaled_points_.insert(key);
  if (journaled_points_.size() > kMostPoints) journaled_points_known_ = false;
}

void ResultWriter::count_changed(std::span<const std::size_t> tasks, study::RecordsView records,
                                 std::vector<std::optional<study::CountedState>>* replaced,
                                 bool kept_in_now) {
  // A tally reads the error of a FAILED task only; the others' are not looked up.
  const std::string no_error;
  auto error_of = [&](study::TaskStatus status, std::size_t task) -> const std::string& {
    return status == study::TaskStatus::Failed ? records.error(task) : no_error;
  };
  for (const std::size_t task : tasks) {
    if (kept_in_now && count_kept(task, records)) continue;
    const auto status = records.status(task);  // the tallies count no metric
    study::CountedState before{static_cast<study::TaskStatus>(written_status_.at(task)), {}};
    if (before.status == study::TaskStatus::Failed) {  // only those have a reason kept
      if (const auto failed = written_failure_.find(task); failed != written_failure_.end()) {
        before.failure_reason = std::move(failed->second);
        written_failure_.erase(failed);
      }
    }
    const auto of = tasks_.study_point(task);
    track_point(task, of, before, records);
    const auto [s, point] = of;
    if (!written_.tallies.empty() &&
        !written_.tallies[s].replace(point_costs_[s][point], before, status,
                                     records.wall_time_s(task), error_of(status, task))) {
      written_.tallies.clear();  // not known until the next whole write
    }
    ++written_.records_of_study[s];
    ++written_.records;
    written_status_[task] = static_cast<std::uint8_t>(status);
    if (status == study::TaskStatus::Failed) {
      written_failure_[task] = study::last_reason(records.error(task));
    }
    // A task whose metrics its relay's journal keeps is counted, not written (its record
    // is there, io/relay_journal.hpp): what it replaces is not needed.
    if (replaced && !records.metrics_elsewhere(task)) replaced->emplace_back(std::move(before));
  }
}

/// A result whose metrics its relay keeps, from a task written unfinished: written as
/// COMPLETED, its tally left to the checkpoint's `now` (false, counting nothing, for any
/// other task: counted one by one).
bool ResultWriter::count_kept(std::size_t task, study::RecordsView records) {
  const auto before = static_cast<study::TaskStatus>(written_status_[task]);
  if (!records.metrics_elsewhere(task) ||
      (before != study::TaskStatus::Pending && before != study::TaskStatus::Running)) {
    return false;
  }
  // Its point's statistics are not known here: every point's are read again when needed.
  point_statistics_.clear();
  journaled_points_known_ = false;
  const std::size_t s = tasks_.study_of(task);
  ++written_.records_of_study[s];
  ++written_.records;
  written_status_[task] = static_cast<std::uint8_t>(study::TaskStatus::Completed);
  return true;
}

void ResultWriter::append_journal_blocks(std::span<const std::size_t> changed,
                                         study::RecordsView records,
                                         std::span<const study::ProgressTally> now) {
  // The studies' tallies as they stand, for the last end, with the writer's reasons of
  // failure (counted one by one: failed tasks are few).
  const bool kept_in_now = now.size() == file_.studies.size();
  // A block's end lets a reader skip its records; a kill cuts at most one block short, so
  // a reader of progress reads at most one block's records. Each block is written as soon
  // as it is made: a checkpoint of millions of records holds one block at a time.
  constexpr std::size_t kBlockRecords = 16384;
  JournalAppender journal(path_);
  for (std::size_t first = 0; first < changed.size(); first += kBlockRecords) {
    JournalBlock block;
    const auto tasks = changed.subspan(first, std::min(kBlockRecords, changed.size() - first));
    count_changed(tasks, records, &block.before, kept_in_now);
    for (const std::size_t task : tasks) {  // in the order count_changed kept their before
      if (!records.metrics_elsewhere(task)) block.tasks.push_back(task);
    }
    // An end before the last leaves out the kept results counted by `now` only: a reader
    // of a journal a kill cut there shows fewer of them (the relays' journals hold them).
    if (kept_in_now && first + kBlockRecords >= changed.size() && !written_.tallies.empty()) {
      for (std::size_t s = 0; s < now.size(); ++s) {
        written_.tallies[s].counts = now[s].counts;
        written_.tallies[s].work = now[s].work;
      }
    }
    block.end = written_;
    if (journaled_points_known_) {
      block.end.points.emplace();
      for (const auto& key : journaled_points_)
        block.end.points->push_back({key.first, point_statistics_.at(key)});
    }
    journal.append(block, records);
  }
  journaled_rows_ += journal.finish();
}

std::vector<StudyData> ResultWriter::studies(study::RecordsView records) const {
  std::vector<StudyData> studies;
  std::size_t first = 0;
  for (std::size_t s = 0; s < file_.studies.size(); ++s) {
    const auto& spec = file_.studies[s];
    const auto count = static_cast<std::size_t>(spec.task_count());
    const auto own = records.subview(first, count);
    const auto counts = study::count_tasks(own);
    StudyData study;
    study.name = spec.name;
    study.algorithm = kernels::name_of(spec.algorithm);
    study.status = runs_[s].status;
    study.total = counts.total;
    study.completed = counts.completed;
    study.failed = counts.failed;
    study.created_at = runs_[s].created_at;
    study.started_at = runs_[s].started_at;
    study.completed_at = runs_[s].completed_at;
    study.summary = detail::summary_table(spec, own);
    studies.push_back(std::move(study));
    first += count;
  }
  return studies;
}

bool ResultWriter::whole_write_due() const {
  return force_full_write_ || unsaved_clusters_ ||
         last_full_write_s_ <= start_.whole_write_share * seconds_since(last_full_write_end_);
}

std::string ResultWriter::at(double seconds) const {
  return utc_iso8601(clock_start_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                        std::chrono::duration<double>(seconds)));
}

}  // namespace fracstudy::io
