// Times each kernel at N = 10^3, 10^4, 10^5 and reports particles per second.
//
//   fracstudy_bench_kernels                       # the standard set (about a minute)
//   FRACSTUDY_BENCH_SLOW=1 fracstudy_bench_kernels --benchmark_filter=Slow
//                                                 # 2D DLA at 10^6, 3D DLA and 2D CCA at 10^5
//
// Every benchmark runs kRepetitions times and reports mean, median and spread; each
// iteration grows a new cluster (a new seed), so the numbers average over clusters as well.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "fracstudy/kernels/parameters.hpp"
#include "fracstudy/kernels/simulation.hpp"

using namespace fracstudy::kernels;

namespace {

/// Repetitions of each benchmark: enough for a median on a noisy shared machine.
constexpr int kRepetitions = 5;

/// Grows one cluster per iteration, each with the next seed.
void grow_clusters(benchmark::State& state, Algorithm algorithm, int dimension) {
  SimulationParameters parameters;
  parameters.n_particles = state.range(0);
  parameters.dimension = dimension;
  std::uint64_t seed = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(simulate(algorithm, parameters, seed++, Deadline::none()));
  }
  state.SetItemsProcessed(state.iterations() * parameters.n_particles);  // particles/s
  state.counters["seconds_per_particle"] =
      benchmark::Counter(static_cast<double>(state.iterations() * parameters.n_particles),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

/// Registers one model at the sizes 10^3, 10^4, 10^5 (or those given).
void register_model(const std::string& name, Algorithm algorithm, int dimension,
                    std::initializer_list<std::int64_t> sizes = {1000, 10000, 100000}) {
  auto* benchmark = benchmark::RegisterBenchmark(
      name.c_str(), [=](benchmark::State& state) { grow_clusters(state, algorithm, dimension); });
  for (std::int64_t n : sizes) {
    benchmark->Arg(n);
  }
  benchmark->Unit(benchmark::kMillisecond)
      ->Repetitions(kRepetitions)
      ->ReportAggregatesOnly(true)
      ->MeasureProcessCPUTime();  // CPU time: other jobs on a shared machine barely move it
}

}  // namespace

int main(int argc, char** argv) {
  register_model("DLA/2D", Algorithm::DLA, 2);
  register_model("DLA/3D", Algorithm::DLA, 3, {1000, 10000});
  register_model("BALLISTIC/2D", Algorithm::BALLISTIC, 2);
  register_model("BALLISTIC/3D", Algorithm::BALLISTIC, 3);
  register_model("EDEN/2D", Algorithm::EDEN, 2);
  register_model("EDEN/3D", Algorithm::EDEN, 3);
  register_model("CCA/2D", Algorithm::CCA, 2, {1000, 10000});
  register_model("CCA/3D", Algorithm::CCA, 3, {1000, 10000});
  if (std::getenv("FRACSTUDY_BENCH_SLOW") != nullptr) {  // seconds per cluster
    register_model("Slow/DLA/2D", Algorithm::DLA, 2, {1000000});
    register_model("Slow/DLA/3D", Algorithm::DLA, 3, {100000});
    register_model("Slow/CCA/2D", Algorithm::CCA, 2, {100000});
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
