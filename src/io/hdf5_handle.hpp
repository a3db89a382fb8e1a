#pragma once
// RAII handles over HDF5 ids, and HDF5 failures as exceptions (private to the io layer).
#include <hdf5.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace fracstudy::io::detail {

/// An HDF5 call failed; the message carries the innermost HDF5 error description.
class Hdf5Error : public std::runtime_error {
 public:
  explicit Hdf5Error(const std::string& what);
};

/// Throws Hdf5Error when an HDF5 call returned a negative status.
inline herr_t check(herr_t status, const char* what) {
  if (status < 0) throw Hdf5Error(what);
  return status;
}

/// Owns one HDF5 id and closes it with `Close`; destructors never throw.
template <herr_t (*Close)(hid_t)>
class Handle {
 public:
  Handle() = default;
  Handle(hid_t id, const char* what) : id_(id) {
    if (id_ < 0) throw Hdf5Error(what);
  }
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)) {}
  Handle& operator=(Handle&& other) noexcept {
    reset();
    id_ = std::exchange(other.id_, H5I_INVALID_HID);
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }
  hid_t get() const { return id_; }
  /// Closes now and throws when closing fails (for files: the data did not reach disk).
  void close(const char* what) {
    const herr_t status = Close(id_);
    id_ = H5I_INVALID_HID;
    check(status, what);
  }
  void reset() {
    if (id_ >= 0) Close(id_);
    id_ = H5I_INVALID_HID;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

using File = Handle<H5Fclose>;
using Group = Handle<H5Gclose>;
using Dataset = Handle<H5Dclose>;
using Dataspace = Handle<H5Sclose>;
using Datatype = Handle<H5Tclose>;
using Attribute = Handle<H5Aclose>;
using PropertyList = Handle<H5Pclose>;

/// Turns off HDF5's printing of its error stack (we report errors ourselves).
void silence_hdf5_errors();

}  // namespace fracstudy::io::detail
