#pragma once
/// Off-lattice cluster–cluster aggregation (Meakin 1983; Kolb, Botet & Jullien 1983) in a
/// periodic box, in 2D and 3D: diffusion-limited (DLCA) at sticking probability 1,
/// reaction-limited (RLCA) at small sticking probability.
#include <cstdint>

#include "fracstudy/kernels/simulation.hpp"

namespace fracstudy::kernels {

/// Aggregates `parameters.n_particles` monomers of radius `parameters.particle_radius`, placed
/// at random in a periodic box that they fill to `parameters.volume_fraction`, in
/// `parameters.dimension` dimensions, until one cluster remains; a contact sticks with
/// probability `parameters.sticking_probability`. df and kf come from the sizes and radii of
/// gyration of the clusters formed on the way; rg and positions describe the final cluster,
/// unwrapped across the periodic boundary.
SimulationResult simulate_cca(const SimulationParameters& parameters, std::uint64_t seed,
                              Deadline deadline);

}  // namespace fracstudy::kernels
