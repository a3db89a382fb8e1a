#include <algorithm>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "errors.hpp"
#include "fracstudy/io/result_file.hpp"
#include "fracstudy/study/errors.hpp"
#include "fracstudy/tools/status.hpp"
#include "options.hpp"

namespace fracstudy::cli {
namespace {

using io::Table;

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text)
    quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

/// A summary's columns and the `flags` column that export adds to them.
std::vector<io::Column> summary_columns(const Table& summary) {
  auto columns = summary.columns;
  columns.push_back({"flags", io::ColumnType::String});
  return columns;
}

/// Prints one table of every chosen study (all of them when `only` is empty), as the
/// rows are read: a table of millions of tasks is never held whole.
void print_table(const std::string& path, const std::string& table_name, const std::string& format,
                 const std::string& only) {
  const io::ResultReader reader(path);
  const auto& data = reader.data();
  std::vector<std::size_t> chosen;
  for (std::size_t s = 0; s < data.studies.size(); ++s) {
    if (only.empty() || data.studies[s].name == only) chosen.push_back(s);
  }
  if (chosen.empty()) {
    std::string names;
    for (const auto& study : data.studies)
      names += (names.empty() ? "" : ", ") + study.name;
    throw UsageError("--study: no study named '" + only + "' in " + path + " (it has: " + names +
                     ")");
  }
  auto for_each_row = [&](std::size_t s, const io::ResultReader::RowVisitor& visit) {
    if (table_name == "tasks") return reader.for_each_row(s, visit);
    // A summary row ends with its flags (tools::point_flags), joined by ';'.
    const Table& summary = reader.summary(s);
    const auto columns = summary_columns(summary);
    for (std::size_t r = 0; r < summary.rows.size(); ++r) {
      auto row = summary.rows[r];
      row.emplace_back(tools::point_flags_text(summary, summary.rows[r]));
      visit(r, columns, row);
    }
  };
  auto columns_of = [&](std::size_t s) {
    return table_name == "tasks" ? reader.task_columns(s) : summary_columns(reader.summary(s));
  };
  if (format == "json") {
    std::cout << "[";
    bool first = true;
    for (const std::size_t s : chosen) {
      for_each_row(s, [&](std::size_t r, const std::vector<io::Column>& columns,
                          const std::vector<io::Cell>& row) {
        nlohmann::json object = {{"study", data.studies[s].name}};
        for (std::size_t c = 0; c < columns.size(); ++c)
          object[columns[c].name] = tools::cell_json(row[c]);
        if (table_name == "summary") {
          object["flags"] = tools::point_flags(reader.summary(s), reader.summary(s).rows[r]);
        }
        std::string text = object.dump(2);
        for (std::size_t at = text.find('\n'); at != std::string::npos;
             at = text.find('\n', at + 3))
          text.replace(at, 1, "\n  ");
        std::cout << (first ? "\n  " : ",\n  ") << text;
        first = false;
      });
    }
    std::cout << (first ? "]\n" : "\n]\n");
    return;
  }
  // Studies of different models have different parameter columns: the CSV takes their
  // union, in order of first appearance, and leaves a study's missing columns empty.
  std::vector<std::string> header;
  for (const std::size_t s : chosen) {
    for (const auto& column : columns_of(s)) {
      if (std::find(header.begin(), header.end(), column.name) == header.end()) {
        header.push_back(column.name);
      }
    }
  }
  std::cout << "study";
  for (const auto& name : header)
    std::cout << "," << name;
  std::cout << "\n";
  for (const std::size_t s : chosen) {
    const std::string study = csv_field(data.studies[s].name);
    std::vector<std::optional<std::size_t>> source;
    for_each_row(s, [&](std::size_t, const std::vector<io::Column>& columns,
                        const std::vector<io::Cell>& row) {
      if (source.empty()) {
        for (const auto& name : header) {
          const auto at = std::find_if(columns.begin(), columns.end(),
                                       [&](const io::Column& c) { return c.name == name; });
          source.push_back(at == columns.end() ? std::nullopt
                                               : std::optional<std::size_t>(at - columns.begin()));
        }
      }
      std::cout << study;
      for (const auto& index : source)
        std::cout << "," << (index ? csv_field(Table::text(row[*index])) : "");
      std::cout << "\n";
    });
  }
}

}  // namespace

int export_command(const CommandLine& line) {
  const auto& args = line.args;
  CommandSpec spec{
      "fracstudy export OUT.h5 [--format csv|json] [--table tasks|summary] "
      "[--study NAME]",
      "Writes one table of a result file to stdout: `tasks` (one row per\n"
      "simulation) or `summary` (one row per parameter point), as CSV with a\n"
      "header or as a JSON array of objects. A `study` column comes first.",
      "  fracstudy export results/dla_sweep.h5 --table summary > summary.csv"};
  spec.options.add_options()("file", po::value<std::string>()->required(), "the result file")(
      "format", po::value<std::string>()->default_value("csv"), "csv | json")(
      "table", po::value<std::string>()->default_value("tasks"), "tasks | summary")(
      "study", po::value<std::string>(), "only this study (default: every study)");
  spec.positional.add("file", 1);
  const auto values = parse_command(args, spec);
  if (!values) return 0;
  const std::string format = (*values)["format"].as<std::string>();
  const std::string table_name = (*values)["table"].as<std::string>();
  if (format != "csv" && format != "json") {
    throw UsageError("--format: must be csv or json, got '" + format + "'");
  }
  if (table_name != "tasks" && table_name != "summary") {
    throw UsageError("--table: must be tasks or summary, got '" + table_name + "'");
  }
  const std::string only = values->count("study") ? (*values)["study"].as<std::string>() : "";
  if (values->count("study") && only.empty()) {  // it exported every study without a word
    throw UsageError(
        "--study: the name is empty; give a study's name, or leave --study out "
        "for every study");
  }
  const std::string path = (*values)["file"].as<std::string>();
  io::read_isolated(path, [&] { print_table(path, table_name, format, only); });
  return 0;
}

}  // namespace fracstudy::cli
