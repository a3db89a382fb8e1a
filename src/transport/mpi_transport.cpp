#include "fracstudy/transport/mpi_transport.hpp"

#include <mpi.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <thread>

namespace fracstudy::transport {
namespace {

void check(int code, const char* what) {
  if (code != MPI_SUCCESS) throw std::runtime_error(std::string("MPI error in ") + what);
}

}  // namespace

MpiEnvironment::MpiEnvironment(int& argc, char**& argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) check(MPI_Init(&argc, &argv), "MPI_Init");
}

MpiEnvironment::~MpiEnvironment() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void MpiEnvironment::abort(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::abort();
}

MpiTransport::MpiTransport() {
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

void MpiTransport::send(int destination, int tag, const std::vector<std::byte>& payload) {
  check(MPI_Send(payload.data(), static_cast<int>(payload.size()), MPI_BYTE, destination, tag,
                 MPI_COMM_WORLD),
        "MPI_Send");
}

std::optional<Message> MpiTransport::receive(std::chrono::duration<double> timeout) {
  using namespace std::chrono;
  const auto deadline = steady_clock::now() + duration_cast<steady_clock::duration>(timeout);
  auto pause = microseconds(20);
  while (true) {
    int arrived = 0;
    MPI_Status status;
    check(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &arrived, &status), "MPI_Iprobe");
    if (arrived) {
      int count = 0;
      MPI_Get_count(&status, MPI_BYTE, &count);
      Message message{status.MPI_SOURCE, status.MPI_TAG,
                      std::vector<std::byte>(static_cast<std::size_t>(count))};
      check(MPI_Recv(message.payload.data(), count, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG,
                     MPI_COMM_WORLD, MPI_STATUS_IGNORE),
            "MPI_Recv");
      return message;
    }
    const auto now = steady_clock::now();
    if (now >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::min<steady_clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, microseconds(1000));
  }
}

std::string MpiTransport::broadcast(const std::string& text) {
  auto length = static_cast<unsigned long long>(text.size());
  check(MPI_Bcast(&length, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD), "MPI_Bcast");
  std::string result = rank_ == 0 ? text : std::string(length, '\0');
  check(MPI_Bcast(result.data(), static_cast<int>(length), MPI_CHAR, 0, MPI_COMM_WORLD),
        "MPI_Bcast");
  return result;
}

std::vector<int> MpiTransport::node_of_rank() const {
  // A node is named by the lowest world rank on it.
  MPI_Comm node;
  check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node),
        "MPI_Comm_split_type");
  int node_name = rank_;
  check(MPI_Allreduce(MPI_IN_PLACE, &node_name, 1, MPI_INT, MPI_MIN, node), "MPI_Allreduce");
  MPI_Comm_free(&node);
  std::vector<int> nodes(static_cast<std::size_t>(size_));
  check(MPI_Allgather(&node_name, 1, MPI_INT, nodes.data(), 1, MPI_INT, MPI_COMM_WORLD),
        "MPI_Allgather");
  return nodes;
}

}  // namespace fracstudy::transport
