#!/usr/bin/python3
"""Markdown table of the medians in run-all.sh's output: bench/coordinator/table.py < orchestration.jsonl"""
import json
import sys

cols = [("workload", "workload"), ("ranks", "ranks"), ("tasks", "tasks"), ("repeats", "runs"),
        ("elapsed_s", "elapsed s"), ("tasks_per_s", "tasks/s"), ("rank0_cpu_us_per_task", "rank-0 CPU µs/task"),
        ("efficiency", "efficiency"), ("makespan_over_bound", "makespan / bound"),
        ("overhead_per_task_ms", "worker overhead ms/task"), ("rank0_peak_mb", "rank-0 peak MB"),
        ("bytes_per_task", "file B/task")]
print("| " + " | ".join(c[1] for c in cols) + " |")
print("|" + " --- |" * len(cols))
for line in sys.stdin:
    if not line.startswith("{"):
        continue
    row = json.loads(line)
    if "median" not in row.get("workload", "") or "ranks" not in row:
        continue
    cells = []
    for key, _ in cols:
        v = row.get(key, "")
        if isinstance(v, float):
            v = f"{v:.3g}" if key != "efficiency" else f"{100 * v:.1f} %"
        cells.append(str(v))
    print("| " + " | ".join(cells) + " |")
