#include <iostream>

#include "commands.hpp"
#include "fracstudy/io/errors.hpp"
#include "fracstudy/io/output_file.hpp"
#include "fracstudy/study/parser.hpp"
#include "memory.hpp"
#include "options.hpp"

namespace fracstudy::cli {

int validate_command(const CommandLine& line) {
  const auto& args = line.args;
  CommandSpec spec{"fracstudy validate STUDY.yaml",
                   "Checks a study file without running anything and prints the task count of\n"
                   "each study. Exit code 0 when the file is valid, 2 with a one-line error\n"
                   "(file:line: key: what is allowed) when it is not.",
                   "  fracstudy validate configs/examples/dla_sweep.yaml"};
  spec.options.add_options()("study", po::value<std::string>()->required(), "the study file");
  spec.positional.add("study", 1);
  const auto values = parse_command(args, spec);
  if (!values) return 0;
  const auto file = study::load_study_file((*values)["study"].as<std::string>());
  check_fits_in_memory(file);
  if (file.output) {  // `run` refuses these: so must `validate` (it said "valid")
    try {
      io::check_output_path(*file.output, file.path);
    } catch (const io::ResultFileError& error) {
      throw io::ResultFileError(file.path + ": output: " + error.what());
    }
  }
  std::cout << file.path << ": valid, " << file.studies.size() << " "
            << (file.studies.size() == 1 ? "study" : "studies") << ", " << file.task_count()
            << " tasks\n";
  for (const auto& s : file.studies) {
    std::cout << "  " << s.name << ": " << kernels::name_of(s.algorithm) << ", " << s.points.size()
              << " parameter point" << (s.points.size() == 1 ? "" : "s") << " x " << s.repetitions
              << " repetition" << (s.repetitions == 1 ? "" : "s") << " = " << s.task_count()
              << " tasks\n";
  }
  std::cout << "  " << memory_report(file) << "\n";
  return 0;
}

}  // namespace fracstudy::cli
