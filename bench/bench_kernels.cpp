// Times each model of the registry at N = 10^3, 10^4, 10^5 (as far as a cost budget allows)
// and reports particles per second.
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
#include <vector>

#include "fracstudy/kernels/models.hpp"

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
                    const std::vector<std::int64_t>& sizes) {
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

/// The standard set's cost budget per cluster, in units of kernels::estimated_cost: about a
/// second of work at most (3D DLA at 10^5; 2D CCA stops at 10^4).
constexpr double kStandardBudget = 1e7;

int main(int argc, char** argv) {
  // Every model of the registry, in every dimension it simulates, at 10^3, 10^4, 10^5
  // particles as far as the budget allows.
  for (const auto& model : all_models()) {
    for (int dimension = model.min_dimension; dimension <= model.max_dimension; ++dimension) {
      std::vector<std::int64_t> sizes;
      for (std::int64_t n : {1000, 10000, 100000}) {
        SimulationParameters parameters;
        parameters.n_particles = n;
        parameters.dimension = dimension;
        if (model.estimated_cost(parameters) <= kStandardBudget) sizes.push_back(n);
      }
      register_model(std::string(model.name) + "/" + std::to_string(dimension) + "D",
                     model.algorithm, dimension, sizes);
    }
  }
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
