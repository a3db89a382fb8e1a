#pragma once
/// The whole coordinator–worker protocol in one place.
///
///   worker -> 0  WorkRequest  a report (outcomes of the attempts finished since the last
///                             message, and the task it computes now: none at the end of a
///                             chunk); "and give me more work"
///   worker -> 0  Results      a report, sent during a chunk: the outcomes so they reach the
///                             next checkpoint, and the task it computes now, so that only
///                             tasks being computed are RUNNING (also sent alone once a
///                             task has computed for a while)
///   0 -> worker  Assignment   a chunk of (task, attempt) pairs
///   0 -> worker  Stop         leave the loop (payload: 1 byte: 0 all done, 1 a drain
///                             stopped the run, 2 the coordinator failed: kill the attempt
///                             in progress and leave without answering)
///   0 -> worker  Drain        finish the attempt in progress, start no other, answer
///                             Stopped (a waiting worker answers Stopped at once)
///   0 -> worker  Abort        kill the attempt in progress, answer Stopped
///   worker -> 0  Stopped      a report of the finished attempts; the worker leaves, and
///                             the rest of its chunk goes back to the queue
///   0 -> relay   JournalSeen  rank 0 read the relay's journal (payload: its token): from
///                             now on the relay keeps its group's completed results there
///                             and passes up only their task numbers (Report::kept)
///
/// A relay (sub-coordinator, see sched/topology.hpp) speaks the worker's side of this
/// protocol to rank 0 and the coordinator's side to its own workers: rank 0 cannot tell a
/// relay from a worker, except that a relay's chunks are shared by its group.
///
/// Every rank expanded the same study file into the same task list, so tasks travel as
/// indices. Failures travel as data: a worker never dies of a task.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fracstudy/sched/scheduler.hpp"
#include "fracstudy/transport/transport.hpp"

namespace fracstudy::exec {

/// Message tags.
enum class Tag : int {
  WorkRequest = 1,
  Results = 2,
  Assignment = 3,
  Stop = 4,
  Drain = 5,
  Abort = 6,
  Stopped = 7,
  JournalSeen = 8,
};

/// Why a Stop message was sent (its one-byte payload).
enum class StopReason : unsigned char { Done = 0, Drained = 1, CoordinatorFailed = 2 };

/// Sends one protocol message.
void send(transport::Transport& transport, int destination, Tag tag,
          const std::vector<std::byte>& payload = {});
/// The payload of a Stop message.
std::vector<std::byte> stop_payload(StopReason reason);
/// Why a received Stop message was sent.
StopReason stop_reason(const transport::Message& message);

/// What a WorkRequest, Results or Stopped message carries.
struct Report {
  std::vector<sched::Outcome> outcomes;   ///< attempts that ended, in the order they ended
  std::vector<std::size_t> running;       ///< tasks being computed when it was sent
  std::vector<sched::KeptResult> kept{};  ///< a relay's results kept in its journal
  /// A relay's journal waiting for rank 0 to read it (JournalSeen): its token; 0: none.
  std::uint64_t journal_token = 0;
};

/// The payload of a JournalSeen message, and the token it carries.
std::vector<std::byte> journal_seen_payload(std::uint64_t token);
std::uint64_t journal_seen_token(const transport::Message& message);

/// Encodes a report.
std::vector<std::byte> encode_report(const Report& report);
/// Decodes a report; throws std::runtime_error when malformed.
Report decode_report(const std::vector<std::byte>& payload);

/// Encodes outcomes (a child's frames to its worker).
std::vector<std::byte> encode_outcomes(const std::vector<sched::Outcome>& outcomes);
/// Decodes outcomes; throws std::runtime_error when malformed.
std::vector<sched::Outcome> decode_outcomes(const std::vector<std::byte>& payload);
/// Encodes a chunk for an Assignment message.
std::vector<std::byte> encode_assignments(const std::vector<sched::Assignment>& chunk);
/// Decodes an Assignment payload; throws std::runtime_error when malformed.
std::vector<sched::Assignment> decode_assignments(const std::vector<std::byte>& payload);

}  // namespace fracstudy::exec
