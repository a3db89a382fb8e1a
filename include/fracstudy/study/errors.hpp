#pragma once
/// The errors a user sees. Each carries the exit code it ends the command with; every layer
/// throws its own kind (study::InputError, io::ResultFileError and io::WriteError,
/// cli::UsageError), and the command line turns them into one line on stderr and that code
/// in one place (cli/errors.cpp). Anything else that escapes is a failure (exit code 1).
#include <stdexcept>
#include <string>

namespace fracstudy {

/// The exit codes of every command.
enum ExitCode : int {
  kSuccess = 0,      ///< done (a PARTIALLY_FAILED study still counts)
  kFailure = 1,      ///< the run failed
  kBadInput = 2,     ///< usage, study file, result file or tool arguments; nothing started
  kInterrupted = 3,  ///< stopped by SIGUSR1/SIGTERM after a clean checkpoint: resume it
};

/// An error for the user: a one-line message and the exit code it ends the command with.
class Error : public std::runtime_error {
 public:
  Error(const std::string& message, ExitCode exit_code)
      : std::runtime_error(message), exit_code_(exit_code) {}
  ExitCode exit_code() const { return exit_code_; }

 private:
  ExitCode exit_code_;
};

}  // namespace fracstudy

namespace fracstudy::study {

/// Bad input to a study: a study file that cannot be read or is invalid (exit code 2).
class InputError : public Error {
 public:
  explicit InputError(const std::string& message) : Error(message, kBadInput) {}
};

/// A study-file error that knows where it is: "FILE:LINE: KEY: MESSAGE".
class StudyFileError : public InputError {
 public:
  StudyFileError(const std::string& file, int line, const std::string& key,
                 const std::string& message)
      : InputError(compose(file, line, key, message)), file_(file), line_(line), key_(key) {}

  const std::string& file() const { return file_; }
  int line() const { return line_; }  ///< 1-based; 0 when unknown
  const std::string& key() const { return key_; }

 private:
  static std::string compose(const std::string& file, int line, const std::string& key,
                             const std::string& message) {
    std::string text = file;
    if (line > 0) text += ":" + std::to_string(line);
    text += ": ";
    if (!key.empty()) text += key + ": ";
    return text + message;
  }
  std::string file_;
  int line_;
  std::string key_;
};

}  // namespace fracstudy::study
