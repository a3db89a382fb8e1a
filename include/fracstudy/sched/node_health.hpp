#pragma once
/// Which nodes of a job are bad: a node where tasks fail that then succeed on another node
/// is taken out of the run, and the attempts it failed are given back. A pure state
/// machine (no MPI, no clock), kept by the Scheduler.
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace fracstudy::sched {

/// A node is bad once this many different tasks failed on it and then succeeded on
/// another node, with no success on it in between. A task that fails everywhere (a bad
/// parameter) convicts no node, however its chunks were placed.
inline constexpr std::size_t kBadNodeTasks = 3;

class NodeHealth {
 public:
  /// `host_of_rank[r]` names rank r's node; ranks beyond it (or "") have none.
  explicit NodeHealth(const std::vector<std::string>& host_of_rank);

  /// Rank `rank`'s node, or -1 when unknown.
  int host_of_rank(int rank) const;
  /// The job spans more than one node.
  bool several_hosts() const { return names_.size() > 1; }
  bool excluded_rank(int rank) const;
  /// A failed attempt of `task` computed by `rank`.
  void failed(std::size_t task, int rank);
  /// A successful attempt of `task` computed by `rank`; the node it convicts (excluded
  /// from now on), if any. The last node standing is never excluded.
  std::optional<int> succeeded(std::size_t task, int rank) {
    // Every success passes here (millions a second at rank 0 of a large job): only nodes
    // with failures since their last success are looked at, usually none.
    if (suspects_.empty()) return std::nullopt;
    return look_at_suspects(task, rank);
  }
  /// The failed attempts each task had on `host`: what its exclusion gives back.
  const std::map<std::size_t, int>& failures_on(int host) const;
  const std::string& name(int host) const { return names_.at(static_cast<std::size_t>(host)); }
  /// The excluded nodes' names, in the order they were excluded.
  const std::vector<std::string>& excluded_names() const { return excluded_names_; }

 private:
  std::optional<int> look_at_suspects(std::size_t task, int rank);
  struct Node {
    std::map<std::size_t, int> failures;         // task -> failed attempts here
    std::set<std::size_t> failed_since_success;  // tasks failed here since its last success
    std::set<std::size_t> convicting;            // of those, tasks that succeeded elsewhere
    bool excluded = false;
  };
  std::vector<std::string> names_;
  std::vector<int> host_of_rank_;
  std::vector<Node> nodes_;
  std::set<int> suspects_;  // nodes with tasks failed since their last success
  std::vector<std::string> excluded_names_;
};

}  // namespace fracstudy::sched
