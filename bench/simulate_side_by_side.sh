#!/usr/bin/env bash
# One model's cost, side by side: each binary given runs the same simulations (`fracstudy
# simulate`), alternating, and each run's wall time, peak RSS and df are printed as a line.
#
#   bench/simulate_side_by_side.sh ALGORITHM DIMENSION "SIZES" "SEEDS" BINARY [BINARY ...]
#   bench/simulate_side_by_side.sh DLA 3 "1000000 10000000" "1" old/fracstudy build/src/fracstudy
#
# Build each binary as Release (cmake -DCMAKE_BUILD_TYPE=Release); quote medians and the
# ratios of one run, since the machine is shared and noisy.
set -euo pipefail
algorithm=$1
dimension=$2
sizes=$3
seeds=$4
shift 4
out=$(mktemp /tmp/side_by_side.XXXXXX)
trap 'rm -f "$out"' EXIT
printf '%-10s %-5s %-40s %10s %10s %8s\n' N seed binary wall_s rss_MB df
for n in $sizes; do
  for seed in $seeds; do
    for binary in "$@"; do
      measured=$( { /usr/bin/time -f '%e %M' "$binary" simulate --algorithm "$algorithm" \
        --dimension "$dimension" --n-particles "$n" --seed "$seed" >"$out"; } 2>&1 | tail -1)
      read -r wall rss <<<"$measured"
      df=$(grep -o '"df":[0-9.]*' "$out" | cut -d: -f2)
      printf '%-10s %-5s %-40s %10s %10.0f %8.6s\n' "$n" "$seed" "$binary" "$wall" \
        "$((rss / 1024))" "$df"
    done
  done
done
