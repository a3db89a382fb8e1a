"""fracstudy on a real (one-node, local) Slurm: submit, requeue across allocations, scancel.

ctest starts the cluster (tests/slurm/local-cluster.sh) as a fixture and sets SLURM_CONF.
Environment: FRACSTUDY_BIN, SLURM_CONF, MPIEXEC.
"""
import json
import os
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

import h5py
import numpy as np

BIN = os.environ["FRACSTUDY_BIN"]
SBATCH_SCRIPT = Path(__file__).resolve().parents[2] / "slurm" / "fracstudy.sbatch"
MPIEXEC = os.environ.get("MPIEXEC", "mpirun")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_mpi_yield_when_idle="1", OMPI_MCA_rmaps_base_oversubscribe="1")

# About 80 tasks of 0.05-0.2 s: several seconds on 2 workers, so there is time to interrupt.
LONG_STUDY = """\
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


def slurm(*command):
    return subprocess.run(list(command), capture_output=True, text=True, env=ENV, timeout=60)


def job_state(job):
    return slurm("squeue", "-h", "-j", job, "-o", "%T").stdout.strip()


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def completed_in(path):
    try:
        with h5py.File(path, "r") as f:
            return int((f["studies/long/tasks"]["status"][:] == b"COMPLETED").sum())
    except (OSError, KeyError):
        return 0


class Slurm(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)
        self.study = self.dir / "long.yaml"
        self.study.write_text(LONG_STUDY)

    def tearDown(self):
        slurm("scancel", "--user=root")
        self.tmp.cleanup()

    def submit(self, study, *extra, env=None):
        proc = subprocess.run([BIN, "submit", str(study), "--ntasks", "3", *extra],
                              capture_output=True, text=True, cwd=self.dir,
                              env={**ENV, **(env or {})}, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc.stdout.strip()

    def wait_until_gone(self, job, timeout=240):
        wait_for(lambda: job_state(job) == "", timeout, f"job {job} to end")

    def log(self, job):
        path = self.dir / f"fracstudy-{job}.log"
        return path.read_text() if path.exists() else ""

    def wait_for_job(self, job, predicate, timeout, what):
        """wait_for, and on a timeout say where the job stands and what its log says."""
        try:
            wait_for(predicate, timeout, what)
        except AssertionError as error:
            state = job_state(job) or "gone"
            raise AssertionError(f"{error}; job {job} is {state}; its log:\n{self.log(job)}")

    def clean_tasks(self, study=None):
        out = self.dir / "clean.h5"
        proc = subprocess.run([MPIEXEC, "-n", "3", BIN, "run", str(study or self.study), "-o",
                               str(out)],
                              capture_output=True, text=True, env=ENV, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with h5py.File(out, "r") as f:
            return f["studies/long/tasks"][:]

    def check_same_as_clean_run(self, out, study=None):
        clean = self.clean_tasks(study)
        with h5py.File(out, "r") as f:
            self.assertEqual(f["studies/long"].attrs["status"], "COMPLETED")
            tasks = f["studies/long/tasks"][:]
        np.testing.assert_array_equal(tasks["df"], clean["df"])
        np.testing.assert_array_equal(tasks["rg"], clean["rg"])
        # The interruptions spent no task's retry budget.
        self.assertTrue(np.all(tasks["attempts"] == 1))

    def test_submit_of_a_small_study_completes(self):
        study = self.dir / "small.yaml"
        study.write_text(LONG_STUDY.replace("[12000, 16000, 20000, 24000]", "[1000, 2000]")
                         .replace("repetitions: 20", "repetitions: 3"))
        job = self.submit(study)
        self.wait_until_gone(job)
        with h5py.File(self.dir / "small.h5", "r") as f:
            group = f["studies/long"]
            self.assertEqual(group.attrs["status"], "COMPLETED")
            self.assertEqual(int(group.attrs["completed_simulations"]), 6)
        self.assertIn("finished with exit code 0", self.log(job))

    def test_walltime_signal_three_allocations_then_done(self):
        # What `#SBATCH --signal=B:USR1@T` does at the end of each allocation, sent early:
        # the script drains the study, which exits 3, and requeues the job. Twice the long
        # study's tasks: a drain lets the running chunks finish (about 16 tasks a worker
        # here), so the first allocation ends near 40-60 done, and the second must still
        # have work left after its signal (with 80 tasks and a signal at 30, a faster kernel
        # once finished them all in the second allocation).
        study = self.dir / "longer.yaml"
        study.write_text(LONG_STUDY.replace("repetitions: 20", "repetitions: 40"))
        job = self.submit(study, env={"FRACSTUDY_DRAIN_GRACE": "3"})
        out = self.dir / "longer.h5"
        # Each signal waits for 8 tasks more than the allocation began with: a fixed 60 for
        # the second was already met when the first drain ended at 61, and at a fast hour
        # the second allocation finished all 160 before that early signal took hold.
        completed = 0
        for allocation in (1, 2):
            completed += 8
            self.wait_for_job(job, lambda: completed_in(out) >= completed, 120,
                              f"{completed} tasks")
            self.assertEqual(slurm("scancel", "--signal=USR1", "--batch", job).returncode, 0)
            # A requeued job restarts in about 12 s; minutes when the machine is loaded.
            self.wait_for_job(job, lambda: f"allocation {allocation + 1} " in self.log(job),
                              240, f"allocation {allocation + 1}")
            completed = completed_in(out)  # what the drain left
        self.wait_until_gone(job)
        log = self.log(job)
        self.assertEqual(log.count("requeueing job"), 2, log)
        self.assertIn("finished with exit code 0", log)
        self.check_same_as_clean_run(out, study)

    def test_scontrol_requeue_mid_run_resumes_under_srun(self):
        # scontrol requeue signals every process of the job; under srun the ranks drain.
        job = self.submit(self.study, env={"FRACSTUDY_DRAIN_GRACE": "3", "FRACSTUDY_LAUNCH": "srun"})
        out = self.dir / "long.h5"
        wait_for(lambda: completed_in(out) >= 8, 120, "8 tasks")
        self.assertEqual(slurm("scontrol", "requeue", job).returncode, 0)
        wait_for(lambda: "allocation 2 " in self.log(job), 120, "allocation 2")
        self.wait_until_gone(job)
        self.check_same_as_clean_run(out)

    def test_a_rank_dying_under_srun_ends_the_job(self):
        # Rank 2 dies at start-up (a segfault, as Open MPI's start-up across nodes once did
        # in CI). The step must end a minute later (srun --wait=60), not leave ranks 0 and 1
        # waiting for it until the time limit (an hour here) with the nodes held.
        wrapper = self.dir / "dies-as-rank-2"
        wrapper.write_text('#!/bin/sh\n[ "$SLURM_PROCID" = 2 ] && kill -SEGV $$\n'
                           f'exec {BIN} "$@"\n')
        wrapper.chmod(0o755)
        proc = slurm("sbatch", "--parsable", f"--chdir={self.dir}", "--ntasks=3",
                     f"--export=ALL,FRACSTUDY={wrapper},FRACSTUDY_LAUNCH=srun",
                     str(SBATCH_SCRIPT), str(self.study), str(self.dir / "long.h5"))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        job = proc.stdout.strip().split(";")[0]
        self.wait_for_job(job, lambda: job_state(job) == "", 150, "the job to end")
        self.assertIn("finished with exit code", self.log(job))
        self.assertNotIn("finished with exit code 0", self.log(job))

    def test_scancel_leaves_a_readable_file_that_resume_completes(self):
        job = self.submit(self.study)
        out = self.dir / "long.h5"
        wait_for(lambda: completed_in(out) >= 8, 120, "8 tasks")
        self.assertEqual(slurm("scancel", job).returncode, 0)
        self.wait_until_gone(job)
        with h5py.File(out, "r") as f:  # readable, and not finished
            self.assertLess(int(f["studies/long"].attrs["completed_simulations"]), 80)
        proc = subprocess.run([MPIEXEC, "-n", "3", BIN, "run", str(self.study), "-o", str(out),
                               "--resume"], capture_output=True, text=True, env=ENV, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.check_same_as_clean_run(out)


class ToolsOnSlurm(unittest.TestCase):
    """The AI tools' slurm launcher: a study started by a tool call runs as a batch job."""

    def test_run_parametric_study_submits_a_job_and_completes(self):
        with tempfile.TemporaryDirectory() as tmp:
            workspace = Path(tmp) / "ws"

            def tool(name, arguments):
                proc = subprocess.run([BIN, "tool", "--workspace", str(workspace), "--launcher",
                                       "slurm", "--sbatch-arg=--ntasks=3", name,
                                       json.dumps(arguments)],
                                      capture_output=True, text=True, env=ENV, timeout=60)
                self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
                return json.loads(proc.stdout)

            started = tool("run_parametric_study", {"algorithm": "DLA", "values": [500, 1000],
                                                    "repetitions": 2, "name": "agent"})
            self.assertEqual(started["status"], "QUEUED")
            launch = json.loads((workspace / "agent" / "launch.json").read_text())
            self.assertEqual(launch["launcher"], "slurm")
            self.assertTrue(launch["job_id"].isdigit())
            self.assertNotIn("sh", launch["command"][:1])  # sbatch itself, no shell
            wait_for(lambda: tool("check_study_status", {"study_id": "agent"})["status"]
                     == "COMPLETED", 180, "the study to complete")
            results = tool("get_study_results", {"study_id": "agent"})["results"]
            self.assertEqual([row["n_samples"] for row in results], [2, 2])
            # The file says COMPLETED at the final checkpoint; the job then still prints its
            # summary and finalizes MPI before it leaves the queue.
            wait_for(lambda: job_state(launch["job_id"]) == "", 30, "the job to leave the queue")

    def test_a_batch_run_past_the_study_time_limit_ends_interrupted_unrequeued(self):
        # The operator's budget per run reaches the batch job (FRACSTUDY_TIME_LIMIT): the
        # run drains at it, and the script does not requeue a spent budget.
        with tempfile.TemporaryDirectory() as tmp:
            workspace = Path(tmp) / "ws"
            command = [BIN, "tool", "--workspace", str(workspace), "--launcher", "slurm",
                       "--sbatch-arg=--ntasks=2", "--study-time-limit", "3"]
            started = subprocess.run(
                command + ["run_parametric_study",
                           # 15 s of work or so for the one worker, five times the budget:
                           # 10 tasks (2.5 s in all) once completed inside it.
                           json.dumps({"algorithm": "DLA",
                                       "values": [100000, 99000, 98000, 97000, 96000, 95000],
                                       "repetitions": 10, "name": "budget"})],
                capture_output=True, text=True, env=ENV, timeout=60)
            self.assertEqual(started.returncode, 0, started.stdout + started.stderr)
            launch = json.loads((workspace / "budget" / "launch.json").read_text())
            wait_for(lambda: job_state(launch["job_id"]) == "", 180, "the job to end")
            status = json.loads(subprocess.run(
                command + ["check_study_status", json.dumps({"study_id": "budget"})],
                capture_output=True, text=True, env=ENV, timeout=60).stdout)
            self.assertEqual(status["status"], "INTERRUPTED", status)
            self.assertIn("time limit of 3 s", status["reason"])
            log = (workspace / "budget" / "run.log").read_text()
            self.assertNotIn("requeueing", log)

    def test_over_the_running_cap_studies_go_to_slurms_queue_at_their_priority(self):
        # With the slurm launcher the queue is Slurm's: each study is submitted at once,
        # its priority a --nice value, or what the operator names for it.
        with tempfile.TemporaryDirectory() as tmp:
            workspace = Path(tmp) / "ws"
            command = [BIN, "tool", "--workspace", str(workspace), "--launcher", "slurm",
                       "--sbatch-arg=--ntasks=2", "--max-running", "1", "--max-queued", "2",
                       "--priority-sbatch-arg", "high=--comment=urgent"]

            def tool(name, arguments):
                proc = subprocess.run(command + [name, json.dumps(arguments)],
                                      capture_output=True, text=True, env=ENV, timeout=60)
                return proc.returncode, json.loads(proc.stdout)

            jobs = {}
            for name, priority in [("normal", "normal"), ("later", "batch"), ("soon", "high")]:
                code, reply = tool("run_parametric_study", {"algorithm": "DLA", "values": [500],
                                                            "name": name, "priority": priority})
                self.assertEqual(code, 0, reply)
                self.assertTrue(reply["started"], reply)  # submitted at once
                launch = json.loads((workspace / name / "launch.json").read_text())
                jobs[name] = launch
            self.assertIn("--nice=100", jobs["normal"]["command"])
            self.assertIn("--nice=1000", jobs["later"]["command"])
            self.assertIn("--comment=urgent", jobs["soon"]["command"])
            self.assertFalse(any(arg.startswith("--nice") for arg in jobs["soon"]["command"]))
            nice = slurm("squeue", "-h", "-j", jobs["later"]["job_id"], "-o", "%y").stdout.strip()
            if nice:  # still in the queue: Slurm holds the nice value the priority asked for
                self.assertEqual(nice, "1000")
            for name, launch in jobs.items():
                wait_for(lambda: job_state(launch["job_id"]) == "", 180, f"{name} to end")
                code, status = tool("check_study_status", {"study_id": name})
                self.assertEqual(status["status"], "COMPLETED", status)


if __name__ == "__main__":
    unittest.main(verbosity=2)
