#!/usr/bin/env bash
# CCA's cost growth in 3D (issue 17, goal 3), side by side: each binary given runs the same
# DLCA simulations (phi = 0.001, the default), alternating (bench/simulate_side_by_side.sh).
#
#   bench/cca_growth.sh "10000 30000 100000" "1 2 3" BINARY [BINARY ...]
set -euo pipefail
exec "$(dirname "$0")/simulate_side_by_side.sh" CCA 3 "$@"
