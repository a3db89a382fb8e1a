#!/usr/bin/env bash
# One model's cost, side by side: each binary given runs the same simulations (`fracstudy
# simulate`), alternating, and each run's wall time, peak RSS and df are printed as a line.
#
#   bench/simulate_side_by_side.sh ALGORITHM DIMENSION "SIZES" "SEEDS" BINARY [BINARY ...]
#   bench/simulate_side_by_side.sh DLA 3 "1000000 10000000" "1" old/fracstudy build/src/fracstudy
#
# Build each binary as Release (cmake -DCMAKE_BUILD_TYPE=Release); quote medians and the
# ratios of one run, since the machine is shared and noisy.
#
# PARALLEL=1 runs the binaries of each size and seed at the same time (one core each, so
# give it at most as many binaries as cores): both then see the same machine, the same
# neighbours and the same hour, which makes their ratio steadier than alternating runs on
# this shared VM (its speed moved by 1.4x within a day); each is somewhat slower than alone
# (they share the memory bus and the last-level cache).
set -euo pipefail
algorithm=$1
dimension=$2
sizes=$3
seeds=$4
shift 4
work=$(mktemp -d /tmp/side_by_side.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Runs one binary once; leaves "wall rss" in $work/K.time and its JSON in $work/K.json.
run_one() {
  local key=$1 binary=$2 n=$3 seed=$4
  if { /usr/bin/time -f '%e %M' "$binary" simulate --algorithm "$algorithm" \
    --dimension "$dimension" --n-particles "$n" --seed "$seed" >"$work/$key.json"; } \
    2>"$work/$key.err"; then
    tail -1 "$work/$key.err" >"$work/$key.time"
  else
    echo "failed 0" >"$work/$key.time"  # its stderr follows the table
  fi
}

print_one() {
  local key=$1 binary=$2 n=$3 seed=$4 wall rss df
  read -r wall rss <"$work/$key.time"
  if [[ $wall == failed ]]; then
    printf '%-10s %-5s %-40s %10s\n' "$n" "$seed" "$binary" failed
    sed 's/^/    /' "$work/$key.err" >&2
    return
  fi
  df=$(grep -o '"df":[0-9.]*' "$work/$key.json" | cut -d: -f2)
  printf '%-10s %-5s %-40s %10s %10.0f %8.6s\n' "$n" "$seed" "$binary" "$wall" \
    "$((rss / 1024))" "$df"
}

printf '%-10s %-5s %-40s %10s %10s %8s\n' N seed binary wall_s rss_MB df
for n in $sizes; do
  for seed in $seeds; do
    key=0
    for binary in "$@"; do
      key=$((key + 1))
      if [[ ${PARALLEL:-0} == 1 ]]; then
        run_one "$key" "$binary" "$n" "$seed" &
      else
        run_one "$key" "$binary" "$n" "$seed"
      fi
    done
    wait
    key=0
    for binary in "$@"; do
      key=$((key + 1))
      print_one "$key" "$binary" "$n" "$seed"
    done
  done
done
