"""fracstudy on a cluster of several nodes (tests/cluster/cluster.sh): mpirun across nodes
with a sub-coordinator per node, sbatch -N 3 with both launchers, a compute node lost
mid-study, a bad node, and the coordinator's own node lost. Run by ctest (label
`multinode`) inside the cluster the fixture started; select a test by its name.

Environment: FRACSTUDY_BIN, FRACSTUDY_FAULT_BIN, FRACSTUDY_CLUSTER (the cluster's folder),
FRACSTUDY_SBATCH_SCRIPT (slurm/fracstudy.sbatch), MPIEXEC.
"""
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

import h5py
import numpy as np

BIN = os.environ["FRACSTUDY_BIN"]
FAULT_BIN = os.environ["FRACSTUDY_FAULT_BIN"]
CLUSTER = Path(os.environ["FRACSTUDY_CLUSTER"])
SBATCH_SCRIPT = os.environ["FRACSTUDY_SBATCH_SCRIPT"]
MPIEXEC = os.environ.get("MPIEXEC", "mpirun")
CLUSTER_SH = Path(__file__).with_name("cluster.sh")
ON = str(CLUSTER / "bin" / "on")
AGENT = str(CLUSTER / "bin" / "node-agent")
ROOT_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
            "OMPI_MCA_mpi_yield_when_idle": "1", "OMPI_MCA_rmaps_base_oversubscribe": "1"}
MPI_ENV = dict(os.environ, **ROOT_ENV)

# 24 DLA tasks of a few milliseconds: layout and identity checks.
SMALL = """\
seed: 31
studies:
  - name: small
    algorithm: DLA
    variable_parameter: n_particles
    values: [300, 600, 900]
    repetitions: 8
"""

# 40 DLA tasks of about half a second, no retries: long enough to lose a node midway, and
# any task charged for the loss would end FAILED.
LONG = """\
seed: 21
execution:
  max_retries: 0
  checkpoint_interval_s: 0.5
studies:
  - name: long
    algorithm: DLA
    variable_parameter: n_particles
    values: [60000, 90000]
    repetitions: 20
"""


def on(node, args, **kwargs):
    """Runs args inside a node, as root with Open MPI's root variables."""
    return subprocess.run([ON, node, "env"] + [f"{k}={v}" for k, v in ROOT_ENV.items()] + args,
                          capture_output=True, text=True, timeout=300, **kwargs)


def cluster(*args):
    subprocess.run([str(CLUSTER_SH), args[0], str(CLUSTER)] + list(args[1:]), check=True,
                   timeout=120)


def text(value):
    return value.decode() if isinstance(value, bytes) else value


def tasks_of(path, study):
    with h5py.File(path, "r") as f:
        return f["studies"][study]["tasks"][:]


def status_of(path, study):
    try:
        with h5py.File(path, "r") as f:
            return text(f["studies"][study].attrs["status"])
    except (OSError, KeyError):
        return None


def completed_in(path, study):
    try:
        return int((tasks_of(path, study)["status"] == b"COMPLETED").sum())
    except (OSError, KeyError):
        return 0


def wait_until(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def job_nodes(job):
    """The nodes of a running job, expanded (node[1-2] -> node1, node2)."""
    text = on("head", ["scontrol", "show", "hostnames",
                       on("head", ["squeue", "-h", "-j", job, "-o", "%N"]).stdout.strip()]).stdout
    return text.split()


class ClusterTest(unittest.TestCase):
    def setUp(self):
        # Under the cluster's folder: a file system every node sees (as a cluster's shared
        # home), unlike /tmp.
        work = CLUSTER / "work"
        work.mkdir(exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(dir=work))

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, name, text):
        path = self.dir / name
        path.write_text(text)
        return path

    def clean_run(self, study, name):
        """The same study on this machine alone (one node, 3 ranks): the reference."""
        out = self.dir / f"clean-{name}.h5"
        proc = subprocess.run([MPIEXEC, "-n", "3", BIN, "run", str(study), "-o", str(out),
                               "--quiet"], env=MPI_ENV, capture_output=True, text=True,
                              timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return tasks_of(out, name)

    def mpirun_on_nodes(self, args, binary=BIN, extra_env=()):
        """mpirun from node1 over node1-3, two ranks each (Open MPI's rsh launcher)."""
        forwarded = [arg for name in extra_env for arg in ("-x", name)]
        return on("node1", [f"{name}={os.environ.get(name, '')}" for name in extra_env] +
                  [MPIEXEC, "--mca", "plm_rsh_agent", AGENT, "-H", "node1:2,node2:2,node3:2",
                   "-n", "6"] + forwarded + [binary] + args, cwd=self.dir)

    def sbatch(self, study, out, launcher, *options):
        proc = on("head", [f"FRACSTUDY={BIN}", f"FRACSTUDY_LAUNCH={launcher}", "sbatch",
                           "--parsable", f"--chdir={self.dir}", *options, SBATCH_SCRIPT,
                           str(study), str(out)])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc.stdout.strip().split(";")[0]

    def cancel(self, job):
        """Cancels a job and waits until it has left the queue, so that its nodes are free
        for the next job and the next test finds them idle."""
        on("head", ["scancel", job])
        wait_until(lambda: not on("head", ["squeue", "-h", "-j", job]).stdout.strip(), 60,
                   f"job {job} to leave the queue")

    def run_job_to_completion(self, study, out, launcher):
        """sbatch -N 3 of `study`, waited for until its file says COMPLETED. A job whose
        step died before any task ended (MPI's start-up across namespaced nodes failed once
        in ~25 fresh starts under heavy load: ranks segfaulted in Open MPI's start-up) is
        cancelled, if it still runs, and submitted once more, its log shown."""
        for attempt in (1, 2):
            job = self.sbatch(study, out, launcher, "-N", "3", "--ntasks-per-node=2",
                              "--ntasks=6")
            log = self.dir / f"fracstudy-{job}.log"
            deadline = time.time() + 120
            while time.time() < deadline and status_of(out, "small") != "COMPLETED":
                ended = "finished with exit code" in (log.read_text() if log.exists() else "")
                if ended and completed_in(out, "small") == 0:
                    break  # died at start-up, before any task ended
                time.sleep(0.25)
            if status_of(out, "small") == "COMPLETED":
                return
            text_of_log = log.read_text() if log.exists() else "(none)"
            self.cancel(job)
            if attempt == 2 or completed_in(out, "small") > 0:
                self.fail(f"the {launcher} job did not complete; its log:\n{text_of_log}")
            print(f"job {job} ({launcher}) died at start-up; submitted again. Its log:\n"
                  f"{text_of_log}", file=sys.stderr)
            for stale in (out, Path(str(out) + ".journal")):
                stale.unlink(missing_ok=True)

    def assert_same_metrics(self, tasks, clean):
        self.assertTrue(np.all(tasks["status"] == b"COMPLETED"), tasks["error"])
        np.testing.assert_array_equal(tasks["df"], clean["df"])
        np.testing.assert_array_equal(tasks["rg"], clean["rg"])


class Multinode(ClusterTest):
    def test_mpirun_across_three_nodes_has_a_relay_per_node_and_a_host_per_task(self):
        study = self.write("s.yaml", SMALL)
        out = self.dir / "s.h5"
        proc = self.mpirun_on_nodes(["run", str(study), "-o", str(out), "--relays", "node"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with h5py.File(out, "r") as f:
            ranks = f["ranks"][:]
            self.assertEqual(f.attrs["nodes"], 3)
            self.assertEqual(f.attrs["relay_ranks"], 2)
        host_of = {int(r["rank"]): r["host"].decode() for r in ranks}
        self.assertEqual(host_of[0], "node1")
        relays = collections.Counter(r["host"].decode() for r in ranks if r["role"] == b"relay")
        # One sub-coordinator on each node but rank 0's, whose other rank rank 0 serves.
        self.assertEqual(relays, {"node2": 1, "node3": 1})
        tasks = tasks_of(out, "small")
        self.assertEqual(set(tasks["host"]), {b"node1", b"node2", b"node3"})
        for task in tasks:  # the host is the node of the rank that computed the task
            self.assertEqual(host_of[int(task["worker_rank"])], task["host"].decode())
        self.assert_same_metrics(tasks, self.clean_run(study, "small"))

    def test_relays_on_other_nodes_keep_their_results_in_journals_rank_0_reads(self):
        # The relays of node2 and node3 write OUT.h5.journal.relay<RANK> into the folder
        # the nodes share; rank 0 on node1 reads their tokens, then only task numbers
        # travel, and it reads the metrics back for the final write. No saved clusters
        # (a result with one goes to rank 0 whole).
        study = self.write("many.yaml", SMALL.replace("repetitions: 8", "repetitions: 60")
                           .replace("seed: 31\n", "seed: 31\nexecution: {save_clusters: none}\n"))
        out = self.dir / "many.h5"
        proc = self.mpirun_on_nodes(["run", str(study), "-o", str(out), "--relays", "node"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with h5py.File(out, "r") as f:
            self.assertEqual(f.attrs["relay_ranks"], 2)
            kept = int(f.attrs["relay_kept_results"])
        tasks = tasks_of(out, "small")
        self.assertGreater(kept, len(tasks) // 4, "the relays kept almost nothing")
        relayed_hosts = {task["host"] for task in tasks}
        self.assertEqual(relayed_hosts, {b"node1", b"node2", b"node3"})
        self.assertEqual(list(self.dir.glob("many.h5.journal*")), [])  # all in the file
        self.assert_same_metrics(tasks, self.clean_run(study, "small"))

    def test_sbatch_on_three_nodes_with_mpirun_and_with_srun(self):
        study = self.write("s.yaml", SMALL)
        clean = self.clean_run(study, "small")
        for launcher in ("mpirun", "srun"):
            out = self.dir / f"{launcher}.h5"
            self.run_job_to_completion(study, out, launcher)
            tasks = tasks_of(out, "small")
            self.assertEqual(set(tasks["host"]), {b"node1", b"node2", b"node3"}, launcher)
            self.assert_same_metrics(tasks, clean)

    def test_a_bad_node_is_excluded_and_its_tasks_succeed_elsewhere(self):
        # Every attempt on node3 fails; the same tasks succeed on node1 and node2.
        study = self.write("s.yaml", SMALL)
        out = self.dir / "bad.h5"
        os.environ["FRACSTUDY_FAULT_BAD_HOST"] = "node3"
        try:
            proc = self.mpirun_on_nodes(["run", str(study), "-o", str(out)], binary=FAULT_BIN,
                                        extra_env=("FRACSTUDY_FAULT_BAD_HOST",))
        finally:
            del os.environ["FRACSTUDY_FAULT_BAD_HOST"]
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("node node3 was excluded as a bad node", proc.stdout)
        with h5py.File(out, "r") as f:
            self.assertEqual(text(f.attrs["excluded_hosts"]), "node3")
            self.assertEqual(text(f["studies/small"].attrs["status"]), "COMPLETED")
        tasks = tasks_of(out, "small")
        self.assertNotIn(b"node3", set(tasks["host"]))
        failed_on_node3 = [e for e in tasks["error"] if b"[node3]" in e]
        self.assertGreaterEqual(len(failed_on_node3), 3)  # it failed tasks before it went
        self.assertTrue(np.all(tasks["attempts"] == 1), tasks["attempts"])  # given back
        self.assert_same_metrics(tasks, self.clean_run(study, "small"))


class SecondCluster(ClusterTest):
    def test_a_second_cluster_beside_this_one_has_its_own_slot_and_leaves_nothing(self):
        other = self.dir / "other-cluster"
        script = str(CLUSTER_SH)
        try:
            subprocess.run([script, "start", str(other), "1"], check=True, timeout=120)
            self.assertNotEqual((other / "slot").read_text(), (CLUSTER / "slot").read_text())
            proc = subprocess.run([str(other / "bin" / "on"), "head", "sinfo", "-h", "-N", "-o",
                                   "%N %T"], capture_output=True, text=True, timeout=60)
            self.assertEqual(proc.stdout.split(), ["node1", "idle"])
        finally:
            proc = subprocess.run([script, "stop", str(other)], capture_output=True, text=True,
                                  timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)  # nothing of it left behind
        # This cluster is untouched.
        proc = on("head", ["sinfo", "-h", "-N", "-o", "%N %T"])
        self.assertEqual(proc.stdout.split(),
                         ["node1", "idle", "node2", "idle", "node3", "idle"])


class LostNodes(ClusterTest):
    """A node dies mid-study (link down, every process in it killed): Slurm requeues the
    job, the next allocation resumes on the nodes left, and the study ends as a clean run
    would, with no attempt charged for the loss (max_retries is 0)."""

    def lose_a_node_midway(self, which):
        study = self.write("long.yaml", LONG)
        out = self.dir / "long.h5"
        job = self.sbatch(study, out, "srun", "-N", "2", "--ntasks-per-node=2", "--ntasks=4")
        wait_until(lambda: completed_in(out, "long") >= 6, 120, "six completed tasks")
        nodes = job_nodes(job)
        victim = nodes[0] if which == "coordinator" else nodes[1]  # the batch node runs rank 0
        cluster("kill-node", victim)
        try:
            wait_until(lambda: status_of(out, "long") == "COMPLETED", 180, "the requeued run's end")
            restarts = on("head", ["scontrol", "show", "job", job]).stdout
            self.assertIn("Restarts=", restarts)
            self.assertNotIn("Restarts=0", restarts)
        finally:
            cluster("revive-node", victim)
        tasks = tasks_of(out, "long")
        self.assert_same_metrics(tasks, self.clean_run(study, "long"))
        self.assertTrue(np.all(tasks["attempts"] == 1), tasks["attempts"])
        return tasks

    def test_a_compute_node_lost_mid_study(self):
        self.lose_a_node_midway("compute")

    def test_the_coordinators_node_lost_mid_study(self):
        self.lose_a_node_midway("coordinator")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1] + sys.argv[1:], verbosity=2)
