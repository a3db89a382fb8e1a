#pragma once
// The command line's errors, and the one place any error becomes a line on stderr and an
// exit code (private to the CLI layer).
#include <string>
#include <string_view>

#include "fracstudy/study/errors.hpp"

namespace fracstudy::cli {

/// Bad usage of a command: an option's value, flags that conflict, an output that exists
/// (exit code 2; nothing started).
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(message, kBadInput) {}
};

/// Reports the exception being handled (call it in a catch block) as one line on stderr,
/// "fracstudy COMMAND: MESSAGE", and returns the exit code it carries: that of a
/// fracstudy::Error, 2 for a command-line syntax error, 1 for anything else.
int report_current_exception(std::string_view command);

}  // namespace fracstudy::cli
