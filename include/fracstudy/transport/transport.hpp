#pragma once
/// Moving messages between ranks, behind a narrow interface: the coordinator and the
/// workers run the same code over MPI in production and over threads in unit tests.
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace fracstudy::transport {

/// One received message.
struct Message {
  int source = 0;                  ///< rank that sent it
  int tag = 0;                     ///< what it is (see exec/protocol.hpp)
  std::vector<std::byte> payload;  ///< encoded body
};

/// Point-to-point messages between the ranks of one job.
class Transport {
 public:
  virtual ~Transport() = default;
  /// This process's rank, 0 being the coordinator.
  virtual int rank() const = 0;
  /// Number of ranks.
  virtual int size() const = 0;
  /// Sends a message; returns once the payload may be reused.
  virtual void send(int destination, int tag, const std::vector<std::byte>& payload) = 0;
  /// Waits up to `timeout` for the next message from any rank; nullopt when none came.
  /// Waiting sleeps rather than spins, so ranks that share a core leave it to others.
  virtual std::optional<Message> receive(std::chrono::duration<double> timeout) = 0;
  /// Rank 0's `text` on every rank (collective).
  virtual std::string broadcast(const std::string& text) = 0;
};

}  // namespace fracstudy::transport
