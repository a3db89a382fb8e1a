#!/usr/bin/env bash
# Installs the Debian 12 packages fracstudy builds with (and, with --tests, tests with);
# does nothing when they are all present. Uses sudo when not run as root.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"

packages=(build-essential cmake libopenmpi-dev openmpi-bin libhdf5-dev zlib1g-dev hdf5-tools
          libboost-program-options-dev libyaml-cpp-dev nlohmann-json3-dev libgtest-dev
          libbenchmark-dev
          python3 python3-h5py python3-numpy python3-matplotlib)  # fracstudy-plot
with_tests=false
if [ "${1:-}" = "--tests" ]; then
  with_tests=true
  packages+=(python3-jsonschema clang-format gdb  # gdb: stacks of a test command that hung
             slurm-wlm slurmctld slurmd slurm-client munge)
  # Node.js runs the MCP SDK client test; keep one that is already there (any source).
  command -v node >/dev/null 2>&1 || packages+=(nodejs npm)
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# The official MCP SDK client, pinned by tests/mcp/package-lock.json (tests only).
if $with_tests && [ ! -d "$here/tests/mcp/node_modules/@modelcontextprotocol/sdk" ]; then
  (cd "$here/tests/mcp" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
