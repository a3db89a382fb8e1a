#pragma once
/// What every kernel shares: one simulation is a pure function of (model, parameters, seed,
/// deadline), with no MPI, no file I/O, no clock-seeded randomness (the models and their
/// dispatch: kernels/models.hpp).
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "fracstudy/kernels/estimators.hpp"
#include "fracstudy/kernels/fractal_fit.hpp"
#include "fracstudy/kernels/parameters.hpp"

namespace fracstudy::kernels {

using Clock = std::chrono::steady_clock;

/// The moment a simulation must stop; `Deadline::none()` never expires.
struct Deadline {
  Clock::time_point at = Clock::time_point::max();
  static Deadline none() { return {}; }
  static Deadline after(double seconds);
  bool expired() const { return at != Clock::time_point::max() && Clock::now() >= at; }
};

/// Thrown by a kernel that reached its deadline; the task fails with reason "timeout".
class DeadlineExceeded : public std::runtime_error {
 public:
  DeadlineExceeded() : std::runtime_error("timeout") {}
};

/// Thrown for parameters a kernel cannot simulate (callers validate first).
class InvalidParameters : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// What a simulation measured (kernels/metrics.hpp names what of it each metric reports).
struct SimulationResult {
  PowerLawFit fit;                ///< df, kf and the window of the fit N = kf (Rg/a)^df
  double rg = 0;                  ///< radius of gyration of the final cluster (particle centres)
  std::int64_t n_particles = 0;   ///< particles in the final cluster
  std::vector<double> positions;  ///< particle centres, n_particles x dimension, row-major
  DimensionEstimate mass_radius;  ///< df from M(r) of the final cluster
  DimensionEstimate structure_factor;  ///< df from S(q) of the final cluster
};

}  // namespace fracstudy::kernels
