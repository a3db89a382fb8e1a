#include "fracstudy/kernels/simulation.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "fracstudy/kernels/ballistic.hpp"
#include "fracstudy/kernels/cca.hpp"
#include "fracstudy/kernels/dla.hpp"
#include "fracstudy/kernels/eden.hpp"

namespace fracstudy::kernels {

Deadline Deadline::after(double seconds) {
  if (!(seconds > 0)) return none();
  const auto span =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  return Deadline{Clock::now() + span};
}

double estimated_cost(Algorithm algorithm, const SimulationParameters& parameters) {
  const double n = static_cast<double>(std::max<std::int64_t>(1, parameters.n_particles));
  const double three_d = parameters.dimension == 3 ? 3.0 : 1.0;
  // Measured growth (docs/performance.md): the walkers' kernels cost about N log N, 3D
  // about three times 2D; Eden is linear and far cheaper per particle.
  switch (algorithm) {
    case Algorithm::EDEN:
      return 0.05 * n;
    case Algorithm::CCA: {
      // DLCA costs 12-16 times DLA; reaction-limited runs need about 1/p contacts per
      // merge: measured 10-20x more at p = 0.01, about 100x at p = 0.001.
      const double reaction = std::min(100.0, std::pow(parameters.sticking_probability, -0.67));
      return 15.0 * three_d * n * std::log2(n + 1) * reaction;
    }
    default:
      return three_d * n * std::log2(n + 1);
  }
}

bool is_implemented(Algorithm algorithm) {
  return algorithm == Algorithm::DLA || algorithm == Algorithm::CCA ||
         algorithm == Algorithm::BALLISTIC || algorithm == Algorithm::EDEN;
}

SimulationResult simulate(Algorithm algorithm, const SimulationParameters& parameters,
                          std::uint64_t seed, Deadline deadline) {
  for (Parameter parameter : parameters_of(algorithm)) {
    if (auto broken = check_parameter(parameter, get_parameter(parameters, parameter))) {
      throw InvalidParameters(std::string(name_of(parameter)) + " " + *broken);
    }
  }
  switch (algorithm) {
    case Algorithm::DLA:
      return simulate_dla(parameters, seed, deadline);
    case Algorithm::CCA:
      return simulate_cca(parameters, seed, deadline);
    case Algorithm::BALLISTIC:
      return simulate_ballistic(parameters, seed, deadline);
    case Algorithm::EDEN:
      return simulate_eden(parameters, seed, deadline);
    default:
      throw InvalidParameters(std::string(name_of(algorithm)) + " is not implemented yet");
  }
}

}  // namespace fracstudy::kernels
