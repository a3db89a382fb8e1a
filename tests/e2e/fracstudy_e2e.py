"""End-to-end tests of the `fracstudy` binary, as a user runs it.

Run by ctest (see tests/e2e/CMakeLists.txt) with Debian's /usr/bin/python3, which has
h5py. Environment: FRACSTUDY_BIN (the binary), MPIEXEC (mpirun), FRACSTUDY_TEST_DATA
(tests/data). Select a group with its class name, e.g. `... fracstudy_e2e.py MpiRuns`.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import h5py
import numpy as np

BIN = os.environ["FRACSTUDY_BIN"]
MPIEXEC = os.environ.get("MPIEXEC", "mpirun")
DATA = Path(os.environ["FRACSTUDY_TEST_DATA"])
# Running as root on a 2-core machine: allow root and oversubscription, and make idle
# ranks yield the CPU. A user's own environment needs none of this.
MPI_ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_mpi_yield_when_idle="1", OMPI_MCA_rmaps_base_oversubscribe="1")

STUDY = """\
seed: 2026
execution:
  chunk_size: CHUNK
  checkpoint_interval_s: 1
studies:
  - name: dla2d_sweep
    algorithm: DLA
    base_parameters: {dimension: 2, particle_radius: 1.0}
    variable_parameter: n_particles
    values: [50, 100, 200]
    repetitions: 3
  - name: dla3d_grid
    algorithm: DLA
    base_parameters: {dimension: 3}
    grid:
      n_particles: [40, 80]
      sticking_probability: [0.5, 1.0]
    repetitions: 2
"""

TASK_COLUMNS = {"task_id", "seed", "repetition", "n_particles", "dimension", "particle_radius",
                "sticking_probability", "status", "attempts", "worker_rank", "wall_time_s",
                "error", "df", "rg", "kf"}
SUMMARY_COLUMNS = {"n_particles", "dimension", "particle_radius", "sticking_probability",
                   "n_samples", "n_failed", "mean_df", "std_df", "sem_df", "mean_rg", "std_rg"}
STUDY_ATTRS = {"algorithm", "status", "total_simulations", "completed_simulations",
               "failed_simulations", "created_at", "started_at", "completed_at"}


def descendants(pid):
    """`pid` and every process below it, parents first."""
    children = {}
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    found, todo = [], [pid]
    while todo:
        found.append(todo.pop(0))
        todo.extend(children.get(found[-1], []))
    return found


def stacks_of(pid):
    """The threads' stacks of `pid` and its descendants (gdb where installed), for the
    report of a command that hung: a hang seen once in CI must be diagnosable."""
    report = []
    for process in descendants(pid):
        try:
            command = (Path(f"/proc/{process}/cmdline").read_bytes()
                       .replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
        report.append(f"--- process {process}: {command}")
        try:
            report.append(subprocess.run(
                ["gdb", "-p", str(process), "-batch", "-ex", "thread apply all bt"],
                capture_output=True, text=True, timeout=120, errors="replace").stdout)
        except (OSError, subprocess.TimeoutExpired) as error:
            report.append(f"(no stacks: {error})")
    return "\n".join(report)


def run(args, ranks=None, timeout=600, **kwargs):
    """Runs fracstudy (under mpirun when `ranks` is given) and returns the process. One
    that outlives `timeout` fails the test with its stacks."""
    command = [BIN] + args
    if ranks is not None:
        command = [MPIEXEC, "-n", str(ranks)] + command
    kwargs.setdefault("text", True)
    kwargs.setdefault("env", MPI_ENV)
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          **kwargs) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            stacks = stacks_of(proc.pid)
            for process in reversed(descendants(proc.pid)):
                try:
                    os.kill(process, 9)
                except OSError:
                    pass
            proc.communicate()
            raise AssertionError(f"{command} did not end within {timeout} s; its stacks:\n"
                                 + stacks) from None
    return subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)


def fill_disk(path):
    """Writes `path` until the file system holding it is full, to the last byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)


def text(value):
    return value.decode() if isinstance(value, bytes) else value


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class TempDirTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, content):
        path = self.dir / name
        path.write_text(content)
        return path

    def study(self, chunk="auto", text_=STUDY):
        path = self.dir / f"study_{chunk}.yaml"
        path.write_text(text_.replace("CHUNK", str(chunk)))
        return path


class MpiRuns(TempDirTest):
    """`mpirun -n N fracstudy run` gives the same per-task metrics for any N and chunk size."""

    def run_study(self, ranks, chunk, name):
        out = self.dir / name
        proc = run(["run", str(self.study(chunk)), "-o", str(out)], ranks=ranks)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("dla2d_sweep", proc.stdout)  # the per-value summary is printed
        return out

    def check_contract(self, path, ranks):
        with h5py.File(path, "r") as f:
            self.assertEqual(text(f.attrs["format"]), "fracstudy-results")
            self.assertEqual(int(f.attrs["format_version"]), 2)
            self.assertTrue(text(f.attrs["software_version"]))
            self.assertIn("dla3d_grid", text(f.attrs["study_yaml"]))
            self.assertEqual(list(f["studies"]), ["dla2d_sweep", "dla3d_grid"])
            for name, points, reps in (("dla2d_sweep", 3, 3), ("dla3d_grid", 4, 2)):
                group = f["studies"][name]
                self.assertLessEqual(STUDY_ATTRS, set(group.attrs))
                self.assertEqual(text(group.attrs["status"]), "COMPLETED")
                self.assertEqual(int(group.attrs["total_simulations"]), points * reps)
                self.assertEqual(int(group.attrs["completed_simulations"]), points * reps)
                self.assertEqual(int(group.attrs["failed_simulations"]), 0)
                tasks = group["tasks"][:]
                self.assertLessEqual(TASK_COLUMNS, set(tasks.dtype.names))
                self.assertEqual(len(tasks), points * reps)
                self.assertTrue(all(text(s) == "COMPLETED" for s in tasks["status"]))
                self.assertTrue(np.all(tasks["attempts"] == 1))
                self.assertTrue(np.all(np.isfinite(tasks["df"])))
                self.assertTrue(np.all(tasks["rg"] > 0))
                ranks_used = set(tasks["worker_rank"].tolist())
                expected = {0} if ranks == 1 else set(range(1, ranks))
                self.assertLessEqual(ranks_used, expected)
                summary = group["summary"][:]
                self.assertLessEqual(SUMMARY_COLUMNS, set(summary.dtype.names))
                self.assertEqual(len(summary), points)
                self.assertTrue(np.all(summary["n_samples"] == reps))
                # The summary is the statistics of the task rows of each point.
                first = tasks[:reps] if name == "dla2d_sweep" else tasks[tasks["n_particles"] == 40]
                first = first[first["sticking_probability"] == first["sticking_probability"][0]]
                self.assertAlmostEqual(summary["mean_df"][0], first["df"].mean(), places=12)
                self.assertAlmostEqual(summary["std_df"][0], first["df"].std(ddof=1), places=12)

    def metrics(self, path):
        with h5py.File(path, "r") as f:
            return {name: (f["studies"][name]["tasks"]["df"][:], f["studies"][name]["tasks"]["rg"][:],
                           f["studies"][name]["tasks"]["seed"][:])
                    for name in f["studies"]}

    def test_same_metrics_for_1_2_3_4_ranks_and_any_chunk_size(self):
        reference = self.run_study(None, "auto", "serial.h5")
        self.check_contract(reference, 1)
        expected = self.metrics(reference)
        for ranks, chunk in ((2, "auto"), (3, 1), (4, 5)):
            with self.subTest(ranks=ranks, chunk=chunk):
                out = self.run_study(ranks, chunk, f"n{ranks}.h5")
                self.check_contract(out, ranks)
                got = self.metrics(out)
                for name in expected:
                    for want, have in zip(expected[name], got[name]):
                        np.testing.assert_array_equal(want, have)

    def test_sub_coordinators_give_the_same_metrics_with_fewer_messages_to_rank_0(self):
        # 8 ranks in groups of 3: relays 1 and 4 (rank 7 joins the last group), 5 workers.
        expected = self.metrics(self.run_study(2, 1, "flat.h5"))
        out = self.dir / "relays.h5"
        proc = run(["run", str(self.study(1)), "-o", str(out), "--relays", "3"], ranks=8)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        got = self.metrics(out)
        for name in expected:
            for want, have in zip(expected[name], got[name]):
                np.testing.assert_array_equal(want, have)
        with h5py.File(out, "r") as f:
            self.assertEqual(int(f.attrs["relay_ranks"]), 2)
            ranks_used = set()
            for name in f["studies"]:
                tasks = f["studies"][name]["tasks"][:]
                self.assertTrue(np.all(tasks["attempts"] == 1))
                ranks_used |= set(tasks["worker_rank"].tolist())
            # Results name the worker that computed them; relays compute nothing.
            self.assertLessEqual(ranks_used, {2, 3, 5, 6, 7})
        # chunk_size 1: flat, rank 0 gets one request per task (+1 per worker); a relay's
        # request carries its group's chunks (2 or 3 tasks). Counted on 150 tiny tasks:
        # over the 17 above, a loaded machine that staggers the workers once left the
        # relays no fewer messages than tasks. Measured 64-70 against 157 flat, loaded or not.
        tiny = self.dir / "tiny.yaml"
        tiny.write_text("seed: 1\nexecution:\n  chunk_size: 1\nstudies:\n  - name: tiny\n"
                        "    algorithm: EDEN\n    variable_parameter: n_particles\n"
                        "    values: [20, 30, 40]\n    repetitions: 50\n")
        messages = {}
        for relays in ("none", "3"):
            path = self.dir / f"tiny_{relays}.h5"
            proc = run(["run", str(tiny), "-o", str(path), "--relays", relays], ranks=8)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            with h5py.File(path, "r") as f:
                messages[relays] = int(f.attrs["coordinator_messages"])
        self.assertGreaterEqual(messages["none"], 150)
        self.assertLess(messages["3"], 0.6 * messages["none"], messages)
        proc = run(["run", str(self.study()), "-o", str(self.dir / "x.h5"), "--relays", "1"], ranks=2)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--relays", proc.stderr)
        self.assertFalse((self.dir / "x.h5").exists())

    def test_second_run_is_refused_and_leaves_the_file_unchanged(self):
        out = self.run_study(3, "auto", "a.h5")
        before, mtime = digest(out), out.stat().st_mtime_ns
        proc = run(["run", str(self.study()), "-o", str(out)], ranks=3)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("already exists", proc.stderr)
        self.assertIn("--resume", proc.stderr)
        self.assertEqual(digest(out), before)
        self.assertEqual(out.stat().st_mtime_ns, mtime)
        # --force starts over; --resume of a finished file computes nothing new.
        self.assertEqual(run(["run", str(self.study()), "-o", str(out), "--force"], ranks=2).returncode, 0)
        proc = run(["run", str(self.study()), "-o", str(out), "--resume"], ranks=2)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with h5py.File(out, "r") as f:
            self.assertTrue(np.all(f["studies/dla2d_sweep/tasks"]["attempts"] == 1))

    def test_resume_computes_only_unfinished_tasks_and_matches_a_clean_run(self):
        clean = self.run_study(2, "auto", "clean.h5")
        partial = self.dir / "partial.h5"
        partial.write_bytes(clean.read_bytes())
        # Pretend the job died: some tasks never finished, one was running.
        with h5py.File(partial, "r+") as f:
            tasks = f["studies/dla2d_sweep/tasks"]
            rows = tasks[:]
            for i in (1, 4, 8):
                rows[i]["status"] = b"PENDING" if i != 4 else b"RUNNING"
                rows[i]["df"] = np.nan
                rows[i]["rg"] = np.nan
                rows[i]["attempts"] = 0
            rows[0]["worker_rank"] = 99  # marks a task that must not be recomputed
            tasks[...] = rows
        proc = run(["run", str(self.study()), "-o", str(partial), "--resume"], ranks=3)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with h5py.File(partial, "r") as f, h5py.File(clean, "r") as g:
            got, want = f["studies/dla2d_sweep/tasks"][:], g["studies/dla2d_sweep/tasks"][:]
            np.testing.assert_array_equal(got["df"], want["df"])
            np.testing.assert_array_equal(got["rg"], want["rg"])
            self.assertEqual(got["worker_rank"][0], 99)
            self.assertEqual(text(f["studies/dla2d_sweep"].attrs["status"]), "COMPLETED")

    def test_resume_with_a_changed_study_file_is_refused(self):
        out = self.run_study(2, "auto", "r.h5")
        changed = self.study(text_=STUDY.replace("seed: 2026", "seed: 2027"))
        before = digest(out)
        proc = run(["run", str(changed), "-o", str(out), "--resume"], ranks=2)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("different study file", proc.stderr)
        self.assertEqual(digest(out), before)

    def test_coordinator_sleeps_while_workers_compute(self):
        # 3 ranks on 2 cores: rank 0 must leave the CPU to the workers. The study must last
        # seconds, not a fraction of one: start-up's CPU (0.1-0.2 s, more under load) is fixed,
        # and a polling coordinator would use about one CPU-second per second of the run.
        heavy = STUDY.replace("values: [50, 100, 200]", "values: [200000, 400000]").replace(
            "repetitions: 3", "repetitions: 4")
        out = self.dir / "busy.h5"
        proc = run(["run", str(self.study(text_=heavy)), "-o", str(out)], ranks=3)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with h5py.File(out, "r") as f:
            elapsed, cpu = f.attrs["elapsed_s"], f.attrs["coordinator_cpu_s"]
        self.assertGreater(elapsed, 2.0, "the study was too short to tell sleeping from polling")
        # Start-up (MPI, HDF5) costs rank 0 up to 0.25 s of CPU; polling must add little.
        self.assertLess(cpu, 0.25 + 0.1 * elapsed, f"coordinator used {cpu:.2f} s CPU in {elapsed:.2f} s")


class BadInput(TempDirTest):
    """Every bad study file exits 2 with one line naming file:line and key; no file appears."""

    def cases(self):
        for path in sorted((DATA / "bad").glob("*.yaml")):
            lines = path.read_bytes().decode(errors="replace").splitlines()
            line = int(lines[0].split(":", 1)[1])
            fragment = lines[1].split(":", 1)[1].strip()
            yield path, line, fragment

    def check_error(self, proc, path, line, fragment):
        self.assertEqual(proc.returncode, 2, proc.stderr)
        message = proc.stderr.strip()
        self.assertEqual(len(message.splitlines()), 1, message)
        self.assertIn(f"{path}:{line}: ", message)
        self.assertIn(fragment, message)

    def test_validate_and_run_reject_each_bad_file(self):
        for path, line, fragment in self.cases():
            with self.subTest(file=path.name):
                self.check_error(run(["validate", str(path)]), path, line, fragment)
                out = self.dir / f"{path.stem}.h5"
                self.check_error(run(["run", str(path), "-o", str(out)]), path, line, fragment)
                self.assertEqual(list(self.dir.iterdir()), [])

    def test_bad_file_under_mpirun_stops_every_rank_with_exit_2(self):
        path, line, fragment = next(self.cases())
        out = self.dir / "never.h5"
        proc = run(["run", str(path), "-o", str(out)], ranks=3)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertEqual(proc.stderr.count(fragment), 1, proc.stderr)  # only rank 0 speaks
        self.assertFalse(out.exists())

    def test_usage_errors_exit_2(self):
        for args, fragment in ((["run"], "study"), (["frobnicate"], "unknown command"),
                               (["run", "missing.yaml"], "cannot read"),
                               (["status", str(self.dir / "none.h5")], "no such file"),
                               (["simulate", "--algorithm", "DLA", "--dimension", "5"], "2 or 3"),
                               (["simulate", "--algorithm", "DLA", "--volume-fraction", "0.1"],
                                "does not use"),
                               (["export", str(self.dir / "x.h5"), "--format", "xml"], "csv or json"),
                               (["export", str(self.dir / "x.h5"), "--study", ""], "name is empty"),
                               (["submit", str(DATA / "format1" / "before_metric_table.yaml"), "--nodes", "3"],
                                "--ntasks-per-node"),
                               (["submit", str(DATA / "format1" / "before_metric_table.yaml"), "--relays",
                                 "most"], "--relays")):
            with self.subTest(args=args):
                proc = run(args, cwd=self.dir)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertIn(fragment, proc.stderr)
                self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
        self.assertEqual(list(self.dir.iterdir()), [])

    def test_foreign_hdf5_file_is_refused_by_status_and_resume(self):
        foreign = self.dir / "foreign.h5"
        with h5py.File(foreign, "w") as f:
            f["x"] = [1, 2, 3]
        before = digest(foreign)
        proc = run(["status", str(foreign)])
        self.assertEqual(proc.returncode, 2)
        self.assertIn("not a fracstudy result file", proc.stderr)
        proc = run(["run", str(self.study()), "-o", str(foreign), "--resume"])
        self.assertEqual(proc.returncode, 2)
        self.assertEqual(digest(foreign), before)


class Commands(TempDirTest):
    """validate, simulate, status and export print what a user reads."""

    def test_validate_prints_task_counts(self):
        proc = run(["validate", str(self.study())])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("dla2d_sweep: DLA, 3 parameter points x 3 repetitions = 9 tasks", proc.stdout)
        self.assertIn("dla3d_grid: DLA, 4 parameter points x 2 repetitions = 8 tasks", proc.stdout)
        self.assertIn("17 tasks", proc.stdout)

    def test_simulate_prints_metrics_as_json_and_is_reproducible(self):
        args = ["simulate", "--algorithm", "DLA", "--n-particles", "300", "--seed", "5"]
        first = json.loads(run(args).stdout)
        second = json.loads(run(args).stdout)
        self.assertEqual(first["n_particles"], 300)
        self.assertEqual(first["df"], second["df"])
        self.assertEqual(first["parameters"]["dimension"], 2)
        self.assertGreater(first["rg"], 0)

    def test_simulate_takes_every_seed_and_refuses_what_is_not_one(self):
        # The seed's whole range is usable; "-1" used to be read as 2^64 - 1 without a word.
        for seed in ("0", "18446744073709551615"):
            proc = run(["simulate", "--algorithm", "EDEN", "--n-particles", "10", "--seed", seed])
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertEqual(json.loads(proc.stdout)["seed"], int(seed))
        for seed in ("-1", "18446744073709551616", "5x", " 5", "1e3"):
            with self.subTest(seed=seed):
                proc = run(["simulate", "--algorithm", "EDEN", "--n-particles", "10",
                            f"--seed={seed}"])
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertEqual(proc.stdout, "")
                self.assertEqual(proc.stderr.strip(), "fracstudy simulate: --seed: must be an "
                                 f"integer from 0 to 18446744073709551615, got '{seed}'")

    def test_simulate_keeps_to_its_time_limit_and_refuses_one_that_is_not_one(self):
        # A negative or NaN limit used to mean "none" without a word.
        base = ["simulate", "--algorithm", "DLA", "--n-particles", "200000"]
        for limit in ("-1", "nan", "-inf"):
            with self.subTest(limit=limit):
                proc = run(base + [f"--time-limit={limit}"])
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertEqual(proc.stderr.strip(), "fracstudy simulate: --time-limit: must be "
                                 f"a number of seconds >= 0 (0: none), got '{limit}'")
        proc = run(base + ["--time-limit", "0.01"])
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertEqual(proc.stdout, "")
        self.assertEqual(proc.stderr.strip(), "fracstudy simulate: error: timeout: stopped at "
                         "--time-limit 0.01 s, before the cluster had its 200000 particles")

    def test_simulate_saves_the_cluster_it_measured(self):
        out = self.dir / "cluster.h5"
        for algorithm, dimension in (("DLA", 3), ("EDEN", 2)):
            target = self.dir / f"{algorithm}.h5"
            proc = run(["simulate", "--algorithm", algorithm, "--n-particles", "400",
                        "--dimension", str(dimension), "--particle-radius", "0.5",
                        "--save-cluster", str(target)])
            self.assertEqual(proc.returncode, 0, proc.stderr)
            metrics = json.loads(proc.stdout)
            with h5py.File(target, "r") as f:
                positions = f["positions"][:]
                self.assertEqual(positions.shape, (400, dimension))
                self.assertEqual(text(f.attrs["algorithm"]), algorithm)
                centred = positions - positions.mean(axis=0)
                rg = np.sqrt((centred ** 2).sum(axis=1).mean())
                self.assertAlmostEqual(rg, metrics["rg"], places=9)
                self.assertAlmostEqual(float(f.attrs["df"]), metrics["df"], places=12)
                # Its S(q) - 1 too (radius 0.5: q a <= 2 is q Rg <= 4 Rg): N - 1 at
                # q Rg = 0.1 to 1 %, NaN past q a = 2.
                q_rg = f.attrs["structure_factor_q_rg"]
                curve = f.attrs["structure_factor"]
                self.assertAlmostEqual(curve[0] / 399, 1.0, delta=0.01)
                np.testing.assert_array_equal(np.isfinite(curve),
                                              q_rg <= 4 * metrics["rg"] * (1 + 1e-6))
        # Never overwritten.
        proc = run(["simulate", "--algorithm", "DLA", "--n-particles", "10", "--save-cluster",
                    str(self.dir / "DLA.h5")])
        self.assertEqual(proc.returncode, 2)
        self.assertIn("already exists", proc.stderr)

    def test_status_and_export(self):
        out = self.dir / "s.h5"
        self.assertEqual(run(["run", str(self.study()), "-o", str(out)], ranks=2).returncode, 0)
        status = json.loads(run(["status", str(out), "--json"]).stdout)
        first = status["studies"][0]
        self.assertEqual(first["study_id"], "dla2d_sweep")
        self.assertEqual(first["status"], "COMPLETED")
        self.assertEqual(first["progress"], {"total": 9, "completed": 9, "failed": 0,
                                             "running": 0, "percentage": 100})
        self.assertIn("estimated_remaining", first)
        table = run(["status", str(out)]).stdout
        self.assertIn("dla3d_grid", table)
        self.assertIn("8/8", table)
        csv = run(["export", str(out), "--table", "tasks"]).stdout.splitlines()
        self.assertTrue(csv[0].startswith("study,task_id,seed,repetition,n_particles"))
        self.assertEqual(len(csv), 1 + 17)
        summary = run(["export", str(out), "--table", "summary", "--study", "dla2d_sweep"]).stdout
        self.assertEqual(len(summary.splitlines()), 1 + 3)
        rows = json.loads(run(["export", str(out), "--format", "json", "--table", "summary"]).stdout)
        self.assertEqual(len(rows), 3 + 4)
        self.assertEqual(rows[0]["n_samples"], 3)

    def test_numbers_are_printed_as_the_shortest_text_that_reads_back(self):
        # 0.3 is not a double: printed with 17 digits it read 0.29999999999999999.
        study = self.dir / "p.yaml"
        study.write_text("studies:\n  - name: sticky\n    algorithm: DLA\n"
                         "    base_parameters: {sticking_probability: 0.3}\n"
                         "    variable_parameter: n_particles\n    values: [50]\n")
        out = self.dir / "p.h5"
        self.assertEqual(run(["run", str(study), "-o", str(out), "-q"]).returncode, 0)
        csv = run(["export", str(out), "--table", "summary"]).stdout.splitlines()
        header, row = csv[0].split(","), csv[1].split(",")
        self.assertEqual(row[header.index("sticking_probability")], "0.3", csv)
        for field in row:  # each number is Python's shortest text for it too
            if field in ("", "nan") or field.isidentifier():
                continue
            value = float(field)
            shortest = str(int(value)) if value.is_integer() else repr(value)
            self.assertEqual(field, shortest, row)
        rows = json.loads(run(["export", str(out), "--format", "json", "--table", "summary"]).stdout)
        self.assertEqual(rows[0]["sticking_probability"], 0.3)


def metric_table(path):
    """The file's /metrics table: (name, [statistics]) per metric, in column order."""
    with h5py.File(path, "r") as f:
        return [(text(m["name"]), text(m["statistics"]).split(",")) for m in f["metrics"][()]]


class Metrics(TempDirTest):
    """Every metric of the file's /metrics table reaches every place a user reads metrics."""

    def test_every_metric_is_a_column_a_statistic_an_export_field_and_a_simulate_field(self):
        out = self.dir / "m.h5"
        self.assertEqual(run(["run", str(self.study()), "-o", str(out), "--quiet"]).returncode, 0)
        metrics = metric_table(out)
        names = [name for name, _ in metrics]
        self.assertEqual(names[:3], ["df", "rg", "kf"])  # the first ones keep their places
        with h5py.File(out, "r") as f:
            tasks = f["studies"]["dla2d_sweep"]["tasks"][()]
            summary = f["studies"]["dla2d_sweep"]["summary"][()]
            cluster = f["studies"]["dla2d_sweep"]["clusters"]["0"]
            for name, statistics in metrics:
                self.assertIn(name, tasks.dtype.names)
                # NaN where a cluster is too small for an estimator's window (df_mr, df_sq
                # of these few hundred particles), never an infinity.
                self.assertFalse(np.any(np.isinf(tasks[name])), name)
                if name in ("df", "rg", "kf", "df_err"):
                    self.assertTrue(np.all(np.isfinite(tasks[name])), name)
                self.assertIn(name, cluster.attrs)
                for statistic in statistics:
                    self.assertIn(f"{statistic}_{name}", summary.dtype.names)
            # A statistic is computed from the column it names: the mean of df, the range of
            # the fit window, per parameter point of three repetitions.
            for point in range(3):
                rows = tasks[3 * point: 3 * point + 3]
                self.assertAlmostEqual(summary["mean_kf"][point], rows["kf"].mean(), places=12)
                self.assertAlmostEqual(summary["sem_kf"][point],
                                       rows["kf"].std(ddof=1) / np.sqrt(3), places=12)
                self.assertEqual(summary["min_fit_n_min"][point], rows["fit_n_min"].min())
        task_rows = json.loads(run(["export", str(out), "--format", "json"]).stdout)
        summary_rows = json.loads(run(["export", str(out), "--format", "json",
                                       "--table", "summary"]).stdout)
        csv_header = run(["export", str(out), "--table", "summary"]).stdout.splitlines()[0]
        simulated = json.loads(run(["simulate", "--algorithm", "EDEN", "--n-particles", "200"]).stdout)
        for name, statistics in metrics:
            self.assertIn(name, task_rows[0])
            self.assertIn(name, simulated)
            for statistic in statistics:
                self.assertIn(f"{statistic}_{name}", summary_rows[0])
                self.assertIn(f"{statistic}_{name}", csv_header.split(","))
        self.assertIsInstance(simulated["fit_n_max"], int)  # counts stay integers in JSON


class OldFiles(TempDirTest):
    """A result file written before the metric table (tests/data/format1) is read, retried
    and plotted by this build; the tasks it computed keep their values, and the metrics
    they never had are NaN, never 0."""

    def setUp(self):
        super().setUp()
        old = DATA / "format1"
        self.study_file = self.dir / "before_metric_table.yaml"
        self.study_file.write_text((old / "before_metric_table.yaml").read_text())
        self.out = self.dir / "before_metric_table.h5"
        self.out.write_bytes((old / "before_metric_table.h5").read_bytes())
        with h5py.File(self.out, "r") as f:
            self.before = f["studies"]["sweep"]["tasks"][()]

    def test_status_and_export_read_it(self):
        status = json.loads(run(["status", str(self.out), "--json"]).stdout)
        self.assertEqual([s["status"] for s in status["studies"]], ["PARTIALLY_FAILED", "COMPLETED"])
        rows = json.loads(run(["export", str(self.out), "--format", "json"]).stdout)
        self.assertEqual(len(rows), 6)
        self.assertEqual(rows[0]["df"], float(self.before["df"][0]))
        self.assertNotIn("fit_n_min", rows[0])  # not in the file: not invented

    def test_retry_completes_the_failed_task_and_keeps_the_others(self):
        proc = run(["retry", str(self.out), "--quiet"], cwd=self.dir)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        fresh = self.dir / "fresh.h5"
        self.assertEqual(run(["run", str(self.study_file), "-o", str(fresh), "--quiet"]).returncode, 0)
        with h5py.File(self.out, "r") as f, h5py.File(fresh, "r") as g:
            tasks = f["studies"]["sweep"]["tasks"][()]
            clean = g["studies"]["sweep"]["tasks"][()]
            self.assertEqual(text(f["studies"]["sweep"].attrs["status"]), "COMPLETED")
            self.assertEqual(list(text(s) for s in tasks["status"]), ["COMPLETED"] * 4)
            # Written again in today's layout: version 2, fixed-width status and host.
            self.assertEqual(int(f.attrs["format_version"]), 2)
            self.assertEqual(f["studies"]["sweep"]["tasks"].dtype["status"].itemsize, 16)
            kept = [0, 2, 3]
            for column in ("df", "rg", "kf"):
                # The tasks the old build finished keep its values (not computed again, so
                # not this build's clusters); the retried one is this build's, as in a fresh run.
                np.testing.assert_array_equal(tasks[column][kept], self.before[column][kept])
                self.assertEqual(tasks[column][1], clean[column][1])
            for i in (0, 2, 3):  # computed before fit_n_min existed: no value
                self.assertTrue(np.isnan(tasks["fit_n_min"][i]))
            self.assertEqual(tasks["fit_n_min"][1], clean["fit_n_min"][1])

    def test_a_retry_by_another_version_says_so(self):
        # The file says 0.1.0: the retried task is computed by this version's kernels.
        proc = run(["retry", str(self.out)], cwd=self.dir)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertRegex(proc.stderr, r"warning: .*before_metric_table\.h5 was written by "
                                      r"fracstudy 0\.1\.0; this is \d+\.\d+\.\d+: the tasks "
                                      r"computed now may differ")
        again = run(["retry", str(self.out)], cwd=self.dir)  # now written by this version
        self.assertNotIn("was written by", again.stderr)

    def test_a_newer_version_is_refused_in_one_line(self):
        with h5py.File(self.out, "r+") as f:
            f.attrs["format_version"] = 3
        proc = run(["status", str(self.out)])
        self.assertEqual(proc.returncode, 2)
        self.assertRegex(proc.stderr.strip(),
                         r"^fracstudy status: .*before_metric_table\.h5: result file "
                         r"format_version 3 is not supported \(this is 2\)$")

    def test_plot_draws_it(self):
        plot = Path(__file__).resolve().parents[2] / "plot" / "fracstudy-plot"
        proc = subprocess.run([sys.executable, str(plot), str(self.out), "-o", str(self.dir / "f")],
                              capture_output=True, text=True, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue((self.dir / "f" / "df_vs_n_particles.png").exists())


if __name__ == "__main__":
    unittest.main(verbosity=2)
