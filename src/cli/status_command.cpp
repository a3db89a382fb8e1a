#include <iostream>

#include "commands.hpp"
#include "fracstudy/io/output_file.hpp"
#include "fracstudy/tools/status.hpp"
#include "options.hpp"
#include "report.hpp"

namespace fracstudy::cli {

int status_command(const CommandLine& line) {
  const auto& args = line.args;
  CommandSpec spec{"fracstudy status OUT.h5 [--json]",
                   "Shows the progress of every study in a result file, also while a run is\n"
                   "writing it (the file is replaced atomically at each checkpoint).",
                   "  fracstudy status results/dla_sweep.h5\n"
                   "  fracstudy status results/dla_sweep.h5 --json"};
  spec.options.add_options()("file", po::value<std::string>()->required(), "the result file")(
      "json", "print JSON instead of a table");
  spec.positional.add("file", 1);
  const auto values = parse_command(args, spec);
  if (!values) return 0;
  const std::string path = (*values)["file"].as<std::string>();
  const bool json = values->count("json") > 0;
  io::read_isolated(path, [&] {
    const io::ResultReader reader(path);
    // Looked at after the file is read: a run that ended meanwhile wrote its last status
    // first, and one that starts takes the lock before it writes.
    const bool run_alive = io::run_holds_lock(io::real_output_path(path));
    if (json) {
      nlohmann::json studies = nlohmann::json::array();
      for (std::size_t s = 0; s < reader.data().studies.size(); ++s)
        studies.push_back(tools::study_status_json(reader, s, run_alive));
      std::cout << nlohmann::json{{"file", path}, {"studies", studies}}.dump(2) << "\n";
    } else {
      print_status_table(std::cout, reader, run_alive);
    }
  });
  return 0;
}

}  // namespace fracstudy::cli
