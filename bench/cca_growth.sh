#!/usr/bin/env bash
# CCA's cost growth in 3D (issue 17, goal 3), side by side: each binary given runs the same
# DLCA simulations (phi = 0.001, the default), alternating, and the wall time and peak RSS of
# each are printed as one line.
#
#   bench/cca_growth.sh "10000 30000 100000" "1 2 3" BINARY [BINARY ...]
#
# Build each binary as Release (cmake -DCMAKE_BUILD_TYPE=Release); quote medians and the
# ratios of one run, since the machine is shared and noisy.
set -euo pipefail
sizes=$1
seeds=$2
shift 2
printf '%-10s %-5s %-40s %10s %10s %8s\n' N seed binary wall_s rss_MB df
for n in $sizes; do
  for seed in $seeds; do
    for binary in "$@"; do
      out=$( { /usr/bin/time -f '%e %M' "$binary" simulate --algorithm CCA --dimension 3 \
        --n-particles "$n" --seed "$seed" >/tmp/cca_growth.json; } 2>&1 | tail -1)
      read -r wall rss <<<"$out"
      df=$(grep -o '"df":[0-9.]*' /tmp/cca_growth.json | cut -d: -f2)
      printf '%-10s %-5s %-40s %10s %10.0f %8.4s\n' "$n" "$seed" "$binary" "$wall" \
        "$((rss / 1024))" "$df"
    done
  done
done
