#pragma once
/// One cluster's particle positions in an HDF5 file (`fracstudy simulate --save-cluster`).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fracstudy/kernels/models.hpp"

namespace fracstudy::io {

/// What stops a cluster file from being created at `path`, checked before the simulation
/// starts (a 10^8-particle run must not end by failing to write): the name taken (a
/// dangling link too), a folder's name, a folder that cannot be made or written, or less free
/// space there than the positions of `n_particles` in `dimension` dimensions take. nullopt
/// when it can be; creates the missing folders, as a run does for its result file. First
/// removes the temporary files that runs of this node killed while writing to `path` left.
std::optional<std::string> cluster_path_problem(const std::string& path, std::int64_t n_particles,
                                                int dimension);

/// Writes /positions (float64, n_particles x dimension, in the unit of particle_radius's
/// length) with the model, parameters, seed and metrics as attributes. The file must not
/// exist yet, and is not overwritten if it appears meanwhile (the cluster is then kept as
/// PATH.kept.PID.START, and the error names it); written to a temporary name of this process,
/// PATH.tmp.HOST.PID.START, then linked to `path`.
void write_cluster_file(const std::string& path, kernels::Algorithm algorithm,
                        const kernels::SimulationParameters& parameters, std::uint64_t seed,
                        const kernels::SimulationResult& result);

}  // namespace fracstudy::io
