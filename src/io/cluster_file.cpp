#include "fracstudy/io/cluster_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <stdexcept>

#include "fracstudy/io/child_process.hpp"
#include "fracstudy/io/errors.hpp"
#include "fracstudy/io/process_info.hpp"
#include "fracstudy/kernels/metrics.hpp"
#include "fracstudy/version.hpp"
#include "hdf5_handle.hpp"
#include "hdf5_table.hpp"
#include "result_layout.hpp"

namespace fracstudy::io {
namespace {

namespace fs = std::filesystem;

/// What a cluster file holds beyond its positions: attributes, S(q), HDF5's own structures.
constexpr double kSlack = 64 * 1024;

/// This node's name, as it may appear in a file name.
std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  std::string host(name);
  for (char& c : host)
    if (c == '/') c = '_';
  return host;
}

/// This process as a name no other process can take: its pid and its start time (a
/// recycled pid starts later).
std::string process_tag() {
  const long pid = ::getpid();
  return std::to_string(pid) + "." + std::to_string(process_start_ticks(pid));
}

/// What the temporary names of `path`'s cluster start with; the node, pid and start time
/// of the writing process follow (`PATH.tmp.HOST.PID.START`). The node's name keeps a run
/// from taking another node's live temporary for abandoned on a shared file system.
std::string temporary_prefix(const std::string& path) {
  return path + ".tmp.";
}

/// The name a cluster is written under before it is linked to its own: this process's, so
/// that two runs given the same path do not write into each other's file.
std::string temporary_name(const std::string& path) {
  return temporary_prefix(path) + host_name() + "." + process_tag();
}

/// Whether `suffix` (what follows `PATH.tmp.`) names a process of this node that is gone.
bool abandoned_by_this_host(const std::string& suffix, const std::string& host) {
  const auto last_dot = suffix.rfind('.');
  if (last_dot == std::string::npos || last_dot == 0) return false;
  const auto middle_dot = suffix.rfind('.', last_dot - 1);
  if (middle_dot == std::string::npos || suffix.substr(0, middle_dot) != host) return false;
  const std::string pid_text = suffix.substr(middle_dot + 1, last_dot - middle_dot - 1);
  const std::string start_text = suffix.substr(last_dot + 1);
  const auto digits = [](const std::string& text) {
    return !text.empty() && text.size() < 19 &&
           text.find_first_not_of("0123456789") == std::string::npos;
  };
  if (!digits(pid_text) || !digits(start_text)) return false;
  const long pid = std::stol(pid_text);
  if (pid <= 0 || pid > std::numeric_limits<pid_t>::max()) return false;
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return true;  // gone
  // A live pid: abandoned only when it is provably another process (a recycled pid). Where
  // /proc hides other users' processes the start time reads 0: kept, as a live run's.
  const std::uint64_t started = process_start_ticks(pid);
  return started != 0 && started != std::stoull(start_text);
}

/// Removes the temporary files of `path`'s cluster that runs on this node left when they
/// were killed while writing (each as large as its cluster): those whose process is gone.
/// Links and other nodes' files are left alone.
void remove_abandoned_temporaries(const std::string& path) {
  const fs::path file(path);
  if (!file.has_filename()) return;
  const fs::path folder = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  const std::string prefix = temporary_prefix(file.filename().string());
  const std::string host = host_name();
  std::error_code error;
  for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    std::error_code ignored;
    if (!fs::is_regular_file(fs::symlink_status(it->path(), ignored))) continue;
    if (abandoned_by_this_host(name.substr(prefix.size()), host)) fs::remove(it->path(), ignored);
  }
}

/// Where a computed cluster is kept when its name was taken meanwhile: out of the
/// temporaries' pattern, so that no later run removes it. The temporary itself when that
/// name is taken too.
std::string keep_aside(const std::string& temporary, const std::string& path) {
  const std::string kept = path + ".kept." + process_tag();
  if (::link(temporary.c_str(), kept.c_str()) != 0) return temporary;
  ::unlink(temporary.c_str());
  return kept;
}

/// Gives the finished temporary file its name without replacing anything there: link(2)
/// fails when the name is taken. Where a file system has no hard links, a rename after a
/// last look.
void publish(const std::string& temporary, const std::string& path) {
  const auto appeared = [&] {
    return WriteError(path + ": appeared while the cluster was computed; not overwritten, the " +
                      "cluster is in " + keep_aside(temporary, path));
  };
  if (::link(temporary.c_str(), path.c_str()) == 0) {
    ::unlink(temporary.c_str());
    return;
  }
  if (errno == EEXIST) throw appeared();
  std::error_code error;
  if (fs::exists(fs::symlink_status(path, error))) throw appeared();
  fs::rename(temporary, path);
}

/// A size in kB below 10 MB, in MB above.
std::string size_text(double bytes) {
  if (bytes < 1e7) return std::to_string(std::llround(bytes / 1e3)) + " kB";
  return std::to_string(std::llround(bytes / 1e6)) + " MB";
}

/// Whether the folder of `path` has room for the positions (float64) of a cluster; the
/// file's attributes and S(q) add a few kilobytes.
std::optional<std::string> space_problem(const std::string& path, std::int64_t n_particles,
                                         int dimension) {
  // Measured where the file will be, or, for a folder still to be made, at its nearest
  // existing ancestor: a refused cluster leaves no new folder behind.
  fs::path folder = fs::path(path).parent_path();
  std::error_code error;
  while (!folder.empty() && !fs::exists(folder, error) && folder.has_relative_path()) {
    folder = folder.parent_path();
  }
  const fs::space_info space = fs::space(folder.empty() ? fs::path(".") : folder, error);
  if (error) return std::nullopt;  // no figure to go by: the write will tell
  const double needed = static_cast<double>(n_particles) * dimension * sizeof(double) + kSlack;
  if (static_cast<double>(space.available) >= needed) return std::nullopt;
  return path + ": the cluster needs about " + size_text(needed) + ", " +
         size_text(static_cast<double>(space.available)) + " free there";
}

}  // namespace

std::optional<std::string> cluster_path_problem(const std::string& path, std::int64_t n_particles,
                                                int dimension) {
  if (path.empty()) return "the file name is empty";
  remove_abandoned_temporaries(path);  // before the free space is measured: they hold some
  std::error_code error;
  if (fs::exists(fs::symlink_status(path, error))) return path + " already exists";
  const fs::path file(path);
  if (!file.has_filename())
    return path + ": names a folder; give a file, e.g. " + path + "cluster.h5";
  if (auto problem = space_problem(path, n_particles, dimension)) return problem;
  const fs::path folder = file.parent_path();
  if (!folder.empty()) {
    std::error_code made;
    fs::create_directories(folder, made);
    if (!fs::is_directory(folder, error)) {
      return path + ": cannot make its folder " + folder.string() + " (" +
             (fs::exists(folder, error) ? std::string("a file has that name") : made.message()) +
             ")";
    }
  }
  const std::string probe = temporary_name(path);
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644);
  if (fd < 0) {
    if (errno == EEXIST)
      return std::nullopt;  // planted at this process's name: the write unlinks it
    return path + ": cannot write there (" + std::strerror(errno) + ")";
  }
  ::close(fd);
  ::unlink(probe.c_str());
  return std::nullopt;
}

void write_cluster_file(const std::string& path, kernels::Algorithm algorithm,
                        const kernels::SimulationParameters& parameters, std::uint64_t seed,
                        const kernels::SimulationResult& result) {
  using detail::check;
  detail::silence_hdf5_errors();
  const std::string temporary = temporary_name(path);
  try {
    // In a child: a write that fails (a full disk) leaves HDF5's state broken until it
    // crashes at exit.
    in_child_process([&] {
      ::unlink(temporary.c_str());  // a leftover, or a link planted to lead the write astray
      detail::File file(H5Fcreate(temporary.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT),
                        "cannot create the cluster file");
      const auto dimension = static_cast<hsize_t>(parameters.dimension);
      const hsize_t dims[2] = {static_cast<hsize_t>(result.positions.size()) / dimension,
                               dimension};
      detail::Dataspace space(H5Screate_simple(2, dims, nullptr), "H5Screate_simple");
      detail::Dataset positions(H5Dcreate2(file.get(), "positions", H5T_IEEE_F64LE, space.get(),
                                           H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                                "H5Dcreate2");
      if (!result.positions.empty()) {
        check(H5Dwrite(positions.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                       result.positions.data()),
              "H5Dwrite");
      }
      const hid_t root = file.get();
      detail::write_attribute(root, "format", std::string("fracstudy-cluster"));
      detail::write_attribute(root, "software_version", std::string(kVersion));
      detail::write_attribute(root, "algorithm", std::string(kernels::name_of(algorithm)));
      for (kernels::Parameter p : kernels::parameters_of(algorithm)) {
        detail::write_attribute(root, std::string(kernels::name_of(p)),
                                kernels::get_parameter(parameters, p));
      }
      detail::write_attribute(root, "seed", seed);
      for (const auto& metric : kernels::kMetrics) {
        detail::write_attribute(root, std::string(metric.name),
                                kernels::metric_value(metric, result));
      }
      const auto curve = kernels::structure_factor_of(result, parameters);
      detail::write_structure_factor(root, std::vector<float>(curve.begin(), curve.end()));
      positions.reset();
      space.reset();
      file.close("cannot finish writing the cluster file");
      return std::string();
    });
  } catch (const std::exception& error) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw WriteError(path + ": cannot write the cluster file (" + error.what() + ")");
  }
  publish(temporary, path);
}

}  // namespace fracstudy::io
