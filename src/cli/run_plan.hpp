#pragma once
// What `run` and `retry` decide on rank 0 before anything starts (private to the CLI layer):
// the study, the result file and what it already holds, the options of the run.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fracstudy/io/output_file.hpp"
#include "fracstudy/io/result_writer.hpp"
#include "fracstudy/sched/topology.hpp"
#include "fracstudy/study/records.hpp"
#include "fracstudy/study/spec.hpp"

namespace fracstudy::cli {

/// What rank 0 decided before anything starts.
struct RunPlan {
  study::StudyFile file;
  std::string output;
  study::TaskRecords records;  ///< earlier results; empty for a fresh run
  io::RunStart start;          ///< what the file being continued holds
  double drain_grace_s = 30;
  std::string stop_file;                 ///< drain once it exists ("": none)
  double time_limit_s = 0;               ///< drain once the run has taken this long (0: no limit)
  sched::RelayPolicy relays;             ///< how ranks are grouped under sub-coordinators
  double progress_interval_s = 30;       ///< between plain progress lines (not a terminal)
  bool quiet = false;                    ///< no progress and no summary: errors only
  std::string resume_hint;               ///< the command that continues an interrupted run
  std::shared_ptr<io::OutputLock> lock;  ///< held by rank 0 until the run ends
  bool fresh_retry_budget = false;       ///< `retry`: earlier attempts do not use up retries
  std::string earlier_version;           ///< software_version of the file continued ("": none)
};

/// Parses `run`'s command line and checks everything; nullopt after --help. Throws for
/// bad input before anything is created.
std::optional<RunPlan> prepare_run(const std::vector<std::string>& args);

/// The same for `retry`: the study is the one stored in the result file.
std::optional<RunPlan> prepare_retry(const std::vector<std::string>& args);

/// The policy `--relays TEXT` names; UsageError (exit 2) when it names none.
sched::RelayPolicy relay_policy_option(const std::string& text);

}  // namespace fracstudy::cli
