#pragma once
/// The Eden model (Eden 1961), version A: growth on a square (2D) or simple cubic (3D)
/// lattice by occupying uniformly chosen perimeter sites.
#include <cstdint>

#include "fracstudy/kernels/simulation.hpp"

namespace fracstudy::kernels {

/// Grows one Eden cluster of `parameters.n_particles` sites on a lattice of spacing
/// 2 `parameters.particle_radius` (touching particles) from one occupied site at the
/// origin, in `parameters.dimension` dimensions. Each step occupies an empty site with at
/// least one occupied nearest neighbour, chosen uniformly among all of them.
SimulationResult simulate_eden(const SimulationParameters& parameters, std::uint64_t seed,
                               Deadline deadline);

}  // namespace fracstudy::kernels
