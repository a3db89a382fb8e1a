#include "fracstudy/study/status.hpp"

#include <array>

namespace fracstudy::study {
namespace {
constexpr std::array<std::string_view, 4> kTaskNames = {"PENDING", "RUNNING", "COMPLETED",
                                                        "FAILED"};
constexpr std::array<std::string_view, 8> kStudyNames = {
    "CREATED",          "QUEUED", "RUNNING",     "COMPLETED",
    "PARTIALLY_FAILED", "FAILED", "INTERRUPTED", "CANCELLED"};
}  // namespace

std::string_view name_of(TaskStatus status) {
  return kTaskNames[static_cast<std::size_t>(status)];
}

std::string_view name_of(StudyStatus status) {
  return kStudyNames[static_cast<std::size_t>(status)];
}

std::span<const std::string_view> study_status_names() {
  return kStudyNames;
}

std::optional<TaskStatus> task_status_from_name(std::string_view name) {
  for (std::size_t i = 0; i < kTaskNames.size(); ++i) {
    if (kTaskNames[i] == name) return static_cast<TaskStatus>(i);
  }
  return std::nullopt;
}

std::optional<StudyStatus> study_status_from_name(std::string_view name) {
  for (std::size_t i = 0; i < kStudyNames.size(); ++i) {
    if (kStudyNames[i] == name) return static_cast<StudyStatus>(i);
  }
  return std::nullopt;
}

StudyStatus final_status(std::int64_t completed, std::int64_t failed) {
  if (failed == 0) return StudyStatus::Completed;
  if (completed == 0) return StudyStatus::Failed;
  return StudyStatus::PartiallyFailed;
}

}  // namespace fracstudy::study
