// The model registry: one entry per model.
#include "fracstudy/kernels/models.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace fracstudy::kernels {
namespace {

constexpr Parameter kParticleClusterParameters[] = {Parameter::NParticles, Parameter::Dimension,
                                                    Parameter::ParticleRadius,
                                                    Parameter::StickingProbability};
constexpr Parameter kClusterClusterParameters[] = {
    Parameter::NParticles, Parameter::Dimension, Parameter::ParticleRadius,
    Parameter::StickingProbability, Parameter::VolumeFraction};
constexpr Parameter kLatticeParameters[] = {Parameter::NParticles, Parameter::Dimension,
                                            Parameter::ParticleRadius};

double particles(const SimulationParameters& p) {
  return static_cast<double>(std::max<std::int64_t>(1, p.n_particles));
}

// Measured growth of the costs (docs/performance.md): the walkers' kernels cost about
// N log N, 3D about three times 2D; Eden is linear and far cheaper per particle.
double dimension_factor(const SimulationParameters& p) {
  return p.dimension == 3 ? 3.0 : 1.0;
}

double walker_cost(const SimulationParameters& p) {
  const double n = particles(p);
  return dimension_factor(p) * n * std::log2(n + 1);
}

double cluster_cluster_cost(const SimulationParameters& p) {
  // DLCA costs 12-16 times DLA; reaction-limited runs need about 1/p contacts per merge:
  // measured 10-20x more at p = 0.01, about 100x at p = 0.001.
  const double reaction = std::min(100.0, std::pow(p.sticking_probability, -0.67));
  return 15.0 * walker_cost(p) * reaction;
}

double lattice_cost(const SimulationParameters& p) {
  return 0.05 * particles(p);
}

constexpr ModelDefinition kModels[] = {
    {Algorithm::DLA, "DLA", "diffusion-limited aggregation, particle-cluster (off-lattice)", 2, 3,
     kParticleClusterParameters, simulate_dla, walker_cost},
    {Algorithm::CCA, "CCA",
     "cluster-cluster aggregation in a periodic box (off-lattice); sticking_probability 1 = "
     "diffusion-limited (DLCA), small = reaction-limited (RLCA)",
     2, 3, kClusterClusterParameters, simulate_cca, cluster_cluster_cost},
    {Algorithm::BALLISTIC, "BALLISTIC",
     "ballistic aggregation, particle-cluster: straight-line paths (off-lattice)", 2, 3,
     kParticleClusterParameters, simulate_ballistic, walker_cost},
    {Algorithm::EDEN, "EDEN", "Eden growth on the square/cubic lattice (compact)", 2, 3,
     kLatticeParameters, simulate_eden, lattice_cost},
};

// model_of() indexes kModels by the enum: each entry must sit at its enum's place.
constexpr bool registry_in_enum_order() {
  for (std::size_t i = 0; i < std::size(kModels); ++i) {
    if (static_cast<std::size_t>(kModels[i].algorithm) != i) return false;
  }
  return true;
}
static_assert(registry_in_enum_order(), "kModels must list the models in enum order");

}  // namespace

std::span<const ModelDefinition> all_models() {
  return kModels;
}

const ModelDefinition& model_of(Algorithm algorithm) {
  return kModels[static_cast<std::size_t>(algorithm)];
}

std::optional<Algorithm> algorithm_from_name(std::string_view name) {
  for (const auto& model : kModels) {
    if (model.name == name) return model.algorithm;
  }
  return std::nullopt;
}

std::string_view name_of(Algorithm algorithm) {
  return model_of(algorithm).name;
}

std::string model_names(std::string_view separator) {
  std::string names;
  for (const auto& model : kModels) {
    if (!names.empty()) names += separator;
    names += model.name;
  }
  return names;
}

std::span<const Parameter> parameters_of(Algorithm algorithm) {
  return model_of(algorithm).parameters;
}

bool uses_parameter(Algorithm algorithm, Parameter parameter) {
  const auto used = parameters_of(algorithm);
  return std::find(used.begin(), used.end(), parameter) != used.end();
}

void check_parameters(Algorithm algorithm, const SimulationParameters& parameters) {
  const ModelDefinition& model = model_of(algorithm);
  for (Parameter parameter : model.parameters) {
    if (auto broken = check_parameter(parameter, get_parameter(parameters, parameter))) {
      throw InvalidParameters(std::string(name_of(parameter)) + " " + *broken);
    }
  }
  if (parameters.dimension < model.min_dimension || parameters.dimension > model.max_dimension) {
    throw InvalidParameters(std::string(model.name) + " simulates dimensions " +
                            std::to_string(model.min_dimension) + " to " +
                            std::to_string(model.max_dimension));
  }
}

double estimated_cost(Algorithm algorithm, const SimulationParameters& parameters) {
  return model_of(algorithm).estimated_cost(parameters);
}

SimulationResult simulate(Algorithm algorithm, const SimulationParameters& parameters,
                          std::uint64_t seed, Deadline deadline) {
  check_parameters(algorithm, parameters);
  return model_of(algorithm).simulate(parameters, seed, deadline);
}

std::vector<double> structure_factor_of(const SimulationResult& result,
                                        const SimulationParameters& parameters) {
  std::vector<double> in_radii(result.positions);  // the estimators' length unit
  for (double& coordinate : in_radii)
    coordinate /= parameters.particle_radius;
  return structure_factor_curve(in_radii, parameters.dimension,
                                result.rg / parameters.particle_radius);
}

}  // namespace fracstudy::kernels
