#include "fracstudy/sched/node_health.hpp"

#include <algorithm>

namespace fracstudy::sched {

NodeHealth::NodeHealth(const std::vector<std::string>& host_of_rank) {
  for (const auto& host : host_of_rank) {
    if (host.empty()) {
      host_of_rank_.push_back(-1);
      continue;
    }
    const auto known = std::find(names_.begin(), names_.end(), host);
    host_of_rank_.push_back(static_cast<int>(known - names_.begin()));
    if (known == names_.end()) names_.push_back(host);
  }
  nodes_.resize(names_.size());
}

int NodeHealth::host_of_rank(int rank) const {
  const auto index = static_cast<std::size_t>(rank);
  return rank >= 0 && index < host_of_rank_.size() ? host_of_rank_[index] : -1;
}

bool NodeHealth::excluded_rank(int rank) const {
  const int host = host_of_rank(rank);
  return host >= 0 && nodes_[static_cast<std::size_t>(host)].excluded;
}

void NodeHealth::failed(std::size_t task, int rank) {
  const int host = host_of_rank(rank);
  if (host < 0 || !several_hosts()) return;
  Node& node = nodes_[static_cast<std::size_t>(host)];
  ++node.failures[task];
  node.failed_since_success.insert(task);
  suspects_.insert(host);
}

std::optional<int> NodeHealth::look_at_suspects(std::size_t task, int rank) {
  const int host = host_of_rank(rank);
  if (host < 0 || !several_hosts()) return std::nullopt;
  if (suspects_.erase(host) > 0) {
    Node& here = nodes_[static_cast<std::size_t>(host)];
    here.failed_since_success.clear();  // it computes: not a bad node (so far)
    here.convicting.clear();
  }
  for (const int other : suspects_) {
    Node& node = nodes_[static_cast<std::size_t>(other)];
    if (node.excluded || !node.failed_since_success.contains(task)) continue;
    node.convicting.insert(task);
    const auto standing = std::count_if(nodes_.begin(), nodes_.end(),
                                        [](const Node& each) { return !each.excluded; });
    if (node.convicting.size() >= kBadNodeTasks && standing > 1) {
      node.excluded = true;
      suspects_.erase(other);
      excluded_names_.push_back(names_[static_cast<std::size_t>(other)]);
      return other;
    }
  }
  return std::nullopt;
}

const std::map<std::size_t, int>& NodeHealth::failures_on(int host) const {
  return nodes_.at(static_cast<std::size_t>(host)).failures;
}

}  // namespace fracstudy::sched
