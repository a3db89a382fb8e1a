#include "fracstudy/io/cluster_file.hpp"

#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include "fracstudy/io/child_process.hpp"
#include "fracstudy/io/errors.hpp"
#include "fracstudy/kernels/metrics.hpp"
#include "fracstudy/version.hpp"
#include "hdf5_handle.hpp"
#include "hdf5_table.hpp"
#include "result_layout.hpp"

namespace fracstudy::io {

void write_cluster_file(const std::string& path, kernels::Algorithm algorithm,
                        const kernels::SimulationParameters& parameters, std::uint64_t seed,
                        const kernels::SimulationResult& result) {
  using detail::check;
  detail::silence_hdf5_errors();
  const std::string temporary = path + ".tmp";
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
  std::filesystem::rename(temporary, path);
}

}  // namespace fracstudy::io
