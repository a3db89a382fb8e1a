// Grows one cluster and prints its CPU time and the process's peak memory as one JSON line:
//   fracstudy_bench_memory DLA 2 1000000 [seed]
// Peak memory is getrusage's ru_maxrss: the whole process, a few MB of it the program
// itself, so run one simulation per process.
#include <sys/resource.h>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <exception>
#include <string>

#include "fracstudy/kernels/models.hpp"

using namespace fracstudy::kernels;

namespace {

/// CPU seconds used by this process so far.
double cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

/// Peak resident memory of this process in MiB (Linux reports ru_maxrss in KiB).
double peak_memory_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s ALGORITHM DIMENSION N [SEED]\n", argv[0]);
    return 2;
  }
  try {
    const auto algorithm = algorithm_from_name(argv[1]);
    if (!algorithm) throw std::invalid_argument(std::string("unknown algorithm ") + argv[1]);
    SimulationParameters parameters;
    parameters.dimension = std::stoi(argv[2]);
    parameters.n_particles = std::stoll(argv[3]);
    const std::uint64_t seed = argc > 4 ? std::stoull(argv[4]) : 0;
    const double start = cpu_seconds();
    const SimulationResult result = simulate(*algorithm, parameters, seed, Deadline::none());
    const double seconds = cpu_seconds() - start;
    std::printf(
        "{\"algorithm\": \"%s\", \"dimension\": %d, \"n_particles\": %lld, \"seed\": %llu, "
        "\"cpu_s\": %.3f, \"peak_rss_mib\": %.1f, \"df\": %.4f}\n",
        argv[1], parameters.dimension, static_cast<long long>(parameters.n_particles),
        static_cast<unsigned long long>(seed), seconds, peak_memory_mib(), result.fit.df);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s\n", error.what());
    return 2;
  }
  return 0;
}
