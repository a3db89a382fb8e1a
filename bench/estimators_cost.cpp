// The cost of the estimators of df from the final cluster (mass-radius and structure
// factor, kernels/estimators.hpp) against the growth of that cluster: one cluster grown
// per model and size, then the estimators timed on it; medians of 5 timings each.
//
//   fracstudy_bench_estimators [N]        (default 100000)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "fracstudy/kernels/estimators.hpp"
#include "fracstudy/kernels/fractal_fit.hpp"
#include "fracstudy/kernels/models.hpp"

using namespace fracstudy::kernels;

namespace {

template <typename Body>
double median_seconds(int repeats, Body&& body) {
  std::vector<double> times;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    body();
    times.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t n = argc > 1 ? std::atoll(argv[1]) : 100000;
  std::printf("%-10s %3s %9s %10s %12s %7s\n", "model", "D", "N", "growth_s", "estimators_s",
              "ratio");
  for (const auto& [algorithm, dimension] :
       {std::pair{Algorithm::DLA, 2}, std::pair{Algorithm::DLA, 3},
        std::pair{Algorithm::BALLISTIC, 2}}) {
    SimulationParameters p;
    p.n_particles = n;
    p.dimension = dimension;
    SimulationResult result;
    // The whole simulation includes the estimators once; growth alone is that minus them.
    const double total =
        median_seconds(3, [&] { result = simulate(algorithm, p, 1, Deadline::none()); });
    const double rg = radius_of_gyration(result.positions, dimension);
    const double estimators =
        median_seconds(5, [&] { (void)cluster_dimensions(result.positions, dimension, rg); });
    std::printf("%-10s %3d %9lld %10.3f %12.4f %6.1f%%\n", std::string(name_of(algorithm)).c_str(),
                dimension, static_cast<long long>(n), total - estimators, estimators,
                100 * estimators / (total - estimators));
  }
}
