#pragma once
/// The aggregation models, each defined once: its name, what it is, the dimensions and
/// parameters it takes, its kernel and its cost estimate. Study files, the help texts, the
/// tools' schemas and descriptions, the scheduler's cost model and the dispatch to the
/// kernels all read this registry (how to add a model: docs/architecture.md).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fracstudy/kernels/parameters.hpp"
#include "fracstudy/kernels/simulation.hpp"

namespace fracstudy::kernels {

/// The aggregation models fracstudy knows; model_of() says the rest of each.
enum class Algorithm { DLA, CCA, BALLISTIC, EDEN };

/// One simulation: a pure function of parameters, seed and deadline.
using SimulateFunction = SimulationResult (*)(const SimulationParameters& parameters,
                                              std::uint64_t seed, Deadline deadline);

/// One model.
struct ModelDefinition {
  Algorithm algorithm;
  std::string_view name;         ///< as written in study files, e.g. "DLA"
  std::string_view description;  ///< one line, for help texts and the tools' descriptions
  int min_dimension;             ///< the space dimensions it simulates: min..max
  int max_dimension;
  std::span<const Parameter> parameters;  ///< the parameters it takes, in canonical order
  SimulateFunction simulate;              ///< its kernel
  /// A rough relative cost of one simulation (arbitrary unit, comparable across models
  /// and sizes): what the scheduler orders and sizes chunks by before it has measured
  /// anything of its own. Only ratios matter.
  double (*estimated_cost)(const SimulationParameters& parameters);
};

/// Every model, in declaration order.
std::span<const ModelDefinition> all_models();
/// The definition of a model.
const ModelDefinition& model_of(Algorithm algorithm);
/// Looks a model up by name (exact, upper case); nullopt when unknown.
std::optional<Algorithm> algorithm_from_name(std::string_view name);
/// The model's name as written in study files ("DLA").
std::string_view name_of(Algorithm algorithm);
/// Every model's name, joined by `separator`: "DLA | CCA | BALLISTIC | EDEN".
std::string model_names(std::string_view separator);

/// The parameters a model uses, in canonical order.
std::span<const Parameter> parameters_of(Algorithm algorithm);
/// Whether a model uses a parameter.
bool uses_parameter(Algorithm algorithm, Parameter parameter);

/// Throws InvalidParameters unless every parameter the model takes follows its rule and
/// the dimension is one the model simulates.
void check_parameters(Algorithm algorithm, const SimulationParameters& parameters);

/// The model's estimate of the cost of one simulation (see ModelDefinition).
double estimated_cost(Algorithm algorithm, const SimulationParameters& parameters);

/// Runs one simulation. Throws DeadlineExceeded at the deadline, InvalidParameters for
/// parameters outside the rules.
SimulationResult simulate(Algorithm algorithm, const SimulationParameters& parameters,
                          std::uint64_t seed, Deadline deadline);

/// S(q) - 1 of a simulation's final cluster on structure_factor_grid() (estimators.hpp),
/// for a cluster that is kept: `parameters` are the ones it ran with (its particle radius
/// is the length unit S(q)'s limit q a <= 2 is in).
std::vector<double> structure_factor_of(const SimulationResult& result,
                                        const SimulationParameters& parameters);

// The kernels, one per model, each in its own source file. Each grows one aggregate of
// parameters.n_particles particles of radius parameters.particle_radius in
// parameters.dimension dimensions; results are in the length unit of the radius.

/// Off-lattice particle–cluster DLA (Witten & Sander 1981; Meakin 1983): random walkers
/// stick to a growing cluster, a contact sticking with the sticking probability.
SimulationResult simulate_dla(const SimulationParameters& parameters, std::uint64_t seed,
                              Deadline deadline);

/// Off-lattice cluster–cluster aggregation (Meakin 1983; Kolb, Botet & Jullien 1983) of
/// monomers filling a periodic box to the volume fraction, until one cluster remains:
/// diffusion-limited (DLCA) at sticking probability 1, reaction-limited (RLCA) at small
/// ones. df and kf come from the clusters formed on the way; rg and the positions describe
/// the final cluster, unwrapped across the periodic boundary.
SimulationResult simulate_cca(const SimulationParameters& parameters, std::uint64_t seed,
                              Deadline deadline);

/// Off-lattice particle–cluster ballistic aggregation (Vold 1963): particles arrive on
/// straight lines from uniformly random directions; one that does not stick is re-emitted
/// diffusely from the contact point.
SimulationResult simulate_ballistic(const SimulationParameters& parameters, std::uint64_t seed,
                                    Deadline deadline);

/// The Eden model, version A (Eden 1961): growth on a square (2D) or simple cubic (3D)
/// lattice of spacing 2 particle_radius by occupying uniformly chosen perimeter sites.
SimulationResult simulate_eden(const SimulationParameters& parameters, std::uint64_t seed,
                               Deadline deadline);

}  // namespace fracstudy::kernels
