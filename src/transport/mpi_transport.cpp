#include "fracstudy/transport/mpi_transport.hpp"

#include <mpi.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace fracstudy::transport {
namespace {

/// Keeps the memory of freed messages in the process. Every message's payload, and a
/// worker's results of a chunk, are built and freed again and again, a few MB each at chunks
/// of thousands of tiny tasks. By default glibc maps blocks from 128 KiB up afresh and
/// returns the heap's free top beyond 128 KiB, so each next message faulted its pages in
/// again: 200,000 page faults in a run of 10^6 tiny tasks on 3 ranks, and a page fault costs
/// microseconds on a virtual machine. With blocks up to 32 MiB (glibc's most) from the heap,
/// and the heap trimmed only beyond 256 MiB free, the same run took 45,000 and did 1.4x the
/// tasks per second (docs/performance.md). Larger blocks (a big cluster's arrays) are still
/// mapped and returned; the kernels' largest go to the kernel directly (huge_pages.hpp).
void keep_freed_message_memory() {
#ifdef __GLIBC__
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

/// A process started without mpirun (a laptop's one rank, `run --resume` of a file it then
/// refuses) is an MPI singleton, and Open MPI starts a daemon (orted) for it, which can
/// outlive it: seen in CI, an orted left behind by a singleton that had exited, blocked in
/// its own shutdown and holding the singleton's stdout, so whatever read that output (a
/// pipe, `| tee`, a test) waited for ever. fracstudy never spawns ranks through MPI, so a
/// singleton runs isolated, without the daemon (and starts 0.2 s sooner). A value the user
/// set is kept; under mpirun or srun the process is no singleton and the setting is unused.
void run_singletons_without_a_daemon() {
  setenv("OMPI_MCA_ess_singleton_isolated", "1", 0);
}

/// Throws MpiError, with MPI's own words, unless `code` is MPI_SUCCESS. (MPI returns codes
/// at all only because MpiEnvironment sets MPI_ERRORS_RETURN.)
void check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char message[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  MPI_Error_string(code, message, &length);
  throw MpiError(std::string("MPI error in ") + what + ": " +
                 std::string(message, static_cast<std::size_t>(std::max(0, length))));
}

/// A communicator that frees itself.
class Communicator {
 public:
  Communicator() = default;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;
  ~Communicator() {
    if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  }
  MPI_Comm* out() { return &comm_; }  ///< for the call that creates it
  MPI_Comm get() const { return comm_; }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
};

}  // namespace

MpiEnvironment::MpiEnvironment(int& argc, char**& argv) {
  keep_freed_message_memory();
  run_singletons_without_a_daemon();
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized && MPI_Init(&argc, &argv) != MPI_SUCCESS) {
    throw MpiError("MPI error in MPI_Init");  // the default handler aborts before this
  }
  // Errors come back as codes, which check() turns into exceptions with MPI's message; the
  // default (MPI_ERRORS_ARE_FATAL) would end the job without a word of ours.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
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
  check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
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
      check(MPI_Get_count(&status, MPI_BYTE, &count), "MPI_Get_count");
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
  Communicator node;
  check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, node.out()),
        "MPI_Comm_split_type");
  int node_name = rank_;
  check(MPI_Allreduce(MPI_IN_PLACE, &node_name, 1, MPI_INT, MPI_MIN, node.get()), "MPI_Allreduce");
  std::vector<int> nodes(static_cast<std::size_t>(size_));
  check(MPI_Allgather(&node_name, 1, MPI_INT, nodes.data(), 1, MPI_INT, MPI_COMM_WORLD),
        "MPI_Allgather");
  return nodes;
}

std::vector<std::string> MpiTransport::host_of_rank() const {
  char name[MPI_MAX_PROCESSOR_NAME] = {};
  int length = 0;
  check(MPI_Get_processor_name(name, &length), "MPI_Get_processor_name");
  std::vector<char> names(static_cast<std::size_t>(size_) * MPI_MAX_PROCESSOR_NAME);
  check(MPI_Allgather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, names.data(), MPI_MAX_PROCESSOR_NAME,
                      MPI_CHAR, MPI_COMM_WORLD),
        "MPI_Allgather");
  std::vector<std::string> hosts;
  for (int rank = 0; rank < size_; ++rank) {
    const char* at = names.data() + static_cast<std::size_t>(rank) * MPI_MAX_PROCESSOR_NAME;
    hosts.emplace_back(at, ::strnlen(at, MPI_MAX_PROCESSOR_NAME));
  }
  return hosts;
}

}  // namespace fracstudy::transport
