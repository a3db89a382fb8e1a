#include "fracstudy/study/writer.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>

namespace fracstudy::study {
namespace {

/// The shortest text that reads back as exactly `value` ("100", "0.1", "1e-05").
std::string number_text(double value) {
  char buffer[32];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  return std::string(buffer, end);
}

void emit_values(YAML::Emitter& out, const std::vector<double>& values) {
  out << YAML::Flow << YAML::BeginSeq;
  for (double value : values)
    out << number_text(value);
  out << YAML::EndSeq;
}

void emit_study(YAML::Emitter& out, const StudyDraft& study) {
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << study.name;
  out << YAML::Key << "algorithm" << YAML::Value << std::string(kernels::name_of(study.algorithm));
  if (!study.base_parameters.empty()) {
    out << YAML::Key << "base_parameters" << YAML::Value << YAML::BeginMap;
    for (const auto& [parameter, value] : study.base_parameters) {
      out << YAML::Key << std::string(kernels::name_of(parameter)) << YAML::Value
          << number_text(value);
    }
    out << YAML::EndMap;
  }
  if (study.axes.size() == 1 && !study.grid) {
    const auto& [parameter, values] = study.axes.front();
    out << YAML::Key << "variable_parameter" << YAML::Value
        << std::string(kernels::name_of(parameter));
    out << YAML::Key << "values" << YAML::Value;
    emit_values(out, values);
  } else if (!study.axes.empty()) {
    out << YAML::Key << "grid" << YAML::Value << YAML::BeginMap;
    for (const auto& [parameter, values] : study.axes) {
      out << YAML::Key << std::string(kernels::name_of(parameter)) << YAML::Value;
      emit_values(out, values);
    }
    out << YAML::EndMap;
  }
  out << YAML::Key << "repetitions" << YAML::Value << study.repetitions;
  out << YAML::EndMap;
}

}  // namespace

std::string write_study_file(const StudyFileDraft& draft) {
  YAML::Emitter out;
  if (!draft.comment.empty()) out << YAML::Comment(draft.comment);
  out << YAML::BeginMap;
  out << YAML::Key << "seed" << YAML::Value << draft.seed;
  if (draft.task_time_limit_s > 0) {
    out << YAML::Key << "execution" << YAML::Value << YAML::BeginMap << YAML::Key
        << "task_time_limit_s" << YAML::Value << number_text(draft.task_time_limit_s)
        << YAML::EndMap;
  }
  out << YAML::Key << "studies" << YAML::Value << YAML::BeginSeq;
  for (const auto& study : draft.studies)
    emit_study(out, study);
  out << YAML::EndSeq << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace fracstudy::study
