#!/usr/bin/env bash
# How DLA's time per particle grows with N (issue 17, goal 1: at 10^7 at most 1.2x that at
# 10^6 in 2D): for each seed, CPU seconds of `fracstudy simulate` at the small size (the
# median of REPEATS runs) and at the large size (one run), and the ratio of the times per
# particle; at the end the median ratio over the seeds.
#
#   bench/dla_time_per_particle.sh BINARY DIMENSION "SEEDS" [SMALL LARGE REPEATS]
#   bench/dla_time_per_particle.sh build/src/fracstudy 2 "2 4 5 6" 1000000 10000000 3
#
# CPU time (user), not wall time: a neighbour on a shared machine then costs less, but the
# ratio still moves with the machine's speed between runs, so run it at a quiet hour with
# the other cores idle and quote the median.
set -euo pipefail
binary=$1
dimension=$2
seeds=$3
small=${4:-1000000}
large=${5:-10000000}
repeats=${6:-3}

# Prints "user_seconds peak_rss_kb" of one run.
cpu_time() {
  local n=$1 seed=$2
  { /usr/bin/time -f '%U %M' "$binary" simulate --algorithm DLA --dimension "$dimension" \
    --n-particles "$n" --seed "$seed" >/dev/null; } 2>&1 | tail -1
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

printf '%-6s %-28s %-10s %-8s %s\n' seed "small runs (s)" "large (s)" rss_MB ratio
ratios=()
for seed in $seeds; do
  small_times=()
  for _ in $(seq "$repeats"); do
    read -r seconds _ < <(cpu_time "$small" "$seed")
    small_times+=("$seconds")
  done
  read -r large_seconds large_rss < <(cpu_time "$large" "$seed")
  small_median=$(printf '%s\n' "${small_times[@]}" | median)
  ratio=$(awk -v l="$large_seconds" -v s="$small_median" -v nl="$large" -v ns="$small" \
    'BEGIN { printf "%.3f", (l / nl) / (s / ns) }')
  ratios+=("$ratio")
  printf '%-6s %-28s %-10s %-8s %s\n' "$seed" "${small_times[*]}" "$large_seconds" \
    "$((large_rss / 1024))" "$ratio"
done
echo "median ratio of the time per particle, $large against $small: $(printf '%s\n' "${ratios[@]}" | median)"
