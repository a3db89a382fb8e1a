#include "fracstudy/transport/local_transport.hpp"

namespace fracstudy::transport {

LocalNetwork::LocalNetwork(int size) {
  for (int i = 0; i < size; ++i)
    boxes_.push_back(std::make_unique<Mailbox>());
}

void LocalNetwork::deliver(int destination, Message message) {
  Mailbox& box = *boxes_.at(static_cast<std::size_t>(destination));
  {
    std::lock_guard lock(box.mutex);
    box.messages.push_back(std::move(message));
  }
  box.arrived.notify_one();
  std::lock_guard lock(count_mutex_);
  ++delivered_;
}

std::optional<Message> LocalNetwork::take(int rank, std::chrono::duration<double> timeout) {
  Mailbox& box = *boxes_.at(static_cast<std::size_t>(rank));
  std::unique_lock lock(box.mutex);
  if (!box.arrived.wait_for(lock, timeout, [&box] { return !box.messages.empty(); })) {
    return std::nullopt;
  }
  Message message = std::move(box.messages.front());
  box.messages.pop_front();
  return message;
}

std::size_t LocalNetwork::delivered() const {
  std::lock_guard lock(count_mutex_);
  return delivered_;
}

void LocalTransport::send(int destination, int tag, const std::vector<std::byte>& payload) {
  network_.deliver(destination, Message{rank_, tag, payload});
}

std::optional<Message> LocalTransport::receive(std::chrono::duration<double> timeout) {
  return network_.take(rank_, timeout);
}

}  // namespace fracstudy::transport
