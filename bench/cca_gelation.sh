#!/usr/bin/env bash
# CCA's finite-box effects: when the clusters of a run fill the periodic box (a cluster
# spans it: the gel) and how much of the system the largest cluster holds then, from the
# trace build of the kernels (fracstudy_bench_cca_trace, FRACSTUDY_BUILD_BENCH=ON).
#
#   bench/cca_gelation.sh BENCH_BUILD_DIR DIMENSION "SIZES" "SEEDS"
#   bench/cca_gelation.sh build-bench 3 "100000 1000000" "1 2 3"
#
# One line per run: N, seed, the time a cluster first spans the box (t in a^2 / D1, the
# monomer's diffusion time), the clusters left then and the spanning cluster's share of the
# monomers, the time the largest first holds half of them, the time of the last merge, and
# the wall time. Volume fraction: the kernel's default (phi = 0.001).
set -euo pipefail
build=$1
dimension=$2
sizes=$3
seeds=$4
trace=$(mktemp /tmp/cca_gelation.XXXXXX)
trap 'rm -f "$trace"' EXIT
field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$2"; }
printf '%-9s %-5s %12s %9s %11s %12s %12s %8s\n' N seed t_span clusters span_share \
  t_half t_end wall_s
for n in $sizes; do
  for seed in $seeds; do
    start=$(date +%s.%N)
    "$build/bench/fracstudy_bench_cca_trace" CCA "$dimension" "$n" "$seed" 2>"$trace" >/dev/null
    wall=$(echo "$(date +%s.%N) - $start" | bc)
    span=$(grep -m1 'cca-trace spans' "$trace" || true)
    half=$(grep -m1 'cca-trace half' "$trace" || true)
    last=$(grep 'cca-trace' "$trace" | tail -1)
    printf '%-9s %-5s %12s %9s %11s %12s %12s %8.1f\n' "$n" "$seed" \
      "$(field t "$span")" "$(field clusters "$span")" "$(field share "$span")" \
      "$(field t "$half")" "$(field t "$last")" "$wall"
  done
done
