#!/usr/bin/env bash
# Reading a large study's progress (issue 17, goal 4), side by side: each binary given runs
# the same study of TASKS tiny tasks (EDEN, N = 10, one point) under `mpirun -n 3` into its
# own file, then `status` and `export --table summary` of each file are timed, alternating,
# ROUNDS times; then each binary runs the study again and is killed (kill -9) once its
# journal passes JOURNAL_MB megabytes (a run killed between two whole rewrites), and each
# reads its own killed file and journal (a build reads only journals of its own version or
# older). One line per measurement: wall time and peak RSS of the process tree (GNU time's
# %M: the reading child included).
#
#   bench/coordinator/status_large.sh 10000000 3 200 OLD_BINARY NEW_BINARY
#
# Needs about 4 GB of memory per run at 10^7 tasks (rank 0 holds every task's record).
set -euo pipefail
tasks=$1
rounds=$2
journal_mb=$3
shift 3
source "$(dirname "$0")/../../scripts/mpi-env.sh"
work=$(mktemp -d /tmp/status_large.XXXXXX)
trap 'pkill -9 -f "run $work/study.yaml" 2>/dev/null || true; rm -rf "$work"' EXIT
source "$(dirname "$0")/tiny_study.sh"
tiny_study "$work/study.yaml" "$tasks"
timed() {  # label, then the command
  local label=$1
  shift
  /usr/bin/time -f "$label %e s %M KB" "$@" >/dev/null 2>"$work/time" || true
  tail -1 "$work/time"
}
for i in $(seq $#); do
  binary=${!i}
  timed "run $binary" mpirun -n 3 "$binary" run "$work/study.yaml" -o "$work/$i.h5" -q
  echo "file $binary $(stat -c %s "$work/$i.h5") bytes"
done
read_each() {  # label prefix, file name prefix, then the binaries: each reads its own file
  local label=$1 name=$2
  shift 2
  for round in $(seq "$rounds"); do
    for i in $(seq $#); do
      binary=${!i}
      timed "${label}status $binary" "$binary" status "$work/$name$i.h5"
      timed "${label}summary $binary" "$binary" export "$work/$name$i.h5" --table summary
    done
  done
}
read_each "" "" "$@"
for i in $(seq $#); do
  binary=${!i}
  killed="$work/killed$i.h5"
  mpirun -n 3 "$binary" run "$work/study.yaml" -o "$killed" -q >/dev/null 2>&1 &
  # Until its journal passes the size (or the run ends: then nothing is killed).
  while kill -0 $! 2>/dev/null &&
    [ "$(stat -c %s "$killed.journal" 2>/dev/null || echo 0)" -lt $((journal_mb * 1000000)) ]; do
    sleep 0.5
  done
  pkill -9 -f "run $work/study.yaml" || true
  wait || true
  echo "killed run of $binary: file $(stat -c %s "$killed") bytes, journal" \
    "$(stat -c %s "$killed.journal" 2>/dev/null || echo 0) bytes"
done
read_each killed- killed "$@"
