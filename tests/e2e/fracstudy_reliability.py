"""Reliability, end to end: injected faults, kill -9 and resume, walltime drain, retry,
a full disk, and bad result files. Run by ctest under mpirun -n 3 (label mpi).

Environment: FRACSTUDY_BIN, FRACSTUDY_FAULT_BIN (the same program built with fault
injection), MPIEXEC, FRACSTUDY_TEST_DATA.
"""
import contextlib
import json
import os
import random
import signal
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

import h5py
import numpy as np

from fracstudy_e2e import MPI_ENV, MPIEXEC, BIN, TempDirTest, digest, fill_disk, run, text

FAULT_BIN = os.environ["FRACSTUDY_FAULT_BIN"]

# 40 tasks of 2D DLA, a few hundredths of a second each.
FAULT_STUDY = """\
seed: 5
execution:
  max_retries: 2
  task_time_limit_s: 1
  checkpoint_interval_s: 1
studies:
  - name: faults
    algorithm: DLA
    variable_parameter: n_particles
    range: {start: 1000, stop: 4900, step: 100}
"""

# About 80 tasks of 0.1-0.2 s: a run of several seconds on 2 workers.
LONG_STUDY = """\
seed: 77
execution:
  checkpoint_interval_s: 0.5
  max_retries: 1
studies:
  - name: long
    algorithm: DLA
    variable_parameter: n_particles
    values: [12000, 16000, 20000, 24000]
    repetitions: 20
"""


# 600 healthy tasks of about 5 ms, in chunks of 40, with no retries.
CHUNK_STUDY = """\
seed: 31
execution:
  chunk_size: 40
  max_retries: 0
  checkpoint_interval_s: 0.2
studies:
  - name: chunks
    algorithm: DLA
    variable_parameter: n_particles
    values: [400, 500, 600]
    repetitions: 200
"""

# 1,440 tasks of 10-60 ms in chunks of 16, with no retries: about 20 s of work on 2 workers
# at this machine's fastest. Each of the ten deaths comes up to a checkpoint interval, a
# poll and a random 0.3 s after its run completed 3 more tasks, which is up to about 50
# tasks at that speed: 480 tasks (the first version) ran out before the tenth death on a fast
# hour (1 run in 2 alone, 2026-12-02), so the study holds three times that.
CHAIN_STUDY = """\
seed: 8
execution:
  chunk_size: 16
  max_retries: 0
  checkpoint_interval_s: 0.3
studies:
  - name: chain
    algorithm: DLA
    variable_parameter: n_particles
    values: [2000, 4000, 6000, 8000]
    repetitions: 360
"""


def attempts_traced(trace):
    """The task of each attempt started, in order (FRACSTUDY_TRACE_ATTEMPTS lines)."""
    return [int(line.split()[1]) for line in trace.read_text().splitlines()]


def tasks_of(path, study):
    with h5py.File(path, "r") as f:
        return f["studies"][study]["tasks"][:]


def start(args, binary=BIN, ranks=3, env=None):
    """Starts fracstudy under mpirun in its own process group (so kill -9 reaches all)."""
    return subprocess.Popen([MPIEXEC, "-n", str(ranks), binary] + args, env=env or MPI_ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def kill_session(leader):
    """kill -9 of a whole job: Open MPI puts each rank in a process group of its own, so
    everything in mpirun's session is killed, as a batch system kills a job. `leader` is
    mpirun's Popen (reaped here, so its zombie does not count as alive) or its pid."""
    pid = getattr(leader, "pid", leader)
    subprocess.run(["pkill", "-KILL", "-s", str(pid)], check=False)
    if hasattr(leader, "wait"):
        leader.wait()
    deadline = time.time() + 10
    while time.time() < deadline:
        if subprocess.run(["pgrep", "-s", str(pid)], capture_output=True).returncode != 0:
            return
        time.sleep(0.05)


def wait_for_completed(path, study, at_least, timeout=60):
    """Waits until the file shows at least `at_least` completed tasks."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if (tasks_of(path, study)["status"] == b"COMPLETED").sum() >= at_least:
                return
        except (OSError, KeyError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"{path} never reached {at_least} completed tasks")


@contextlib.contextmanager
def small_disk(test, size):
    """A tmpfs of `size` (e.g. "200k") in the test's folder, unmounted at the end; skips the
    test where mounting needs root."""
    disk = test.dir / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(disk)],
                             capture_output=True)
    if mounted.returncode != 0:
        test.skipTest("needs root to mount a small tmpfs")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


class Reliability(TempDirTest):
    def clean_run(self, study, name):
        out = self.dir / f"clean_{name}.h5"
        proc = run(["run", str(study), "-o", str(out)], ranks=3)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return out

    def test_injected_throw_crash_hang_abort_are_retried_and_match_a_clean_run(self):
        study = self.write("faults.yaml", FAULT_STUDY)
        clean = tasks_of(self.clean_run(study, "faults"), "faults")
        out = self.dir / "faults.h5"
        env = dict(MPI_ENV, FRACSTUDY_FAULT_INJECT="throw:3,crash:11,hang:19,abort:27")
        proc = subprocess.run([MPIEXEC, "-n", "3", FAULT_BIN, "run", str(study), "-o", str(out)],
                              env=env, capture_output=True, text=True, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with h5py.File(out, "r") as f:
            self.assertEqual(text(f["studies/faults"].attrs["status"]), "COMPLETED")
        tasks = tasks_of(out, "faults")
        faulty = [3, 11, 19, 27]
        self.assertEqual(tasks["attempts"][faulty].tolist(), [2, 2, 2, 2])
        others = np.setdiff1d(np.arange(40), faulty)
        self.assertTrue(np.all(tasks["attempts"][others] == 1))
        errors = [text(e) for e in tasks["error"][faulty]]
        self.assertEqual(errors[0], "attempt 1: exception: injected fault")
        self.assertEqual(errors[1], f"attempt 1: crashed (signal {signal.SIGSEGV.value})")
        self.assertEqual(errors[2], "attempt 1: timeout")
        self.assertEqual(errors[3], f"attempt 1: crashed (signal {signal.SIGABRT.value})")
        np.testing.assert_array_equal(tasks["df"], clean["df"])
        np.testing.assert_array_equal(tasks["rg"], clean["rg"])

    def test_kill_9_at_three_moments_then_resume_loses_and_repeats_nothing(self):
        study = self.write("long.yaml", LONG_STUDY)
        clean = tasks_of(self.clean_run(study, "long"), "long")
        total = len(clean)
        out = self.dir / "killed.h5"
        trace = self.dir / "attempts.txt"  # one line per attempt started: "study task attempt"
        env = dict(MPI_ENV, FRACSTUDY_TRACE_ATTEMPTS=str(trace))

        def traced():
            return attempts_traced(trace)

        in_flight = 0
        saved_at_kills = []  # (trace lines so far, tasks saved as completed)
        for kill_number, completed_before_kill in enumerate((10, 30, 50)):
            args = ["run", str(study), "-o", str(out)] + (["--resume"] if kill_number else [])
            lines_before = len(traced()) if trace.exists() else 0
            proc = start(args, FAULT_BIN, env=env)
            wait_for_completed(out, "long", completed_before_kill)
            kill_session(proc)  # the whole job: mpirun, its ranks, their children
            proc.wait()
            time.sleep(0.2)
            # The file is readable by h5py and by `fracstudy status` after every kill.
            tasks = tasks_of(out, "long")
            self.assertEqual(run(["status", str(out)]).returncode, 0)
            saved = set(np.flatnonzero(tasks["status"] == b"COMPLETED").tolist())
            if saved_at_kills:
                self.assertLessEqual(saved_at_kills[-1][1], saved, "a saved result was lost")
            started_this_run = traced()[lines_before:]
            in_flight += len(set(started_this_run) - saved)
            saved_at_kills.append((len(traced()), saved))
        proc = run(["run", str(study), "-o", str(out), "--resume"], ranks=3)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        final = tasks_of(out, "long")
        np.testing.assert_array_equal(final["df"], clean["df"])
        np.testing.assert_array_equal(final["rg"], clean["rg"])
        self.assertTrue(np.all(final["status"] == b"COMPLETED"))
        attempts = traced()
        # No task saved as completed at a kill was started again afterwards ...
        for lines, saved in saved_at_kills:
            self.assertFalse(saved & set(attempts[lines:]), "a saved task was computed again")
        # ... so the work done is at most every task once plus what was in flight.
        self.assertLessEqual(len(attempts), total + in_flight)
        self.assertTrue(np.all(final["attempts"] == 1))  # the kills cost no retries

    def test_kills_under_relays_lose_nothing_and_repeat_no_result_a_relay_kept(self):
        # 7 ranks in groups of 3: relays 1 and 4 keep their workers' results in their own
        # journals beside the file (OUT.h5.journal.relay1, .relay4), and rank 0 hears only
        # task numbers: after a kill the completed tasks are in those journals, not in the
        # file's rows, and `status`, `export` and --resume must take them from there. (No
        # saved clusters: a result with one goes to rank 0 whole and makes it write the file.)
        study = self.write("long.yaml", LONG_STUDY.replace("max_retries: 1\n",
                                                           "max_retries: 1\n  save_clusters: none\n"))
        clean = tasks_of(self.clean_run(study, "long"), "long")
        total = len(clean)
        out = self.dir / "relayed.h5"
        trace = self.dir / "attempts.txt"  # one line per attempt started: "study task attempt"
        env = dict(MPI_ENV, FRACSTUDY_TRACE_ATTEMPTS=str(trace))

        def traced():
            return attempts_traced(trace)

        def exported():
            proc = run(["export", str(out), "--format", "json"])
            self.assertEqual(proc.returncode, 0, proc.stderr)
            return json.loads(proc.stdout)

        def completed_as_read():
            proc = run(["status", str(out), "--json"])
            if proc.returncode != 0:
                return 0
            return json.loads(proc.stdout)["studies"][0]["progress"]["completed"]

        in_flight = 0
        saved_at_kills = []  # (trace lines so far, tasks saved as completed)
        kept_by_relays = 0
        for kill_number, completed_before_kill in enumerate((10, 30, 50)):
            args = (["run", str(study), "-o", str(out), "--relays", "3"] +
                    (["--resume"] if kill_number else []))
            lines_before = len(traced()) if trace.exists() else 0
            proc = start(args, FAULT_BIN, ranks=7, env=env)
            deadline = time.time() + 60
            while completed_as_read() < completed_before_kill and time.time() < deadline:
                time.sleep(0.05)
            kill_session(proc)
            time.sleep(0.2)
            rows = exported()
            saved = {row["task_id"] for row in rows if row["status"] == "COMPLETED"}
            in_rows = int((tasks_of(out, "long")["status"] == b"COMPLETED").sum())
            kept_by_relays = max(kept_by_relays, len(saved) - in_rows)
            # `status` reads rank 0's last checkpoint (its journal's end): the relays may hold
            # up to a checkpoint interval's results more, which export and --resume take.
            self.assertLessEqual(completed_as_read(), len(saved))
            self.assertGreaterEqual(completed_as_read(), completed_before_kill)
            for row in rows:
                if row["status"] == "COMPLETED":  # the relay's record is the whole record
                    self.assertEqual(row["df"], clean["df"][row["task_id"]])
                    self.assertEqual(row["host"], text(clean["host"][0]))
                    self.assertEqual(row["attempts"], 1)
            if saved_at_kills:
                self.assertLessEqual(saved_at_kills[-1][1], saved, "a saved result was lost")
            started_this_run = traced()[lines_before:]
            in_flight += len(set(started_this_run) - saved)
            saved_at_kills.append((len(traced()), saved))
        # Most results at the kills were the relays' own (the first few of each relay go up
        # whole, and results with a kept cluster always do).
        self.assertGreater(kept_by_relays, 10)
        proc = run(["run", str(study), "-o", str(out), "--resume", "--relays", "3"], ranks=7)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        final = tasks_of(out, "long")
        np.testing.assert_array_equal(final["df"], clean["df"])
        np.testing.assert_array_equal(final["rg"], clean["rg"])
        self.assertTrue(np.all(final["status"] == b"COMPLETED"))
        self.assertTrue(np.all(final["attempts"] == 1))  # the kills cost no retries
        attempts = traced()
        for lines, saved in saved_at_kills:
            self.assertFalse(saved & set(attempts[lines:]), "a saved task was computed again")
        self.assertLessEqual(len(attempts), total + in_flight)
        with h5py.File(out, "r") as f:
            self.assertGreater(int(f.attrs["relay_kept_results"]), 0)
        self.assertEqual(list(self.dir.glob("relayed.h5.journal*")), [])  # all in the file

    def test_a_relay_journal_lost_during_the_run_costs_a_recomputation_not_a_result(self):
        # A relay's journal deleted while the run goes on (or never shown to rank 0 by a
        # shared file system): at the end rank 0 does not find those results, reopens their
        # tasks, keeps the other journals, and says the run is unfinished; --resume
        # computes them again. No task ends COMPLETED without its metrics.
        study = self.write("long.yaml", LONG_STUDY.replace("max_retries: 1\n",
                                                           "max_retries: 1\n  save_clusters: none\n"))
        clean = tasks_of(self.clean_run(study, "long"), "long")
        out = self.dir / "lost.h5"
        proc = start(["run", str(study), "-o", str(out), "--relays", "3"], ranks=7)
        relay1 = Path(str(out) + ".journal.relay1")
        deadline = time.time() + 60
        while time.time() < deadline and (not relay1.exists() or relay1.stat().st_size < 600):
            time.sleep(0.02)
        relay1.unlink()
        _, stderr = proc.communicate(timeout=120)
        self.assertEqual(proc.returncode, 3, stderr)  # unfinished, as after a drain
        self.assertIn("not found in their journals", stderr)
        self.assertIn("--resume", stderr)
        tasks = tasks_of(out, "long")
        done = tasks["status"] == b"COMPLETED"
        self.assertFalse(np.all(done))
        self.assertFalse(np.any(np.isnan(tasks["df"][done])))  # none completed without metrics
        np.testing.assert_array_equal(tasks["df"][done], clean["df"][done])
        with h5py.File(out, "r") as f:
            self.assertIn("not found", text(f.attrs["stop_reason"]))
        proc = run(["run", str(study), "-o", str(out), "--resume", "--relays", "3"], ranks=7)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        final = tasks_of(out, "long")
        self.assertTrue(np.all(final["status"] == b"COMPLETED"))
        np.testing.assert_array_equal(final["df"], clean["df"])
        self.assertEqual(list(self.dir.glob("lost.h5.journal*")), [])

    def test_tasks_waiting_in_a_chunk_are_not_charged_for_two_job_deaths(self):
        # 600 healthy tasks in chunks of 40, no retries, the whole job killed twice: only
        # a task a worker was computing may be RUNNING, so no waiting task pays for a kill.
        study = self.write("chunks.yaml", CHUNK_STUDY)
        clean = tasks_of(self.clean_run(study, "chunks"), "chunks")
        out = self.dir / "chunks.h5"
        for kill_number, completed_before_kill in enumerate((60, 140)):
            args = ["run", str(study), "-o", str(out)] + (["--resume"] if kill_number else [])
            proc = start(args)
            wait_for_completed(out, "chunks", completed_before_kill)
            kill_session(proc)
            proc.wait()
            tasks = tasks_of(out, "chunks")
            # At most one task per worker is computing; none of a chunk's waiting tasks.
            self.assertLessEqual((tasks["status"] == b"RUNNING").sum(), 2)
            waiting = tasks["status"] == b"PENDING"
            self.assertTrue(np.all(tasks["attempts"][waiting] == 0))
        proc = run(["run", str(study), "-o", str(out), "--resume"], ranks=3)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        final = tasks_of(out, "chunks")
        self.assertTrue(np.all(final["status"] == b"COMPLETED"), final["error"][final["status"] != b"COMPLETED"])
        self.assertTrue(np.all(final["attempts"] == 1))
        np.testing.assert_array_equal(final["df"], clean["df"])

    def test_a_chain_of_ten_kills_at_random_moments_loses_nothing_and_costs_no_retry(self):
        study = self.write("chain.yaml", CHAIN_STUDY)
        clean = tasks_of(self.clean_run(study, "chain"), "chain")
        out = self.dir / "chain.h5"
        moments = random.Random(13)  # random moments, the same in every run of the test
        completed = 0
        for kill_number in range(10):
            args = ["run", str(study), "-o", str(out)] + (["--resume"] if kill_number else [])
            proc = start(args)
            # Each run gets a little further, then dies at a random moment soon after, while
            # its first chunks (the tasks the last death interrupted) are still in progress.
            completed += 3
            wait_for_completed(out, "chain", completed)
            time.sleep(moments.uniform(0.0, 0.3))
            self.assertIsNone(proc.poll(), "the study ended before ten deaths")
            kill_session(proc)
            self.assertEqual(run(["status", str(out)]).returncode, 0)  # readable after each
            completed = int((tasks_of(out, "chain")["status"] == b"COMPLETED").sum())
        proc = run(["run", str(study), "-o", str(out), "--resume"], ranks=3)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with h5py.File(out, "r") as f:
            self.assertEqual(text(f["studies/chain"].attrs["status"]), "COMPLETED")
        final = tasks_of(out, "chain")
        np.testing.assert_array_equal(final["df"], clean["df"])
        np.testing.assert_array_equal(final["rg"], clean["rg"])
        self.assertTrue(np.all(final["attempts"] == 1), final["attempts"])

    def test_sigusr1_drains_with_exit_3_then_resume_completes(self):
        self.drain_then_resume(ranks=3, extra=[])

    def test_a_drain_passes_through_sub_coordinators(self):
        # 7 ranks in groups of 3: relays 1 and 4, four workers below them.
        self.drain_then_resume(ranks=7, extra=["--relays", "3"])

    def drain_then_resume(self, ranks, extra):
        study = self.write("long.yaml", LONG_STUDY)
        clean = tasks_of(self.clean_run(study, "drain"), "long")
        out = self.dir / "drained.h5"
        proc = start(["run", str(study), "-o", str(out), "--drain-grace", "10"] + extra, ranks=ranks)
        wait_for_completed(out, "long", 10)
        signalled = time.time()
        os.kill(proc.pid, signal.SIGUSR1)  # mpirun forwards it to every rank
        _, stderr = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 3, stderr)
        self.assertLess(time.time() - signalled, 10 + 5)
        self.assertIn("--resume", stderr)
        tasks = tasks_of(out, "long")
        self.assertTrue(np.any(tasks["status"] == b"PENDING"))
        self.assertFalse(np.any(tasks["status"] == b"RUNNING"))
        self.assertTrue(np.all(tasks["attempts"][tasks["status"] == b"PENDING"] == 0))
        with h5py.File(out, "r") as f:
            self.assertEqual(text(f["studies/long"].attrs["status"]), "INTERRUPTED")
        proc = run(["run", str(study), "-o", str(out), "--resume"] + extra, ranks=ranks)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        final = tasks_of(out, "long")
        np.testing.assert_array_equal(final["df"], clean["df"])
        self.assertTrue(np.all(final["attempts"] == 1))

    def test_retry_reruns_failed_tasks_in_place(self):
        study = self.write("retry.yaml", FAULT_STUDY.replace("max_retries: 2", "max_retries: 0"))
        out = self.dir / "retry.h5"
        env = dict(MPI_ENV, FRACSTUDY_FAULT_INJECT="throw:2,crash:5")
        proc = subprocess.run([MPIEXEC, "-n", "3", FAULT_BIN, "run", str(study), "-o", str(out)],
                              env=env, capture_output=True, text=True, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr)  # PARTIALLY_FAILED still exits 0
        self.assertIn("PARTIALLY_FAILED", proc.stderr)
        with h5py.File(out, "r") as f:
            group = f["studies/faults"]
            self.assertEqual(text(group.attrs["status"]), "PARTIALLY_FAILED")
            self.assertEqual(int(group.attrs["failed_simulations"]), 2)
            summary = group["summary"][:]
            self.assertEqual(summary["n_failed"][[2, 5]].tolist(), [1, 1])
        proc = subprocess.run([MPIEXEC, "-n", "3", FAULT_BIN, "retry", str(out)], env=env,
                              capture_output=True, text=True, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with h5py.File(out, "r") as f:
            group = f["studies/faults"]
            self.assertEqual(text(group.attrs["status"]), "COMPLETED")
            self.assertEqual(int(group.attrs["completed_simulations"]), 40)
            tasks = group["tasks"][:]
            self.assertEqual(tasks["attempts"][[2, 5]].tolist(), [2, 2])
            self.assertTrue(np.all(np.isfinite(tasks["df"])))
            self.assertTrue(np.all(group["summary"]["n_samples"][:] == 1))

    def test_full_disk_keeps_the_last_checkpoint_and_resume_finishes(self):
        with small_disk(self, "400k") as disk:
            # Records only: two copies of the file (old and new) must fit on the disk.
            study = self.write("long.yaml", LONG_STUDY.replace(
                "max_retries: 1", "max_retries: 1\n  save_clusters: none"))
            out = disk / "out.h5"
            proc = start(["run", str(study), "-o", str(out)])
            wait_for_completed(out, "long", 5)
            filler = disk / "filler"
            fill_disk(filler)
            _, stderr = proc.communicate(timeout=120)
            self.assertEqual(proc.returncode, 1, stderr)
            self.assertIn("No space left on device", stderr)
            self.assertIn("last good checkpoint", stderr)
            saved = tasks_of(out, "long")  # still a complete, readable file
            self.assertGreaterEqual((saved["status"] == b"COMPLETED").sum(), 5)
            filler.unlink()
            proc = run(["run", str(study), "-o", str(out), "--resume"], ranks=3)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertTrue(np.all(tasks_of(out, "long")["status"] == b"COMPLETED"))


def processes():
    """Every process: pid -> (parent pid, command line, environment)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            parent = int(stat[stat.rindex(")") + 2:].split()[1])
            command = (entry / "cmdline").read_bytes().split(b"\0")
            environment = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        found[int(entry.name)] = (parent, command, environment)
    return found


def alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
        return state[state.rindex(")") + 2] != "Z"
    except OSError:
        return False


# Clusters of 8,000-32,000 particles: their positions alone outgrow 200 KiB.
CLUSTER_STUDY = """\
seed: 5
execution:
  checkpoint_interval_s: 1
studies:
  - name: big
    algorithm: DLA
    variable_parameter: n_particles
    values: [8000, 16000, 32000]
    repetitions: 4
"""

HANG_STUDY = """\
seed: 3
execution:
  task_time_limit_s: 600
studies:
  - name: hang
    algorithm: DLA
    base_parameters: {n_particles: 200}
    repetitions: 2
"""


class FullDisk(TempDirTest):
    def test_full_disk_with_saved_clusters_exits_1_without_a_crash(self):
        # The clusters (save_clusters: first, the default) outgrow a 200 KiB disk: every write
        # of the file fails. Rank 0 must say so and exit 1, not crash in HDF5 at exit.
        with small_disk(self, "200k") as disk:
            study = self.write("clusters.yaml", CLUSTER_STUDY)
            out = disk / "out.h5"
            proc = run(["run", str(study), "-o", str(out)], ranks=3)
            self.assertEqual(proc.returncode, 1, proc.stderr)
            self.assertIn("No space left on device", proc.stderr)
            self.assertIn("last good checkpoint", proc.stderr)
            self.assertNotIn("signal", proc.stderr)
            status = run(["status", str(out)])  # the last good checkpoint is still a result file
            self.assertEqual(status.returncode, 0, status.stderr)

    def test_a_cluster_that_cannot_fit_is_refused_before_the_simulation(self):
        # 10^8 positions in 3D take 2.4 GB: on a 200 KiB disk `simulate --save-cluster` says
        # so at once (it used to simulate for half an hour first); the timeout fails the test
        # if the simulation ran.
        with small_disk(self, "200k") as disk:
            for target in (disk / "c.h5", disk / "new" / "sub" / "c.h5"):
                proc = run(["simulate", "--algorithm", "DLA", "--dimension", "3",
                            "--n-particles", "100000000", "--save-cluster", str(target)],
                           timeout=60)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertIn("the cluster needs about 2400 MB, 205 kB free there", proc.stderr)
                self.assertEqual(list(disk.iterdir()), [])  # no folder made for it either
            # One that fits is written.
            proc = run(["simulate", "--algorithm", "DLA", "--n-particles", "1000",
                        "--save-cluster", str(disk / "c.h5")])
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertEqual([p.name for p in disk.iterdir()], ["c.h5"])


class Orphans(TempDirTest):
    """A task's child process dies with its worker, however the worker dies."""

    def start_hanging_task(self):
        study = self.write("hang.yaml", HANG_STUDY)
        env = dict(MPI_ENV, FRACSTUDY_FAULT_INJECT="hang:0,hang:1")
        proc = start(["run", str(study), "-o", str(self.dir / "hang.h5")], FAULT_BIN, ranks=3,
                     env=env)
        self.addCleanup(kill_session, proc)  # whatever happens, nothing hangs on
        deadline = time.time() + 60
        while time.time() < deadline:
            table = processes()
            workers = [pid for pid, (_, command, environment) in table.items()
                       if command[0].endswith(b"fracstudy_fault_injection")
                       and b"OMPI_COMM_WORLD_RANK=0" not in environment
                       and any(e.startswith(b"OMPI_COMM_WORLD_RANK=") for e in environment)]
            children = {pid: parent for pid, (parent, _, _) in table.items() if parent in workers}
            if len(children) == 2:
                return proc, children
            time.sleep(0.1)
        self.fail("the hanging tasks' children never appeared")

    def assert_gone_within(self, pids, seconds):
        deadline = time.time() + seconds
        while time.time() < deadline and any(alive(pid) for pid in pids):
            time.sleep(0.05)
        self.assertFalse([pid for pid in pids if alive(pid)], "a task outlived its worker")

    def test_killing_a_worker_rank_kills_its_task(self):
        _, children = self.start_hanging_task()
        child, worker = next(iter(children.items()))
        os.kill(worker, signal.SIGKILL)  # as the OOM killer does
        self.assert_gone_within([child], 2)

    def test_killing_mpiruns_process_group_kills_every_task(self):
        proc, children = self.start_hanging_task()
        os.killpg(proc.pid, signal.SIGKILL)  # mpirun's group; each rank has its own
        self.assert_gone_within(list(children), 15)

    def test_a_run_without_mpirun_starts_no_mpi_daemon_that_could_outlive_it(self):
        # Open MPI starts a daemon (orted) for a process started without mpirun. Seen in CI:
        # one left blocked after its run had exited, holding the run's stdout, so the test
        # reading that output waited for ever. A run of one rank needs no daemon.
        study = self.write("one.yaml", """\
seed: 5
studies:
  - name: one
    algorithm: DLA
    variable_parameter: n_particles
    values: [3000, 6000]
    repetitions: 6
""")
        proc = subprocess.Popen([BIN, "run", str(study), "-o", str(self.dir / "one.h5"), "-q"],
                                env=MPI_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
        self.addCleanup(kill_session, proc)
        daemons = set()
        while proc.poll() is None:
            daemons |= {pid for pid, (parent, command, _) in processes().items()
                        if parent == proc.pid and command[0].endswith(b"orted")}
            time.sleep(0.02)
        _, stderr = proc.communicate(timeout=30)  # its output ends with it
        self.assertEqual(proc.returncode, 0, stderr)
        self.assertEqual(daemons, set(), "the run of one rank started an MPI daemon")


class OutputLock(unittest.TestCase):
    def test_a_second_run_on_a_file_being_written_is_refused(self):
        import fcntl
        with tempfile.TemporaryDirectory() as tmp:
            study = Path(tmp) / "s.yaml"
            study.write_text(FAULT_STUDY)
            with open(Path(tmp) / ".out.h5.lock", "w") as held:  # as a running rank 0 does
                fcntl.flock(held, fcntl.LOCK_EX)
                proc = run(["run", str(study), "-o", str(Path(tmp) / "out.h5")])
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn("another run is writing this file", proc.stderr)
            self.assertFalse((Path(tmp) / "out.h5").exists())


class BadResultFiles(TempDirTest):
    """Bad result files and flags: exit 2, one line, nothing created or changed."""

    def setUp(self):
        super().setUp()
        self.study_file = self.write("s.yaml", FAULT_STUDY)

    def test_table(self):
        text_file = self.dir / "notes.h5"
        text_file.write_text("not hdf5")
        foreign = self.dir / "foreign.h5"
        with h5py.File(foreign, "w") as f:
            f["x"] = [1]
        truncated = self.dir / "truncated.h5"
        good = self.dir / "good.h5"
        self.assertEqual(run(["run", str(self.study_file), "-o", str(good)]).returncode, 0)
        truncated.write_bytes(good.read_bytes()[:2048])
        other = self.dir / "other.yaml"
        other.write_text(FAULT_STUDY.replace("seed: 5", "seed: 6"))
        # A tasks table rewritten by another tool with its status cut to 4 bytes: a resume
        # refuses to continue it, naming the file and the value. (`status` reads the
        # progress the file keeps, not the rows, so it shows what the file says.)
        edited = self.dir / "edited.h5"
        edited.write_bytes(good.read_bytes())
        with h5py.File(edited, "r+") as f:
            group = f["studies"][next(iter(f["studies"]))]
            tasks = group["tasks"][()]
            dtype = [(n, h5py.string_dtype("utf-8", 4) if n == "status" else tasks.dtype[n])
                     for n in tasks.dtype.names]
            cut = np.zeros(tasks.shape, dtype=dtype)
            for n in tasks.dtype.names:
                cut[n] = tasks[n]
            del group["tasks"]
            group["tasks"] = cut
        cases = [
            (["status", str(text_file)], "not an HDF5 file"),
            (["status", str(foreign)], "not a fracstudy result file"),
            (["status", str(truncated)], "result file"),
            (["status", str(self.dir)], "not an HDF5 file"),
            (["export", str(foreign)], "not a fracstudy result file"),
            (["retry", str(text_file)], "not an HDF5 file"),
            (["retry", str(self.dir / "missing.h5")], "no such file"),
            (["run", str(self.study_file), "-o", str(foreign), "--resume"], "not a fracstudy result file"),
            (["run", str(self.study_file), "-o", str(truncated), "--resume"], "result file"),
            (["run", str(other), "-o", str(good), "--resume"], "line 1 was 'seed: 5', now 'seed: 6'"),
            (["run", str(self.study_file), "-o", str(edited), "--resume"],
             "edited.h5: study faults: unknown task status 'COMP'"),
            (["run", str(self.study_file), "-o", str(good)], "already exists"),
            (["run", str(self.study_file), "-o", str(good), "--resume", "--force"], "either --resume or --force"),
            (["run", str(self.study_file), "-o", "/proc/fracstudy/out.h5"], "cannot write the result file"),
            (["run", str(self.study_file), "--drain-grace", "-1"], "--drain-grace"),
            (["run", str(self.study_file), "--frobnicate"], "unrecognised option"),
            (["export", str(good), "--table", "points"], "tasks or summary"),
            (["export", str(good), "--study", "nope"], "good.h5 (it has: "),
        ]
        before = {p: digest(p) for p in (text_file, foreign, truncated, good, edited)}
        listing = sorted(self.dir.iterdir())
        for args, fragment in cases:
            with self.subTest(args=args):
                proc = run(args, cwd=self.dir)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertIn(fragment, proc.stderr)
                self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
        self.assertEqual({p: digest(p) for p in before}, before)
        self.assertEqual(sorted(self.dir.iterdir()), listing)


if __name__ == "__main__":
    unittest.main(verbosity=2)
