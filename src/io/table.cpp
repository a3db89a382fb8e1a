#include "fracstudy/io/table.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

namespace fracstudy::io {

std::optional<std::size_t> Table::find(const std::string& name) const {
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == name) return i;
  }
  return std::nullopt;
}

double Table::number(const Cell& cell) {
  if (const auto* i = std::get_if<std::int64_t>(&cell)) return static_cast<double>(*i);
  if (const auto* u = std::get_if<std::uint64_t>(&cell)) return static_cast<double>(*u);
  if (const auto* d = std::get_if<double>(&cell)) return *d;
  return std::numeric_limits<double>::quiet_NaN();
}

std::string Table::text(const Cell& cell) {
  if (const auto* i = std::get_if<std::int64_t>(&cell)) return std::to_string(*i);
  if (const auto* u = std::get_if<std::uint64_t>(&cell)) return std::to_string(*u);
  if (const auto* s = std::get_if<std::string>(&cell)) return *s;
  const double value = std::get<double>(cell);
  if (std::isnan(value)) return "nan";
  // The shortest text that reads back as exactly this double: 0.3, not 0.29999999999999999.
  char buffer[32];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  return std::string(buffer, end);
}

}  // namespace fracstudy::io
