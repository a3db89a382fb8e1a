"""End-to-end tests of what a user sees: progress on stderr, saved clusters and the plots
of `fracstudy-plot`.

Run by ctest with Debian's /usr/bin/python3 (h5py, matplotlib). Environment: FRACSTUDY_BIN,
FRACSTUDY_PLOT (the plot script), MPIEXEC. Select a group with its class name.
"""
import importlib.machinery
import os
import shlex
import subprocess
import sys
import tempfile
import types
import unittest
from pathlib import Path

import h5py
import numpy as np

from fracstudy_e2e import BIN, MPIEXEC, MPI_ENV, TempDirTest, run

PLOT = os.environ["FRACSTUDY_PLOT"]

# About 4-5 s on one core: long enough for several progress updates.
SLOW = """\
seed: 8
execution:
  save_clusters: none
studies:
  - name: slow_dla
    algorithm: DLA
    base_parameters: {dimension: 2}
    variable_parameter: n_particles
    values: [20000, 40000]
    repetitions: 12
  - name: quick_eden
    algorithm: EDEN
    base_parameters: {dimension: 2, n_particles: 2000}
    repetitions: 20
"""

# One study of each kind the plots know: sweeps of two algorithms over the same
# parameter, a grid, a Monte Carlo ensemble; clusters saved in 2D and 3D.
KINDS = """\
seed: 31
execution:
  save_clusters: first
studies:
  - name: dla_sweep
    algorithm: DLA
    base_parameters: {dimension: 2}
    variable_parameter: n_particles
    values: [100, 300, 1000]
    repetitions: 4
  - name: ballistic_sweep
    algorithm: BALLISTIC
    base_parameters: {dimension: 2}
    variable_parameter: n_particles
    values: [100, 300, 1000]
    repetitions: 4
  - name: dla3d_grid
    algorithm: DLA
    base_parameters: {dimension: 3}
    grid:
      n_particles: [200, 400]
      sticking_probability: [0.3, 1.0]
    repetitions: 2
  - name: eden_ensemble
    algorithm: EDEN
    base_parameters: {dimension: 2, n_particles: 500}
    repetitions: 12
"""

ESCAPE = "\x1b["


class Progress(TempDirTest):
    def test_live_lines_are_redrawn_in_place_on_a_terminal(self):
        self.check_live_lines(launcher="")

    def test_live_lines_also_under_mpirun_on_a_terminal(self):
        # mpirun hands rank 0's stderr through a pipe; the terminal is mpirun's.
        self.check_live_lines(launcher=f"{shlex.quote(MPIEXEC)} -n 3 ")

    def check_live_lines(self, launcher):
        study = self.write("slow.yaml", SLOW)
        out = self.dir / "live.h5"
        # `script` gives the run a pseudo-terminal, as an interactive shell would.
        command = (f"{launcher}{shlex.quote(BIN)} run {shlex.quote(str(study))} "
                   f"-o {shlex.quote(str(out))}")
        typescript = self.dir / "typescript"
        proc = subprocess.run(["script", "-qec", command, str(typescript)], capture_output=True,
                              text=True, env=MPI_ENV, timeout=600)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        screen = typescript.read_text(encoding="utf-8", errors="replace")
        redraws = screen.count(f"{ESCAPE}2A")  # back up over the two study lines
        self.assertGreaterEqual(redraws, 2, screen[-2000:])
        # One line per study, with counts, rate and ETA; the last state says done.
        self.assertRegex(screen, r"slow_dla\s+\d+/24 \(\d+%\) [█░]{20}\s+\d+ failed\s+\d+ running\s+\S+ tasks/s\s+ETA")
        self.assertRegex(screen, r"quick_eden\s+20/20 \(100%\) █{20}.*ETA done")
        self.assertNotIn("fracstudy: progress", screen)  # no plain lines on a terminal

    def test_plain_lines_at_the_interval_in_a_pipe(self):
        study = self.write("slow.yaml", SLOW)
        proc = run(["run", str(study), "-o", str(self.dir / "pipe.h5"), "--progress-interval", "0.5"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertNotIn(ESCAPE, proc.stderr)
        lines = proc.stderr.splitlines()
        progress = [l for l in lines if l.startswith("fracstudy: progress after ")]
        end = [l for l in lines if l.startswith("fracstudy: end after ")]
        self.assertGreaterEqual(len(progress), 2, proc.stderr)
        self.assertEqual(len(end), 1, proc.stderr)
        self.assertIn("44/44 (100%)", end[0])
        self.assertIn("slow_dla 24/24", end[0])
        self.assertRegex(progress[0], r"all studies\s+\d+/44 \(\d+%\)\s+0 failed .* ETA (\d+[hms]|-)")

    def test_default_interval_is_30_s_so_a_short_run_prints_only_its_end(self):
        study = self.write("slow.yaml", SLOW)
        proc = run(["run", str(study), "-o", str(self.dir / "quiet30.h5")])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stderr.count("fracstudy: progress after"), 0, proc.stderr)
        self.assertEqual(proc.stderr.count("fracstudy: end after"), 1, proc.stderr)

    def test_quiet_prints_nothing_but_errors(self):
        study = self.write("slow.yaml", SLOW)
        proc = run(["run", str(study), "-o", str(self.dir / "q.h5"), "--quiet"], ranks=2)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, "")
        self.assertEqual(proc.stderr, "")
        proc = run(["run", str(study), "-o", str(self.dir / "q.h5"), "--quiet"])
        self.assertEqual(proc.returncode, 2)
        self.assertIn("already exists", proc.stderr)
        proc = run(["run", str(study), "-o", str(self.dir / "x.h5"), "--progress-interval", "0"])
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--progress-interval", proc.stderr)


def png_pixels(path):
    import matplotlib.image
    return matplotlib.image.imread(str(path))


class Plots(TempDirTest):
    @classmethod
    def setUpClass(cls):
        cls.shared = tempfile.TemporaryDirectory()
        cls.result = Path(cls.shared.name) / "kinds.h5"
        study = Path(cls.shared.name) / "kinds.yaml"
        study.write_text(KINDS)
        proc = run(["run", str(study), "-o", str(cls.result), "--quiet"], ranks=3)
        assert proc.returncode == 0, proc.stderr

    @classmethod
    def tearDownClass(cls):
        cls.shared.cleanup()

    def plot(self, *extra):
        out = self.dir / "figures"
        proc = subprocess.run(["/usr/bin/python3", PLOT, str(self.result), "-o", str(out), *extra],
                              capture_output=True, text=True, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return out, proc.stdout.split()

    def check_png(self, path, width, height):
        self.assertTrue(path.is_file(), path)
        pixels = png_pixels(path)
        self.assertEqual(pixels.shape[:2], (height, width), path)
        # Not blank: a figure with axes, marks and text has a spread of pixel values.
        self.assertGreater(float(np.std(pixels[..., :3])), 0.05, path)

    def test_every_kind_of_figure_is_drawn(self):
        out, written = self.plot("--format", "png,svg")
        for name in ("df_vs_n_particles", "rg_vs_n_dla_sweep", "rg_vs_n_ballistic_sweep",
                     "df_grid_dla3d_grid", "df_histogram_eden_ensemble"):
            self.check_png(out / f"{name}.png", 640, 480)
            self.assertTrue((out / f"{name}.svg").is_file())
        # save_clusters: first keeps one cluster per parameter point.
        for study, points in (("dla_sweep", 3), ("ballistic_sweep", 3), ("dla3d_grid", 4),
                              ("eden_ensemble", 1)):
            pictures = sorted(out.glob(f"cluster_{study}_*.png"))
            self.assertEqual(len(pictures), points, study)
            for picture in pictures:
                self.check_png(picture, 600, 600)
            # Each saved cluster's S(q) and M(r), with their windows and fitted slopes.
            curves = sorted(out.glob(f"estimators_{study}_*.png"))
            self.assertEqual(len(curves), points, study)
            for figure in curves:
                self.check_png(figure, 1100, 459)  # 11 x 4.6 inches at 100 dpi
            # The three estimators side by side per parameter point.
            self.assertTrue((out / f"estimators_{study}.png").is_file(), study)
        self.assertEqual(len(written), len(list(out.iterdir())))

    def test_the_sweep_figure_has_a_line_per_algorithm(self):
        out, _ = self.plot("--format", "svg", "--study", "dla_sweep", "--study", "ballistic_sweep")
        svg = (out / "df_vs_n_particles.svg").read_text()
        self.assertIn("DLA 2D (dla_sweep)", svg)
        self.assertIn("BALLISTIC 2D (ballistic_sweep)", svg)
        self.assertFalse((out / "df_grid_dla3d_grid.svg").exists())

    def test_a_cluster_file_is_drawn_and_a_large_one_as_a_density(self):
        # A cluster file of `simulate --save-cluster`: discs at 10^3 particles; at 2.5·10^5
        # (above the plot's 200,000) the density of centres, for which discs would be smaller
        # than a pixel. An Eden cluster is a compact disc, so its density picture must be a
        # filled round patch: coloured pixels (the colour map's; text, axes and background are
        # grey) fill about pi/4 of their bounding box, and that box is square.
        for n, size in ((1000, 600), (250000, 1000)):
            cluster = self.dir / f"eden{n}.h5"
            proc = run(["simulate", "--algorithm", "EDEN", "--dimension", "2", "--n-particles",
                        str(n), "--seed", "3", "--save-cluster", str(cluster)])
            self.assertEqual(proc.returncode, 0, proc.stderr)
            out = self.dir / "cluster_figures"
            proc = subprocess.run(["/usr/bin/python3", PLOT, str(cluster), "-o", str(out)],
                                  capture_output=True, text=True, timeout=300)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            picture = out / f"cluster_eden{n}.png"
            self.assertEqual(proc.stdout.split(), [str(picture)])
            self.check_png(picture, size, size)
        rgb = png_pixels(picture)[..., :3]
        drawing = rgb[:, : int(0.8 * size)]  # left of the colour bar
        coloured = (drawing.max(axis=2) - drawing.min(axis=2)) > 0.15
        rows, columns = np.nonzero(coloured)
        height, width = np.ptp(rows) + 1, np.ptp(columns) + 1
        self.assertGreater(min(height, width), 200)  # the patch spans much of the axes
        self.assertAlmostEqual(height / width, 1.0, delta=0.1)
        self.assertAlmostEqual(coloured.sum() / (height * width), np.pi / 4, delta=0.1)

    def test_a_file_that_is_not_a_result_is_refused(self):
        bogus = self.write("bogus.h5", "not hdf5")
        proc = subprocess.run(["/usr/bin/python3", PLOT, str(bogus)], capture_output=True, text=True)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("bogus.h5", proc.stderr)
        self.assertFalse((self.dir / "bogus_plots").exists())  # nothing made on bad input

    def test_bad_options_are_refused_in_one_line_and_nothing_is_made(self):
        # Each used to print a traceback, exit 0 or 1, draw fewer clusters, or make the folder.
        afile = self.write("afile", "")
        for extra, fragment in ((["-o", str(afile)], "is a file, not a folder"),
                                (["-o", "/proc/x/y"], "cannot make the folder"),
                                (["--study", "dla_sweep", "--study", "nope"], "no study named 'nope'"),
                                (["--max-clusters", "-1"], "--max-clusters"),
                                (["--metric", "nope", "-o", str(self.dir / "d")], "--metric")):
            with self.subTest(extra=extra):
                proc = subprocess.run(["/usr/bin/python3", PLOT, str(self.result), *extra],
                                      capture_output=True, text=True, timeout=120)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertIn(fragment, proc.stderr)
                self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
        self.assertEqual(sorted(p.name for p in self.dir.iterdir()), ["afile"])

    def test_rg_against_n_fits_each_point_of_the_other_parameters_apart(self):
        # A grid over N and the dimension was fitted as one line (df 2.05 from a 2D 1.89
        # and a 3D 2.24) under a title saying 2D; a single particle (Rg 0) made it NaN.
        # Here a grid over N and the sticking probability: one fit for each probability.
        loader = importlib.machinery.SourceFileLoader("fracstudy_plot", PLOT)
        plot = types.ModuleType(loader.name)
        loader.exec_module(plot)
        figures = []
        plot.save = lambda fig, *args: figures.append(fig)
        with h5py.File(self.result, "r") as f:
            study = plot.Study("dla3d_grid", f["studies"]["dla3d_grid"])
        study.tasks = np.concatenate([study.tasks, study.tasks[:1]])
        study.tasks["rg"][-1], study.tasks["n_particles"][-1] = 0.0, 1  # a single particle
        plot.rg_against_n(study, None, ["png"], [])
        labels = [t.get_text() for t in figures[0].axes[0].get_legend().get_texts()]
        fits = [label for label in labels if "fit" in label]
        self.assertEqual(len(fits), len(np.unique(study.tasks["sticking_probability"])), labels)
        self.assertTrue(all("nan" not in label for label in labels), labels)


class Clusters(TempDirTest):
    def cluster_study(self, save):
        return KINDS.replace("save_clusters: first", f"save_clusters: {save}")

    def test_a_saved_cluster_has_the_shape_and_the_rg_of_its_task(self):
        study = self.write("kinds.yaml", self.cluster_study("first"))
        out = self.dir / "c.h5"
        proc = run(["run", str(study), "-o", str(out), "--quiet"], ranks=2)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with h5py.File(out, "r") as f:
            for name, dimension in (("dla_sweep", 2), ("dla3d_grid", 3), ("eden_ensemble", 2)):
                tasks = f["studies"][name]["tasks"][()]
                clusters = f["studies"][name]["clusters"]
                self.assertEqual(sorted(int(k) for k in clusters),
                                 sorted(int(t) for t in tasks["task_id"][tasks["repetition"] == 0]))
                for key in clusters:
                    data = clusters[key]
                    row = tasks[tasks["task_id"] == int(key)][0]
                    self.assertEqual(data.dtype, np.float32)
                    self.assertEqual(data.shape, (row["n_particles"], dimension))
                    xyz = data[()].astype(float)
                    rg = np.sqrt(np.mean(np.sum((xyz - xyz.mean(axis=0)) ** 2, axis=1)))
                    # float32 positions: about 7 significant digits.
                    self.assertAlmostEqual(rg / row["rg"], 1.0, delta=1e-5)
                    self.assertEqual(int(data.attrs["n_particles"]), row["n_particles"])
                    self.assertEqual(int(data.attrs["seed"]), row["seed"])
                    self.assertEqual(float(data.attrs["df"]), row["df"])
                    self.check_structure_factor(data, xyz / float(data.attrs["particle_radius"]))

    def check_structure_factor(self, data, centres):
        """The stored S(q) - 1 is the Debye sum of the saved centres, on q Rg 0.1..1000."""
        q_rg = np.asarray(data.attrs["structure_factor_q_rg"], dtype=float)
        stored = np.asarray(data.attrs["structure_factor"], dtype=float)
        np.testing.assert_allclose(q_rg, 10.0 ** (np.arange(-10, 31) / 10), rtol=1e-6)
        self.assertEqual(stored.shape, q_rg.shape)
        n = len(centres)
        rg = np.sqrt(np.mean(np.sum((centres - centres.mean(axis=0)) ** 2, axis=1)))
        # NaN exactly past q a = 2, finite before.
        np.testing.assert_array_equal(np.isfinite(stored), q_rg / rg <= 2.0 * (1 + 1e-6))
        # Every pair (these clusters have at most 1000 particles), exact distances: the
        # kernel's bins of a/5 move S(q) by under 1 % up to q a = 2 (the sinc changes by
        # (q dr)^2 / 24 relative within a bin), or by 0.05 where S(q) - 1 crosses zero.
        i, j = np.triu_indices(n, 1)
        r = np.sqrt(np.sum((centres[i] - centres[j]) ** 2, axis=1))
        for k in np.flatnonzero(np.isfinite(stored))[::4]:
            q = q_rg[k] / rg
            debye = 2 * np.sum(np.sinc(q * r / np.pi)) / n
            self.assertAlmostEqual(stored[k], debye, delta=0.01 * abs(debye) + 0.05,
                                   msg=f"q Rg = {q_rg[k]}")
        # At q Rg = 0.1 the whole cluster scatters in phase: S(q) - 1 = N - 1 to 1 %.
        self.assertAlmostEqual(stored[0] / (n - 1), 1.0, delta=0.01)

    def test_none_saves_nothing_and_all_saves_every_task(self):
        for save, expected in (("none", 0), ("all", 12)):
            study = self.write(f"{save}.yaml", self.cluster_study(save))
            out = self.dir / f"{save}.h5"
            proc = run(["run", str(study), "-o", str(out), "--quiet"])
            self.assertEqual(proc.returncode, 0, proc.stderr)
            with h5py.File(out, "r") as f:
                group = f["studies/dla_sweep"]
                self.assertEqual(len(group["clusters"]) if "clusters" in group else 0, expected)

    def test_clusters_survive_a_resume_and_a_bad_value_is_refused(self):
        study = self.write("kinds.yaml", self.cluster_study("first"))
        out = self.dir / "r.h5"
        self.assertEqual(run(["run", str(study), "-o", str(out), "--quiet"]).returncode, 0)
        with h5py.File(out, "r") as f:
            before = f["studies/dla_sweep/clusters/0"][()]
            curve = f["studies/dla_sweep/clusters/0"].attrs["structure_factor"]
        proc = run(["run", str(study), "-o", str(out), "--resume", "--quiet"], ranks=2)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with h5py.File(out, "r") as f:
            np.testing.assert_array_equal(f["studies/dla_sweep/clusters/0"][()], before)
            np.testing.assert_array_equal(
                f["studies/dla_sweep/clusters/0"].attrs["structure_factor"], curve)
            self.assertEqual(len(f["studies/dla3d_grid/clusters"]), 4)
        bad = self.write("bad.yaml", self.cluster_study("some"))
        proc = run(["validate", str(bad)])
        self.assertEqual(proc.returncode, 2)
        self.assertRegex(proc.stderr, r"bad\.yaml:\d+: execution\.save_clusters: must be 'none', 'first'")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1] + sys.argv[1:])
