#include "fracstudy/kernels/simulation.hpp"

#include <string>

#include "fracstudy/kernels/ballistic.hpp"
#include "fracstudy/kernels/dla.hpp"
#include "fracstudy/kernels/eden.hpp"

namespace fracstudy::kernels {

Deadline Deadline::after(double seconds) {
  if (!(seconds > 0)) return none();
  const auto span =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  return Deadline{Clock::now() + span};
}

bool is_implemented(Algorithm algorithm) {
  return algorithm == Algorithm::DLA || algorithm == Algorithm::BALLISTIC ||
         algorithm == Algorithm::EDEN;
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
    case Algorithm::BALLISTIC:
      return simulate_ballistic(parameters, seed, deadline);
    case Algorithm::EDEN:
      return simulate_eden(parameters, seed, deadline);
    default:
      throw InvalidParameters(std::string(name_of(algorithm)) + " is not implemented yet");
  }
}

}  // namespace fracstudy::kernels
