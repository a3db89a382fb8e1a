#include "errors.hpp"

#include <boost/program_options/errors.hpp>
#include <exception>
#include <iostream>

namespace fracstudy::cli {

int report_current_exception(std::string_view command) {
  try {
    throw;
  } catch (const Error& error) {
    // Bad input says what would be right; anything else is an error of the run.
    std::cerr << "fracstudy " << command << ": "
              << (error.exit_code() == kBadInput ? "" : "error: ") << error.what() << "\n";
    return error.exit_code();
  } catch (const boost::program_options::error& error) {
    std::cerr << "fracstudy " << command << ": " << error.what() << " (see fracstudy " << command
              << " --help)\n";
    return kBadInput;
  } catch (const std::exception& error) {
    std::cerr << "fracstudy " << command << ": error: " << error.what() << "\n";
    return kFailure;
  }
}

}  // namespace fracstudy::cli
