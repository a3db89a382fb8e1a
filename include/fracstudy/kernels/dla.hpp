#pragma once
/// Off-lattice diffusion-limited aggregation (Witten & Sander 1981; Meakin 1983),
/// particle–cluster, in 2D and 3D.
#include <cstdint>

#include "fracstudy/kernels/simulation.hpp"

namespace fracstudy::kernels {

/// Grows one DLA cluster of `parameters.n_particles` particles of radius
/// `parameters.particle_radius` from a seed particle at the origin, in
/// `parameters.dimension` dimensions; a contact sticks with probability
/// `parameters.sticking_probability`.
SimulationResult simulate_dla(const SimulationParameters& parameters, std::uint64_t seed,
                              Deadline deadline);

}  // namespace fracstudy::kernels
