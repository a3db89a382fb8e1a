#pragma once
/// Writing study files: the one place besides the parser that knows their keys. Whoever
/// generates a study (the AI tools) fills in a StudyFileDraft; the text it gets back is
/// then read by the parser like any user's file.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "fracstudy/study/spec.hpp"

namespace fracstudy::study {

/// One study to write.
struct StudyDraft {
  std::string name;
  Algorithm algorithm = Algorithm::DLA;
  std::vector<std::pair<Parameter, double>> base_parameters;  ///< fixed values
  /// The varied parameters and their values: one axis is a sweep (variable_parameter and
  /// values), several a grid (every combination); none, a single parameter point.
  std::vector<std::pair<Parameter, std::vector<double>>> axes;
  bool grid = false;  ///< write the axes as a grid even when there is only one
  int repetitions = 1;
};

/// A study file to write.
struct StudyFileDraft {
  std::string comment;  ///< a first line saying who wrote it ("" for none)
  std::uint64_t seed = 0;
  std::vector<StudyDraft> studies;
  double task_time_limit_s = 0;  ///< execution.task_time_limit_s (0: not written)
};

/// The YAML text of a study file. Numbers are written in their shortest exact form, so the
/// parser reads back the very same values (and tasks get the same seeds).
std::string write_study_file(const StudyFileDraft& draft);

}  // namespace fracstudy::study
