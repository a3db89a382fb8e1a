#pragma once
/// Off-lattice particle–cluster ballistic aggregation (Vold 1963), in 2D and 3D.
#include <cstdint>

#include "fracstudy/kernels/simulation.hpp"

namespace fracstudy::kernels {

/// Grows one ballistic cluster of `parameters.n_particles` particles of radius
/// `parameters.particle_radius` from a seed particle at the origin, in
/// `parameters.dimension` dimensions: particles arrive one at a time on straight lines from
/// uniformly random directions with a uniform flux, and a contact sticks with probability
/// `parameters.sticking_probability` (a particle that does not stick is re-emitted
/// diffusely from the contact point).
SimulationResult simulate_ballistic(const SimulationParameters& parameters, std::uint64_t seed,
                                    Deadline deadline);

}  // namespace fracstudy::kernels
