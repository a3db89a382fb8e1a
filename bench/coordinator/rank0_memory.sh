#!/usr/bin/env bash
# Rank 0's peak memory per task (issue 17, goal 4), side by side: each binary given runs the
# same study of TASKS tiny tasks (EDEN, N = 10) under `mpirun -n 3`, ROUNDS times in turn;
# rank 0's peak resident set (VmHWM, read from /proc every 0.05 s while it runs, so a peak
# shorter than that can be missed) and a worker's are printed with the wall time. POINTS
# (default 1) splits the tasks into that many parameter points (n_particles 10, 11, ...).
#
#   bench/coordinator/rank0_memory.sh 1000000 2 OLD_BINARY NEW_BINARY [POINTS=1]
set -euo pipefail
tasks=$1
rounds=$2
shift 2
points=${POINTS:-1}
source "$(dirname "$0")/../../scripts/mpi-env.sh"
work=$(mktemp -d /tmp/rank0_memory.XXXXXX)
trap 'pkill -9 -f "run $work/study.yaml" 2>/dev/null || true; rm -rf "$work"' EXIT
source "$(dirname "$0")/tiny_study.sh"
tiny_study "$work/study.yaml" "$tasks" "$points"
peak_kb() {  # pid -> VmHWM in kB (0 when gone)
  awk '/^VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0
}
for round in $(seq "$rounds"); do
  for binary in "$@"; do
    rm -f "$work/out.h5"
    start=$(date +%s.%N)
    mpirun -n 3 "$binary" run "$work/study.yaml" -o "$work/out.h5" -q >/dev/null 2>&1 &
    launcher=$!
    rank0=0 worker=0
    while kill -0 "$launcher" 2>/dev/null; do
      for pid in $(pgrep -f "$binary run $work/study.yaml" || true); do
        [ "$pid" = "$launcher" ] && continue
        rank=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null |
          sed -n 's/^OMPI_COMM_WORLD_RANK=//p' || true)
        kb=$(peak_kb "$pid")
        kb=${kb:-0}
        if [ "$rank" = 0 ]; then
          [ "$kb" -gt "$rank0" ] && rank0=$kb
        elif [ -n "$rank" ]; then
          [ "$kb" -gt "$worker" ] && worker=$kb
        fi
      done
      sleep 0.05
    done
    wait "$launcher" || echo "round $round $binary: the run failed"
    end=$(date +%s.%N)
    awk -v b="$binary" -v r="$round" -v r0="$rank0" -v w="$worker" -v t="$tasks" \
      -v s="$(echo "$end - $start" | bc)" 'BEGIN {
        printf "round %d %s: %.1f s, rank 0 %.0f MB, a worker %.0f MB, rank 0 beyond a worker %.0f B/task\n",
          r, b, s, r0 / 1024, w / 1024, (r0 - w) * 1024 / t }'
  done
done
