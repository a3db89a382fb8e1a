#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, runs the demo study under
# mpirun (rank 0 coordinates, the others compute), prints its per-value summary and
# draws its figures into build/demo/figures.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
source scripts/mpi-env.sh
mkdir -p build/demo
ranks=${RANKS:-3}
mpirun -n "$ranks" build/src/fracstudy run configs/examples/dla_sweep.yaml \
  -o build/demo/dla_sweep.h5 --force
echo
build/src/fracstudy status build/demo/dla_sweep.h5
echo
echo "figures (fracstudy-plot):"
/usr/bin/python3 plot/fracstudy-plot build/demo/dla_sweep.h5 -o build/demo/figures | sed 's/^/  /'
