#pragma once
/// Studies waiting for a slot: their priorities and their entries in the workspace's queue.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fracstudy::tools {

/// How soon a study runs. High studies jump the queue (never preempting a running one);
/// batch studies wait behind everything else.
enum class Priority { High, Normal, Batch };

/// Every priority, in the order the queue serves them: "high", "normal", "batch".
std::span<const Priority> all_priorities();
std::string_view name_of(Priority priority);
std::optional<Priority> priority_from_name(std::string_view name);
/// The Slurm nice value of a priority's batch jobs unless the operator names other
/// arguments: 0, 100, 1000 (an unprivileged user can only lower a job's priority).
int slurm_nice(Priority priority);

/// What a study waiting in the queue needs to start later, in whichever process notices a
/// free slot first.
struct QueuedStudy {
  std::string id;
  Priority priority = Priority::Normal;
  std::uint64_t sequence = 0;  ///< the queue's order within a priority: oldest first
  std::string client;          ///< who asked (its high studies are capped)
  /// A random word naming this entry: the run started from it carries it in its launch
  /// record, so an entry whose study was started already is never started again.
  std::string token;
  std::string queued_at;  ///< ISO 8601 UTC
  /// Whether it waits to continue an earlier run (retry_failed_simulations) rather than to
  /// start; the command is built when it starts, never read from the entry.
  bool retry = false;

  nlohmann::json to_json() const;
  /// nullopt for an entry that is not one (damaged, planted): it is skipped.
  static std::optional<QueuedStudy> from_json(const std::string& id, const std::string& text);
};

/// The waiting studies in the order they will start: priority, then oldest first.
std::vector<QueuedStudy> in_start_order(std::vector<QueuedStudy> waiting);

}  // namespace fracstudy::tools
