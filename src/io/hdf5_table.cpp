#include "hdf5_table.hpp"

#include <algorithm>
#include <cstring>
#include <deque>
#include <vector>

#include "hdf5_handle.hpp"

namespace fracstudy::io::detail {
namespace {

/// A UTF-8 string type: of variable length (width 0) or `width` bytes, null-padded.
Datatype string_type(std::size_t width) {
  Datatype type(H5Tcopy(H5T_C_S1), "H5Tcopy");
  check(H5Tset_size(type.get(), width == 0 ? H5T_VARIABLE : width), "H5Tset_size");
  if (width > 0) check(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), "H5Tset_strpad");
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "H5Tset_cset");
  return type;
}

std::size_t size_of(const Column& column) {
  if (column.type != ColumnType::String) return 8;
  return column.width == 0 ? sizeof(char*) : column.width;
}

hid_t native_type(ColumnType type) {
  switch (type) {
    case ColumnType::Int64:
      return H5T_NATIVE_INT64;
    case ColumnType::UInt64:
      return H5T_NATIVE_UINT64;
    default:
      return H5T_NATIVE_DOUBLE;
  }
}

/// The in-memory compound layout of a table's row, with member offsets.
struct RowLayout {
  Datatype type;
  std::vector<std::size_t> offsets;
  std::size_t stride = 0;
};

RowLayout layout_of(const std::vector<Column>& columns) {
  RowLayout layout;
  for (const auto& column : columns) {
    layout.offsets.push_back(layout.stride);
    layout.stride += size_of(column);
  }
  layout.type =
      Datatype(H5Tcreate(H5T_COMPOUND, std::max<std::size_t>(layout.stride, 1)), "H5Tcreate");
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].type == ColumnType::String) {
      const Datatype text = string_type(columns[i].width);
      check(H5Tinsert(layout.type.get(), columns[i].name.c_str(), layout.offsets[i], text.get()),
            "H5Tinsert");
    } else {
      check(H5Tinsert(layout.type.get(), columns[i].name.c_str(), layout.offsets[i],
                      native_type(columns[i].type)),
            "H5Tinsert");
    }
  }
  return layout;
}

ColumnType column_type_of(hid_t member_type) {
  switch (H5Tget_class(member_type)) {
    case H5T_INTEGER:
      return H5Tget_sign(member_type) == H5T_SGN_NONE ? ColumnType::UInt64 : ColumnType::Int64;
    case H5T_FLOAT:
      return ColumnType::Float64;
    case H5T_STRING:
      return ColumnType::String;
    default:
      throw Hdf5Error("unsupported column type");
  }
}

}  // namespace

RowWriter& RowWriter::operator<<(const char* text) {
  const std::size_t width = columns_.at(column_).width;
  if (width == 0) return put(&text, sizeof text);
  unsigned char* at = row_ + offsets_.at(column_++);
  std::memset(at, 0, width);
  std::memcpy(at, text, ::strnlen(text, width));
  return *this;
}

RowWriter& RowWriter::put(const void* value, std::size_t size) {
  std::memcpy(row_ + offsets_.at(column_++), value, size);
  return *this;
}

void write_rows(hid_t location, const std::string& name, const std::vector<Column>& columns,
                std::size_t rows, const std::function<void(std::size_t, RowWriter&)>& fill) {
  const RowLayout layout = layout_of(columns);
  const hsize_t total = rows;
  Dataspace file_space(H5Screate_simple(1, &total, nullptr), "H5Screate_simple");
  PropertyList create(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate");
  if (rows > 0) {
    // Chunked and compressed: the error and status strings repeat a lot.
    const hsize_t chunk = std::min<hsize_t>(total, 4096);
    check(H5Pset_chunk(create.get(), 1, &chunk), "H5Pset_chunk");
    check(H5Pset_deflate(create.get(), 1), "H5Pset_deflate");
  }
  Dataset dataset(H5Dcreate2(location, name.c_str(), layout.type.get(), file_space.get(),
                             H5P_DEFAULT, create.get(), H5P_DEFAULT),
                  "H5Dcreate2");
  constexpr std::size_t kSlabRows = 65536;
  std::vector<unsigned char> buffer(layout.stride * std::min(rows, kSlabRows));
  for (std::size_t first = 0; first < rows; first += kSlabRows) {
    const std::size_t count = std::min(kSlabRows, rows - first);
    for (std::size_t r = 0; r < count; ++r) {
      RowWriter writer(buffer.data() + r * layout.stride, layout.offsets, columns);
      fill(first + r, writer);
    }
    const hsize_t start = first, size = count;
    check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &start, nullptr, &size, nullptr),
          "H5Sselect_hyperslab");
    Dataspace memory_space(H5Screate_simple(1, &size, nullptr), "H5Screate_simple");
    check(H5Dwrite(dataset.get(), layout.type.get(), memory_space.get(), file_space.get(),
                   H5P_DEFAULT, buffer.data()),
          "H5Dwrite");
  }
}

void write_table(hid_t location, const std::string& name, const Table& table) {
  write_rows(location, name, table.columns, table.rows.size(),
             [&table](std::size_t r, RowWriter& writer) {
               for (const Cell& cell : table.rows[r]) {
                 if (const auto* s = std::get_if<std::string>(&cell)) {
                   writer << s->c_str();
                 } else if (const auto* i = std::get_if<std::int64_t>(&cell)) {
                   writer << *i;
                 } else if (const auto* u = std::get_if<std::uint64_t>(&cell)) {
                   writer << *u;
                 } else {
                   writer << std::get<double>(cell);
                 }
               }
             });
}

namespace {

/// The cell at `at` of a row read with the layout of `column`.
Cell cell_at(const unsigned char* at, const Column& column) {
  switch (column.type) {
    case ColumnType::String: {
      if (column.width > 0) {
        const auto* text = reinterpret_cast<const char*>(at);
        return std::string(text, ::strnlen(text, column.width));
      }
      char* pointer = nullptr;
      std::memcpy(&pointer, at, sizeof pointer);
      return std::string(pointer ? pointer : "");
    }
    case ColumnType::Int64: {
      std::int64_t value;
      std::memcpy(&value, at, 8);
      return value;
    }
    case ColumnType::UInt64: {
      std::uint64_t value;
      std::memcpy(&value, at, 8);
      return value;
    }
    case ColumnType::Float64:
      break;
  }
  double value;
  std::memcpy(&value, at, 8);
  return value;
}

/// The widest fixed-width string read whole: a damaged or planted file with wider ones is
/// read cut at this width, so a slab of rows stays small.
constexpr std::size_t kMaxStringWidth = 256;

/// The columns of a compound type: all of them, or those named in `wanted` (in file order).
std::vector<Column> columns_of(hid_t file_type, const std::vector<std::string>& wanted) {
  std::vector<Column> columns;
  const int members = H5Tget_nmembers(file_type);
  for (int m = 0; m < members; ++m) {
    char* member_name = H5Tget_member_name(file_type, static_cast<unsigned>(m));
    const std::string name = member_name ? member_name : "";
    H5free_memory(member_name);
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), name) == wanted.end()) continue;
    Datatype member_type(H5Tget_member_type(file_type, static_cast<unsigned>(m)),
                         "H5Tget_member_type");
    Column column{name, column_type_of(member_type.get())};
    // A fixed-width string is read at its width (HDF5 converts no fixed-width string to a
    // variable-length one); a file written before fixed widths has variable ones.
    if (column.type == ColumnType::String && H5Tis_variable_str(member_type.get()) <= 0) {
      column.width = std::min<std::size_t>(H5Tget_size(member_type.get()), kMaxStringWidth);
    }
    columns.push_back(column);
  }
  return columns;
}

}  // namespace

void read_table_slabs(hid_t location, const std::string& name,
                      const std::vector<std::string>& wanted, std::size_t slab_rows,
                      const std::function<void(const Table&, std::size_t)>& visit, RowRange range) {
  Dataset dataset(H5Dopen2(location, name.c_str(), H5P_DEFAULT), "H5Dopen2");
  Datatype file_type(H5Dget_type(dataset.get()), "H5Dget_type");
  if (H5Tget_class(file_type.get()) != H5T_COMPOUND) throw Hdf5Error(name + " is not a table");
  Table slab;
  slab.columns = columns_of(file_type.get(), wanted);
  // In memory, only the wanted members: HDF5 reads just those fields of each row.
  const RowLayout layout = layout_of(slab.columns);
  Dataspace file_space(H5Dget_space(dataset.get()), "H5Dget_space");
  hsize_t rows = 0;
  if (H5Sget_simple_extent_ndims(file_space.get()) != 1) throw Hdf5Error(name + " is not 1-D");
  H5Sget_simple_extent_dims(file_space.get(), &rows, nullptr);
  slab_rows = std::max<std::size_t>(1, slab_rows);
  const hsize_t end = std::min<hsize_t>(rows, range.end);
  std::vector<unsigned char> buffer(layout.stride * std::min<std::size_t>(rows, slab_rows));
  for (hsize_t first = range.begin; first < end; first += slab_rows) {
    const hsize_t count = std::min<hsize_t>(slab_rows, end - first);
    check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &first, nullptr, &count, nullptr),
          "H5Sselect_hyperslab");
    Dataspace memory_space(H5Screate_simple(1, &count, nullptr), "H5Screate_simple");
    std::fill(buffer.begin(), buffer.end(), 0);  // strings a failed read left unset are null
    const herr_t read = H5Dread(dataset.get(), layout.type.get(), memory_space.get(),
                                file_space.get(), H5P_DEFAULT, buffer.data());
    if (read >= 0) {
      slab.rows.assign(count, {});
      for (std::size_t r = 0; r < count; ++r) {
        const unsigned char* row = buffer.data() + r * layout.stride;
        slab.rows[r].reserve(slab.columns.size());
        for (std::size_t c = 0; c < slab.columns.size(); ++c) {
          slab.rows[r].push_back(cell_at(row + layout.offsets[c], slab.columns[c]));
        }
      }
    }
    H5Dvlen_reclaim(layout.type.get(), memory_space.get(), H5P_DEFAULT, buffer.data());
    check(read, "H5Dread");
    visit(slab, static_cast<std::size_t>(first));
  }
}

std::vector<Column> read_table_columns(hid_t location, const std::string& name) {
  Dataset dataset(H5Dopen2(location, name.c_str(), H5P_DEFAULT), "H5Dopen2");
  Datatype file_type(H5Dget_type(dataset.get()), "H5Dget_type");
  if (H5Tget_class(file_type.get()) != H5T_COMPOUND) throw Hdf5Error(name + " is not a table");
  return columns_of(file_type.get(), {});
}

Table read_table(hid_t location, const std::string& name) {
  Table table;
  read_table_slabs(location, name, {}, 65536, [&table](const Table& slab, std::size_t) {
    table.columns = slab.columns;
    table.rows.insert(table.rows.end(), slab.rows.begin(), slab.rows.end());
  });
  if (table.columns.empty()) table.columns = read_table_columns(location, name);  // no rows
  return table;
}

void write_attribute(hid_t object, const std::string& name, const std::string& value) {
  const Datatype type = string_type(0);
  Dataspace space(H5Screate(H5S_SCALAR), "H5Screate");
  Attribute attribute(
      H5Acreate2(object, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
      "H5Acreate2");
  const char* pointer = value.c_str();
  check(H5Awrite(attribute.get(), type.get(), &pointer), "H5Awrite");
}

void write_attribute(hid_t object, const std::string& name, std::int64_t value) {
  Dataspace space(H5Screate(H5S_SCALAR), "H5Screate");
  Attribute attribute(
      H5Acreate2(object, name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT),
      "H5Acreate2");
  check(H5Awrite(attribute.get(), H5T_NATIVE_INT64, &value), "H5Awrite");
}

void write_attribute(hid_t object, const std::string& name, std::uint64_t value) {
  Dataspace space(H5Screate(H5S_SCALAR), "H5Screate");
  Attribute attribute(
      H5Acreate2(object, name.c_str(), H5T_STD_U64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT),
      "H5Acreate2");
  check(H5Awrite(attribute.get(), H5T_NATIVE_UINT64, &value), "H5Awrite");
}

void write_attribute(hid_t object, const std::string& name, double value) {
  Dataspace space(H5Screate(H5S_SCALAR), "H5Screate");
  Attribute attribute(
      H5Acreate2(object, name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT),
      "H5Acreate2");
  check(H5Awrite(attribute.get(), H5T_NATIVE_DOUBLE, &value), "H5Awrite");
}

void write_attribute(hid_t object, const std::string& name, const std::vector<float>& values) {
  const hsize_t size = values.size();
  Dataspace space(H5Screate_simple(1, &size, nullptr), "H5Screate_simple");
  Attribute attribute(
      H5Acreate2(object, name.c_str(), H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT),
      "H5Acreate2");
  check(H5Awrite(attribute.get(), H5T_NATIVE_FLOAT, values.data()), "H5Awrite");
}

std::vector<float> read_float_array_attribute(hid_t object, const std::string& name,
                                              std::size_t max_size) {
  if (H5Aexists(object, name.c_str()) <= 0) return {};
  Attribute attribute(H5Aopen(object, name.c_str(), H5P_DEFAULT), "H5Aopen");
  Datatype type(H5Aget_type(attribute.get()), "H5Aget_type");
  Dataspace space(H5Aget_space(attribute.get()), "H5Aget_space");
  if (H5Tget_class(type.get()) != H5T_FLOAT || H5Sget_simple_extent_ndims(space.get()) != 1) {
    return {};
  }
  const hssize_t size = H5Sget_simple_extent_npoints(space.get());
  if (size <= 0 || static_cast<std::size_t>(size) > max_size) return {};
  std::vector<float> values(static_cast<std::size_t>(size));
  check(H5Aread(attribute.get(), H5T_NATIVE_FLOAT, values.data()), "H5Aread");
  return values;
}

std::optional<double> read_double_attribute(hid_t object, const std::string& name) {
  if (H5Aexists(object, name.c_str()) <= 0) return std::nullopt;
  Attribute attribute(H5Aopen(object, name.c_str(), H5P_DEFAULT), "H5Aopen");
  Datatype type(H5Aget_type(attribute.get()), "H5Aget_type");
  const auto type_class = H5Tget_class(type.get());
  if (type_class != H5T_FLOAT && type_class != H5T_INTEGER) return std::nullopt;
  double value = 0;
  check(H5Aread(attribute.get(), H5T_NATIVE_DOUBLE, &value), "H5Aread");
  return value;
}

std::optional<std::string> read_string_attribute(hid_t object, const std::string& name) {
  if (H5Aexists(object, name.c_str()) <= 0) return std::nullopt;
  Attribute attribute(H5Aopen(object, name.c_str(), H5P_DEFAULT), "H5Aopen");
  Datatype type(H5Aget_type(attribute.get()), "H5Aget_type");
  if (H5Tget_class(type.get()) != H5T_STRING) return std::nullopt;
  if (H5Tis_variable_str(type.get()) > 0) {
    const Datatype memory = string_type(0);
    char* pointer = nullptr;
    check(H5Aread(attribute.get(), memory.get(), &pointer), "H5Aread");
    std::string value = pointer ? pointer : "";
    Dataspace space(H5Aget_space(attribute.get()), "H5Aget_space");
    H5Dvlen_reclaim(memory.get(), space.get(), H5P_DEFAULT, &pointer);
    return value;
  }
  std::string value(H5Tget_size(type.get()), '\0');
  check(H5Aread(attribute.get(), type.get(), value.data()), "H5Aread");
  return value.substr(0, value.find('\0'));
}

std::optional<std::int64_t> read_integer_attribute(hid_t object, const std::string& name) {
  if (H5Aexists(object, name.c_str()) <= 0) return std::nullopt;
  Attribute attribute(H5Aopen(object, name.c_str(), H5P_DEFAULT), "H5Aopen");
  Datatype type(H5Aget_type(attribute.get()), "H5Aget_type");
  if (H5Tget_class(type.get()) != H5T_INTEGER) return std::nullopt;
  std::int64_t value = 0;
  check(H5Aread(attribute.get(), H5T_NATIVE_INT64, &value), "H5Aread");
  return value;
}

}  // namespace fracstudy::io::detail
