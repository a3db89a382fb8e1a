#include "fracstudy/tools/queue.hpp"
#include "fracstudy/tools/json_input.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace fracstudy::tools {
namespace {

using nlohmann::json;

struct PriorityDefinition {
  Priority priority;
  std::string_view name;
  int slurm_nice;
};

constexpr std::array<PriorityDefinition, 3> kPriorities = {{{Priority::High, "high", 0},
                                                            {Priority::Normal, "normal", 100},
                                                            {Priority::Batch, "batch", 1000}}};

constexpr auto kAll = [] {
  std::array<Priority, kPriorities.size()> all{};
  for (std::size_t k = 0; k < all.size(); ++k)
    all[k] = kPriorities[k].priority;
  return all;
}();

}  // namespace

std::span<const Priority> all_priorities() {
  return kAll;
}

std::string_view name_of(Priority priority) {
  for (const auto& definition : kPriorities) {
    if (definition.priority == priority) return definition.name;
  }
  return "normal";
}

std::optional<Priority> priority_from_name(std::string_view name) {
  for (const auto& definition : kPriorities) {
    if (definition.name == name) return definition.priority;
  }
  return std::nullopt;
}

int slurm_nice(Priority priority) {
  for (const auto& definition : kPriorities) {
    if (definition.priority == priority) return definition.slurm_nice;
  }
  return 100;
}

json QueuedStudy::to_json() const {
  return {{"priority", name_of(priority)}, {"sequence", sequence}, {"client", client},
          {"queued_at", queued_at},        {"retry", retry},       {"token", token}};
}

std::optional<QueuedStudy> QueuedStudy::from_json(const std::string& id, const std::string& text) {
  const json parsed = parse_untrusted_or_discarded(text);
  if (!parsed.is_object()) return std::nullopt;
  QueuedStudy study;
  study.id = id;
  const auto priority = parsed.find("priority");
  if (priority == parsed.end() || !priority->is_string()) return std::nullopt;
  const auto known = priority_from_name(priority->get<std::string>());
  if (!known) return std::nullopt;
  study.priority = *known;
  const auto sequence = parsed.find("sequence");
  if (sequence == parsed.end() || !sequence->is_number_unsigned()) return std::nullopt;
  study.sequence = sequence->get<std::uint64_t>();
  if (const auto client = parsed.find("client"); client != parsed.end() && client->is_string()) {
    study.client = client->get<std::string>();
  }
  if (const auto at = parsed.find("queued_at"); at != parsed.end() && at->is_string()) {
    study.queued_at = at->get<std::string>();
  }
  const auto token = parsed.find("token");
  if (token == parsed.end() || !token->is_string() || token->get<std::string>().empty()) {
    return std::nullopt;
  }
  study.token = token->get<std::string>();
  const auto retry = parsed.find("retry");
  study.retry = retry != parsed.end() && retry->is_boolean() && retry->get<bool>();
  return study;
}

std::vector<QueuedStudy> in_start_order(std::vector<QueuedStudy> waiting) {
  std::sort(waiting.begin(), waiting.end(), [](const QueuedStudy& a, const QueuedStudy& b) {
    if (a.priority != b.priority) return a.priority < b.priority;
    if (a.sequence != b.sequence) return a.sequence < b.sequence;
    return a.id < b.id;
  });
  return waiting;
}

}  // namespace fracstudy::tools
