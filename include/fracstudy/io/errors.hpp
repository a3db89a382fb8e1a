#pragma once
/// The io layer's errors.
#include <string>

#include "fracstudy/study/errors.hpp"

namespace fracstudy::io {

/// A result file that cannot be used as one: missing, not HDF5, not fracstudy's, corrupt,
/// of an unknown format version, or taken by another run. Bad input: exit code 2.
class ResultFileError : public Error {
 public:
  explicit ResultFileError(const std::string& message) : Error(message, kBadInput) {}
};

/// A file that could not be written (a full disk, a lost mount, permissions): exit code 1.
class WriteError : public Error {
 public:
  explicit WriteError(const std::string& message) : Error(message, kFailure) {}
};

}  // namespace fracstudy::io
