#!/usr/bin/python3
"""Compares two fracstudy result files as a reproducibility check: every attribute, column
and cluster of OLD must be in NEW with the same value, to the last bit (NaN equals NaN).
Columns, attributes and datasets that NEW adds are listed, not counted as differences.
What depends on the run rather than the study (timestamps, wall and CPU times, ranks,
message counts, journal generations) is ignored.

  result_diff.py OLD.h5 NEW.h5      exit 0 when they agree, 1 with the differences listed
"""
import sys

import h5py
import numpy as np

# What a rerun of the same study may change without changing any result.
VOLATILE_ATTRS = {"updated_at", "created_at", "started_at", "completed_at", "elapsed_s",
                  "coordinator_cpu_s", "coordinator_messages", "journal_generation", "ranks",
                  "relay_ranks", "study_file", "software_version"}
VOLATILE_COLUMNS = {"wall_time_s", "worker_rank", "host"}


def same(a, b):
    """Equal to the last bit for numbers (so NaN equals NaN, 0.0 differs from -0.0)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind in "fiu" and b.dtype.kind in "fiu":
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    return a.shape == b.shape and bool(np.all(a == b))


def compare_attrs(where, old, new, problems, added):
    for key, value in old.attrs.items():
        if key in VOLATILE_ATTRS:
            continue
        if key not in new.attrs:
            problems.append(f"{where}: attribute {key} is missing")
        elif not same(value, new.attrs[key]):
            problems.append(f"{where}: attribute {key} was {value!r}, now {new.attrs[key]!r}")
    added.extend(f"{where}: attribute {key}" for key in new.attrs if key not in old.attrs)


def compare_table(where, old, new, problems, added):
    old_names, new_names = old.dtype.names, new.dtype.names
    if old.shape != new.shape:
        problems.append(f"{where}: {old.shape[0]} rows, now {new.shape[0]}")
        return
    for name in old_names:
        if name in VOLATILE_COLUMNS:
            continue
        if name not in new_names:
            problems.append(f"{where}: column {name} is missing")
        elif not same(old[name], new[name]):
            rows = [i for i in range(len(old)) if not same(old[name][i], new[name][i])]
            problems.append(f"{where}: column {name} differs in rows {rows[:10]}")
    added.extend(f"{where}: column {name}" for name in new_names if name not in old_names)


def compare_group(where, old, new, problems, added):
    compare_attrs(where, old, new, problems, added)
    for key, item in old.items():
        path = f"{where}/{key}"
        if key not in new:
            problems.append(f"{path}: missing")
        elif isinstance(item, h5py.Group):
            compare_group(path, item, new[key], problems, added)
        elif item.dtype.names:
            compare_table(path, item[()], new[key][()], problems, added)
            compare_attrs(path, item, new[key], problems, added)
        else:
            if not same(item[()], new[key][()]):
                problems.append(f"{path}: values differ")
            compare_attrs(path, item, new[key], problems, added)
    added.extend(f"{where}/{key}" for key in new if key not in old)


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    problems, added = [], []
    with h5py.File(argv[1], "r") as old, h5py.File(argv[2], "r") as new:
        compare_group("", old, new, problems, added)
    for line in added:
        print(f"added: {line}")
    for line in problems:
        print(f"DIFFERENT: {line}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
