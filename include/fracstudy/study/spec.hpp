#pragma once
/// The study model: what a study file says, after validation.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fracstudy/kernels/models.hpp"
#include "fracstudy/kernels/parameters.hpp"

namespace fracstudy::study {

/// What a seed may be, in the words every error about one uses (study file, command line,
/// tool call).
inline constexpr std::string_view kSeedAllowed = "an integer from 0 to 18446744073709551615";

/// A seed written as text: decimal digits only (no sign, no space), at most 2^64 - 1.
std::optional<std::uint64_t> parse_seed(std::string_view text);

using kernels::Algorithm;
using kernels::Parameter;
using kernels::SimulationParameters;

/// Which clusters' particle positions the result file keeps (`execution.save_clusters`).
enum class SaveClusters {
  None,   ///< none
  First,  ///< the first repetition of each parameter point
  All,    ///< every task's
};

/// The `execution` section: how the coordinator runs the tasks.
struct ExecutionOptions {
  std::optional<std::int64_t> chunk_size;  ///< tasks per request; nullopt = chosen automatically
  int max_retries = 3;                     ///< further attempts of a failed task
  double task_time_limit_s = 0;            ///< per attempt; 0 = no limit
  double checkpoint_interval_s = 10;       ///< longest time a finished result waits for disk
  bool isolate_tasks = true;  ///< run attempts in a child process (`isolation: process`)
  SaveClusters save_clusters = SaveClusters::First;  ///< positions kept in the result file
};

/// One study: a model, fixed parameters, and the parameter points to run.
struct StudySpec {
  std::string name;                          ///< unique in the file, [A-Za-z0-9_-]{1,64}
  Algorithm algorithm = Algorithm::DLA;      ///< the aggregation model
  SimulationParameters base;                 ///< defaults overlaid with base_parameters
  std::vector<Parameter> varied;             ///< swept or grid parameters, in file order
  std::vector<SimulationParameters> points;  ///< every parameter point, expanded
  int repetitions = 1;                       ///< samples per point (Monte Carlo)
  int line = 0;                              ///< where it starts in the file (1-based)

  /// Tasks in this study: points x repetitions.
  std::int64_t task_count() const { return static_cast<std::int64_t>(points.size()) * repetitions; }
};

/// A whole study file.
struct StudyFile {
  std::string path;                   ///< as given by the user, for messages
  std::string text;                   ///< the file's exact text (stored in result files)
  std::optional<std::string> output;  ///< `output:`; the command line's -o wins
  std::uint64_t seed = 0;             ///< master seed
  ExecutionOptions execution;
  std::vector<StudySpec> studies;

  /// Tasks over every study.
  std::int64_t task_count() const;
};

/// What a study name (and so a tool's study_id, a folder name) may be, without anchors.
inline constexpr const char* kStudyNamePattern = "[A-Za-z0-9_-]{1,64}";
/// Whether `name` matches kStudyNamePattern.
bool is_valid_study_name(const std::string& name);

/// The largest number of tasks one file may expand into (keeps memory bounded).
inline constexpr std::int64_t kMaxTasksPerFile = 50'000'000;

}  // namespace fracstudy::study
