"""What an adversarial test broke, each kept broken-no-more by a test: output paths and
symbolic links, the lock of an ending run, limits of the clock and of the parameters,
edited and damaged result files, readers that lag. Run by ctest (see CMakeLists.txt) with
Debian's python3; select a group by its class name.

Environment: FRACSTUDY_BIN, FRACSTUDY_FAULT_BIN, MPIEXEC, FRACSTUDY_TEST_DATA.
"""
import fcntl
import json
import os
import signal
import socket
import subprocess
import time
import unittest
from pathlib import Path

import h5py
import numpy as np

from fracstudy_e2e import BIN, DATA, MPI_ENV, MPIEXEC, TempDirTest, digest, run, text

SMALL = """\
seed: 4
studies:
  - name: small
    algorithm: DLA
    variable_parameter: n_particles
    values: [100, 200]
    repetitions: 2
"""

# About 80 tasks of 0.1-0.2 s: several seconds on 2 workers.
LONG = """\
seed: 77
execution:
  checkpoint_interval_s: 0.5
studies:
  - name: long
    algorithm: DLA
    variable_parameter: n_particles
    values: [12000, 16000, 20000, 24000]
    repetitions: 20
"""


def start(args, ranks=3):
    return subprocess.Popen([MPIEXEC, "-n", str(ranks), BIN] + args, env=MPI_ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def holder_identity():
    """What a rank 0 writes into the lock it holds: its pid and start time."""
    stat = Path("/proc/self/stat").read_text()
    start_ticks = stat[stat.rindex(")") + 2:].split()[19]
    return f"{os.getpid()} {start_ticks}\n"


def fcntl_lock_held(path):
    """Whether some process holds the flock of `path` (a run's lock file)."""
    try:
        with open(path, "rb") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
                return False
            except BlockingIOError:
                return True
    except FileNotFoundError:
        return False


def completed_in(path, study):
    try:
        with h5py.File(path, "r") as f:
            return int((f["studies"][study]["tasks"]["status"][:] == b"COMPLETED").sum())
    except (OSError, KeyError):
        return 0


class Paths(TempDirTest):
    """Result paths that must be refused before anything is created, and symbolic links."""

    def refused(self, args, fragment):
        listing = sorted(self.dir.iterdir())
        proc = run(args, cwd=self.dir)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn(fragment, proc.stderr)
        self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
        self.assertEqual(sorted(self.dir.iterdir()), listing, "something was created")

    def test_the_study_file_is_never_the_result_file(self):
        study = self.write("s.yaml", SMALL)
        before = digest(study)
        self.refused(["run", str(study), "-o", str(study), "--force"], "is the study file")
        self.refused(["run", "s.yaml", "-o", "./s.yaml", "--force"], "is the study file")
        self.assertEqual(digest(study), before)
        # `validate` says what `run` will say of the file's own `output:` (it said "valid").
        for output, fragment in (("s2.yaml", "is the study file"), ("dir/", "names a folder")):
            self.write("s2.yaml", f"output: {output}\n" + SMALL)
            self.refused(["validate", "s2.yaml"], fragment)

    def test_a_folder_is_never_the_result_file(self):
        study = self.write("s.yaml", SMALL)
        self.refused(["run", str(study), "-o", "newdir/"], "names a folder")
        (self.dir / "existing").mkdir()
        self.refused(["run", str(study), "-o", "existing", "--force"], "is a folder")
        self.refused(["run", str(study), "-o", "/dev/null", "--force"], "not a regular file")

    def test_a_study_file_that_is_not_a_regular_yaml_file_is_refused_at_once(self):
        # A FIFO or /dev/zero made validate wait (or grow) forever, a folder was called
        # "not a mapping": each is now one line naming what the path is.
        os.mkfifo(self.dir / "pipe")
        (self.dir / "folder").mkdir()
        (self.dir / "huge.yaml").write_bytes(b"#" * (17 << 20))
        (self.dir / "empty.yaml").write_bytes(b"")
        (self.dir / "comments.yaml").write_text("# a study, some day\n")
        for path, fragment in (("pipe", "not a regular file"), ("/dev/zero", "not a regular file"),
                               ("folder", "is a folder"), ("huge.yaml", "larger than 16 MiB"),
                               ("empty.yaml", "must be a mapping with a 'studies' list"),
                               ("comments.yaml", "must be a mapping with a 'studies' list"),
                               ("missing.yaml", "no such file")):
            with self.subTest(path=path):
                self.refused(["validate", path], fragment)
                self.refused(["run", path, "-o", "out.h5"], fragment)

    def test_a_result_file_that_is_a_fifo_or_a_device_is_refused_at_once(self):
        # HDF5 opened a FIFO and waited for a writer forever (status, export, retry), and
        # so did the tools' status of a study whose results.h5 was one; a link to it too.
        os.mkfifo(self.dir / "pipe.h5")
        (self.dir / "link.h5").symlink_to("pipe.h5")
        for path in ("pipe.h5", "link.h5", "/dev/zero"):
            for args in (["status", path], ["export", path, "--table", "tasks"],
                         ["retry", path]):
                with self.subTest(args=args):
                    started = time.time()
                    self.refused(args, "is not a regular file (a device, pipe or socket)")
                    self.assertLess(time.time() - started, 60)

    def test_a_result_file_that_is_a_link_loop_is_refused_in_one_line(self):
        # It made status and export end with the library's exception and exit 1.
        (self.dir / "loop1.h5").symlink_to("loop2.h5")
        (self.dir / "loop2.h5").symlink_to("loop1.h5")
        for args in (["status", "loop1.h5"], ["export", "loop1.h5", "--table", "tasks"],
                     ["retry", "loop1.h5"]):
            with self.subTest(args=args):
                self.refused(args, "loop1.h5: too many levels of symbolic links")

    def test_a_symlink_to_a_file_being_written_shares_its_lock(self):
        study = self.write("s.yaml", SMALL)
        real = self.dir / "real.h5"
        self.assertEqual(run(["run", str(study), "-o", str(real)]).returncode, 0)
        link = self.dir / "link.h5"
        link.symlink_to("real.h5")
        with open(self.dir / ".real.h5.lock", "w") as held:  # as a running rank 0 does
            fcntl.flock(held, fcntl.LOCK_EX)
            held.write(holder_identity())  # this live test process holds it

            held.flush()
            proc = run(["run", str(study), "-o", str(link), "--resume"])
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("another run is writing", proc.stderr)

    def test_a_cluster_path_that_cannot_be_written_is_refused_before_the_simulation(self):
        # A 10^8-particle simulation takes about 15 minutes: its cluster path is checked
        # before it starts (it used to fail at the end, exit 1, the cluster lost). The
        # timeout fails the test if the simulation ran first.
        (self.dir / "plain").write_text("x\n")
        (self.dir / "dangling.h5").symlink_to(self.dir / "nowhere.h5")
        huge = ["simulate", "--algorithm", "DLA", "--n-particles", "100000000"]
        for path, fragment in (("plain/cluster.h5", "cannot make its folder plain"),
                               ("dangling.h5", "dangling.h5 already exists"),
                               ("newdir/", "names a folder"), ("", "the file name is empty")):
            listing = sorted(self.dir.iterdir())
            proc = run(huge + ["--save-cluster", path], cwd=self.dir, timeout=60)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn("--save-cluster: ", proc.stderr)
            self.assertIn(fragment, proc.stderr)
            self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
            self.assertEqual(proc.stdout, "")
            self.assertEqual(sorted(self.dir.iterdir()), listing, "something was created")
        self.assertTrue((self.dir / "dangling.h5").is_symlink())
        self.assertFalse((self.dir / "nowhere.h5").exists())
        # A missing folder is made, as for a run's result file.
        proc = run(["simulate", "--algorithm", "DLA", "--n-particles", "50", "--save-cluster",
                    "new/sub/cluster.h5"], cwd=self.dir)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with h5py.File(self.dir / "new/sub/cluster.h5", "r") as f:
            self.assertEqual(f["positions"].shape, (50, 2))

    def test_a_cluster_file_that_appears_during_the_simulation_is_not_overwritten(self):
        # Two simulations given the same new path: both pass the check, the first to finish
        # names its file, the other keeps its cluster under its temporary name and says so.
        args = ["simulate", "--algorithm", "DLA", "--n-particles", "200000",
                "--save-cluster", "same.h5"]
        procs = [subprocess.Popen([BIN] + args + ["--seed", str(seed)], cwd=self.dir,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for seed in (1, 2)]
        outcomes = [(proc.returncode, out, err)
                    for proc, (out, err) in ((p, p.communicate(timeout=120)) for p in procs)]
        codes = sorted(code for code, _, _ in outcomes)
        self.assertEqual(codes, [0, 1], outcomes)
        winner = next(json.loads(out) for code, out, _ in outcomes if code == 0)
        loser_error = next(err for code, _, err in outcomes if code == 1)
        self.assertIn("same.h5: appeared while the cluster was computed; not overwritten",
                      loser_error)
        kept = loser_error.strip().rsplit(" ", 1)[-1]
        with h5py.File(self.dir / "same.h5", "r") as f:
            self.assertEqual(int(f.attrs["seed"]), winner["seed"])
        with h5py.File(self.dir / kept, "r") as f:
            self.assertEqual(int(f.attrs["seed"]), 3 - winner["seed"])
            self.assertEqual(f["positions"].shape, (200000, 2))

    def test_temporaries_of_killed_runs_are_removed_by_the_next_one_and_nothing_else(self):
        # A run killed while it writes its cluster leaves PATH.tmp.HOST.PID.START, as large as
        # the cluster; the next run to that path removes those of its node whose process is
        # gone (or whose pid was recycled: another start time), and nothing else.
        def start_ticks(pid):
            return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])

        gone = subprocess.Popen(["true"])
        gone_ticks = start_ticks(gone.pid) if Path(f"/proc/{gone.pid}").exists() else 1
        gone.wait()
        host, me = socket.gethostname(), os.getpid()
        names = {
            "dead": f"c.h5.tmp.{host}.{gone.pid}.{gone_ticks}",
            "recycled": f"c.h5.tmp.{host}.{me}.{start_ticks(me) + 1}",
            "alive": f"c.h5.tmp.{host}.{me}.{start_ticks(me)}",
            "other_node": f"c.h5.tmp.{host}x.{gone.pid}.{gone_ticks}",
            "other_file": f"d.h5.tmp.{host}.{gone.pid}.{gone_ticks}",
            "kept": f"c.h5.kept.{gone.pid}.{gone_ticks}",
        }
        victim = self.write("victim.txt", "precious\n")
        for name in names.values():
            self.write(name, "partial cluster\n")
        (self.dir / f"c.h5.tmp.{host}.{gone.pid}.{gone_ticks + 1}").symlink_to(victim)
        proc = run(["simulate", "--algorithm", "DLA", "--n-particles", "50",
                    "--save-cluster", "c.h5"], cwd=self.dir)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        left = {path.name for path in self.dir.iterdir()}
        for key in ("dead", "recycled"):
            self.assertNotIn(names[key], left, key)
        for key in ("alive", "other_node", "other_file", "kept"):
            self.assertIn(names[key], left, key)
        self.assertEqual(victim.read_text(), "precious\n")
        self.assertIn("c.h5", left)
        self.assertEqual(sorted(n for n in left if n.startswith("c.h5.tmp.")),
                         sorted([names["alive"], names["other_node"],
                                 f"c.h5.tmp.{host}.{gone.pid}.{gone_ticks + 1}"]))

    def test_files_at_the_names_a_run_writes_beside_its_result_are_never_deleted(self):
        # A run of o.h5 writes o.h5.journal, o.h5.journal.tmp and o.h5.journal.relayN beside
        # it and removed whatever it found there: a finished result file someone had named
        # so was deleted without a word. Now such a file is refused (exit 2, nothing
        # changed); a journal a killed run left is still taken over.
        self.write("s.yaml", SMALL)
        for companion in ("o.h5.journal", "o.h5.journal.tmp", "o.h5.journal.relay1"):
            victim = self.dir / companion
            self.assertEqual(run(["run", "s.yaml", "-o", companion], cwd=self.dir).returncode, 0)
            before = digest(victim)
            for args in (["run", "s.yaml", "-o", "o.h5"], ["run", "s.yaml", "-o", "o.h5",
                                                           "--force"]):
                proc = run(args, cwd=self.dir)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertIn(f"{companion}: is not a journal of", proc.stderr)
                self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
                self.assertFalse((self.dir / "o.h5").exists())
                self.assertEqual(digest(victim), before)
            victim.unlink()
            (self.dir / f".{companion}.lock").unlink()
        # The result file's own temporary is hidden now: a file named o.h5.tmp is not its.
        self.assertEqual(run(["run", "s.yaml", "-o", "o.h5.tmp"], cwd=self.dir).returncode, 0)
        before = digest(self.dir / "o.h5.tmp")
        self.assertEqual(run(["run", "s.yaml", "-o", "o.h5"], cwd=self.dir).returncode, 0)
        self.assertEqual(digest(self.dir / "o.h5.tmp"), before)
        # A folder at a journal's name: refused before anything is created (the run made
        # the file, then failed on its journal, exit 1, and no resume could finish it).
        for companion in ("q.h5.journal", "q.h5.journal.tmp"):
            (self.dir / companion).mkdir()
            proc = run(["run", "s.yaml", "-o", "q.h5"], cwd=self.dir)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn(f"{companion}: is not a file", proc.stderr)
            self.assertFalse((self.dir / "q.h5").exists())
            (self.dir / companion).rmdir()
        # An empty journal (cut before its header) is a run's: taken over as before.
        (self.dir / "p.h5.journal").write_bytes(b"")
        self.assertEqual(run(["run", "s.yaml", "-o", "p.h5"], cwd=self.dir).returncode, 0)

    def test_a_result_name_too_long_for_its_journals_is_refused_before_anything(self):
        # 246 characters fit a file system's 255 but not o.h5.journal.tmp: the run made the
        # file, then failed on its journal, exit 1, and no resume could finish it.
        self.write("s.yaml", SMALL)
        for name in ("x" * 242 + ".h5", "newdir/" + "y" * 300 + ".h5"):
            listing = sorted(self.dir.iterdir())
            proc = run(["run", "s.yaml", "-o", name], cwd=self.dir)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn("the file name is too long", proc.stderr)
            self.assertEqual(sorted(self.dir.iterdir()), listing, "something was created")
        proc = run(["run", "s.yaml", "-o", "z" * 231 + ".h5"], cwd=self.dir)  # the longest: 234
        self.assertEqual(proc.returncode, 2, proc.stderr)
        proc = run(["run", "s.yaml", "-o", "z" * 228 + ".h5"], cwd=self.dir)
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_links_planted_at_the_temporary_names_lead_nowhere(self):
        # Whoever can write the folder may plant links where the run writes its temporary
        # files; the run replaces them and never writes through them into another file.
        # (`simulate`'s temporary name now carries its node, pid and start time,
        # cluster.h5.tmp.HOST.PID.START; it is created exclusively, which refuses a link
        # planted there too.)
        study = self.write("s.yaml", SMALL)
        victim = self.write("victim.txt", "precious\n")
        (self.dir / "out.h5.tmp").symlink_to(victim)
        (self.dir / "out.h5.journal.tmp").symlink_to(victim)
        (self.dir / "cluster.h5.tmp").symlink_to(victim)
        # The lock file is emptied and rewritten by the run: a link there is refused (it
        # was followed, and its target overwritten with the run's pid).
        (self.dir / ".out.h5.lock").symlink_to(victim)
        proc = run(["run", "s.yaml", "-o", "out.h5"], cwd=self.dir)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn(".out.h5.lock: is a symbolic link", proc.stderr)
        self.assertFalse((self.dir / "out.h5").exists())
        (self.dir / ".out.h5.lock").unlink()
        proc = run(["run", "s.yaml", "-o", "out.h5"], cwd=self.dir)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        proc = run(["simulate", "--algorithm", "DLA", "--n-particles", "50",
                    "--save-cluster", "cluster.h5"], cwd=self.dir)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(victim.read_text(), "precious\n")
        with h5py.File(self.dir / "out.h5", "r") as f:
            self.assertEqual(text(f["studies/small"].attrs["status"]), "COMPLETED")

    def test_results_go_through_a_symlink_to_its_target(self):
        study = self.write("s.yaml", SMALL)
        link = self.dir / "link.h5"
        link.symlink_to("target.h5")
        self.assertEqual(run(["run", str(study), "-o", str(link)]).returncode, 0)
        self.assertTrue(link.is_symlink(), "the run replaced the link with a file")
        with h5py.File(self.dir / "target.h5", "r") as f:
            self.assertEqual(text(f["studies/small"].attrs["status"]), "COMPLETED")
        proc = run(["run", str(study), "-o", str(link), "--force"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue(link.is_symlink())

    def long_run_with_five_tasks_done(self):
        """Starts the LONG study under mpirun; returns (study, result file, process) once the
        file holds 5 completed tasks (or after a minute)."""
        study = self.write("long.yaml", LONG)
        out = self.dir / "long.h5"
        proc = start(["run", str(study), "-o", str(out)])
        deadline = time.time() + 60
        while completed_in(out, "long") < 5 and time.time() < deadline:
            time.sleep(0.05)
        return study, out, proc

    def test_status_of_a_killed_run_says_interrupted_not_running_for_ever(self):
        # A job killed with SIGKILL leaves the file saying RUNNING (its last checkpoint);
        # `status` read that for ever, with tasks "running" and a finite ETA. No run holds
        # the file's lock now, so the studies are INTERRUPTED, with the way to finish them.
        study, out, proc = self.long_run_with_five_tasks_done()
        live = json.loads(run(["status", str(out), "--json"]).stdout)["studies"][0]
        self.assertEqual(live["status"], "RUNNING")  # the lock is held: a live run
        subprocess.run(["pkill", "-KILL", "-s", str(proc.pid)], check=False)
        proc.wait()
        deadline = time.time() + 30
        while fcntl_lock_held(self.dir / ".long.h5.lock") and time.time() < deadline:
            time.sleep(0.05)
        seen = json.loads(run(["status", str(out), "--json"]).stdout)["studies"][0]
        self.assertEqual(seen["status"], "INTERRUPTED", seen)
        self.assertEqual(seen["progress"]["running"], 0)
        self.assertIsNone(seen["estimated_remaining_s"])
        self.assertIn("--resume", seen["reason"])
        table = run(["status", str(out)])
        self.assertIn("INTERRUPTED", table.stdout)
        resumed = run(["run", str(study), "-o", str(out), "--resume"], ranks=3)
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        final = json.loads(run(["status", str(out), "--json"]).stdout)["studies"][0]
        self.assertEqual(final["status"], "COMPLETED")

    def test_resume_right_after_mpirun_is_killed_waits_for_its_ranks(self):
        # kill -9 of mpirun alone: its ranks (in process groups of their own) notice and
        # exit within seconds, holding the lock until then. The resume waits for them.
        study, out, proc = self.long_run_with_five_tasks_done()
        proc.kill()
        proc.wait()
        resumed = run(["run", str(study), "-o", str(out), "--resume"], ranks=3)
        subprocess.run(["pkill", "-KILL", "-s", str(proc.pid)], check=False)
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        self.assertEqual(completed_in(out, "long"), 80)


class Limits(TempDirTest):
    """Values at the edges of the clock and of the physics."""

    def test_parameters_beyond_what_the_kernels_compute_exactly_are_refused(self):
        for key, value in (("particle_radius", "1e308"), ("particle_radius", "5e-324")):
            study = self.write("edge.yaml", SMALL.replace("values: [100, 200]", "values: [100]")
                               .replace("repetitions: 2", f"base_parameters: {{{key}: {value}}}"))
            for args in (["validate", str(study)], ["run", str(study), "-o", "edge.h5"]):
                proc = run(args, cwd=self.dir)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertIn(key, proc.stderr)
            self.assertFalse((self.dir / "edge.h5").exists())
        proc = run(["simulate", "--algorithm", "CCA", "--n-particles", "100",
                    "--volume-fraction", "1e-300"])
        self.assertEqual(proc.returncode, 2, proc.stderr)

    def test_a_sticking_probability_near_zero_ends_at_its_time_limit(self):
        # Allowed (the contract says 0 < p <= 1), though a contact then never sticks: the
        # task's time limit ends it, and the study goes on to its other value.
        study = self.write("slow.yaml", SMALL.replace(
            "seed: 4", "seed: 4\nexecution:\n  task_time_limit_s: 1\n  max_retries: 0")
            .replace("variable_parameter: n_particles", "variable_parameter: sticking_probability")
            .replace("values: [100, 200]", "values: [1e-300, 1]")
            .replace("repetitions: 2", "base_parameters: {n_particles: 100}"))
        out = self.dir / "slow.h5"
        proc = run(["run", str(study), "-o", str(out)], ranks=3)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with h5py.File(out, "r") as f:
            tasks = f["studies/small/tasks"][:]
            self.assertEqual(text(f["studies/small"].attrs["status"]), "PARTIALLY_FAILED")
        slow = tasks["sticking_probability"] < 1
        self.assertTrue(np.all(tasks["status"][slow] == b"FAILED"))
        self.assertIn(b"timeout", tasks["error"][slow][0])
        self.assertTrue(np.all(tasks["status"][~slow] == b"COMPLETED"))

    def test_at_the_bounds_rg_is_exactly_proportional_to_the_radius(self):
        import json
        results = {}
        for radius in ("1", "1e30", "1e-30"):
            proc = run(["simulate", "--algorithm", "DLA", "--n-particles", "500",
                        "--particle-radius", radius, "--seed", "3"])
            self.assertEqual(proc.returncode, 0, proc.stderr)
            results[radius] = json.loads(proc.stdout)
        self.assertEqual(results["1e30"]["df"], results["1"]["df"])
        self.assertAlmostEqual(results["1e30"]["rg"] / 1e30, results["1"]["rg"], delta=1e-9)
        self.assertAlmostEqual(results["1e-30"]["rg"] / 1e-30, results["1"]["rg"], delta=1e-9)

    def test_a_time_limit_beyond_the_clock_is_no_limit(self):
        study = self.write("s.yaml", SMALL.replace(
            "seed: 4", "seed: 4\nexecution:\n  task_time_limit_s: 1e10"))
        out = self.dir / "out.h5"
        proc = run(["run", str(study), "-o", str(out)], ranks=3)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with h5py.File(out, "r") as f:
            tasks = f["studies/small/tasks"][:]
        self.assertTrue(np.all(tasks["status"] == b"COMPLETED"), tasks["error"])


    def test_a_study_larger_than_the_memory_it_may_use_is_refused_before_it_starts(self):
        # Twenty million tasks need about 1.7 GB on rank 0 (80 B per task: the schedule and
        # the records; their metrics wait on disk): under a 1 GB address-space limit
        # (as `ulimit -v` or a job's memory limit sets), validate and run refuse it with
        # the figure instead of dying of bad_alloc partway.
        import resource
        study = self.write("big.yaml", "seed: 1\nstudies:\n  - name: big\n"
                           "    algorithm: EDEN\n    variable_parameter: n_particles\n"
                           "    values: [10, 11]\n    repetitions: 10000000\n")
        proc = run(["validate", str(study)])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("rank 0 needs about 1.7 GB", proc.stdout)

        def one_gigabyte():
            resource.setrlimit(resource.RLIMIT_AS, (10**9, 10**9))

        for args in (["validate", str(study)], ["run", str(study), "-o", "big.h5"]):
            proc = run(args, cwd=self.dir, preexec_fn=one_gigabyte)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertRegex(proc.stderr, r"big.yaml: 20000000 tasks need about 1\.7 GB .*"
                                          r"ulimit -v\) of 1\.0 GB")
            self.assertEqual(proc.stderr.count("\n"), 1, proc.stderr)
        self.assertEqual(sorted(p.name for p in self.dir.iterdir()), ["big.yaml"])


class Damaged(TempDirTest):
    """A result file with bytes overwritten at random: every reader exits 0 or 2 with a
    message, never dies of a signal (HDF5 can crash reading such a file)."""

    def test_sixty_files_with_sixteen_random_bytes_overwritten(self):
        import random
        study = self.write("s.yaml", SMALL.replace("repetitions: 2", "repetitions: 8"))
        good = self.dir / "good.h5"
        self.assertEqual(run(["run", str(study), "-o", str(good)]).returncode, 0)
        original = good.read_bytes()
        damage = random.Random(2024)
        outcomes = {}
        for n in range(60):
            data = bytearray(original)
            for _ in range(16):
                data[damage.randrange(len(data))] = damage.randrange(256)
            path = self.dir / f"damaged{n}.h5"
            path.write_bytes(bytes(data))
            for args in (["status", str(path)], ["export", str(path), "--table", "tasks"],
                         ["export", str(path), "--table", "summary"],
                         ["run", str(study), "-o", str(path), "--resume"]):
                # A damaged string may not be UTF-8; what matters here is the exit code.
                proc = run(args, errors="replace")
                with self.subTest(file=n, args=args[0]):
                    self.assertIn(proc.returncode, (0, 2), proc.stderr[-500:])
                    if proc.returncode == 2:
                        self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
                outcomes[proc.returncode] = outcomes.get(proc.returncode, 0) + 1
            path.unlink()
        self.assertIn(2, outcomes)  # the damage was noticed somewhere


    def test_a_damaged_heap_that_makes_hdf5_loop_is_refused_in_seconds(self):
        # Found by the test above: 16 random bytes that send HDF5 1.10 round a global heap
        # forever (H5HG_read). The reader's CPU limit (10 s plus 1 s per 10 MB) ends it.
        damaged = self.dir / "loop.h5"
        damaged.write_bytes((DATA / "damaged" / "endless_heap_loop.h5").read_bytes())
        started = time.time()
        proc = run(["status", str(damaged)])
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("did not end within 10 s of CPU", proc.stderr)
        self.assertLess(time.time() - started, 60)


class Streaming(TempDirTest):
    """Readers of a large file need megabytes, not a copy of its tables."""

    def test_status_and_summary_of_200000_tasks_stay_small(self):
        study = self.write("big.yaml", """\
seed: 1
execution:
  isolation: none
  save_clusters: none
studies:
  - name: a_study_name_of_thirty_chars_x
    algorithm: EDEN
    variable_parameter: n_particles
    values: [10, 11]
    repetitions: 100000
""")
        out = self.dir / "big.h5"
        proc = run(["run", str(study), "-o", str(out), "--progress-interval", "600"], ranks=3)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        # Six-digit counts and long names stay columns of their own, in the summary and in
        # the status.
        summary = proc.stdout.strip().splitlines()
        header = next(i for i, line in enumerate(summary) if line.split()[:2] == ["n_particles", "n"])
        self.assertEqual(summary[header + 1].split()[:3], ["10", "100000", "-"], proc.stdout)
        status = run(["status", str(out)]).stdout.splitlines()
        self.assertEqual(status[1].split()[:2], ["a_study_name_of_thirty_chars_x", "EDEN"], status)
        self.assertEqual(status[1].split()[3], "200000/200000", status)
        for args in (["status", str(out), "--json"], ["export", str(out), "--table", "summary"]):
            # The largest resident set of the command and its children, in KiB.
            measure = ("import resource, subprocess, sys; "
                       "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
                       "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
            result = subprocess.run(["/usr/bin/python3", "-c", measure, BIN] + args,
                                    capture_output=True, text=True, env=MPI_ENV, timeout=300)
            code, peak_kib = result.stdout.split()
            self.assertEqual(code, "0", result.stderr)
            # Holding the table would take about 400 MB (11 metrics); streaming it, tens:
            # 89 MB measured with the 11 metrics of issue 16 (80 MB with 6).
            self.assertLess(int(peak_kib), 100 * 1024, args)


class Tables(TempDirTest):
    """A result file whose task table was edited is refused by --resume and retry (exit 2,
    naming file, study, row and value), never continued."""

    def setUp(self):
        super().setUp()
        self.study = self.write("s.yaml", SMALL)
        self.good = self.dir / "good.h5"
        self.assertEqual(run(["run", str(self.study), "-o", str(self.good)]).returncode, 0)

    def edited(self, name, edit):
        """A copy of the good file with its task table changed by edit(rows) -> rows."""
        path = self.dir / name
        path.write_bytes(self.good.read_bytes())
        with h5py.File(path, "r+") as f:
            group = f["studies/small"]
            rows = edit(group["tasks"][()].copy())
            del group["tasks"]
            group.create_dataset("tasks", data=rows)
        return path

    def refused(self, path, *fragments):
        for args in (["run", str(self.study), "-o", str(path), "--resume"], ["retry", str(path)]):
            before = digest(path)
            proc = run(args)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            for fragment in (str(path), "study small") + fragments:
                self.assertIn(fragment, proc.stderr)
            self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
            self.assertEqual(digest(path), before, "a refused file was changed")

    def test_swapped_rows(self):
        def swap(rows):
            rows[[0, 3]] = rows[[3, 0]]
            return rows
        self.refused(self.edited("swapped.h5", swap), "row 0", "task_id is 3")

    def test_impossible_values(self):
        def set_value(column, value, row=1):
            def edit(rows):
                rows[column][row] = value
                return rows
            return edit
        self.refused(self.edited("rg.h5", set_value("rg", -5.0)), "row 1", "rg is -5")
        self.refused(self.edited("nan_rg.h5", set_value("rg", np.nan)), "rg is missing")
        self.refused(self.edited("df.h5", set_value("df", 1e30)), "df is 1e+30")
        self.refused(self.edited("attempts.h5", set_value("attempts", -2)), "attempts is -2")
        self.refused(self.edited("many.h5", set_value("attempts", 10**9)), "attempts is 1000000000")
        self.refused(self.edited("seed.h5", set_value("seed", 12345, row=2)), "row 2", "seed")
        self.refused(self.edited("point.h5", set_value("n_particles", 999, row=2)),
                     "n_particles is 999")

    def test_a_missing_row(self):
        self.refused(self.edited("short.h5", lambda rows: rows[:-1]), "3 task rows")


class Readers(TempDirTest):
    """What `status` (and so the tools) shows while a run writes the file."""

    def test_a_run_is_running_from_the_start_and_its_progress_shows_within_seconds(self):
        # The default checkpoint interval, 10 s: readers must not wait for it. About 10 s of
        # work on 2 workers.
        study = self.write("long.yaml", LONG.replace("checkpoint_interval_s: 0.5",
                                                     "checkpoint_interval_s: 10")
                           .replace("repetitions: 20", "repetitions: 50"))
        out = self.dir / "long.h5"
        proc = start(["run", str(study), "-o", str(out)])
        try:
            deadline = time.time() + 60
            while not out.exists() and time.time() < deadline:
                time.sleep(0.02)
            appeared = time.time()
            seen = []
            while time.time() < appeared + 4:
                status = run(["status", str(out), "--json"])
                if status.returncode == 0:  # a file replaced under the reader is read again
                    study_status = json.loads(status.stdout)["studies"][0]
                    progress = study_status["progress"]
                    seen.append((time.time() - appeared, study_status["status"],
                                 progress["completed"], progress["running"]))
                time.sleep(0.1)
            self.assertTrue(seen)
            self.assertEqual({state for _, state, _, _ in seen}, {"RUNNING"}, seen)  # not QUEUED
            # Within 2.5 s of the file's creation a reader sees the work: tasks computing or
            # done (the first checkpoint comes after a second, not after the interval).
            early = [done + running for at, _, done, running in seen if at < 2.5]
            self.assertTrue(any(early), seen)
            completed = [done for _, _, done, _ in seen]
            self.assertEqual(completed, sorted(completed), "the count of completed tasks fell")
        finally:
            proc.kill()
            subprocess.run(["pkill", "-KILL", "-s", str(proc.pid)], check=False)
            proc.wait()


class Interrupts(TempDirTest):
    """Ctrl-C, with and without mpirun: what finished is kept and --resume completes."""

    def resume_completes(self, study, out):
        proc = run(["run", str(study), "-o", str(out), "--resume"], ranks=3)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with h5py.File(out, "r") as f:
            tasks = f["studies/long"]["tasks"][:]
        self.assertTrue(np.all(tasks["status"] == b"COMPLETED"))
        # Interrupted attempts cost nothing: each task was attempted once.
        self.assertTrue(np.all(tasks["attempts"] == 1), tasks["attempts"])

    def test_ctrl_c_of_a_single_rank_run_drains_with_exit_3(self):
        study = self.write("long.yaml", LONG)
        out = self.dir / "long.h5"
        proc = subprocess.Popen([BIN, "run", str(study), "-o", str(out)], env=MPI_ENV,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        deadline = time.time() + 60
        while completed_in(out, "long") < 5 and time.time() < deadline:
            time.sleep(0.05)
        # A terminal's Ctrl-C reaches the whole foreground group: the rank and its task.
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 3, stderr)
        self.assertIn("--resume", stderr)
        with h5py.File(out, "r") as f:
            tasks = f["studies/long"]["tasks"][:]
        self.assertFalse(np.any(tasks["status"] == b"FAILED"), tasks["error"])
        self.resume_completes(study, out)

    def test_ctrl_c_of_mpirun_keeps_what_finished(self):
        # Open MPI answers Ctrl-C by sending SIGTERM to the ranks and SIGKILL a second later
        # (its exit code is its own): the ranks start a drain, and the checkpoint or the
        # journal keeps every finished task.
        study = self.write("long.yaml", LONG.replace("repetitions: 20", "repetitions: 40"))
        out = self.dir / "long.h5"
        proc = start(["run", str(study), "-o", str(out)])
        deadline = time.time() + 60
        while completed_in(out, "long") < 5 and time.time() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGINT)
        proc.communicate(timeout=60)
        self.assertNotEqual(proc.returncode, 0)
        self.assertGreaterEqual(completed_in(out, "long"), 5)
        self.resume_completes(study, out)
        subprocess.run(["pkill", "-KILL", "-s", str(proc.pid)], check=False)

    def test_ctrl_c_of_mpirun_saves_what_finished_before_the_next_checkpoint(self):
        # Tasks of about 4 s on 2 workers and a checkpoint interval of a minute: the first
        # checkpoint saves the first tasks, the next is a minute away. The tasks rank 0 has
        # received when the signal comes are saved before it waits for the running ones,
        # which it could not finish before Open MPI's SIGKILL.
        study = self.write("slow.yaml", """\
seed: 5
execution:
  checkpoint_interval_s: 60
  save_clusters: none
studies:
  - name: long
    algorithm: DLA
    base_parameters: {n_particles: 500000}
    repetitions: 8
""")
        out = self.dir / "slow.h5"
        proc = start(["run", str(study), "-o", str(out), "--progress-interval", "0.2"])
        completed = 0
        while completed < 3:  # progress lines: "... all studies  N/8 (..%) ..."
            line = proc.stderr.readline()
            self.assertTrue(line, "the run ended before three tasks completed")
            fields = line.split("all studies")[-1].split()
            if fields and "/" in fields[0]:
                completed = int(fields[0].split("/")[0])
        os.kill(proc.pid, signal.SIGINT)
        proc.communicate(timeout=60)
        self.assertNotEqual(proc.returncode, 0)
        self.assertGreaterEqual(completed_in(out, "long"), completed)
        subprocess.run(["pkill", "-KILL", "-s", str(proc.pid)], check=False)


if __name__ == "__main__":
    unittest.main(verbosity=2)
