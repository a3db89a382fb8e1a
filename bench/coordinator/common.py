"""Shared helpers of the orchestration benchmarks: write a study, run it under mpirun,
read the figures back from the result file. Debian's /usr/bin/python3 + h5py only."""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("FRACSTUDY_BUILD", os.path.join(ROOT, "build"))
FRACSTUDY = os.path.join(BUILD, "src", "fracstudy")
WRAPPER = os.path.join(HERE, "rank0-time.sh")


def mpi_env():
    """What scripts/mpi-env.sh sets, for this process's children."""
    env = dict(os.environ)
    if os.geteuid() == 0:
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    env["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
    env["OMPI_MCA_mpi_yield_when_idle"] = "1"
    return env


def workdir():
    return tempfile.mkdtemp(prefix="fracstudy-bench-")


def study_yaml(name, algorithm, base, repetitions, values=None, variable="n_particles",
               chunk_size="auto", checkpoint_interval_s=10, isolation="process", seed=42,
               time_limit_s=600):
    lines = [f"seed: {seed}", "execution:", f"  chunk_size: {chunk_size}", "  max_retries: 0",
             f"  task_time_limit_s: {time_limit_s}",
             f"  checkpoint_interval_s: {checkpoint_interval_s}", f"  isolation: {isolation}",
             "studies:", f"  - name: {name}", f"    algorithm: {algorithm}",
             "    base_parameters: {" + ", ".join(f"{k}: {v}" for k, v in base.items()) + "}"]
    if values is not None:
        lines += [f"    variable_parameter: {variable}",
                  "    values: [" + ", ".join(str(v) for v in values) + "]"]
    lines.append(f"    repetitions: {repetitions}")
    return "\n".join(lines) + "\n"


def run_study(yaml_text, ranks, directory, tag="run", relays=None):
    """Runs `mpirun -n RANKS fracstudy run [--relays RELAYS]` and returns every figure of
    the run. Relays compute nothing, so they do not count as workers."""
    study = os.path.join(directory, f"{tag}.yaml")
    out = os.path.join(directory, f"{tag}.h5")
    timefile = os.path.join(directory, f"{tag}.rank0")
    for p in (out, timefile):
        if os.path.exists(p):
            os.remove(p)
    with open(study, "w") as f:
        f.write(yaml_text)
    env = mpi_env()
    env["FRACSTUDY_RANK0_TIME"] = timefile
    cmd = ["mpirun", "-n", str(ranks), WRAPPER, FRACSTUDY, "run", study, "-o", out]
    if relays:
        cmd += ["--relays", relays]
    start = time.monotonic()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    launcher_s = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    with h5py.File(out, "r") as f:
        relay_ranks = int(f.attrs.get("relay_ranks", 0))
    figures = read_result(out, workers=max(1, ranks - 1 - relay_ranks))
    figures["ranks"] = ranks
    figures["relays"] = relay_ranks
    figures["mpirun_wall_s"] = launcher_s
    with open(timefile) as f:
        maxrss_kb, _, user_s, sys_s = f.read().split()[-4:]
    figures["rank0_peak_mb"] = int(maxrss_kb) / 1024.0
    figures["rank0_process_cpu_s"] = float(user_s) + float(sys_s)
    figures["file_bytes"] = os.path.getsize(out)
    figures["bytes_per_task"] = figures["file_bytes"] / figures["tasks"]
    figures["output"] = out
    return figures


def read_result(path, workers):
    """Figures from a result file: throughput, rank-0 CPU, efficiency, makespan bound."""
    with h5py.File(path, "r") as f:
        elapsed = float(f.attrs["elapsed_s"])
        cpu = float(f.attrs["coordinator_cpu_s"])
        messages = int(f.attrs.get("coordinator_messages", 0))
        walls, statuses, seeds = [], [], []
        for name in f["studies"]:
            t = f["studies"][name]["tasks"][()]
            walls.append(np.asarray(t["wall_time_s"], dtype=float))
            statuses.append(np.asarray([s.decode() if isinstance(s, bytes) else s for s in t["status"]]))
            seeds.append(np.asarray(t["seed"]))
    wall = np.concatenate(walls)
    status = np.concatenate(statuses)
    n = len(wall)
    done = int(np.sum(status == "COMPLETED"))
    work = float(np.nansum(wall))
    longest = float(np.nanmax(wall))
    bound = max(work / workers, longest)
    return {
        "tasks": n, "completed": done, "workers": workers,
        "elapsed_s": elapsed, "coordinator_cpu_s": cpu,
        "tasks_per_s": n / elapsed,
        "rank0_messages": messages, "rank0_messages_per_task": messages / n,
        "rank0_cpu_us_per_task": 1e6 * cpu / n,
        "sum_task_wall_s": work, "longest_task_s": longest, "mean_task_s": work / n,
        "efficiency": work / (workers * elapsed),
        "lower_bound_s": bound, "makespan_over_bound": elapsed / bound,
        "overhead_per_task_ms": 1e3 * (workers * elapsed - work) / n,
        "seeds": np.concatenate(seeds),
    }


KEYS = ["ranks", "relays", "rank0_messages", "rank0_messages_per_task", "tasks", "elapsed_s", "tasks_per_s", "coordinator_cpu_s", "rank0_cpu_us_per_task",
        "efficiency", "sum_task_wall_s", "longest_task_s", "lower_bound_s", "makespan_over_bound",
        "overhead_per_task_ms", "rank0_peak_mb", "rank0_process_cpu_s", "bytes_per_task",
        "mpirun_wall_s"]


def median_of(runs):
    """Median of every numeric figure over repeated runs (plus min and max of a few)."""
    out = {}
    for k in KEYS:
        vals = [r[k] for r in runs if k in r]
        if vals:
            out[k] = statistics.median(vals)
    for k in ("elapsed_s", "efficiency", "rank0_cpu_us_per_task"):
        vals = [r[k] for r in runs if k in r]
        if vals:
            out[k + "_range"] = [min(vals), max(vals)]
    out["repeats"] = len(runs)
    return out


def show(label, figures):
    printable = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in figures.items()
                 if k not in ("seeds", "output")}
    print(json.dumps({"workload": label, **printable}), flush=True)


def cleanup(directory):
    if not os.environ.get("FRACSTUDY_BENCH_KEEP"):
        shutil.rmtree(directory, ignore_errors=True)
