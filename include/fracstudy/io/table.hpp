#pragma once
/// A typed table: the in-memory form of a result file's compound datasets.
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace fracstudy::io {

/// What a column holds.
enum class ColumnType { Int64, UInt64, Float64, String };

/// One column's name and type.
struct Column {
  std::string name;
  ColumnType type;
  /// A String column of at most this many bytes, stored in the row itself (null-padded);
  /// 0: of any length, stored apart (an HDF5 variable-length string). Fixed widths suit
  /// short values repeated on millions of rows (a status, a host name): each
  /// variable-length string is a separate object in the file's heap, uncompressed, and
  /// costs about 30 bytes and a lookup to write and to read.
  std::size_t width = 0;
};

/// One cell.
using Cell = std::variant<std::int64_t, std::uint64_t, double, std::string>;

/// Rows of cells under named, typed columns.
struct Table {
  std::vector<Column> columns;
  std::vector<std::vector<Cell>> rows;

  /// Index of a column by name; nullopt when absent.
  std::optional<std::size_t> find(const std::string& name) const;
  /// A numeric cell as double (NaN for strings).
  static double number(const Cell& cell);
  /// A cell as text: integers exactly, doubles as the shortest text that reads back to the
  /// same double (0.3, 1e-05), "nan" for NaN.
  static std::string text(const Cell& cell);
};

}  // namespace fracstudy::io
