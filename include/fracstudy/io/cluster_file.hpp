#pragma once
/// One cluster's particle positions in an HDF5 file (`fracstudy simulate --save-cluster`).
#include <cstdint>
#include <string>
#include <vector>

#include "fracstudy/kernels/models.hpp"

namespace fracstudy::io {

/// Writes /positions (float64, n_particles x dimension, in the unit of particle_radius's
/// length) with the model, parameters, seed and metrics as attributes. The file must not
/// exist yet (nothing is ever overwritten); written to a temporary name, then renamed.
void write_cluster_file(const std::string& path, kernels::Algorithm algorithm,
                        const kernels::SimulationParameters& parameters, std::uint64_t seed,
                        const kernels::SimulationResult& result);

}  // namespace fracstudy::io
