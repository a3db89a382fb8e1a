#pragma once
/// The errors a user sees. Each carries the exit code it ends the command with; every layer
/// throws its own kind (study::InputError, io::ResultFileError and io::WriteError,
/// cli::UsageError), and the command line turns them into one line on stderr and that code
/// in one place (cli/errors.cpp). Anything else that escapes is a failure (exit code 1).
#include <cstddef>
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

/// `text` as one printable line: control characters (a newline or NUL from a study file
/// or a library's message) and bytes that are not UTF-8 become "\xNN", so an error is
/// always one line that a terminal, a log and a JSON encoder take as it is.
inline std::string printable_line(const std::string& text) {
  static const char kHex[] = "0123456789abcdef";
  std::string line;
  line.reserve(text.size());
  const auto escape = [&line](unsigned char byte) {
    line += "\\x";
    line += kHex[byte >> 4];
    line += kHex[byte & 15];
  };
  for (std::size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x20 || byte == 0x7f) {
      escape(byte);
      ++i;
      continue;
    }
    // A UTF-8 sequence: its lead byte says how many continuation bytes (10xxxxxx) follow.
    const std::size_t length = byte < 0x80                    ? 1
                               : byte >= 0xc2 && byte <= 0xdf ? 2
                               : byte >= 0xe0 && byte <= 0xef ? 3
                               : byte >= 0xf0 && byte <= 0xf4 ? 4
                                                              : 0;
    bool whole = length > 0 && i + length <= text.size();
    for (std::size_t k = 1; whole && k < length; ++k) {
      whole = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
    }
    if (!whole) {
      escape(byte);
      ++i;
      continue;
    }
    line.append(text, i, length);
    i += length;
  }
  return line;
}

/// An error for the user: a one-line message and the exit code it ends the command with.
class Error : public std::runtime_error {
 public:
  Error(const std::string& message, ExitCode exit_code)
      : std::runtime_error(printable_line(message)), exit_code_(exit_code) {}
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
