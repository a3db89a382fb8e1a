#include "fracstudy/kernels/parameters.hpp"

#include <array>
#include <cmath>

namespace fracstudy::kernels {
namespace {

// Canonical column order in result files and tables.
constexpr std::array kAllParameters = {Parameter::NParticles, Parameter::Dimension,
                                       Parameter::ParticleRadius, Parameter::StickingProbability,
                                       Parameter::VolumeFraction};

constexpr std::array kRules = {
    ParameterRule{Parameter::NParticles, "n_particles", true, 1, true, 1e9, true,
                  "an integer from 1 to 1000000000",
                  "number of particles in the final cluster (CCA: number of monomers)"},
    ParameterRule{Parameter::Dimension, "dimension", true, 2, true, 3, true, "2 or 3",
                  "space dimension of the simulation"},
    // The kernels work in units of the radius and scale at the end: positions up to about
    // 10^7 radii, saved as float32 (normal from 1.2e-38 to 3.4e38), stay exact within these
    // bounds; beyond them rg overflows (1e308 gave inf) or loses its digits (5e-324).
    ParameterRule{Parameter::ParticleRadius, "particle_radius", false, 1e-30, true, 1e30, true,
                  "a number from 1e-30 to 1e30",
                  "radius of one particle; lengths such as rg are in its unit"},
    // Run time grows as 1/p (DLA, 200 particles: 0.5 s at 1e-3, 12 s at 1e-5): tiny values
    // are the user's to bound with task_time_limit_s.
    ParameterRule{
        Parameter::StickingProbability, "sticking_probability", false, 0, false, 1, true,
        "a number with 0 < p <= 1",
        "probability that a contact sticks (1: diffusion-limited; small: reaction-limited)"},
    // CCA places the monomers by random sequential addition, which jams at 0.547 (2D) and
    // 0.38 (3D); far below that, a few percent, the box gels long before one cluster remains.
    // Below 1e-9 the box is so large that its cell lists overflow (1e-300 hung).
    ParameterRule{Parameter::VolumeFraction, "volume_fraction", false, 1e-9, true, 0.2, true,
                  "a number with 1e-9 <= phi <= 0.2",
                  "CCA only: share of the periodic box filled by the monomers"},
};

}  // namespace

const ParameterRule& rule_of(Parameter parameter) {
  return kRules[static_cast<std::size_t>(parameter)];
}

std::optional<Parameter> parameter_from_name(std::string_view name) {
  for (const auto& rule : kRules) {
    if (rule.name == name) return rule.parameter;
  }
  return std::nullopt;
}

std::string_view name_of(Parameter parameter) {
  return rule_of(parameter).name;
}

std::span<const Parameter> all_parameters() {
  return kAllParameters;
}

double get_parameter(const SimulationParameters& parameters, Parameter parameter) {
  switch (parameter) {
    case Parameter::NParticles:
      return static_cast<double>(parameters.n_particles);
    case Parameter::Dimension:
      return parameters.dimension;
    case Parameter::ParticleRadius:
      return parameters.particle_radius;
    case Parameter::StickingProbability:
      return parameters.sticking_probability;
    case Parameter::VolumeFraction:
      return parameters.volume_fraction;
  }
  return 0;
}

void set_parameter(SimulationParameters& parameters, Parameter parameter, double value) {
  switch (parameter) {
    case Parameter::NParticles:
      parameters.n_particles = std::llround(value);
      break;
    case Parameter::Dimension:
      parameters.dimension = static_cast<int>(std::lround(value));
      break;
    case Parameter::ParticleRadius:
      parameters.particle_radius = value;
      break;
    case Parameter::StickingProbability:
      parameters.sticking_probability = value;
      break;
    case Parameter::VolumeFraction:
      parameters.volume_fraction = value;
      break;
  }
}

std::optional<std::string> check_parameter(Parameter parameter, double value) {
  const ParameterRule& rule = rule_of(parameter);
  const bool finite = std::isfinite(value);
  const bool whole = finite && std::floor(value) == value;
  const bool above = rule.minimum_inclusive ? value >= rule.minimum : value > rule.minimum;
  const bool below = rule.maximum_inclusive ? value <= rule.maximum : value < rule.maximum;
  if (!finite || (rule.integer && !whole) || !above || !below) {
    return "must be " + std::string(rule.allowed);
  }
  return std::nullopt;
}

}  // namespace fracstudy::kernels
