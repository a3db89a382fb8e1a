#!/usr/bin/env bash
# How DLA's time per particle grows with N (issue 17, goal 1: at 10^7 at most 1.2x that at
# 10^6 in 2D): for each seed, CPU seconds of `fracstudy simulate` at the small size (the
# median of REPEATS runs) and at the large size (one run), and the ratio of the times per
# particle; at the end the median ratio over the seeds, per binary.
#
#   bench/dla_time_per_particle.sh "BINARY [BINARY ...]" DIMENSION "SEEDS" [SMALL LARGE REPEATS]
#   bench/dla_time_per_particle.sh build/src/fracstudy 2 "2 4 5 6" 1000000 10000000 3
#   bench/dla_time_per_particle.sh "old/fracstudy build/src/fracstudy" 2 "2 4 5 6 7 8"
#
# Several binaries are compared side by side: each seed runs every binary in turn, the
# order rotated from seed to seed, so that a change in the machine's speed falls on all.
#
# CPU time (user), not wall time: a neighbour on a shared machine then costs less, but the
# ratio still moves with the machine's speed between runs, so run it at a quiet hour with
# the other cores idle and quote the median. The seed's clusters move it too: the jump
# count's own growth from 10^6 to 10^7 reads 1.09-1.18 over seeds 2-4 (docs/performance.md,
# "the seeds' own spread"), so take five seeds or more.
set -euo pipefail
read -r -a binaries <<<"$1"
dimension=$2
seeds=$3
small=${4:-1000000}
large=${5:-10000000}
repeats=${6:-3}

# Prints "user_seconds peak_rss_kb" of one run.
cpu_time() {
  local binary=$1 n=$2 seed=$3
  { /usr/bin/time -f '%U %M' "$binary" simulate --algorithm DLA --dimension "$dimension" \
    --n-particles "$n" --seed "$seed" >/dev/null; } 2>&1 | tail -1
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

printf '%-6s %-28s %-10s %-8s %-6s %s\n' seed "small runs (s)" "large (s)" rss_MB ratio binary
declare -A ratios
order=("${binaries[@]}")
for seed in $seeds; do
  for binary in "${order[@]}"; do
    small_times=()
    for _ in $(seq "$repeats"); do
      read -r seconds _ < <(cpu_time "$binary" "$small" "$seed")
      small_times+=("$seconds")
    done
    read -r large_seconds large_rss < <(cpu_time "$binary" "$large" "$seed")
    small_median=$(printf '%s\n' "${small_times[@]}" | median)
    ratio=$(awk -v l="$large_seconds" -v s="$small_median" -v nl="$large" -v ns="$small" \
      'BEGIN { printf "%.3f", (l / nl) / (s / ns) }')
    ratios[$binary]+="$ratio"$'\n'
    printf '%-6s %-28s %-10s %-8s %-6s %s\n' "$seed" "${small_times[*]}" "$large_seconds" \
      "$((large_rss / 1024))" "$ratio" "$binary"
  done
  order=("${order[@]:1}" "${order[0]}")
done
for binary in "${binaries[@]}"; do
  echo "median ratio of the time per particle, $large against $small, $binary:" \
    "$(printf '%s' "${ratios[$binary]}" | median)"
done
