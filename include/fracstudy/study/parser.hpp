#pragma once
/// Reading and validating study files. Every error is a StudyFileError that names the
/// file, the line, the key and what is allowed.
#include <cstddef>
#include <string>

#include "fracstudy/study/spec.hpp"

namespace fracstudy::study {

/// The largest study file read (about two million values written out; a longer sweep is
/// a `range`). Beyond it parsing alone would take seconds and gigabytes.
inline constexpr std::size_t kMaxStudyFileBytes = std::size_t{16} << 20;

/// Reads and validates a study file; throws StudyFileError (or InputError when the file
/// cannot be read).
StudyFile load_study_file(const std::string& path);

/// Validates study-file text; `path` is only used in messages and kept in the result.
StudyFile parse_study_text(const std::string& text, const std::string& path);

/// The known key closest to `key` by edit distance, or "" when none is close.
std::string nearest_key(const std::string& key, const std::vector<std::string>& known);

}  // namespace fracstudy::study
