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
  const auto data = io::read_result_file((*values)["file"].as<std::string>());
  const std::string only = values->count("study") ? (*values)["study"].as<std::string>() : "";
  std::vector<const io::StudyData*> chosen;
  for (const auto& study : data.studies) {
    if (only.empty() || study.name == only) chosen.push_back(&study);
  }
  if (chosen.empty()) throw UsageError("--study: no study named '" + only + "' in the file");
  auto table_of = [&table_name](const io::StudyData& study) -> const Table& {
    return table_name == "tasks" ? study.tasks : study.summary;
  };
  if (format == "json") {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto* study : chosen) {
      const Table& table = table_of(*study);
      for (const auto& row : table.rows) {
        nlohmann::json object = {{"study", study->name}};
        for (std::size_t c = 0; c < table.columns.size(); ++c) {
          object[table.columns[c].name] = tools::cell_json(row[c]);
        }
        rows.push_back(std::move(object));
      }
    }
    std::cout << rows.dump(2) << "\n";
    return 0;
  }
  // Studies of different models have different parameter columns: the CSV takes their
  // union, in order of first appearance, and leaves a study's missing columns empty.
  std::vector<std::string> columns;
  for (const auto* study : chosen) {
    for (const auto& column : table_of(*study).columns) {
      if (std::find(columns.begin(), columns.end(), column.name) == columns.end()) {
        columns.push_back(column.name);
      }
    }
  }
  std::cout << "study";
  for (const auto& name : columns)
    std::cout << "," << name;
  std::cout << "\n";
  for (const auto* study : chosen) {
    const Table& table = table_of(*study);
    std::vector<std::optional<std::size_t>> source;
    for (const auto& name : columns)
      source.push_back(table.find(name));
    for (const auto& row : table.rows) {
      std::cout << csv_field(study->name);
      for (const auto& index : source) {
        std::cout << "," << (index ? csv_field(Table::text(row[*index])) : "");
      }
      std::cout << "\n";
    }
  }
  return 0;
}

}  // namespace fracstudy::cli
