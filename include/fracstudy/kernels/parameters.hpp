#pragma once
/// The physical parameters of the models (kernels/models.hpp says which model takes which).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace fracstudy::kernels {

/// Every parameter a model may take; each model uses a subset (`parameters_of`).
enum class Parameter { NParticles, Dimension, ParticleRadius, StickingProbability, VolumeFraction };

/// The values of every parameter; only those of the chosen model are meaningful.
struct SimulationParameters {
  std::int64_t n_particles = 1000;    ///< particles in the final cluster (monomers for CCA)
  int dimension = 2;                  ///< 2 or 3
  double particle_radius = 1.0;       ///< radius a of one particle, the length unit
  double sticking_probability = 1.0;  ///< probability that a contact sticks, 0 < p <= 1
  /// CCA only: monomer share of the periodic box. The default 0.001 is dilute: the ensemble
  /// df of 3D DLCA (N = 3000, 20 runs, sem 0.02) reads 1.78-1.81 for phi <= 0.002 and 1.86 at
  /// 0.01, where clusters fill the box before one remains; 2D reads 1.44-1.46 up to 0.02.
  /// Larger N fills the box sooner (Rg/L grows as N^(1/df - 1/d) phi^(1/d)): keep N below
  /// about 10^4 in 3D at this default, or lower phi.
  double volume_fraction = 0.001;
};

/// How a parameter's values are checked.
struct ParameterRule {
  Parameter parameter;
  std::string_view name;         ///< its key in study files and JSON, e.g. "n_particles"
  bool integer;                  ///< only whole numbers are allowed
  double minimum;                ///< smallest allowed value (see minimum_inclusive)
  bool minimum_inclusive;        ///< whether `minimum` itself is allowed
  double maximum;                ///< largest allowed value (see maximum_inclusive)
  bool maximum_inclusive;        ///< whether `maximum` itself is allowed
  std::string_view allowed;      ///< the rule in words, for error messages
  std::string_view description;  ///< meaning and unit, for help texts and tool schemas
};

/// The rule of one parameter.
const ParameterRule& rule_of(Parameter parameter);
/// Looks a parameter up by its key; nullopt when unknown.
std::optional<Parameter> parameter_from_name(std::string_view name);
/// The key of a parameter, e.g. "n_particles".
std::string_view name_of(Parameter parameter);
/// Every parameter, in the canonical column order.
std::span<const Parameter> all_parameters();

/// Reads one parameter's value as a double.
double get_parameter(const SimulationParameters& parameters, Parameter parameter);
/// Sets one parameter from a double (integers are rounded; callers validate first).
void set_parameter(SimulationParameters& parameters, Parameter parameter, double value);

/// Checks a value against the parameter's rule; returns the broken rule in words, or
/// nullopt when the value is allowed.
std::optional<std::string> check_parameter(Parameter parameter, double value);

}  // namespace fracstudy::kernels
