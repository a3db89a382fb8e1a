#!/usr/bin/env bash
# The README's second command (and CI's): installs what is missing, builds with warnings
# as errors, and runs every test (labels unit, cli, mpi, physics).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --tests
scripts/build.sh -DFRACSTUDY_WARNINGS_AS_ERRORS=ON -DFRACSTUDY_BUILD_TESTS=ON
source scripts/mpi-env.sh
ctest --test-dir build --output-on-failure -j2 "$@"
