#!/usr/bin/env bash
# Every orchestration measurement of docs/performance.md ("Orchestration"), one after the
# other (one heavy measurement at a time), as JSON lines on stdout. About 20 minutes on 2 cores.
#   bench/coordinator/run-all.sh | tee orchestration.jsonl
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${FRACSTUDY_BUILD:-$here/../../build}
py=/usr/bin/python3
echo "# $(date -u +%FT%TZ) $(lscpu | sed -n 's/^Model name: *//p') $(nproc) cores"
"$build/bench/fracstudy_bench_checkpoint" 100000 3
"$build/bench/fracstudy_bench_checkpoint" 1000000 3
# Rank 0's own work per task and per message, without MPI (the model's c_t and assign cost).
for per_message in 1 100 6400; do "$build/bench/fracstudy_bench_rank0" 1000000 $per_message; done
$py "$here/workloads.py" tiny --tasks 100000 --ranks 3,2,5 --repeats 3
$py "$here/workloads.py" tiny --tasks 1000000 --ranks 3 --repeats 1
$py "$here/workloads.py" sweep --repetitions 8 --ranks 3,2,5 --repeats 3
$py "$here/workloads.py" equal10ms --tasks 1000 --ranks 3,2,5 --repeats 3
$py "$here/workloads.py" equal1s --tasks 12 --ranks 3,2 --repeats 3
$py "$here/compare.py" --tasks 2000 --slurm-tasks 40 --slurm-chunk 100 --repeats 3
# Coordinator message rate: many oversubscribed ranks, one task per message, then 256.
$py "$here/workloads.py" rate --tasks 20000 --chunk 1 --ranks 3,17,33 --repeats 1 --checkpoint 3600
# Sub-coordinators: rank 0's messages and CPU per task, flat against relays of 8 ranks.
$py "$here/workloads.py" rate --tasks 100000 --chunk 1 --ranks 33,65,129 --relays none,8 \
  --repeats 3 --checkpoint 3600 --isolation none
# Efficiency with enough tasks per worker that the tail does not dominate.
$py "$here/workloads.py" equal10ms --tasks 6000 --ranks 3 --repeats 2
$py "$here/workloads.py" equal1s --tasks 300 --ranks 3 --repeats 1
