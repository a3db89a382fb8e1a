// Reading a result file back, with its checkpoint journal applied, without ever holding a
// whole tasks table: the task rows are read a slab at a time.
#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>

#include "fracstudy/io/child_process.hpp"
#include "fracstudy/io/errors.hpp"
#include "fracstudy/io/journal.hpp"
#include "fracstudy/io/relay_journal.hpp"
#include "fracstudy/io/result_file.hpp"
#include "fracstudy/kernels/models.hpp"
#include "fracstudy/study/errors.hpp"
#include "fracstudy/study/parser.hpp"
#include "fracstudy/study/progress.hpp"
#include "fracstudy/study/statistics.hpp"
#include "fracstudy/study/tasks.hpp"
#include "hdf5_handle.hpp"
#include "hdf5_table.hpp"
#include "result_layout.hpp"

namespace fracstudy::io {
namespace {

using detail::check;

/// Rows read at a time: a few megabytes whatever the file holds.
constexpr std::size_t kSlabRows = 65536;

/// The columns a task record is read from (the others name the task): all its fields, or
/// only what progress is computed from.
std::vector<std::string> record_columns(RecordFields fields) {
  if (fields == RecordFields::Progress) return {"status", "wall_time_s", "error"};
  std::vector<std::string> columns = {"status",      "attempts", "worker_rank",  "host",
                                      "wall_time_s", "error",    "interruptions"};
  for (const auto& metric : kernels::kMetrics)
    columns.emplace_back(metric.name);
  return columns;
}

/// Where each field of a record is in a slab's columns.
struct RecordColumns {
  std::size_t status, wall, error;
  std::optional<std::size_t> attempts, worker;     // not read for progress alone
  std::optional<std::size_t> interruptions, host;  // older files may lack these
  std::array<std::optional<std::size_t>, kernels::kMetricCount> metrics;

  RecordColumns(const Table& slab, const std::string& study, RecordFields fields) {
    auto column = [&](const char* name) {
      const auto index = slab.find(name);
      if (!index) throw ResultFileError("study " + study + ": tasks table has no " + name);
      return *index;
    };
    status = column("status");
    wall = column("wall_time_s");
    error = column("error");
    if (fields == RecordFields::Progress) return;
    attempts = column("attempts");
    worker = column("worker_rank");
    interruptions = slab.find("interruptions");
    host = slab.find("host");
    // A file written before a metric existed has no column for it: NaN, as for any task
    // without a value.
    for (std::size_t m = 0; m < kernels::kMetricCount; ++m) {
      metrics[m] = slab.find(std::string(kernels::kMetrics[m].name));
    }
  }

  study::TaskRecord record(const std::vector<Cell>& row, const std::string& study) const {
    study::TaskRecord record;
    const auto parsed = study::task_status_from_name(Table::text(row[status]));
    if (!parsed) {
      throw ResultFileError("study " + study + ": unknown task status '" +
                            Table::text(row[status]).substr(0, 40) + "'");
    }
    record.status = *parsed;
    const auto integer = [&row](std::size_t column) {
      return static_cast<int>(std::clamp(Table::number(row[column]), -1e9, 1e9));
    };
    if (attempts) record.attempts = integer(*attempts);
    if (worker) record.worker_rank = integer(*worker);
    record.wall_time_s = Table::number(row[wall]);
    record.error = Table::text(row[error]);
    if (host) record.host = Table::text(row[*host]);
    for (std::size_t m = 0; m < kernels::kMetricCount; ++m) {
      if (metrics[m]) record.metrics[m] = Table::number(row[*metrics[m]]);
    }
    record.interruptions = interruptions ? integer(*interruptions) : 0;
    return record;
  }
};

/// Writes one task's record into its row of a tasks table.
void set_row(const std::vector<Column>& columns, std::vector<Cell>& row,
             const study::TaskRecord& record) {
  auto set = [&](std::string_view name, Cell value) {
    for (std::size_t c = 0; c < columns.size(); ++c) {
      if (columns[c].name == name) row[c] = std::move(value);
    }
  };
  set("status", std::string(study::name_of(record.status)));
  set("attempts", static_cast<std::int64_t>(record.attempts));
  set("worker_rank", static_cast<std::int64_t>(record.worker_rank));
  set("host", record.host);
  set("wall_time_s", record.wall_time_s);
  set("error", record.error);
  for (std::size_t m = 0; m < kernels::kMetricCount; ++m) {
    set(kernels::kMetrics[m].name, record.metrics[m]);
  }
  set("interruptions", static_cast<std::int64_t>(record.interruptions));
}

/// The name of the study at creation-order index `i` of /studies.
std::string study_name_at(hid_t studies, hsize_t i) {
  const ssize_t length =
      H5Lget_name_by_idx(studies, ".", H5_INDEX_CRT_ORDER, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
  if (length < 0) throw detail::Hdf5Error("cannot list the studies");
  std::string name(static_cast<std::size_t>(length), '\0');
  H5Lget_name_by_idx(studies, ".", H5_INDEX_CRT_ORDER, H5_ITER_INC, i, name.data(),
                     static_cast<std::size_t>(length) + 1, H5P_DEFAULT);
  return name;
}

StudyData read_study_attributes(hid_t group, const std::string& name) {
  StudyData study;
  study.name = name;
  study.algorithm = detail::read_string_attribute(group, "algorithm").value_or("");
  const auto status = detail::read_string_attribute(group, "status").value_or("");
  const auto parsed = study::study_status_from_name(status);
  if (!parsed) throw detail::Hdf5Error("study " + name + " has an unknown status '" + status + "'");
  study.status = *parsed;
  study.total = detail::read_integer_attribute(group, "total_simulations").value_or(0);
  study.completed = detail::read_integer_attribute(group, "completed_simulations").value_or(0);
  study.failed = detail::read_integer_attribute(group, "failed_simulations").value_or(0);
  study.created_at = detail::read_string_attribute(group, "created_at").value_or("");
  study.started_at = detail::read_string_attribute(group, "started_at").value_or("");
  study.completed_at = detail::read_string_attribute(group, "completed_at").value_or("");
  study.summary = detail::read_table(group, "summary");
  study.progress = detail::read_progress(group, study.total);
  return study;
}

/// Parses the study file stored in the file, once, and checks that its studies are the
/// file's (a reader pairs them by position).
void take_study_file(ResultData& data) {
  try {
    data.study_file = study::parse_study_text(data.study_yaml, data.study_path);
  } catch (const study::InputError& error) {
    throw detail::Hdf5Error(std::string("its study_yaml is not a valid study file: ") +
                            error.what());
  }
  const auto& specs = data.study_file.studies;
  bool same = specs.size() == data.studies.size();
  for (std::size_t s = 0; same && s < specs.size(); ++s) {
    same = specs[s].name == data.studies[s].name && specs[s].task_count() == data.studies[s].total;
  }
  if (!same) throw detail::Hdf5Error("its studies are not those of its study_yaml");
}

/// Opens a result file and reads its attributes and its studies' attributes and summaries.
detail::File open_and_read_header(const std::string& path, ResultData& data) {
  detail::File file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "H5Fopen");
  const hid_t root = file.get();
  if (detail::read_string_attribute(root, "format") != std::string(kFormatName)) {
    throw ResultFileError(path + ": not a fracstudy result file (no format = \"" +
                          std::string(kFormatName) + "\" attribute)");
  }
  data.format_version = detail::read_integer_attribute(root, "format_version").value_or(0);
  if (data.format_version < kOldestFormatVersion || data.format_version > kFormatVersion) {
    throw ResultFileError(path + ": result file format_version " +
                          std::to_string(data.format_version) + " is not supported (this is " +
                          std::to_string(kFormatVersion) + ")");
  }
  data.software_version = detail::read_string_attribute(root, "software_version").value_or("");
  data.study_yaml = detail::read_string_attribute(root, "study_yaml").value_or("");
  data.study_path = detail::read_string_attribute(root, "study_file").value_or("");
  data.ranks = detail::read_integer_attribute(root, "ranks").value_or(0);
  data.elapsed_s = detail::read_double_attribute(root, "elapsed_s").value_or(0);
  data.coordinator_cpu_s = detail::read_double_attribute(root, "coordinator_cpu_s").value_or(0);
  data.coordinator_messages =
      detail::read_integer_attribute(root, "coordinator_messages").value_or(0);
  data.relay_ranks = detail::read_integer_attribute(root, "relay_ranks").value_or(0);
  data.nodes = detail::read_integer_attribute(root, "nodes").value_or(0);
  data.stop_reason = detail::read_string_attribute(root, "stop_reason").value_or("");
  const auto excluded = detail::read_string_attribute(root, "excluded_hosts").value_or("");
  for (std::size_t at = 0; at < excluded.size();) {
    const auto comma = std::min(excluded.find(',', at), excluded.size());
    if (comma > at) data.excluded_hosts.push_back(excluded.substr(at, comma - at));
    at = comma + 1;
  }
  data.generation = static_cast<std::uint64_t>(
      detail::read_integer_attribute(root, "journal_generation").value_or(0));
  detail::Group studies(H5Gopen2(root, "studies", H5P_DEFAULT), "no /studies group");
  H5G_info_t info;
  check(H5Gget_info(studies.get(), &info), "H5Gget_info");
  // Studies are read in creation order, which is the study file's order.
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const std::string name = study_name_at(studies.get(), i);
    detail::Group group(H5Gopen2(studies.get(), name.c_str(), H5P_DEFAULT), "H5Gopen2");
    data.studies.push_back(read_study_attributes(group.get(), name));
  }
  take_study_file(data);
  return file;
}

}  // namespace

/// What a reader holds: the open file, its header, and the journal's newer records.
struct ResultReader::Impl {
  std::string path;
  detail::File file;
  ResultData data;
  /// The journal as it was when the file was read (later appends are not this file's).
  std::unique_ptr<OpenJournal> journal;

  /// Study `s`'s journaled records by task_id (read from the journal on first need).
  const std::map<std::size_t, study::TaskRecord>& journaled(std::size_t s) const;
  /// Reads the journal's records into journaled_ (once), then the relays' completions.
  void read_journaled() const;
  /// Completes in journaled_ the tasks the relays' journals hold completed that the file
  /// and its journal show unfinished (io/relay_journal.hpp).
  void apply_relay_journals(const std::vector<std::size_t>& first_task) const;
  /// Takes each study's progress from the journal's last end and the records after it,
  /// without reading the others; false when the journal has no end that fits the file.
  bool apply_journal_progress(const JournalProgress& progress);
  /// Per study, its points' running statistics by point.
  using PointsOfStudies = std::vector<std::map<std::size_t, study::PointAccumulator>>;
  /// Adds the records after the journal's last end to `end` and to `points` (reset when a
  /// point is not among them); false when one cannot be counted.
  bool count_records_after_end(const std::vector<RecordAfterEnd>& after_end, JournalEnd& end,
                               std::optional<PointsOfStudies>& points) const;
  /// The global index of each study's first task, and one past the last.
  std::vector<std::size_t> first_task_of_studies() const;

  /// Runs `read`, turning HDF5's failures into a ResultFileError naming the file, and
  /// naming the file in a ResultFileError that does not yet (a bad value in a row).
  template <typename Read>
  void guarded(Read&& read) const {
    try {
      read();
    } catch (const detail::Hdf5Error& error) {
      throw ResultFileError(path + ": corrupt or incomplete result file (" + error.what() + ")");
    } catch (const ResultFileError& error) {
      if (std::string_view(error.what()).starts_with(path + ": ")) throw;
      throw ResultFileError(path + ": " + error.what());
    }
  }

  /// Visits the records of rows [begin, end) of study `s`'s tasks table, with the
  /// journal's newer records in their places when `with_journal`.
  void visit_records(std::size_t s, RecordFields fields, detail::RowRange range, bool with_journal,
                     const RecordVisitor& visit) const;
  /// Applies study `s`'s journaled records to its tally, reading only their own rows (the
  /// progress columns); false when it cannot (no tally, a short table). Its summary is
  /// then stale until update_summary.
  bool apply_journal_to_tally(std::size_t s);
  /// Brings study `s`'s summary up to date with the journal: the points the journal
  /// touched, from their rows.
  void update_summary(std::size_t s);
  /// The counts, status and summary of study `s` from every row, the journal applied.
  void apply_journal_to_all(std::size_t s);
  /// The summaries of the whole points among rows [begin, end) of study `s`, the journal
  /// applied; `also` sees each record on the way.
  std::vector<study::PointSummary> summarize_rows(std::size_t s, detail::RowRange range,
                                                  const RecordVisitor& also = {}) const;

  std::vector<char> stale_summary;  // per study: its journal is not in its summary yet
  mutable std::vector<std::map<std::size_t, study::TaskRecord>> journaled_;  // per study
  // Per study, the summaries of the points the journal changed, from its last end (nullopt:
  // not known; their rows are read).
  std::optional<PointsOfStudies> journaled_points;
  mutable bool journal_read_ = false;

  hid_t tasks_group(std::size_t s, detail::Group& group) const {
    group = detail::Group(
        H5Gopen2(file.get(), ("studies/" + data.studies.at(s).name).c_str(), H5P_DEFAULT),
        "H5Gopen2");
    return group.get();
  }
};

ResultReader::ResultReader(const std::string& path, const std::function<void()>& after_file)
    : impl_(std::make_unique<Impl>()) {
  detail::silence_hdf5_errors();
  impl_->path = path;
  std::error_code unreadable;  // a link loop, say: one line, as a run says it
  if (!std::filesystem::exists(path, unreadable)) {
    std::string why = unreadable ? unreadable.message() : "no such file";
    why[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(why[0])));
    throw ResultFileError(path + ": " + why);
  }
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    throw ResultFileError(path + ": not an HDF5 file (expected a fracstudy result file)");
  }
  // A run replaces the file, then starts the journal of the new file. A reader that read
  // the old file and then finds the new journal missed the new file: it reads again, so
  // what it shows never goes back (the new file holds all of the old one and its journal).
  constexpr int kRereads = 20;
  for (int reread = 0;; ++reread) {
    impl_->data = ResultData{};
    impl_->guarded([&] { impl_->file = open_and_read_header(path, impl_->data); });
    if (after_file) after_file();
    impl_->journal = std::make_unique<OpenJournal>(path);
    if (impl_->journal->generation() <= impl_->data.generation || reread == kRereads) break;
  }
  ResultData& data = impl_->data;
  impl_->stale_summary.assign(data.studies.size(), 0);
  if (impl_->journal->generation() != data.generation) {
    impl_->journal_read_ = true;  // another generation's journal: not this file's
    impl_->journaled_.resize(data.studies.size());
    return;
  }
  // The journal's end, when its last append wrote one, holds every study's progress: a
  // killed run of millions of tasks shows its progress without its records being read.
  const auto progress = impl_->journal->progress();
  if (progress && impl_->apply_journal_progress(*progress)) return;
  impl_->read_journaled();
  for (const auto& records : impl_->journaled_)
    data.journal_records += records.size();
  // The counts and status of a study the journal changed (its summary when asked for).
  for (std::size_t s = 0; s < data.studies.size(); ++s) {
    if (impl_->journaled_[s].empty()) continue;
    if (!impl_->apply_journal_to_tally(s)) impl_->apply_journal_to_all(s);
  }
}

bool ResultReader::Impl::apply_journal_progress(const JournalProgress& progress) {
  JournalEnd end = progress.end;
  if (end.tallies.size() != data.studies.size() ||
      end.records_of_study.size() != data.studies.size()) {
    return false;
  }
  for (std::size_t s = 0; s < data.studies.size(); ++s) {
    const StudyData& study = data.studies[s];
    // Without a tally in the file, nor whole summaries, the rows are what is counted.
    if (!study.progress || study.summary.rows.size() != data.study(s).points.size() ||
        end.tallies[s].counts.total != study.total) {
      return false;
    }
  }
  // Kept only if the whole end is taken: the rows are read otherwise.
  std::optional<PointsOfStudies> points;
  if (end.points) {
    points.emplace(data.studies.size());
    for (const auto& [s, accumulator] : *end.points) {
      if (s >= data.studies.size()) return false;
      (*points)[s].emplace(accumulator.point(), accumulator);
    }
  }
  if (!count_records_after_end(progress.after, end, points)) return false;
  for (std::size_t s = 0; s < data.studies.size(); ++s) {
    if (!end.tallies[s].consistent()) return false;
  }
  for (std::size_t s = 0; s < data.studies.size(); ++s) {
    if (end.records_of_study[s] == 0) continue;
    StudyData& study = data.studies[s];
    const auto& tally = end.tallies[s];
    study.progress = tally;
    study.completed = tally.counts.completed;
    study.failed = tally.counts.failed;
    study.status = tally.counts.status();
    stale_summary[s] = 1;
  }
  data.journal_records = end.records;
  journaled_points = std::move(points);
  return true;
}

bool ResultReader::Impl::count_records_after_end(const std::vector<RecordAfterEnd>& after_end,
                                                 JournalEnd& end,
                                                 std::optional<PointsOfStudies>& points) const {
  // The records of a block cut short, from what each replaced.
  const auto first_task = first_task_of_studies();
  for (const auto& [update, before] : after_end) {
    const auto [task, record] = update;
    const auto after = std::upper_bound(first_task.begin(), first_task.end(), task);
    if (after == first_task.begin() || after == first_task.end()) continue;
    const auto s = static_cast<std::size_t>(after - first_task.begin() - 1);
    const auto& spec = data.study(s);
    const auto point = (task - first_task[s]) / static_cast<std::size_t>(spec.repetitions);
    if (!before || point >= spec.points.size() ||
        !end.tallies[s].replace(kernels::estimated_cost(spec.algorithm, spec.points[point]),
                                *before, record)) {
      return false;
    }
    ++end.records_of_study[s];
    ++end.records;
    if (points) {
      auto& own = (*points)[s];
      const auto accumulator = own.find(point);
      if (accumulator == own.end() || !accumulator->second.replace(*before, record)) {
        points.reset();  // a point first changed in the block cut short
      }
    }
  }
  return true;
}

std::vector<std::size_t> ResultReader::Impl::first_task_of_studies() const {
  std::vector<std::size_t> first_task{0};
  for (const auto& study : data.studies)
    first_task.push_back(first_task.back() + static_cast<std::size_t>(study.total));
  return first_task;
}

void ResultReader::Impl::read_journaled() const {
  if (journal_read_) return;
  journal_read_ = true;
  journaled_.assign(data.studies.size(), {});
  const auto first_task = first_task_of_studies();
  for (auto& [task, record] : journal->records()) {
    const auto after = std::upper_bound(first_task.begin(), first_task.end(), task);
    if (after == first_task.begin() || after == first_task.end()) continue;
    const auto s = static_cast<std::size_t>(after - first_task.begin() - 1);
    journaled_[s][task - first_task[s]] = std::move(record);
  }
  apply_relay_journals(first_task);
}

void ResultReader::Impl::apply_relay_journals(const std::vector<std::size_t>& first_task) const {
  // Per study, by task_id: completions of tasks the journal holds no record of; their rows
  // are read to complete them.
  std::vector<std::map<std::size_t, RelayedCompletion>> on_rows(data.studies.size());
  auto take = [&](const RelayedCompletion& completion) {
    const auto after = std::upper_bound(first_task.begin(), first_task.end(), completion.task);
    if (after == first_task.begin() || after == first_task.end()) return;
    const auto s = static_cast<std::size_t>(after - first_task.begin() - 1);
    const std::size_t i = completion.task - first_task[s];
    if (const auto journaled = journaled_[s].find(i); journaled != journaled_[s].end()) {
      apply_completion(completion, journaled->second);
    } else {
      on_rows[s].emplace(i, completion);  // a second of the same task: ignored
    }
  };
  for (const auto& relay_journal : relay_journal_paths(path))
    scan_relay_journal(relay_journal, 0, take);
  for (std::size_t s = 0; s < on_rows.size(); ++s) {
    constexpr std::size_t kJoinGap = 4096;  // rows close together are read in one range
    std::vector<detail::RowRange> ranges;
    for (const auto& entry : on_rows[s]) {
      if (!ranges.empty() && entry.first < ranges.back().end + kJoinGap) {
        ranges.back().end = entry.first + 1;
      } else {
        ranges.push_back({entry.first, entry.first + 1});
      }
    }
    std::vector<std::pair<std::size_t, study::TaskRecord>> completed;
    for (const auto& range : ranges) {
      visit_records(s, RecordFields::All, range, false,
                    [&](std::size_t i, const study::TaskRecord& in_file) {
                      const auto completion = on_rows[s].find(i);
                      if (completion == on_rows[s].end()) return;
                      study::TaskRecord record = in_file;
                      if (apply_completion(completion->second, record)) {
                        completed.emplace_back(i, std::move(record));
                      }
                    });
    }
    for (auto& [i, record] : completed)
      journaled_[s].emplace(i, std::move(record));
  }
}

const std::map<std::size_t, study::TaskRecord>& ResultReader::Impl::journaled(std::size_t s) const {
  read_journaled();
  return journaled_.at(s);
}

bool ResultReader::Impl::apply_journal_to_tally(std::size_t s) {
  StudyData& study = data.studies[s];
  const auto& spec = data.study(s);
  const auto& newer = journaled(s);
  if (!study.progress || study.summary.rows.size() != spec.points.size()) return false;
  const auto repetitions = static_cast<std::size_t>(spec.repetitions);
  // The journaled tasks' rows, as ranges; rows close together are read in one range.
  constexpr std::size_t kJoinGap = 4096;
  std::vector<detail::RowRange> ranges;
  for (const auto& entry : newer) {
    if (!ranges.empty() && entry.first < ranges.back().end + kJoinGap) {
      ranges.back().end = entry.first + 1;
    } else {
      ranges.push_back({entry.first, entry.first + 1});
    }
  }
  study::ProgressTally tally = *study.progress;
  std::size_t replaced = 0;  // journaled tasks whose row was read
  for (const auto& range : ranges) {
    visit_records(s, RecordFields::Progress, range, false,
                  [&](std::size_t i, const study::TaskRecord& in_file) {
                    const auto changed = newer.find(i);
                    if (changed == newer.end()) return;
                    const double cost =
                        kernels::estimated_cost(spec.algorithm, spec.points[i / repetitions]);
                    tally.remove(cost, in_file);
                    tally.add(cost, changed->second);
                    ++replaced;
                  });
  }
  if (replaced != newer.size()) return false;  // rows missing
  study.progress = tally;
  study.completed = tally.counts.completed;
  study.failed = tally.counts.failed;
  study.status = tally.counts.status();
  stale_summary[s] = 1;
  return true;
}

void ResultReader::Impl::update_summary(std::size_t s) {
  StudyData& study = data.studies[s];
  const auto& spec = data.study(s);
  if (journaled_points) {  // the journal's own summaries: no row to read
    std::vector<study::PointSummary> summaries;
    for (const auto& [point, accumulator] : (*journaled_points)[s]) {
      if (point >= study.summary.rows.size()) {  // not this file's points: count the rows
        apply_journal_to_all(s);
        stale_summary[s] = 0;
        return;
      }
      summaries.push_back(accumulator.summary());
    }
    const Table rows = detail::summary_table(spec, summaries);
    for (std::size_t k = 0; k < summaries.size(); ++k)
      study.summary.rows.at(summaries[k].point) = rows.rows[k];
    stale_summary[s] = 0;
    return;
  }
  const auto repetitions = static_cast<std::size_t>(spec.repetitions);
  // The points the journal touched, as runs of consecutive points.
  std::vector<std::pair<std::size_t, std::size_t>> runs;  // [first point, end point)
  for (const auto& entry : journaled(s)) {
    const std::size_t p = entry.first / repetitions;
    if (!runs.empty() && runs.back().second >= p) {
      runs.back().second = p + 1;
    } else {
      runs.emplace_back(p, p + 1);
    }
  }
  std::vector<study::PointSummary> summaries;
  for (const auto& [first, end] : runs) {
    const auto some = summarize_rows(s, {first * repetitions, end * repetitions});
    summaries.insert(summaries.end(), some.begin(), some.end());
  }
  const Table rows = detail::summary_table(spec, summaries);
  for (std::size_t k = 0; k < summaries.size(); ++k)
    study.summary.rows.at(summaries[k].point) = rows.rows[k];
  stale_summary[s] = 0;
}

void ResultReader::Impl::apply_journal_to_all(std::size_t s) {
  const auto& spec = data.study(s);
  study::TaskCounts counts;
  const auto summaries = summarize_rows(
      s, {}, [&](std::size_t, const study::TaskRecord& record) { counts.add(record.status); });
  StudyData& study = data.studies[s];
  study.completed = counts.completed;
  study.failed = counts.failed;
  study.status = counts.status();
  study.summary = detail::summary_table(spec, summaries);
  study.progress.reset();  // not kept in step with the journal: counted from the rows
}

ResultReader::~ResultReader() = default;

const ResultData& ResultReader::data() const {
  return impl_->data;
}

std::vector<study::PointSummary> ResultReader::Impl::summarize_rows(
    std::size_t s, detail::RowRange range, const RecordVisitor& also) const {
  const auto repetitions = static_cast<std::size_t>(data.study(s).repetitions);
  std::vector<study::PointSummary> summaries;
  study::PointAccumulator point;  // one point at a time
  visit_records(s, RecordFields::All, range, true,
                [&](std::size_t i, const study::TaskRecord& record) {
                  if (also) also(i, record);
                  if (i % repetitions == 0) point = study::PointAccumulator(i / repetitions);
                  point.add(record);
                  if ((i + 1) % repetitions == 0) summaries.push_back(point.summary());
                });
  return summaries;
}

void ResultReader::Impl::visit_records(std::size_t s, RecordFields fields, detail::RowRange range,
                                       bool with_journal, const RecordVisitor& visit) const {
  const auto& name = data.studies.at(s).name;
  const auto& newer = journaled(s);
  guarded([&] {
    detail::Group group;
    detail::read_table_slabs(
        tasks_group(s, group), "tasks", record_columns(fields), kSlabRows,
        [&](const Table& slab, std::size_t first) {
          const RecordColumns columns(slab, name, fields);
          for (std::size_t r = 0; r < slab.rows.size(); ++r) {
            const std::size_t i = first + r;
            const auto changed = with_journal ? newer.find(i) : newer.end();
            if (changed != newer.end()) {
              visit(i, changed->second);
            } else {
              visit(i, columns.record(slab.rows[r], name));
            }
          }
        },
        range);
  });
}

const Table& ResultReader::summary(std::size_t s) const {
  if (impl_->stale_summary.at(s)) impl_->guarded([&] { impl_->update_summary(s); });
  return impl_->data.studies[s].summary;
}

void ResultReader::for_each_record(std::size_t s, const RecordVisitor& visit,
                                   RecordFields fields) const {
  impl_->visit_records(s, fields, {}, true, visit);
}

study::ProgressTally ResultReader::progress(std::size_t s) const {
  const auto& spec = data().study(s);
  study::ProgressTally tally;
  if (data().studies.at(s).progress) {
    tally = *data().studies[s].progress;
  } else {
    const auto repetitions = static_cast<std::size_t>(spec.repetitions);
    for_each_record(
        s,
        [&](std::size_t i, const study::TaskRecord& record) {
          if (i / repetitions >= spec.points.size()) return;  // a row beyond the study's tasks
          tally.add(kernels::estimated_cost(spec.algorithm, spec.points[i / repetitions]), record);
        },
        RecordFields::Progress);
  }
  tally.work.workers = data().workers();
  return tally;
}

void ResultReader::for_each_row(std::size_t s, const RowVisitor& visit) const {
  const auto& journaled = impl_->journaled(s);
  impl_->guarded([&] {
    detail::Group group;
    detail::read_table_slabs(impl_->tasks_group(s, group), "tasks", {}, kSlabRows,
                             [&](const Table& slab, std::size_t first) {
                               std::vector<Cell> row;
                               for (std::size_t r = 0; r < slab.rows.size(); ++r) {
                                 const std::size_t i = first + r;
                                 const auto newer = journaled.find(i);
                                 if (newer == journaled.end()) {
                                   visit(i, slab.columns, slab.rows[r]);
                                   continue;
                                 }
                                 row = slab.rows[r];
                                 set_row(slab.columns, row, newer->second);
                                 visit(i, slab.columns, row);
                               }
                             });
  });
}

std::vector<Column> task_columns_of(const study::StudySpec& spec) {
  return detail::task_columns(spec);
}

std::vector<Column> ResultReader::task_columns(std::size_t s) const {
  std::vector<Column> columns;
  impl_->guarded([&] {
    detail::Group group;
    columns = detail::read_table_columns(impl_->tasks_group(s, group), "tasks");
  });
  return columns;
}

std::vector<study::TaskRecord> ResultReader::records(std::size_t s) const {
  std::vector<study::TaskRecord> records;
  records.reserve(static_cast<std::size_t>(std::max<std::int64_t>(0, data().studies.at(s).total)));
  for_each_record(
      s, [&records](std::size_t, const study::TaskRecord& record) { records.push_back(record); });
  return records;
}

int ResultData::workers() const {
  return static_cast<int>(std::max<std::int64_t>(1, ranks - 1 - relay_ranks));
}

namespace {

/// Collects the names of a group's members.
herr_t collect_name(hid_t, const char* name, const H5L_info_t*, void* names) {
  static_cast<std::vector<std::string>*>(names)->emplace_back(name);
  return 0;
}

}  // namespace

std::map<std::size_t, study::KeptCluster> read_clusters(const std::string& path,
                                                        const study::StudyFile& file) {
  detail::silence_hdf5_errors();
  std::map<std::size_t, study::KeptCluster> clusters;
  detail::File h5(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT),
                  "cannot open the result file");
  std::size_t first_task = 0;  // global index of the study's task 0
  for (const auto& spec : file.studies) {
    const std::string group_path = "studies/" + spec.name + "/clusters";
    const auto count = static_cast<std::size_t>(spec.task_count());
    if (H5Lexists(h5.get(), "studies", H5P_DEFAULT) > 0 &&
        H5Lexists(h5.get(), ("studies/" + spec.name).c_str(), H5P_DEFAULT) > 0 &&
        H5Lexists(h5.get(), group_path.c_str(), H5P_DEFAULT) > 0) {
      detail::Group group(H5Gopen2(h5.get(), group_path.c_str(), H5P_DEFAULT), "H5Gopen2");
      std::vector<std::string> names;
      check(H5Literate(group.get(), H5_INDEX_NAME, H5_ITER_NATIVE, nullptr, collect_name, &names),
            "H5Literate");
      for (const auto& name : names) {
        const bool digits =
            !name.empty() && name.size() < 19 &&
            std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (!digits) continue;  // not a cluster of ours
        const std::size_t task_id = std::stoul(name);
        if (task_id >= count) continue;
        detail::Dataset data(H5Dopen2(group.get(), name.c_str(), H5P_DEFAULT), "H5Dopen2");
        detail::Dataspace space(H5Dget_space(data.get()), "H5Dget_space");
        const auto elements = H5Sget_simple_extent_npoints(space.get());
        std::vector<float> positions(static_cast<std::size_t>(std::max<hssize_t>(0, elements)));
        if (!positions.empty()) {
          check(H5Dread(data.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                        positions.data()),
                "H5Dread");
        }
        auto& kept = clusters[first_task + task_id];
        kept.positions = std::move(positions);
        kept.structure_factor =
            detail::read_float_array_attribute(data.get(), detail::kStructureFactorAttribute);
      }
    }
    first_task += count;
  }
  return clusters;
}

namespace {

std::string number_text(double value) {
  return Table::text(Cell{value});
}

/// Why row `row` of a study cannot be continued, as a ResultFileError.
[[noreturn]] void refuse_row(const std::string& path, const StudyData& study, std::size_t row,
                             const std::string& what) {
  throw ResultFileError(path + ": study " + study.name + ", row " + std::to_string(row) + ": " +
                        what + " (the file was edited or damaged; it cannot be continued)");
}

/// Checks that a row names task `i` of the study: task_id, repetition, seed, parameters.
void check_identity(const std::string& path, const StudyData& study, const study::StudySpec& spec,
                    std::uint64_t master_seed, std::size_t i, const std::vector<Column>& columns,
                    const std::vector<Cell>& row) {
  const auto repetitions = static_cast<std::size_t>(spec.repetitions);
  const auto& point = spec.points[i / repetitions];
  const auto repetition = static_cast<int>(i % repetitions);
  auto find = [&](std::string_view name) -> const Cell* {
    for (std::size_t c = 0; c < columns.size(); ++c) {
      if (columns[c].name == name) return &row[c];
    }
    refuse_row(path, study, i, "no " + std::string(name) + " column");
  };
  auto expect = [&](std::string_view column, double wanted) {
    const double got = Table::number(*find(column));
    if (got != wanted) {
      refuse_row(path, study, i,
                 std::string(column) + " is " + number_text(got) + ", the task in this row has " +
                     number_text(wanted));
    }
  };
  expect("task_id", static_cast<double>(i));
  expect("repetition", repetition);
  for (kernels::Parameter p : kernels::parameters_of(spec.algorithm)) {
    expect(kernels::name_of(p), kernels::get_parameter(point, p));
  }
  const std::uint64_t wanted = study::derive_seed(master_seed, spec, point, repetition);
  const auto* got = std::get_if<std::uint64_t>(find("seed"));
  if (!got || *got != wanted) {
    refuse_row(path, study, i, "seed is not the seed of the task in this row");
  }
}

/// Checks that a record's counts and metrics are possible.
void check_record(const std::string& path, const StudyData& study, std::size_t i,
                  const study::TaskRecord& record) {
  constexpr int kMostAttempts = 1'000'000;  // max_retries is at most 100 per run
  if (record.attempts < 0 || record.attempts > kMostAttempts) {
    refuse_row(path, study, i, "attempts is " + std::to_string(record.attempts));
  }
  if (record.interruptions < 0 || record.interruptions > kMostAttempts) {
    refuse_row(path, study, i, "interruptions is " + std::to_string(record.interruptions));
  }
  if (record.worker_rank < -1) {
    refuse_row(path, study, i, "worker_rank is " + std::to_string(record.worker_rank));
  }
  if (!std::isnan(record.wall_time_s) &&
      !(record.wall_time_s >= 0 && std::isfinite(record.wall_time_s))) {
    refuse_row(path, study, i, "wall_time_s is " + number_text(record.wall_time_s));
  }
  if (record.status != study::TaskStatus::Completed) return;
  if (const auto broken = kernels::check_completed(record.metrics)) {
    refuse_row(path, study, i, "a COMPLETED task whose " + *broken);
  }
}

}  // namespace

void ResultReader::for_each_checked_record(std::size_t s, const RecordVisitor& visit) const {
  const ResultData& data = impl_->data;
  const StudyData& study = data.studies.at(s);
  const study::StudySpec& spec = data.study(s);
  const std::string& path = impl_->path;
  const auto count = static_cast<std::size_t>(spec.task_count());
  std::size_t rows = 0;
  std::optional<RecordColumns> columns;
  for_each_row(s,
               [&](std::size_t i, const std::vector<Column>& names, const std::vector<Cell>& row) {
                 if (i >= count) refuse_row(path, study, i, "a row beyond the study's tasks");
                 if (!columns) columns.emplace(Table{names, {}}, study.name, RecordFields::All);
                 check_identity(path, study, spec, data.study_file.seed, i, names, row);
                 const auto record = columns->record(row, study.name);
                 check_record(path, study, i, record);
                 visit(i, record);
                 ++rows;
               });
  if (rows != count) {
    throw ResultFileError(path + ": study " + study.name + " has " + std::to_string(rows) +
                          " task rows; its study file makes " + std::to_string(count) +
                          " tasks (the file was edited or damaged; it cannot be continued)");
  }
}

namespace {

/// Refuses a FIFO, a socket or a device (or a link to one) as a result file: HDF5 would
/// wait on a FIFO forever (a folder, like any file that is not HDF5, gets the library's own
/// refusal). Looked at, not opened, as the run's own output path is (check_output_path).
void refuse_special_file(const std::string& path) {
  std::error_code error;
  const auto status = std::filesystem::status(path, error);  // missing: the reader says so
  if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status) &&
      !std::filesystem::is_directory(status)) {
    throw ResultFileError(path + ": is not a regular file (a device, pipe or socket)");
  }
}

}  // namespace

std::string read_in_child(const std::string& path, const std::function<std::string()>& read) {
  refuse_special_file(path);
  const auto size_of = [](const std::string& file) -> std::uint64_t {
    std::error_code error;
    const auto size = std::filesystem::file_size(file, error);
    return error ? 0 : size;
  };
  const std::uint64_t size = size_of(path);
  // A journal's record takes about 3 times its bytes on disk once read (a TaskRecord in a
  // map), twice that while the map is built: a killed run of ten million tasks leaves a
  // journal of hundreds of megabytes that a reader must be able to apply.
  const std::uint64_t journal_size = size_of(journal_path(path));
  const std::uint64_t budget = (std::uint64_t{1} << 30) + 4 * size + 8 * journal_size;
  // Reading takes about 1 s of CPU per 100 MB of file: ten times that, and 10 s more,
  // before a read is taken for an endless loop in a damaged heap.
  const double cpu_limit_s = 10 + static_cast<double>(size + journal_size) / 10e6;
  // A child that neither ends nor loops (blocked on a file system, or on a lock another
  // thread of this process held when it forked) is ended on the wall clock: ten times its
  // CPU allowance, which a loaded machine's reader stays far below.
  const double wall_limit_s = 60 + 10 * cpu_limit_s;
  try {
    return in_child_process(
        [&] {
          try {
            return read();
          } catch (const std::bad_alloc&) {  // a damaged length, most likely
            throw ResultFileError(path +
                                  ": corrupt result file (reading it needs more memory "
                                  "than a file of its size can hold)");
          }
        },
        budget, cpu_limit_s, wall_limit_s);
  } catch (const ChildStalled& stalled) {
    throw ResultFileError(path + ": reading it " + stalled.what() +
                          " (a damaged file, or a file system that stopped answering)");
  } catch (const ChildCrashed& crash) {
    if (crash.signal_number() == SIGXCPU || crash.signal_number() == SIGKILL) {
      throw ResultFileError(path + ": corrupt result file (reading it did not end within " +
                            std::to_string(static_cast<int>(cpu_limit_s)) + " s of CPU)");
    }
    throw ResultFileError(path + ": corrupt result file (reading it crashed the HDF5 library, " +
                          crash.what() + ")");
  }
}

void read_isolated(const std::string& path, const std::function<void()>& read) {
  read_in_child(path, [&] {
    read();
    std::cout.flush();  // the child leaves without running exit handlers
    return std::string();
  });
}

void check_readable(const std::string& path) {
  read_isolated(path, [&path] {
    const ResultReader reader(path);
    for (std::size_t s = 0; s < reader.data().studies.size(); ++s) {
      reader.for_each_row(s,
                          [](std::size_t, const std::vector<Column>&, const std::vector<Cell>&) {});
    }
    try {
      read_clusters(path, reader.data().study_file);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& error) {
      throw ResultFileError(
          path + ": corrupt or incomplete result file (its clusters: " + error.what() + ")");
    }
  });
}

}  // namespace fracstudy::io
