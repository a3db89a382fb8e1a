#include "fracstudy/sched/topology.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <stdexcept>

namespace fracstudy::sched {

std::optional<RelayPolicy> RelayPolicy::parse(const std::string& text) {
  if (text == "none") return RelayPolicy{Kind::None, 0};
  if (text == "node") return RelayPolicy{Kind::PerNode, 0};
  if (text == "auto") return RelayPolicy{Kind::Automatic, 0};
  int size = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), size);
  if (error != std::errc() || end != text.data() + text.size() || size < 2) return std::nullopt;
  return RelayPolicy{Kind::Fixed, size};
}

std::string RelayPolicy::to_string() const {
  switch (kind) {
    case Kind::None:
      return "none";
    case Kind::PerNode:
      return "node";
    case Kind::Automatic:
      return "auto";
    case Kind::Fixed:
      return std::to_string(group_size);
  }
  return "auto";
}

Topology::Topology(std::vector<int> parent_of_rank)
    : parent_(std::move(parent_of_rank)), children_(parent_.size()) {
  if (parent_.empty()) throw std::invalid_argument("topology: no ranks");
  for (int rank = 1; rank < ranks(); ++rank) {
    children_[static_cast<std::size_t>(parent(rank))].push_back(rank);
  }
}

Topology Topology::flat(int ranks) {
  std::vector<int> parent(static_cast<std::size_t>(std::max(1, ranks)), 0);
  parent[0] = -1;
  return Topology(std::move(parent));
}

Topology Topology::fixed_groups(int ranks, int group_size) {
  if (group_size < 2) throw std::invalid_argument("topology: a group needs a relay and a worker");
  std::vector<int> parent(static_cast<std::size_t>(std::max(1, ranks)), 0);
  parent[0] = -1;
  int relay = 0;
  for (int rank = 1; rank < ranks; ++rank) {
    const bool starts_group = (rank - 1) % group_size == 0;
    // A group of one would be a relay with nobody to feed: that rank joins the last group.
    const bool alone = rank == ranks - 1 && starts_group;
    if (starts_group && !alone) {
      relay = rank;
      continue;  // a relay answers to rank 0
    }
    parent[static_cast<std::size_t>(rank)] = relay;
  }
  return Topology(std::move(parent));
}

Topology Topology::per_node(const std::vector<int>& node_of_rank) {
  std::vector<int> parent(std::max<std::size_t>(1, node_of_rank.size()), 0);
  parent[0] = -1;
  std::map<int, std::vector<int>> ranks_of_node;  // rank 0 excluded: it coordinates
  for (std::size_t rank = 1; rank < node_of_rank.size(); ++rank) {
    ranks_of_node[node_of_rank[rank]].push_back(static_cast<int>(rank));
  }
  for (const auto& [node, ranks] : ranks_of_node) {
    if (ranks.size() < 2) continue;
    for (std::size_t i = 1; i < ranks.size(); ++i) {
      parent[static_cast<std::size_t>(ranks[i])] = ranks.front();
    }
  }
  return Topology(std::move(parent));
}

Topology Topology::from_policy(const RelayPolicy& policy, const std::vector<int>& node_of_rank) {
  const int ranks = static_cast<int>(node_of_rank.size());
  switch (policy.kind) {
    case RelayPolicy::Kind::None:
      return flat(ranks);
    case RelayPolicy::Kind::Fixed:
      return fixed_groups(ranks, policy.group_size);
    case RelayPolicy::Kind::PerNode:
      return per_node(node_of_rank);
    case RelayPolicy::Kind::Automatic: {
      const auto nodes = std::set<int>(node_of_rank.begin(), node_of_rank.end()).size();
      return ranks - 1 >= kAutomaticRelayThreshold && nodes > 1 ? per_node(node_of_rank)
                                                                : flat(ranks);
    }
  }
  return flat(ranks);
}

int Topology::compute_ranks() const {
  int count = 0;
  for (int rank = 1; rank < ranks(); ++rank) {
    if (!is_relay(rank)) ++count;
  }
  return std::max(1, count);
}

int Topology::capacity(int rank) const {
  return is_relay(rank) ? static_cast<int>(children(rank).size()) : 1;
}

int Topology::relay_count() const {
  int count = 0;
  for (int rank = 1; rank < ranks(); ++rank) {
    if (is_relay(rank)) ++count;
  }
  return count;
}

}  // namespace fracstudy::sched
