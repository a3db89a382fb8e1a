#pragma once
/// An in-process Transport: ranks are threads sharing a LocalNetwork. For unit tests of
/// the coordinator and worker loops without MPI.
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "fracstudy/transport/transport.hpp"

namespace fracstudy::transport {

/// The mailboxes of `size` in-process ranks.
class LocalNetwork {
 public:
  explicit LocalNetwork(int size);
  int size() const { return static_cast<int>(boxes_.size()); }
  /// Delivers a message to `destination`'s mailbox.
  void deliver(int destination, Message message);
  /// Takes the next message for `rank`, waiting up to `timeout`.
  std::optional<Message> take(int rank, std::chrono::duration<double> timeout);
  /// Counts messages delivered so far (for tests of the protocol's cost).
  std::size_t delivered() const;

 private:
  struct Mailbox {
    std::mutex mutex;
    std::condition_variable arrived;
    std::deque<Message> messages;
  };
  std::vector<std::unique_ptr<Mailbox>> boxes_;
  mutable std::mutex count_mutex_;
  std::size_t delivered_ = 0;
  std::string broadcast_text_;
  friend class LocalTransport;
};

/// One rank's view of a LocalNetwork.
class LocalTransport final : public Transport {
 public:
  LocalTransport(LocalNetwork& network, int rank) : network_(network), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return network_.size(); }
  void send(int destination, int tag, const std::vector<std::byte>& payload) override;
  std::optional<Message> receive(std::chrono::duration<double> timeout) override;
  /// Not collective here: every rank simply gets the text it passes.
  std::string broadcast(const std::string& text) override { return text; }

 private:
  LocalNetwork& network_;
  int rank_;
};

}  // namespace fracstudy::transport
