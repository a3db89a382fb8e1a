#pragma once
/// Who talks to whom: rank 0 coordinates; every other rank is a worker or a relay (a
/// sub-coordinator). A relay takes large chunks from rank 0 on behalf of a group of
/// workers and shares them out, so rank 0 sees one message per group instead of one per
/// worker: the level that lets one coordinator feed tens of thousands of ranks.
#include <optional>
#include <string>
#include <vector>

namespace fracstudy::sched {

/// How ranks are grouped under relays, as given by `--relays`.
struct RelayPolicy {
  enum class Kind { None, PerNode, Fixed, Automatic };
  Kind kind = Kind::Automatic;
  int group_size = 0;  ///< ranks per group, relay included (Fixed only)

  /// Parses "none", "node", "auto" or a group size >= 2; nullopt when invalid.
  static std::optional<RelayPolicy> parse(const std::string& text);
  /// The text parse() reads back.
  std::string to_string() const;
};

/// With `--relays auto`, relays start at this many worker ranks (and only when the job
/// spans more than one node): below it, rank 0 alone keeps up (docs/performance.md).
inline constexpr int kAutomaticRelayThreshold = 512;

/// The tree of ranks: rank 0 at the root, relays below it, workers at the leaves.
class Topology {
 public:
  /// Every rank answers to rank 0.
  static Topology flat(int ranks);
  /// Ranks 1..ranks-1 in consecutive groups of about `group_size`; the first rank of each
  /// group is its relay. A group that would be a relay alone joins the previous group.
  static Topology fixed_groups(int ranks, int group_size);
  /// One group per node (`node_of_rank[r]` names rank r's node); a node with a single
  /// rank besides rank 0 answers to rank 0 directly.
  static Topology per_node(const std::vector<int>& node_of_rank);
  /// What `policy` gives for this job.
  static Topology from_policy(const RelayPolicy& policy, const std::vector<int>& node_of_rank);

  int ranks() const { return static_cast<int>(parent_.size()); }
  /// The rank `rank` reports to; -1 for rank 0.
  int parent(int rank) const { return parent_[static_cast<std::size_t>(rank)]; }
  /// The ranks that report to `rank`.
  const std::vector<int>& children(int rank) const {
    return children_[static_cast<std::size_t>(rank)];
  }
  /// A relay: not rank 0, and has ranks below it.
  bool is_relay(int rank) const { return rank != 0 && !children(rank).empty(); }
  /// Ranks that compute (neither rank 0 nor a relay), at least 1.
  int compute_ranks() const;
  /// Workers that a chunk given to `rank` feeds: its own children for a relay, else 1.
  int capacity(int rank) const;
  int relay_count() const;

 private:
  explicit Topology(std::vector<int> parent_of_rank);
  std::vector<int> parent_;
  std::vector<std::vector<int>> children_;
};

}  // namespace fracstudy::sched
