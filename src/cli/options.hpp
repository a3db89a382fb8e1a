#pragma once
// Parsing one subcommand's options with Boost.Program_options (private to the CLI layer).
#include <boost/program_options.hpp>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace fracstudy::cli {

namespace po = boost::program_options;

/// A subcommand's options, positional arguments and help text.
struct CommandSpec {
  CommandSpec(std::string usage_text, std::string summary_text, std::string example_text)
      : usage(std::move(usage_text)),
        summary(std::move(summary_text)),
        example(std::move(example_text)) {}
  std::string usage;    ///< e.g. "fracstudy status OUT.h5 [--json]"
  std::string summary;  ///< what it does, one or two lines
  std::string example;  ///< a worked example
  po::options_description options{"Options"};
  po::positional_options_description positional;
};

/// Parses `args`; returns nullopt after printing help for --help. Throws
/// po::error (exit 2) for bad usage.
inline std::optional<po::variables_map> parse_command(const std::vector<std::string>& args,
                                                      CommandSpec& spec) {
  spec.options.add_options()("help,h", "show this help");
  po::variables_map values;
  po::store(po::command_line_parser(args).options(spec.options).positional(spec.positional).run(),
            values);
  if (values.count("help")) {
    std::cout << "Usage: " << spec.usage << "\n\n"
              << spec.summary << "\n\n"
              << spec.options << "\nExample:\n"
              << spec.example << "\n";
    return std::nullopt;
  }
  po::notify(values);
  return values;
}

}  // namespace fracstudy::cli
