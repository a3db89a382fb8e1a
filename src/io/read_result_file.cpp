// Reading a result file back, with its checkpoint journal applied.
#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <optional>

#include "fracstudy/io/errors.hpp"
#include "fracstudy/io/journal.hpp"
#include "fracstudy/io/result_file.hpp"
#include "fracstudy/study/errors.hpp"
#include "fracstudy/study/parser.hpp"
#include "fracstudy/study/progress.hpp"
#include "fracstudy/study/tasks.hpp"
#include "hdf5_handle.hpp"
#include "hdf5_table.hpp"
#include "result_layout.hpp"

namespace fracstudy::io {
namespace {

using detail::check;
using detail::summary_table;

/// Writes one task's record into its row of a tasks table.
void set_row(Table& tasks, std::size_t row, const study::TaskRecord& record) {
  auto set = [&](const char* name, Cell value) {
    if (const auto column = tasks.find(name)) tasks.rows.at(row)[*column] = std::move(value);
  };
  set("status", std::string(study::name_of(record.status)));
  set("attempts", static_cast<std::int64_t>(record.attempts));
  set("worker_rank", static_cast<std::int64_t>(record.worker_rank));
  set("wall_time_s", record.wall_time_s);
  set("error", record.error);
  for (std::size_t m = 0; m < kernels::kMetricCount; ++m) {
    set(kernels::kMetrics[m].name.data(), record.metrics[m]);
  }
  set("interruptions", static_cast<std::int64_t>(record.interruptions));
}

/// Counts, status and summary of a study whose task rows changed.
void refresh_study(StudyData& study, const study::StudySpec& spec) {
  const auto records = records_of(study);
  const auto counts = study::count_tasks(records);
  study.completed = counts.completed;
  study.failed = counts.failed;
  study.status = counts.status();
  study.summary = summary_table(spec, records);
}

/// Applies the records the run journaled since the file's last full write.
void apply_journal(ResultData& data, const std::vector<RecordUpdate>& updates) {
  if (updates.empty()) return;
  std::vector<std::size_t> first_task{0};
  for (const auto& study : data.studies)
    first_task.push_back(first_task.back() + study.tasks.rows.size());
  std::vector<bool> touched(data.studies.size(), false);
  for (const auto& [task, record] : updates) {
    const auto after = std::upper_bound(first_task.begin(), first_task.end(), task);
    if (after == first_task.begin() || after == first_task.end()) continue;
    const auto s = static_cast<std::size_t>(after - first_task.begin() - 1);
    set_row(data.studies[s].tasks, task - first_task[s], record);
    touched[s] = true;
  }
  for (std::size_t s = 0; s < data.studies.size(); ++s) {
    if (touched[s]) refresh_study(data.studies[s], data.study(s));
  }
  data.journal_records = updates.size();
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

ResultData read_result(const std::string& path) {
  detail::silence_hdf5_errors();
  if (!std::filesystem::exists(path)) throw ResultFileError(path + ": no such file");
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    throw ResultFileError(path + ": not an HDF5 file (expected a fracstudy result file)");
  }
  try {
    detail::File file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "H5Fopen");
    const hid_t root = file.get();
    if (detail::read_string_attribute(root, "format") != std::string(kFormatName)) {
      throw ResultFileError(path + ": not a fracstudy result file (no format = \"" +
                            std::string(kFormatName) + "\" attribute)");
    }
    ResultData data;
    data.format_version = detail::read_integer_attribute(root, "format_version").value_or(0);
    if (data.format_version != kFormatVersion) {
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
    data.generation = static_cast<std::uint64_t>(
        detail::read_integer_attribute(root, "journal_generation").value_or(0));
    detail::Group studies(H5Gopen2(root, "studies", H5P_DEFAULT), "no /studies group");
    H5G_info_t info;
    check(H5Gget_info(studies.get(), &info), "H5Gget_info");
    // Studies are read in creation order, which is the study file's order.
    for (hsize_t i = 0; i < info.nlinks; ++i) {
      const ssize_t length = H5Lget_name_by_idx(studies.get(), ".", H5_INDEX_CRT_ORDER, H5_ITER_INC,
                                                i, nullptr, 0, H5P_DEFAULT);
      if (length < 0) throw detail::Hdf5Error("cannot list the studies");
      std::string name(static_cast<std::size_t>(length), '\0');
      H5Lget_name_by_idx(studies.get(), ".", H5_INDEX_CRT_ORDER, H5_ITER_INC, i, name.data(),
                         static_cast<std::size_t>(length) + 1, H5P_DEFAULT);
      detail::Group group(H5Gopen2(studies.get(), name.c_str(), H5P_DEFAULT), "H5Gopen2");
      StudyData study;
      study.name = name;
      study.algorithm = detail::read_string_attribute(group.get(), "algorithm").value_or("");
      const auto status = detail::read_string_attribute(group.get(), "status").value_or("");
      const auto parsed = study::study_status_from_name(status);
      if (!parsed)
        throw detail::Hdf5Error("study " + name + " has an unknown status '" + status + "'");
      study.status = *parsed;
      study.total = detail::read_integer_attribute(group.get(), "total_simulations").value_or(0);
      study.completed =
          detail::read_integer_attribute(group.get(), "completed_simulations").value_or(0);
      study.failed = detail::read_integer_attribute(group.get(), "failed_simulations").value_or(0);
      study.created_at = detail::read_string_attribute(group.get(), "created_at").value_or("");
      study.started_at = detail::read_string_attribute(group.get(), "started_at").value_or("");
      study.completed_at = detail::read_string_attribute(group.get(), "completed_at").value_or("");
      study.tasks = detail::read_table(group.get(), "tasks");
      study.summary = detail::read_table(group.get(), "summary");
      data.studies.push_back(std::move(study));
    }
    take_study_file(data);
    return data;
  } catch (const detail::Hdf5Error& error) {
    throw ResultFileError(path + ": corrupt or incomplete result file (" + error.what() + ")");
  }
}

/// Collects the names of a group's members.
herr_t collect_name(hid_t, const char* name, const H5L_info_t*, void* names) {
  static_cast<std::vector<std::string>*>(names)->emplace_back(name);
  return 0;
}

}  // namespace

int ResultData::workers() const {
  return static_cast<int>(std::max<std::int64_t>(1, ranks - 1 - relay_ranks));
}

ResultData read_result_file(const std::string& path, const std::function<void()>& after_file) {
  // A run replaces the file, then starts the journal of the new file. A reader that read
  // the old file and then finds the new journal missed the new file: it reads again, so
  // what it shows never goes back (the new file holds all of the old one and its journal).
  constexpr int kRereads = 20;
  for (int reread = 0;; ++reread) {
    ResultData data = read_result(path);
    if (after_file) after_file();
    Journal journal = read_journal(path);
    if (journal.generation > data.generation && reread < kRereads) continue;
    if (journal.generation == data.generation) apply_journal(data, journal.updates);
    return data;
  }
}

std::vector<study::TaskRecord> records_of(const StudyData& study) {
  const Table& table = study.tasks;
  auto column = [&table, &study](const char* name) {
    const auto index = table.find(name);
    if (!index) throw ResultFileError("study " + study.name + ": tasks table has no " + name);
    return *index;
  };
  const std::size_t status = column("status"), attempts = column("attempts"),
                    worker = column("worker_rank"), wall = column("wall_time_s"),
                    error = column("error");
  const auto interruptions = table.find("interruptions");
  // A file written before a metric existed has no column for it: NaN, as for any task
  // without a value.
  std::array<std::optional<std::size_t>, kernels::kMetricCount> metric_columns;
  for (std::size_t m = 0; m < kernels::kMetricCount; ++m) {
    metric_columns[m] = table.find(std::string(kernels::kMetrics[m].name));
  }
  std::vector<study::TaskRecord> records(table.rows.size());
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const auto& row = table.rows[r];
    study::TaskRecord& record = records[r];
    const auto parsed = study::task_status_from_name(Table::text(row[status]));
    if (!parsed) throw ResultFileError("study " + study.name + ": unknown task status");
    record.status = *parsed;
    record.attempts = static_cast<int>(Table::number(row[attempts]));
    record.worker_rank = static_cast<int>(Table::number(row[worker]));
    record.wall_time_s = Table::number(row[wall]);
    record.error = Table::text(row[error]);
    for (std::size_t m = 0; m < kernels::kMetricCount; ++m) {
      if (metric_columns[m]) record.metrics[m] = Table::number(row[*metric_columns[m]]);
    }
    record.interruptions = interruptions ? static_cast<int>(Table::number(row[*interruptions])) : 0;
  }
  return records;
}

std::map<std::size_t, std::vector<float>> read_clusters(const std::string& path,
                                                        const study::StudyFile& file) {
  detail::silence_hdf5_errors();
  std::map<std::size_t, std::vector<float>> clusters;
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
        clusters[first_task + task_id] = std::move(positions);
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

/// Checks that row `i` names task `i` of the study: task_id, repetition, seed, parameters.
void check_identity(const std::string& path, const StudyData& study, const study::StudySpec& spec,
                    std::uint64_t master_seed, std::size_t i) {
  const Table& table = study.tasks;
  const auto& row = table.rows[i];
  const auto repetitions = static_cast<std::size_t>(spec.repetitions);
  const auto& point = spec.points[i / repetitions];
  const auto repetition = static_cast<int>(i % repetitions);
  auto expect = [&](const char* column, double wanted) {
    const auto index = table.find(column);
    if (!index) refuse_row(path, study, i, std::string("no ") + column + " column");
    const double got = Table::number(row[*index]);
    if (got != wanted) {
      refuse_row(path, study, i,
                 std::string(column) + " is " + number_text(got) + ", the task in this row has " +
                     number_text(wanted));
    }
  };
  expect("task_id", static_cast<double>(i));
  expect("repetition", repetition);
  for (kernels::Parameter p : kernels::parameters_of(spec.algorithm)) {
    expect(kernels::name_of(p).data(), kernels::get_parameter(point, p));
  }
  const auto seed = table.find("seed");
  const std::uint64_t wanted = study::derive_seed(master_seed, spec, point, repetition);
  const auto* got = seed ? std::get_if<std::uint64_t>(&row[*seed]) : nullptr;
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

std::vector<study::TaskRecord> checked_records_of(const StudyData& study,
                                                  const study::StudySpec& spec,
                                                  std::uint64_t master_seed,
                                                  const std::string& path) {
  const auto count = static_cast<std::size_t>(spec.task_count());
  if (study.tasks.rows.size() != count) {
    throw ResultFileError(path + ": study " + study.name + " has " +
                          std::to_string(study.tasks.rows.size()) + " task rows; its study file " +
                          "makes " + std::to_string(count) + " tasks (the file was edited or " +
                          "damaged; it cannot be continued)");
  }
  auto records = records_of(study);
  for (std::size_t i = 0; i < count; ++i) {
    check_identity(path, study, spec, master_seed, i);
    check_record(path, study, i, records[i]);
  }
  return records;
}

}  // namespace fracstudy::io
