#pragma once
/// The MPI implementation of Transport, and MPI's lifetime as an RAII object.
#include <stdexcept>
#include <string>
#include <vector>

#include "fracstudy/transport/transport.hpp"

namespace fracstudy::transport {

/// An MPI call failed; the message names the call and carries MPI's own words.
class MpiError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Initialises MPI on construction, with errors returned rather than fatal (every call is
/// checked and throws MpiError), and finalises it on destruction (never throws).
class MpiEnvironment {
 public:
  MpiEnvironment(int& argc, char**& argv);
  ~MpiEnvironment();
  MpiEnvironment(const MpiEnvironment&) = delete;
  MpiEnvironment& operator=(const MpiEnvironment&) = delete;
  /// Ends the whole job at once: for broken invariants only.
  [[noreturn]] static void abort(int code);
};

/// Messages over MPI_COMM_WORLD. Receiving polls with MPI_Iprobe and sleeps between
/// polls (growing from 20 us to 1 ms): Open MPI's blocking receive spins a core, which
/// on a node with more ranks than cores would starve the workers.
class MpiTransport final : public Transport {
 public:
  MpiTransport();
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void send(int destination, int tag, const std::vector<std::byte>& payload) override;
  std::optional<Message> receive(std::chrono::duration<double> timeout) override;
  std::string broadcast(const std::string& text) override;
  /// For every rank, a number naming its node (ranks that share memory share it); the
  /// same on every rank (collective).
  std::vector<int> node_of_rank() const;
  /// For every rank, its node's name (MPI_Get_processor_name, the hostname); the same on
  /// every rank (collective).
  std::vector<std::string> host_of_rank() const;

 private:
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace fracstudy::transport
