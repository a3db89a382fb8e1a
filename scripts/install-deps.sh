#!/usr/bin/env bash
# Installs the Debian 12 packages fracstudy builds and tests with; does nothing when they
# are all present. Uses sudo when not run as root.
set -euo pipefail

packages=(build-essential cmake libopenmpi-dev openmpi-bin libhdf5-dev hdf5-tools
          libboost-program-options-dev libyaml-cpp-dev nlohmann-json3-dev libgtest-dev libbenchmark-dev
          python3 python3-h5py python3-numpy clang-format)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >/dev/null
