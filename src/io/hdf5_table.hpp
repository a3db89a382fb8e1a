#pragma once
// Tables as HDF5 compound datasets and scalar attributes (private to the io layer).
#include <hdf5.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fracstudy/io/table.hpp"

namespace fracstudy::io::detail {

/// Fills one row of a compound dataset, column by column, in column order. Strings of
/// variable length are referenced, not copied: they must outlive the write; those of a
/// fixed width are copied (cut at the width).
class RowWriter {
 public:
  RowWriter(unsigned char* row, const std::vector<std::size_t>& offsets,
            const std::vector<Column>& columns)
      : row_(row), offsets_(offsets), columns_(columns) {}
  RowWriter& operator<<(std::int64_t value) { return put(&value, sizeof value); }
  RowWriter& operator<<(std::uint64_t value) { return put(&value, sizeof value); }
  RowWriter& operator<<(double value) { return put(&value, sizeof value); }
  RowWriter& operator<<(const char* text);

 private:
  RowWriter& put(const void* value, std::size_t size);
  unsigned char* row_;
  const std::vector<std::size_t>& offsets_;
  const std::vector<Column>& columns_;
  std::size_t column_ = 0;
};

/// Writes `rows` rows, produced by `fill(row, writer)`, as a 1-D compound dataset `name`
/// under `location`, a slab at a time: memory stays small however many rows there are.
void write_rows(hid_t location, const std::string& name, const std::vector<Column>& columns,
                std::size_t rows, const std::function<void(std::size_t, RowWriter&)>& fill);

/// Writes `table` as a 1-D compound dataset `name` under `location`.
void write_table(hid_t location, const std::string& name, const Table& table);
/// Reads a 1-D compound dataset into a Table (integers, floats and strings).
Table read_table(hid_t location, const std::string& name);

/// The columns of a 1-D compound dataset (no rows read).
std::vector<Column> read_table_columns(hid_t location, const std::string& name);

/// Reads a 1-D compound dataset `slab_rows` rows at a time, only the columns named in
/// `wanted` (every column when empty; names the dataset lacks are left out), and calls
/// `visit(slab, first_row)` with each: memory stays small however many rows there are.
/// Only rows [begin, end) when given (clipped to the rows there are).
struct RowRange {
  std::size_t begin = 0, end = static_cast<std::size_t>(-1);
};
void read_table_slabs(hid_t location, const std::string& name,
                      const std::vector<std::string>& wanted, std::size_t slab_rows,
                      const std::function<void(const Table&, std::size_t)>& visit,
                      RowRange range = {});

/// Writes a UTF-8 variable-length string attribute (h5py reads it as str).
void write_attribute(hid_t object, const std::string& name, const std::string& value);
/// Writes a 64-bit signed integer attribute.
void write_attribute(hid_t object, const std::string& name, std::int64_t value);
/// Writes a 64-bit unsigned integer attribute.
void write_attribute(hid_t object, const std::string& name, std::uint64_t value);

/// Writes a double attribute.
void write_attribute(hid_t object, const std::string& name, double value);
/// Writes a 1-D float32 array attribute.
void write_attribute(hid_t object, const std::string& name, const std::vector<float>& values);
/// Reads a 1-D floating-point array attribute of at most `max_size` values; empty when
/// absent, of another type or shape, or longer.
std::vector<float> read_float_array_attribute(hid_t object, const std::string& name,
                                              std::size_t max_size = 4096);

/// Reads a floating-point attribute; nullopt when absent or not a number.
std::optional<double> read_double_attribute(hid_t object, const std::string& name);
/// Reads a string attribute; nullopt when absent or not a string.
std::optional<std::string> read_string_attribute(hid_t object, const std::string& name);
/// Reads an integer attribute; nullopt when absent or not an integer.
std::optional<std::int64_t> read_integer_attribute(hid_t object, const std::string& name);

}  // namespace fracstudy::io::detail
