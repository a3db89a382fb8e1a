#include "fracstudy/io/result_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <optional>
#include <stdexcept>

#include "fracstudy/io/journal.hpp"
#include "fracstudy/study/errors.hpp"
#include "fracstudy/study/parser.hpp"
#include "fracstudy/study/statistics.hpp"
#include "fracstudy/version.hpp"
#include "hdf5_handle.hpp"
#include "hdf5_table.hpp"

namespace fracstudy::io {
namespace {

using detail::check;
using detail::write_attribute;
using kernels::Parameter;

ColumnType column_type_of(Parameter parameter) {
  return kernels::rule_of(parameter).integer ? ColumnType::Int64 : ColumnType::Float64;
}

Cell cell_of(Parameter parameter, const kernels::SimulationParameters& point) {
  const double value = kernels::get_parameter(point, parameter);
  if (kernels::rule_of(parameter).integer) return static_cast<std::int64_t>(value);
  return value;
}

std::vector<Column> task_columns(const study::StudySpec& spec) {
  std::vector<Column> columns = {{"task_id", ColumnType::Int64},
                                 {"seed", ColumnType::UInt64},
                                 {"repetition", ColumnType::Int64}};
  for (Parameter p : kernels::parameters_of(spec.algorithm)) {
    columns.push_back({std::string(kernels::name_of(p)), column_type_of(p)});
  }
  columns.insert(columns.end(), {{"status", ColumnType::String},
                                 {"attempts", ColumnType::Int64},
                                 {"worker_rank", ColumnType::Int64},
                                 {"wall_time_s", ColumnType::Float64},
                                 {"error", ColumnType::String}});
  // Every metric as float64, so a task without a value holds NaN, never 0.
  for (const auto& metric : kernels::kMetrics) {
    columns.push_back({std::string(metric.name), ColumnType::Float64});
  }
  columns.push_back({"interruptions", ColumnType::Int64});
  return columns;
}

/// The tasks table, row by row straight from the records (no copy of the whole table:
/// a million tasks must not cost rank 0 a gigabyte at each checkpoint).
void write_tasks(hid_t group, const study::StudySpec& spec, std::span<const study::Task> tasks,
                 std::span<const study::TaskRecord> records) {
  const auto parameters = kernels::parameters_of(spec.algorithm);
  detail::write_rows(
      group, "tasks", task_columns(spec), tasks.size(), [&](std::size_t i, detail::RowWriter& row) {
        const study::Task& task = tasks[i];
        const study::TaskRecord& record = records[i];
        row << task.task_id << task.seed << static_cast<std::int64_t>(task.repetition);
        for (Parameter p : parameters) {
          const double value = kernels::get_parameter(spec.points[task.point], p);
          if (kernels::rule_of(p).integer) {
            row << static_cast<std::int64_t>(value);
          } else {
            row << value;
          }
        }
        row << study::name_of(record.status).data() << static_cast<std::int64_t>(record.attempts)
            << static_cast<std::int64_t>(record.worker_rank) << record.wall_time_s
            << record.error.c_str();
        for (double value : record.metrics)
          row << value;
        row << static_cast<std::int64_t>(record.interruptions);
      });
}

Table summary_table(const study::StudySpec& spec, std::span<const study::TaskRecord> records) {
  Table table;
  for (Parameter p : kernels::parameters_of(spec.algorithm)) {
    table.columns.push_back({std::string(kernels::name_of(p)), column_type_of(p)});
  }
  table.columns.insert(table.columns.end(),
                       {{"n_samples", ColumnType::Int64}, {"n_failed", ColumnType::Int64}});
  for (const auto& metric : kernels::kMetrics) {
    for (const auto statistic : study::statistic_names(metric.aggregation)) {
      table.columns.push_back({study::statistic_column(statistic, metric), ColumnType::Float64});
    }
  }
  for (const auto& summary : study::summarize(spec, records)) {
    std::vector<Cell> row;
    for (Parameter p : kernels::parameters_of(spec.algorithm)) {
      row.push_back(cell_of(p, spec.points[summary.point]));
    }
    row.insert(row.end(), {summary.n_samples, summary.n_failed});
    for (const auto& statistics : summary.statistics) {
      row.insert(row.end(), statistics.begin(), statistics.end());
    }
    table.rows.push_back(std::move(row));
  }
  return table;
}

/// The metric definitions as a table (/metrics): what each metric column means.
Table metrics_table() {
  Table table;
  table.columns = {{"name", ColumnType::String},
                   {"unit", ColumnType::String},
                   {"description", ColumnType::String},
                   {"aggregation", ColumnType::String},
                   {"statistics", ColumnType::String}};
  for (const auto& metric : kernels::kMetrics) {
    std::string statistics;
    for (const auto statistic : study::statistic_names(metric.aggregation)) {
      statistics += (statistics.empty() ? "" : ",") + std::string(statistic);
    }
    table.rows.push_back(
        {std::string(metric.name), std::string(metric.unit), std::string(metric.description),
         metric.aggregation == kernels::Aggregation::Moments ? "moments" : "range", statistics});
  }
  return table;
}

void write_study(hid_t studies_group, const study::StudySpec& spec, const StudyRun& run,
                 std::span<const study::Task> tasks, std::span<const study::TaskRecord> records) {
  detail::Group group(
      H5Gcreate2(studies_group, spec.name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
      "H5Gcreate2");
  std::int64_t completed = 0, failed = 0;
  for (const auto& record : records) {
    completed += record.status == study::TaskStatus::Completed;
    failed += record.status == study::TaskStatus::Failed;
  }
  std::string varied;
  for (Parameter p : spec.varied) {
    if (!varied.empty()) varied += ',';
    varied += kernels::name_of(p);
  }
  write_attribute(group.get(), "algorithm", std::string(kernels::name_of(spec.algorithm)));
  write_attribute(group.get(), "status", std::string(study::name_of(run.status)));
  write_attribute(group.get(), "total_simulations", static_cast<std::int64_t>(records.size()));
  write_attribute(group.get(), "completed_simulations", completed);
  write_attribute(group.get(), "failed_simulations", failed);
  write_attribute(group.get(), "created_at", run.created_at);
  write_attribute(group.get(), "started_at", run.started_at);
  write_attribute(group.get(), "completed_at", run.completed_at);
  write_attribute(group.get(), "repetitions", static_cast<std::int64_t>(spec.repetitions));
  write_attribute(group.get(), "varied_parameters", varied);
  write_tasks(group.get(), spec, tasks, records);
  detail::write_table(group.get(), "summary", summary_table(spec, records));
}

/// Flushes a file's data to the disk, so a rename over the old file cannot leave an
/// empty file after a power cut.
bool sync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) return false;
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  return synced;
}

std::string directory_of(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

/// Writes one cluster as a float32 dataset (n x dimension) named by its task_id, with the
/// task's parameters, seed and metrics as attributes.
void write_cluster(hid_t clusters, const study::StudySpec& spec, const study::Task& task,
                   const study::TaskRecord& record, const std::vector<float>& positions) {
  const auto& point = spec.points.at(task.point);
  const auto dimension = static_cast<hsize_t>(point.dimension);
  const std::string name = std::to_string(task.task_id);
  const hsize_t dims[2] = {static_cast<hsize_t>(positions.size()) / dimension, dimension};
  detail::Dataspace space(H5Screate_simple(2, dims, nullptr), "H5Screate_simple");
  detail::Dataset data(H5Dcreate2(clusters, name.c_str(), H5T_IEEE_F32LE, space.get(), H5P_DEFAULT,
                                  H5P_DEFAULT, H5P_DEFAULT),
                       "H5Dcreate2");
  if (!positions.empty()) {
    check(H5Dwrite(data.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, positions.data()),
          "H5Dwrite");
  }
  write_attribute(data.get(), "algorithm", std::string(kernels::name_of(spec.algorithm)));
  for (Parameter p : kernels::parameters_of(spec.algorithm)) {
    write_attribute(data.get(), std::string(kernels::name_of(p)), kernels::get_parameter(point, p));
  }
  write_attribute(data.get(), "task_id", task.task_id);
  write_attribute(data.get(), "repetition", static_cast<std::int64_t>(task.repetition));
  write_attribute(data.get(), "seed", task.seed);
  for (std::size_t m = 0; m < kernels::kMetricCount; ++m) {
    write_attribute(data.get(), std::string(kernels::kMetrics[m].name), record.metrics[m]);
  }
}

void write_clusters(hid_t studies, const ResultSnapshot& snapshot,
                    const std::map<std::size_t, std::vector<float>>& clusters) {
  for (const auto& [index, positions] : clusters) {
    const study::Task& task = snapshot.tasks->at(index);
    const auto& spec = snapshot.file->studies.at(task.study);
    const std::string path = spec.name + "/clusters";
    const bool exists = H5Lexists(studies, path.c_str(), H5P_DEFAULT) > 0;
    detail::Group group(
        exists ? H5Gopen2(studies, path.c_str(), H5P_DEFAULT)
               : H5Gcreate2(studies, path.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
        "clusters group");
    write_cluster(group.get(), spec, task, snapshot.records->at(index), positions);
  }
}

void write_file_contents(const std::string& path, const ResultSnapshot& snapshot) {
  detail::File file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
                    "cannot create the result file");
  const hid_t root = file.get();
  write_attribute(root, "format", std::string(kFormatName));
  write_attribute(root, "format_version", kFormatVersion);
  write_attribute(root, "software_version", std::string(kVersion));
  write_attribute(root, "study_yaml", snapshot.file->text);
  write_attribute(root, "study_file", snapshot.file->path);
  write_attribute(root, "seed", snapshot.file->seed);
  write_attribute(root, "ranks", static_cast<std::int64_t>(snapshot.ranks));
  write_attribute(root, "updated_at", utc_now_iso8601());
  write_attribute(root, "elapsed_s", snapshot.elapsed_s);
  write_attribute(root, "coordinator_cpu_s", snapshot.coordinator_cpu_s);
  write_attribute(root, "coordinator_messages",
                  static_cast<std::int64_t>(snapshot.coordinator_messages));
  write_attribute(root, "relay_ranks", static_cast<std::int64_t>(snapshot.relay_ranks));
  write_attribute(root, "journal_generation", snapshot.generation);
  detail::write_table(root, "metrics", metrics_table());
  // Studies keep the study file's order (h5py lists them in creation order too).
  detail::PropertyList order(H5Pcreate(H5P_GROUP_CREATE), "H5Pcreate");
  check(H5Pset_link_creation_order(order.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED),
        "H5Pset_link_creation_order");
  detail::Group studies(H5Gcreate2(root, "studies", H5P_DEFAULT, order.get(), H5P_DEFAULT),
                        "H5Gcreate2");
  const auto& tasks = *snapshot.tasks;
  const auto& records = *snapshot.records;
  std::size_t begin = 0;
  for (std::size_t s = 0; s < snapshot.file->studies.size(); ++s) {
    const auto& spec = snapshot.file->studies[s];
    const auto count = static_cast<std::size_t>(spec.task_count());
    write_study(studies.get(), spec, snapshot.runs.at(s), std::span(tasks).subspan(begin, count),
                std::span(records).subspan(begin, count));
    begin += count;
  }
  if (snapshot.clusters) write_clusters(studies.get(), snapshot, *snapshot.clusters);
  check(H5Fflush(root, H5F_SCOPE_GLOBAL), "H5Fflush");
  studies.reset();
  file.close("cannot finish writing the result file");
}

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
  study.completed = study.failed = 0;
  bool ended = true;
  for (const auto& record : records) {
    study.completed += record.status == study::TaskStatus::Completed;
    study.failed += record.status == study::TaskStatus::Failed;
    ended &=
        record.status == study::TaskStatus::Completed || record.status == study::TaskStatus::Failed;
  }
  study.status =
      std::string(ended ? study::name_of(study::final_status(study.completed, study.failed))
                        : study::name_of(study::StudyStatus::Running));
  study.summary = summary_table(spec, records);
}

/// Applies the records the run journaled since the file's last full write.
void apply_journal(const std::string& path, ResultData& data) {
  const auto updates = read_journal(path, data.generation);
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
  const auto file = study::parse_study_text(data.study_yaml, data.study_path);
  for (std::size_t s = 0; s < data.studies.size() && s < file.studies.size(); ++s) {
    if (touched[s]) refresh_study(data.studies[s], file.studies[s]);
  }
  data.journal_records = updates.size();
}

}  // namespace

void write_result_file(const std::string& path, const ResultSnapshot& snapshot) {
  detail::silence_hdf5_errors();
  const std::string temporary = path + ".tmp";
  try {
    write_file_contents(temporary, snapshot);
  } catch (const std::exception& error) {
    std::filesystem::remove(temporary);
    throw std::runtime_error(path + ": cannot write the result file (" + error.what() + ")");
  }
  if (!sync_path(temporary, O_RDONLY)) {
    const std::string reason = std::strerror(errno);
    std::filesystem::remove(temporary);
    throw std::runtime_error(path + ": cannot write the result file (" + reason + ")");
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::filesystem::remove(temporary);
    throw std::runtime_error(path + ": cannot replace the result file (" + reason + ")");
  }
  sync_path(directory_of(path), O_RDONLY | O_DIRECTORY);
}

namespace {
ResultData read_result(const std::string& path, bool with_tasks);
}  // namespace

ResultData read_result_file(const std::string& path) {
  return read_result(path, true);
}

ResultData read_result_summaries(const std::string& path) {
  return read_result(path, false);
}

namespace {

ResultData read_result(const std::string& path, bool with_tasks) {
  detail::silence_hdf5_errors();
  if (!std::filesystem::exists(path)) throw study::InputError(path + ": no such file");
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    throw study::InputError(path + ": not an HDF5 file (expected a fracstudy result file)");
  }
  try {
    detail::File file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "H5Fopen");
    const hid_t root = file.get();
    if (detail::read_string_attribute(root, "format") != std::string(kFormatName)) {
      throw study::InputError(path + ": not a fracstudy result file (no format = \"" +
                              std::string(kFormatName) + "\" attribute)");
    }
    ResultData data;
    data.format_version = detail::read_integer_attribute(root, "format_version").value_or(0);
    if (data.format_version != kFormatVersion) {
      throw study::InputError(path + ": result file format_version " +
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
      study.status = detail::read_string_attribute(group.get(), "status").value_or("");
      study.total = detail::read_integer_attribute(group.get(), "total_simulations").value_or(0);
      study.completed =
          detail::read_integer_attribute(group.get(), "completed_simulations").value_or(0);
      study.failed = detail::read_integer_attribute(group.get(), "failed_simulations").value_or(0);
      study.created_at = detail::read_string_attribute(group.get(), "created_at").value_or("");
      study.started_at = detail::read_string_attribute(group.get(), "started_at").value_or("");
      study.completed_at = detail::read_string_attribute(group.get(), "completed_at").value_or("");
      if (with_tasks) study.tasks = detail::read_table(group.get(), "tasks");
      study.summary = detail::read_table(group.get(), "summary");
      data.studies.push_back(std::move(study));
    }
    if (with_tasks) apply_journal(path, data);
    return data;
  } catch (const detail::Hdf5Error& error) {
    throw study::InputError(path + ": corrupt or incomplete result file (" + error.what() + ")");
  }
}

}  // namespace

std::vector<study::TaskRecord> records_of(const StudyData& study) {
  const Table& table = study.tasks;
  auto column = [&table, &study](const char* name) {
    const auto index = table.find(name);
    if (!index) throw study::InputError("study " + study.name + ": tasks table has no " + name);
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
    if (!parsed) throw study::InputError("study " + study.name + ": unknown task status");
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

std::string utc_now_iso8601() {
  return utc_iso8601(std::chrono::system_clock::now());
}

std::string utc_iso8601(std::chrono::system_clock::time_point time) {
  const std::time_t now = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

namespace detail {

namespace {

/// Collects the innermost description on HDF5's error stack (often the system's reason).
herr_t innermost_error(unsigned, const H5E_error2_t* error, void* data) {
  auto* text = static_cast<std::string*>(data);
  if (!error->desc || !*error->desc) return 0;
  // The file driver's description embeds the system's words: keep just those.
  const std::string description = error->desc;
  const std::string marker = "error message = '";
  const auto begin = description.find(marker);
  *text = begin == std::string::npos
              ? description
              : description.substr(
                    begin + marker.size(),
                    description.find('\'', begin + marker.size()) - begin - marker.size());
  return 0;
  return 0;
}

std::string with_hdf5_reason(const std::string& what) {
  std::string reason;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, innermost_error, &reason);
  H5Eclear2(H5E_DEFAULT);
  return reason.empty() ? what : what + ": " + reason;
}

}  // namespace

Hdf5Error::Hdf5Error(const std::string& what) : std::runtime_error(with_hdf5_reason(what)) {}

void silence_hdf5_errors() {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

}  // namespace detail
namespace {

/// Collects the names of a group's members.
herr_t collect_name(hid_t, const char* name, const H5L_info_t*, void* names) {
  static_cast<std::vector<std::string>*>(names)->emplace_back(name);
  return 0;
}

}  // namespace

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

}  // namespace fracstudy::io
