// HDF5 failures as exceptions that carry HDF5's own reason (private to the io layer).
#include "hdf5_handle.hpp"

namespace fracstudy::io::detail {
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

}  // namespace fracstudy::io::detail
