#!/usr/bin/python3
"""The same tiny tasks three ways, side by side, repeated: `mpirun -n 3 fracstudy run`
(2 workers), GNU parallel -j2 with one `fracstudy simulate` process per task, and a Slurm
job array on a local one-node cluster (2 elements at a time, one element per task, and
one element per chunk of tasks). Also GNU parallel running `true` (the empty job).

  bench/coordinator/compare.py [--tasks 2000] [--slurm-tasks 60] [--slurm-chunk 100] [--repeats 3]

Overhead per task = (slots x elapsed - summed compute) / tasks, with 2 slots everywhere
and "compute" the summed in-process wall time fracstudy measured for the same tasks (the
same seeds). Elapsed of fracstudy: mpirun start to exit. Needs `parallel` and, for Slurm,
root and Debian's slurm-wlm (tests/slurm/local-cluster.sh); --no-slurm skips it.
"""
import argparse
import glob
import os
import statistics
import subprocess
import sys
import time

import common

SLOTS = 2


def fracstudy_run(args, directory):
    text = common.study_yaml("tiny", "EDEN", {"n_particles": args.particles, "dimension": 2}, args.tasks)
    return common.run_study(text, SLOTS + 1, directory, tag="cmp")


def simulate_cmd(args):
    return [common.FRACSTUDY, "simulate", "--algorithm", "EDEN", "--n-particles", str(args.particles),
            "--dimension", "2", "--seed"]


def gnu_parallel(args, seeds, directory, empty=False):
    seedfile = os.path.join(directory, "seeds.txt")
    with open(seedfile, "w") as f:
        f.write("\n".join(str(s) for s in seeds) + "\n")
    cmd = ["parallel", "-j", str(SLOTS), "--will-cite"]
    cmd += ["true"] if empty else simulate_cmd(args) + ["{}"]
    cmd += ["::::", seedfile]
    start = time.monotonic()
    with open(os.path.join(directory, "parallel.out"), "w") as out:
        subprocess.run(cmd, check=True, stdout=out)
    return time.monotonic() - start


def slurm_array(args, seeds, directory, per_element):
    """Submits ceil(len(seeds)/per_element) elements, at most 2 running; returns the time
    from sbatch to the end of the last element (each element records its end time)."""
    os.makedirs(directory, exist_ok=True)
    seedfile = os.path.join(directory, "slurm-seeds.txt")
    with open(seedfile, "w") as f:
        f.write("\n".join(str(s) for s in seeds) + "\n")
    elements = -(-len(seeds) // per_element)
    outdir = os.path.join(directory, f"slurm-{per_element}")
    os.makedirs(outdir, exist_ok=True)
    sim = " ".join(simulate_cmd(args))
    script = os.path.join(outdir, "element.sh")
    with open(script, "w") as f:
        f.write(f"""#!/bin/bash
first=$(( SLURM_ARRAY_TASK_ID * {per_element} + 1 ))
sed -n "${{first}},$(( first + {per_element} - 1 ))p" {seedfile} | while read -r seed; do
  {sim} "$seed"
done > {outdir}/out.$SLURM_ARRAY_TASK_ID
date +%s.%N > {outdir}/end.$SLURM_ARRAY_TASK_ID
""")
    start_wall = time.time()
    start = time.monotonic()
    job = subprocess.run(["sbatch", "--parsable", f"--array=0-{elements - 1}%{SLOTS}", "-n", "1",
                          "-o", "/dev/null", "-e", f"{outdir}/err.%a", script],
                         check=True, capture_output=True, text=True).stdout.strip()
    while True:
        time.sleep(0.2)
        if len(glob.glob(f"{outdir}/end.*")) >= elements:
            break
        if time.monotonic() - start > 1800:
            sys.exit("slurm array did not finish")
    ends = [float(open(p).read()) for p in glob.glob(f"{outdir}/end.*")]
    subprocess.run(["scancel", job.split(";")[0]], capture_output=True)
    return max(ends) - start_wall, elements


def per_task_ms(elapsed, compute, tasks):
    return 1e3 * (SLOTS * elapsed - compute) / tasks


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tasks", type=int, default=2000)
    p.add_argument("--particles", type=int, default=20)
    p.add_argument("--slurm-tasks", type=int, default=60)
    p.add_argument("--slurm-chunk", type=int, default=100)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--no-slurm", action="store_true")
    args = p.parse_args()
    directory = common.workdir()
    slurm_dir = os.path.join(directory, "slurm-cluster")
    cluster = os.path.join(common.ROOT, "tests", "slurm", "local-cluster.sh")
    rows = {k: [] for k in ("fracstudy", "fracstudy_steady", "parallel", "parallel_true",
                            "slurm_per_task", "slurm_per_chunk")}
    try:
        if not args.no_slurm:
            line = subprocess.run([cluster, "start", slurm_dir], check=True, capture_output=True,
                                  text=True).stdout.strip().splitlines()[-1]
            os.environ["SLURM_CONF"] = line.split("=", 1)[1]
        for rep in range(args.repeats):
            fr = fracstudy_run(args, directory)
            seeds, compute, n = fr["seeds"], fr["sum_task_wall_s"], fr["tasks"]
            rows["fracstudy"].append(per_task_ms(fr["mpirun_wall_s"], compute, n))
            rows["fracstudy_steady"].append(per_task_ms(fr["elapsed_s"], compute, n))
            t = gnu_parallel(args, seeds, directory)
            rows["parallel"].append(per_task_ms(t, compute, n))
            t0 = gnu_parallel(args, seeds, directory, empty=True)
            rows["parallel_true"].append(1e3 * SLOTS * t0 / n)
            line = {"rep": rep + 1, "tasks": n, "compute_s": compute, "fracstudy_mpirun_s": fr["mpirun_wall_s"],
                    "fracstudy_elapsed_s": fr["elapsed_s"], "parallel_s": t, "parallel_true_s": t0}
            if not args.no_slurm:
                k = min(args.slurm_tasks, n)
                share = compute * k / n
                ts, _ = slurm_array(args, seeds[:k], os.path.join(directory, f"r{rep}"), 1)
                rows["slurm_per_task"].append(per_task_ms(ts, share, k))
                kc = min(n, args.slurm_chunk * 10)
                tc, el = slurm_array(args, seeds[:kc], os.path.join(directory, f"c{rep}"), args.slurm_chunk)
                rows["slurm_per_chunk"].append(per_task_ms(tc, compute * kc / n, kc))
                line.update({"slurm_tasks": k, "slurm_s": ts, "slurm_chunked_tasks": kc,
                             "slurm_chunked_elements": el, "slurm_chunked_s": tc})
            line.update({k: round(v[-1], 4) for k, v in rows.items() if v})
            common.show("compare run (overhead per task in ms)", line)
        med = {k: statistics.median(v) for k, v in rows.items() if v}
        ratios = {f"{k}/fracstudy": med[k] / med["fracstudy"] for k in med if k != "fracstudy"}
        ratios.update({f"{k}/fracstudy_steady": med[k] / med["fracstudy_steady"]
                       for k in med if not k.startswith("fracstudy")})
        common.show("compare median overhead per task (ms)", med)
        common.show("compare ratios", ratios)
    finally:
        if not args.no_slurm:
            subprocess.run([cluster, "stop", slurm_dir])
        common.cleanup(directory)


if __name__ == "__main__":
    main()
