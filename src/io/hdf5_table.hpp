#pragma once
// Tables as HDF5 compound datasets and scalar attributes (private to the io layer).
#include <hdf5.h>

#include <cstdint>
#include <optional>
#include <string>

#include "fracstudy/io/table.hpp"

namespace fracstudy::io::detail {

/// Writes `table` as a 1-D compound dataset `name` under `location`.
void write_table(hid_t location, const std::string& name, const Table& table);
/// Reads a 1-D compound dataset into a Table (integers, floats and strings).
Table read_table(hid_t location, const std::string& name);

/// Writes a UTF-8 variable-length string attribute (h5py reads it as str).
void write_attribute(hid_t object, const std::string& name, const std::string& value);
/// Writes a 64-bit signed integer attribute.
void write_attribute(hid_t object, const std::string& name, std::int64_t value);
/// Writes a 64-bit unsigned integer attribute.
void write_attribute(hid_t object, const std::string& name, std::uint64_t value);

/// Writes a double attribute.
void write_attribute(hid_t object, const std::string& name, double value);
/// Reads a floating-point attribute; nullopt when absent or not a number.
std::optional<double> read_double_attribute(hid_t object, const std::string& name);
/// Reads a string attribute; nullopt when absent or not a string.
std::optional<std::string> read_string_attribute(hid_t object, const std::string& name);
/// Reads an integer attribute; nullopt when absent or not an integer.
std::optional<std::int64_t> read_integer_attribute(hid_t object, const std::string& name);

}  // namespace fracstudy::io::detail
