"""Plots: every figure drawn from real diagnoses, its data checked against the report it came from.

The numbers on the axes are read back from the matplotlib artists and compared
with the report's sections (the oracle is the report, not a stored picture).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from netdoctor.errors import InvalidArgument  # noqa: E402
from netdoctor.findings import Finding, Report  # noqa: E402
from netdoctor.monitor.callback import TrainingMonitor  # noqa: E402
from netdoctor.nn.mlp import MLP  # noqa: E402
from netdoctor.nn.training import train  # noqa: E402
from netdoctor.report import plots  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def blobs():
    """Ten well separated Gaussian blobs in 20 dimensions, scaled to [0, 1] (seeded)."""
    rng = np.random.default_rng(0)
    centres = rng.uniform(0.1, 0.9, (10, 20))
    y = rng.integers(0, 10, 600)
    X = np.clip(centres[y] + rng.normal(0, 0.05, (600, 20)), 0, 1)
    return X[:500], y[:500], X[500:], y[500:]


@pytest.fixture(scope="module")
def stalled(blobs):
    """A saturating configuration (N(0, 1) init, summed gradient, MSE) diagnosed, plus a monitor of it."""
    from netdoctor.diagnosis.pipeline import diagnose

    X, y, Xt, yt = blobs
    make = lambda: MLP((20, 30, 10), loss="mse", init="normal", reduce="sum", seed=0)  # noqa: E731
    report = diagnose(make(), X, y, X_test=Xt, y_test=yt, epochs=2, lr=0.1, batch_size=50, experiments=False)
    monitor = TrainingMonitor(X[:64], y[:64], every=1)
    with np.errstate(all="ignore"):
        train(make(), X, y, epochs=2, lr=0.1, batch_size=50, callbacks=[monitor])
    return report, monitor


def _lines(ax):
    return {line.get_label(): line for line in ax.get_lines()}


def test_history_plot_shows_the_reports_numbers(stalled):
    report, _ = stalled
    fig = plots.plot_history(report)
    ax_loss, ax_acc = fig.axes
    history = report.sections["history"]
    loss_line = ax_loss.get_lines()[0]
    np.testing.assert_allclose(loss_line.get_ydata(), [e["loss"] for e in history])
    np.testing.assert_allclose(loss_line.get_xdata(), [e["epoch"] for e in history])
    test = _lines(ax_acc)["test"]
    np.testing.assert_allclose(test.get_ydata(), [100 * e["test_accuracy"] for e in history])
    chance = _lines(ax_acc)["chance (10%)"]
    assert chance.get_ydata()[0] == pytest.approx(10.0)


def test_activation_histograms_over_training_show_saturation(stalled):
    _, monitor = stalled
    fig = plots.plot_activations(monitor=monitor)
    hist_ax, sat_ax = fig.axes[0], fig.axes[1]
    meshes = hist_ax.collections
    assert len(meshes) == len(monitor.probes)  # one column per probe
    last = monitor.probes[-1]["layers"][0]
    shares = np.asarray(meshes[-1].get_array()).ravel()
    np.testing.assert_allclose(shares, np.asarray(last["hist"]) / np.sum(last["hist"]))
    # Saturated tanh: the two outer bins (|a| > 0.8) hold most of the mass, as the line says.
    assert shares[0] + shares[-1] > 0.5
    sat = _lines(sat_ax)["saturated"]
    np.testing.assert_allclose(sat.get_ydata(), [100 * p["layers"][0]["saturation"] for p in monitor.probes])
    np.testing.assert_allclose(sat.get_xdata(), [p["step"] for p in monitor.probes])


def _without_probes(report):
    """The report as an older netdoctor wrote it: the last probe only, no probe series."""
    return Report(sections={k: v for k, v in report.sections.items() if k != "probes"})


def test_activation_plot_falls_back_to_the_last_probe_of_the_report(stalled):
    report, _ = stalled
    fig = plots.plot_activations(_without_probes(report))
    bars = fig.axes[0].patches
    hist = np.asarray(report.sections["layers"][0]["hist"], dtype=float)
    np.testing.assert_allclose([b.get_width() for b in bars], hist / hist.sum())
    assert "last probe" in fig.axes[0].get_title()


def test_report_plots_draw_the_probe_series_of_the_run(stalled):
    report, _ = stalled
    probes = report.sections["probes"]
    fig = plots.plot_activations(report)
    assert len(fig.axes[0].collections) == len(probes) > 1  # one histogram column per probe


def test_gradient_plot_matches_monitor_records(stalled):
    _, monitor = stalled
    fig = plots.plot_gradients(monitor=monitor)
    ax_g, ax_u = fig.axes[:2]
    w1 = _lines(ax_g)["W1"]
    expected = [(p["step"], p["grad_norms"]["W1"]) for p in monitor.probes if p["grad_norms"]["W1"] > 0]
    np.testing.assert_allclose(np.column_stack([w1.get_xdata(), w1.get_ydata()]), expected)
    upd = _lines(ax_u)["W2"]
    ratios = [(p["step"], p["update_ratios"]["W2"]) for p in monitor.probes if p["update_ratios"].get("W2")]
    np.testing.assert_allclose(np.column_stack([upd.get_xdata(), upd.get_ydata()]), ratios)
    assert ax_u.get_yscale() == "log" and ax_g.get_yscale() == "log"


def test_confusion_plot_writes_every_count(stalled):
    report, _ = stalled
    fig = plots.plot_confusion(report)
    ax = fig.axes[0]
    matrix = np.asarray(report.sections["confusion"]["matrix"])
    np.testing.assert_array_equal(np.asarray(ax.images[0].get_array()), matrix)
    texts = sorted(int(t.get_text()) for t in ax.texts)
    assert texts == sorted(matrix.ravel().tolist())


def test_gradcheck_plot_marks_planted_bug_red():
    from netdoctor.gradients import check_gradients

    class Broken:
        """The reference MLP with a planted bug: W1's gradient is 1.5 times too large."""

        def __init__(self):
            self.net = MLP((5, 4, 3), seed=0)
            self.params = self.net.params

        def loss(self, X, y):
            value, grads = self.net.loss(X, y)
            grads = dict(grads)
            grads["W1"] = 1.5 * grads["W1"]
            return value, grads

    rng = np.random.default_rng(1)
    X, y = rng.uniform(0, 1, (6, 5)), rng.integers(0, 3, 6)
    result = check_gradients(Broken(), X, y)
    assert not result.ok
    fig = plots.plot_gradcheck(result)
    ax = fig.axes[0]
    names = [t.get_text() for t in ax.get_xticklabels()]
    colors = {n: bar.get_facecolor()[:3] for n, bar in zip(names, ax.patches)}
    assert colors["W1"][0] > 0.7 and colors["W2"][1] > 0.4  # red vs green
    heights = {n: bar.get_height() for n, bar in zip(names, ax.patches)}
    by_name = {t.name: t for t in result.tensors}
    for n in names:
        assert heights[n] == pytest.approx(max(by_name[n].max_rel_error, 1e-17))


def test_report_plot_returns_every_figure_and_json_gives_the_same(stalled, tmp_path):
    report, monitor = stalled
    figs = report.plot()
    assert set(figs) == {"history", "activations", "gradients", "confusion", "gradcheck"}
    again = plots.plot_report(json.loads(report.to_json()))
    assert set(again) == set(figs)
    a = plots.plot_history(report).axes[0].get_lines()[0].get_ydata()
    b = plots.plot_history(json.loads(report.to_json())).axes[0].get_lines()[0].get_ydata()
    np.testing.assert_allclose(a, b)
    assert len(report.plot(monitor=monitor)["activations"].axes[0].collections) == len(monitor.probes)


def test_write_plots_creates_directory_and_png_files(stalled, tmp_path):
    report, _ = stalled
    target = tmp_path / "new" / "dir"
    paths = plots.write_plots(report, target, dpi=40)
    assert [p.name for p in paths] == ["history.png", "activations.png", "gradients.png", "confusion.png", "gradcheck.png"]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(os.listdir(target)) == sorted(p.name for p in paths)  # no temporary files left


def test_empty_report_plots_say_there_is_nothing():
    report = Report([Finding("x", "info", "here", "note")])
    assert plots.plot_report(report) == {}
    fig = plots.plot_history(report)
    assert "no training history" in fig.axes[0].texts[0].get_text()


def test_nan_and_json_strings_do_not_break_plots():
    sections = {"history": [{"epoch": 1, "loss": "nan", "train_accuracy": 0.1}, {"epoch": 2, "loss": 2.0, "train_accuracy": None}]}
    fig = plots.plot_history(sections)
    ys = fig.axes[0].get_lines()[0].get_ydata()
    assert math.isnan(ys[0]) and ys[1] == 2.0


@pytest.mark.parametrize("bad", [42, "report.json", None], ids=["plot_history(42)", "plot_history('report.json')", "plot_history(None)"])
def test_bad_sources_raise_invalid_argument(bad):
    with pytest.raises(InvalidArgument, match="pass a Report"):
        plots.plot_history(bad)


def test_missing_matplotlib_names_the_extra_and_cli_exits_2(tmp_path):
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "from netdoctor.report import plots\n"
        "from netdoctor.findings import Report\n"
        "try:\n    plots.plot_history(Report())\n"
        "except ImportError as e:\n    print(type(e).__name__, e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert "MissingExtra" in out and "pip install 'netdoctor[notebook]'" in out
    rng = np.random.default_rng(0)
    rows = np.column_stack([np.arange(60) % 3, rng.integers(0, 256, (60, 8))])
    data = tmp_path / "tiny.csv"
    np.savetxt(data, rows, fmt="%d", delimiter=",")
    cli = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "from netdoctor.cli import main\n"
        f"sys.exit(main(['check', {str(data)!r}, '--epochs', '1', '--quick', '--no-gradcheck', '--hidden', '4',"
        f" '--plots', {str(tmp_path / 'png')!r}]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", cli], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    assert "pip install 'netdoctor[notebook]'" in proc.stderr and "Traceback" not in proc.stderr


def test_module_main_plots_a_saved_json_report(stalled, tmp_path):
    report, _ = stalled
    saved = tmp_path / "report.json"
    saved.write_text(Report(sections={"confusion": report.sections["confusion"]}).to_json())
    proc = subprocess.run([sys.executable, "-m", "netdoctor.report.plots", str(saved), str(tmp_path / "png")],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "png" / "confusion.png").exists()
    bad = subprocess.run([sys.executable, "-m", "netdoctor.report.plots", str(tmp_path / "missing.json"), str(tmp_path)],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "missing.json" in bad.stderr and "Traceback" not in bad.stderr


def test_compact_probes_in_the_report_draw_the_same_curves_as_the_monitor(stalled):
    report, monitor = stalled
    sections = dict(report.sections, probes=plots.compact_probes(monitor.probes))
    data = json.loads(json.dumps(Report(sections=sections).to_dict()))  # survives JSON
    a = plots.plot_activations(monitor=monitor).axes[1].get_lines()[0].get_ydata()
    b = plots.plot_activations(data).axes[1].get_lines()[0].get_ydata()
    np.testing.assert_allclose(a, b)
    ga = _lines(plots.plot_gradients(monitor=monitor).axes[1])["W1"].get_ydata()
    gb = _lines(plots.plot_gradients(data).axes[1])["W1"].get_ydata()
    np.testing.assert_allclose(ga, gb)


@pytest.mark.parametrize("monitor", [42, "probes"], ids=["plot_activations(monitor=42)", "plot_activations(monitor='probes')"])
def test_bad_monitor_raises_invalid_argument(monitor):
    with pytest.raises(InvalidArgument, match="no probe records"):
        plots.plot_activations(monitor=monitor)


def test_gradient_plot_falls_back_to_bars_of_the_last_probe(stalled):
    report, _ = stalled
    fig = plots.plot_gradients(_without_probes(report))
    ax_g, ax_u = fig.axes[:2]
    rows = report.sections["layers"]
    assert [t.get_text() for t in ax_g.get_xticklabels()] == ["W1", "W2"]
    np.testing.assert_allclose([b.get_height() for b in ax_g.patches], [r["grad_norm"] for r in rows])
    bars = [p for p in ax_u.patches if p.get_label() != "healthy 0.1-3%"]
    np.testing.assert_allclose([b.get_height() for b in bars], [r["update_ratio"] for r in rows])
