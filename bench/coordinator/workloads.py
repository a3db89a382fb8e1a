#!/usr/bin/python3
"""Runs one orchestration workload under `mpirun fracstudy run`, several rank counts side by
side (interleaved, so noise hits them alike), and prints every figure as JSON lines: one per
run, then the medians per rank count.

  bench/coordinator/workloads.py tiny   [--tasks 100000] [--ranks 3,2,5] [--repeats 3]
  bench/coordinator/workloads.py sweep  [--repetitions 8]  # DLA 2D, N = 10^3 .. 10^5
  bench/coordinator/workloads.py equal10ms [--tasks 2000]  # DLA 2D N=2000 (~10 ms each)
  bench/coordinator/workloads.py equal1s   [--tasks 16]    # DLA 2D N=180000 (~1 s each)
  bench/coordinator/workloads.py rate  --ranks 9,17,33 --chunk 1   # coordinator message rate
  bench/coordinator/workloads.py rate  --ranks 65 --relays none,8   # flat vs sub-coordinators

Options: --chunk N|auto (execution.chunk_size), --checkpoint S (checkpoint_interval_s),
--particles N (tiny, rate), --isolation process|none, --relays LIST (`fracstudy run --relays`,
each value run side by side with each rank count).
"""
import argparse
import sys

import common

SWEEP = [1000, 2154, 4642, 10000, 21544, 46416, 100000]  # log-spaced, 10^3 .. 10^5


def yaml_for(args):
    kw = dict(chunk_size=args.chunk, checkpoint_interval_s=args.checkpoint, isolation=args.isolation)
    if args.workload in ("tiny", "rate"):
        return common.study_yaml("tiny", args.algorithm, {"n_particles": args.particles, "dimension": 2},
                                 args.tasks, **kw)
    if args.workload == "sweep":
        return common.study_yaml("sweep", "DLA", {"dimension": 2}, args.repetitions, values=SWEEP, **kw)
    if args.workload == "equal10ms":
        return common.study_yaml("equal10ms", "DLA", {"n_particles": args.particles or 2000, "dimension": 2},
                                 args.tasks, **kw)
    if args.workload == "equal1s":
        return common.study_yaml("equal1s", "DLA", {"n_particles": args.particles or 180000, "dimension": 2},
                                 args.tasks, **kw)
    sys.exit(f"unknown workload {args.workload}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("workload")
    p.add_argument("--tasks", type=int, default=None)
    p.add_argument("--repetitions", type=int, default=8)
    p.add_argument("--ranks", default="3,2,5")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--particles", type=int, default=None)
    p.add_argument("--algorithm", default="EDEN")
    p.add_argument("--chunk", default="auto")
    p.add_argument("--checkpoint", type=float, default=10)
    p.add_argument("--isolation", default="process")
    p.add_argument("--relays", default="none")
    args = p.parse_args()
    defaults = {"tiny": 100000, "rate": 100000, "equal10ms": 2000, "equal1s": 16}
    if args.tasks is None:
        args.tasks = defaults.get(args.workload, 0)
    if args.workload in ("tiny", "rate") and args.particles is None:
        args.particles = 20
    text = yaml_for(args)
    configs = [(int(r), relays) for r in args.ranks.split(",") for relays in args.relays.split(",")]
    directory = common.workdir()
    runs = {c: [] for c in configs}
    try:
        for rep in range(args.repeats):
            for r, relays in configs:
                figures = common.run_study(text, r, directory, tag=f"n{r}", relays=relays)
                runs[(r, relays)].append(figures)
                common.show(f"{args.workload} run {rep + 1} relays={relays}", figures)
        for r, relays in configs:
            common.show(f"{args.workload} median chunk={args.chunk} relays={relays}",
                        common.median_of(runs[(r, relays)]))
    finally:
        common.cleanup(directory)


if __name__ == "__main__":
    main()
