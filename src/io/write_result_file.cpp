// Writing the whole result file: to OUT.h5.tmp, fsync, rename over OUT.h5.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <set>
#include <stdexcept>

#include "fracstudy/io/child_process.hpp"
#include "fracstudy/io/errors.hpp"
#include "fracstudy/io/output_file.hpp"
#include "fracstudy/io/result_file.hpp"
#include "fracstudy/study/progress.hpp"
#include "fracstudy/version.hpp"
#include "hdf5_handle.hpp"
#include "hdf5_table.hpp"
#include "result_layout.hpp"

namespace fracstudy::io {
namespace {

using detail::check;
using detail::metrics_table;
using detail::summary_table;
using detail::task_columns;
using detail::write_attribute;
using kernels::Parameter;

/// The tasks table, row by row straight from the records (no copy of the whole table:
/// a million tasks must not cost rank 0 a gigabyte at each checkpoint).
void write_tasks(hid_t group, const study::StudySpec& spec, const study::TaskList& tasks,
                 std::size_t first, study::RecordsView records) {
  const auto parameters = kernels::parameters_of(spec.algorithm);
  detail::write_rows(
      group, "tasks", task_columns(spec), records.size(),
      [&](std::size_t i, detail::RowWriter& row) {
        const study::Task task = tasks[first + i];
        // The row keeps pointers to its strings until its slab is written: they are read
        // where the records keep them, not from this copy.
        const study::TaskRecord record = records[i];
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
            << static_cast<std::int64_t>(record.worker_rank) << records.host(i).c_str()
            << record.wall_time_s << records.error(i).c_str();
        for (double value : record.metrics)
          row << value;
        row << static_cast<std::int64_t>(record.interruptions);
      });
}

/// The job's layout: a /ranks table (rank, host, role), the number of distinct nodes,
/// and the nodes taken out of the run, comma-separated.
void write_layout(hid_t root, const JobLayout& layout) {
  Table ranks;
  ranks.columns = {
      {"rank", ColumnType::Int64}, {"host", ColumnType::String}, {"role", ColumnType::String}};
  for (std::size_t rank = 0; rank < layout.host_of_rank.size(); ++rank) {
    const std::string role = rank < layout.role_of_rank.size() ? layout.role_of_rank[rank] : "";
    ranks.rows.push_back({static_cast<std::int64_t>(rank), layout.host_of_rank[rank], role});
  }
  detail::write_table(root, "ranks", ranks);
  const std::set<std::string> nodes(layout.host_of_rank.begin(), layout.host_of_rank.end());
  write_attribute(root, "nodes", static_cast<std::int64_t>(nodes.size()));
  std::string excluded;
  for (const auto& host : layout.excluded_hosts)
    excluded += (excluded.empty() ? "" : ",") + host;
  write_attribute(root, "excluded_hosts", excluded);
  write_attribute(root, "stop_reason", layout.stop_reason);
}

void write_study(hid_t studies_group, const study::StudySpec& spec, const StudyRun& run,
                 const study::TaskList& tasks, std::size_t first, study::RecordsView records) {
  detail::Group group(
      H5Gcreate2(studies_group, spec.name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
      "H5Gcreate2");
  const auto tally = study::tally_progress(spec, records);
  const auto& counts = tally.counts;
  std::string varied;
  for (Parameter p : spec.varied) {
    if (!varied.empty()) varied += ',';
    varied += kernels::name_of(p);
  }
  write_attribute(group.get(), "algorithm", std::string(kernels::name_of(spec.algorithm)));
  write_attribute(group.get(), "status", std::string(study::name_of(run.status)));
  write_attribute(group.get(), "total_simulations", static_cast<std::int64_t>(records.size()));
  write_attribute(group.get(), "completed_simulations", counts.completed);
  write_attribute(group.get(), "failed_simulations", counts.failed);
  write_attribute(group.get(), "created_at", run.created_at);
  write_attribute(group.get(), "started_at", run.started_at);
  write_attribute(group.get(), "completed_at", run.completed_at);
  write_attribute(group.get(), "repetitions", static_cast<std::int64_t>(spec.repetitions));
  write_attribute(group.get(), "varied_parameters", varied);
  detail::write_progress(group.get(), tally);
  write_tasks(group.get(), spec, tasks, first, records);
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
/// task's parameters, seed and metrics as attributes, and its S(q) - 1 with the grid of
/// q Rg it lies on.
void write_cluster(hid_t clusters, const study::StudySpec& spec, const study::Task& task,
                   const study::TaskRecord& record, const study::KeptCluster& cluster) {
  const auto& positions = cluster.positions;
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
  detail::write_structure_factor(data.get(), cluster.structure_factor);
}

void write_clusters(hid_t studies, const ResultSnapshot& snapshot,
                    const std::map<std::size_t, study::KeptCluster>& clusters) {
  for (const auto& [index, cluster] : clusters) {
    if (index >= snapshot.tasks->size()) throw std::out_of_range("a kept cluster of no task");
    const study::Task task = (*snapshot.tasks)[index];
    const auto& spec = snapshot.file->studies.at(task.study);
    const std::string path = spec.name + "/clusters";
    const bool exists = H5Lexists(studies, path.c_str(), H5P_DEFAULT) > 0;
    detail::Group group(
        exists ? H5Gopen2(studies, path.c_str(), H5P_DEFAULT)
               : H5Gcreate2(studies, path.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
        "clusters group");
    write_cluster(group.get(), spec, task, snapshot.records[index], cluster);
  }
}

void write_file_contents(const std::string& path, const ResultSnapshot& snapshot) {
  // A new file, never an old one truncated: a symlink or hard link planted at this name
  // must not lead the write into someone else's file.
  ::unlink(path.c_str());
  detail::File file(H5Fcreate(path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT),
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
  write_attribute(root, "relay_kept_results",
                  static_cast<std::int64_t>(snapshot.relay_kept_results));
  write_attribute(root, "relay_ranks", static_cast<std::int64_t>(snapshot.relay_ranks));
  if (snapshot.layout && !snapshot.layout->host_of_rank.empty())
    write_layout(root, *snapshot.layout);
  write_attribute(root, "journal_generation", snapshot.generation);
  detail::write_table(root, "metrics", metrics_table());
  // Studies keep the study file's order (h5py lists them in creation order too).
  detail::PropertyList order(H5Pcreate(H5P_GROUP_CREATE), "H5Pcreate");
  check(H5Pset_link_creation_order(order.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED),
        "H5Pset_link_creation_order");
  detail::Group studies(H5Gcreate2(root, "studies", H5P_DEFAULT, order.get(), H5P_DEFAULT),
                        "H5Gcreate2");
  const auto& tasks = *snapshot.tasks;
  const auto& records = snapshot.records;
  std::size_t begin = 0;
  for (std::size_t s = 0; s < snapshot.file->studies.size(); ++s) {
    const auto& spec = snapshot.file->studies[s];
    const auto count = static_cast<std::size_t>(spec.task_count());
    write_study(studies.get(), spec, snapshot.runs.at(s), tasks, begin,
                records.subview(begin, count));
    begin += count;
  }
  if (snapshot.clusters) write_clusters(studies.get(), snapshot, *snapshot.clusters);
  check(H5Fflush(root, H5F_SCOPE_GLOBAL), "H5Fflush");
  studies.reset();
  file.close("cannot finish writing the result file");
}

}  // namespace

void write_result_file(const std::string& path, const ResultSnapshot& snapshot) {
  detail::silence_hdf5_errors();
  const std::string temporary = result_temporary_path(path);
  try {
    // In a child: a write that fails (a full disk) leaves HDF5's state broken, and that
    // must not stay in rank 0, which goes on, and would crash at exit.
    // A write takes seconds even for ten million tasks. A child far past that is blocked (a
    // file system that stopped answering, a lock another thread held when it forked) and
    // must not hold the run forever: the checkpoint fails, and the next one writes again.
    // Ten minutes first: a parallel file system's failover can stall writes for minutes.
    const double wall_limit_s = 600 + 1e-4 * static_cast<double>(snapshot.records.size());
    in_child_process(
        [&] {
          write_file_contents(temporary, snapshot);
          return std::string();
        },
        0, 0, wall_limit_s);
  } catch (const std::exception& error) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw WriteError(path + ": cannot write the result file (" + error.what() + ")");
  }
  if (!sync_path(temporary, O_RDONLY)) {
    const std::string reason = std::strerror(errno);
    std::filesystem::remove(temporary);
    throw WriteError(path + ": cannot write the result file (" + reason + ")");
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::filesystem::remove(temporary);
    throw WriteError(path + ": cannot replace the result file (" + reason + ")");
  }
  sync_path(directory_of(path), O_RDONLY | O_DIRECTORY);
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

}  // namespace fracstudy::io
