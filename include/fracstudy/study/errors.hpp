#pragma once
/// Errors in what the user gave us. Each maps to exit code 2 ("bad input").
#include <stdexcept>
#include <string>

namespace fracstudy::study {

/// Bad input of any kind (usage, study file, result file, tool arguments): exit code 2.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
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
