"""Notebook support: the example notebook runs in a real Jupyter kernel, the live view
updates one output in place, and findings/gradient checks render as HTML.

Kernels are real (``jupyter_client``/``nbclient`` with the ``python3`` kernel);
the only thing set for them is ``PYTHONPATH`` so a checkout works uninstalled.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
jupyter_client = pytest.importorskip("jupyter_client")
pytest.importorskip("IPython")
pytest.importorskip("matplotlib")

from netdoctor.errors import InvalidArgument  # noqa: E402
from netdoctor.findings import Finding  # noqa: E402
from netdoctor.nn.mlp import MLP  # noqa: E402
from netdoctor.nn.training import train  # noqa: E402
from netdoctor.notebook import LiveView, to_html, watch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "diagnose_mnist.ipynb"


@pytest.fixture()
def kernel_env(monkeypatch):
    """Kernels inherit the environment: make the checkout importable, keep the kernel quiet."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")


def _outputs(cell):
    return [o for o in cell.get("outputs", [])]


def _text(cell) -> str:
    return "\n".join(o.get("data", {}).get("text/plain", "") + o.get("text", "") for o in _outputs(cell))


def _html(cell) -> str:
    return "\n".join(o.get("data", {}).get("text/html", "") for o in _outputs(cell))


@pytest.mark.slow
def test_example_notebook_runs_in_a_real_kernel(kernel_env):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # Working directory examples/, as when a user opens the notebook there. The
    # per-cell timeout only guards against a hang (no timing assertion: a busy
    # machine may take minutes); bench/ is where speed is measured.
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=600,
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in _outputs(c) if o.output_type == "error"]
    assert not errors
    by_source = {c.source.splitlines()[-1]: c for c in code}
    stalled = _html(by_source["report"])
    assert "summed-gradient" in stalled and "saturated-activations" in stalled, _text(by_source["report"])
    healthy = _html(by_source["healthy_report"])
    assert "No problems found." in healthy, _text(by_source["healthy_report"])
    user = _html(by_source["user_report"])
    assert "aliased-buffers" in user, _text(by_source["user_report"])
    # Each watched run is one output, finished, not one output per step.
    live = [o for c in code for o in _outputs(c) if "netdoctor-live" in o.get("data", {}).get("text/html", "")]
    assert len(live) == 3 and all("(done)" in o["data"]["text/html"] for o in live), [o["data"]["text/plain"] for o in live]
    pngs = [o for c in code for o in _outputs(c) if "image/png" in o.get("data", {})]
    assert len(pngs) >= 8  # five for the stalled run, the healthy run's, the gradient check


def test_committed_notebook_has_no_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.fixture(scope="module")
def kernel():
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    km, kc = jupyter_client.manager.start_new_kernel(kernel_name="python3", cwd=str(ROOT), env=env)
    try:
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def _run(kc, code: str) -> list[dict]:
    messages: list[dict] = []
    reply = kc.execute_interactive(code, timeout=120, output_hook=messages.append)
    assert reply["content"]["status"] == "ok", reply["content"]
    return messages


def test_live_view_updates_one_output_in_place_and_throttles(kernel):
    code = """
import time, numpy as np
from netdoctor.nn.mlp import MLP
from netdoctor.nn.training import train
from netdoctor.notebook import watch

class Slow:  # each step takes ~4 ms, so 300 steps last >= 1.2 s
    def on_step(self, *args):
        time.sleep(0.004)

rng = np.random.default_rng(0)
X, y = rng.uniform(0, 1, (600, 12)), rng.integers(0, 3, 600)
view = watch(X_probe=X[:32], y_probe=y[:32], interval=0.25, points=10)
started = time.perf_counter()
train(MLP((12, 8, 3), seed=0), X, y, epochs=2, batch_size=4, callbacks=[view, Slow()])
seconds = time.perf_counter() - started
"""
    messages = _run(kernel, code)
    kinds = [m["msg_type"] for m in messages]
    assert kinds.count("display_data") == 1, kinds
    assert "stream" not in kinds and "error" not in kinds
    display_id = messages[kinds.index("display_data")]["content"]["transient"]["display_id"]
    updates = [m for m in messages if m["msg_type"] == "update_display_data"]
    assert {u["content"]["transient"]["display_id"] for u in updates} == {display_id}
    seconds = float(_run_value(kernel, "seconds"))
    # At most one redraw per interval, plus one per epoch and the final one; 300 steps, not 300 updates.
    assert 3 <= len(updates) <= seconds / 0.25 + 2 + 1 + 1, (len(updates), seconds)
    final = updates[-1]["content"]["data"]["text/html"]
    assert "(done)" in final and "step 300/300" in final and "1 hidden" in final
    assert int(_run_value(kernel, "view.updates")) == len(updates) + 1


def _run_value(kc, expr: str) -> str:
    msgs = _run(kc, expr)
    result = [m for m in msgs if m["msg_type"] == "execute_result"]
    return result[-1]["content"]["data"]["text/plain"]


def test_enable_renders_findings_gradchecks_and_figures_in_the_kernel(kernel):
    code = """
import numpy as np
from netdoctor.notebook import enable
from netdoctor.findings import Finding
from netdoctor.gradients import check_gradients
from netdoctor.nn.mlp import MLP
from matplotlib.figure import Figure
enable()
rng = np.random.default_rng(0)
display(Finding("summed-gradient", "warning", "train_step", "each step is 100x lr", {"lr_factor": 100}, fix="divide by 100"))
display(check_gradients(MLP((4, 3, 2), seed=0), rng.uniform(0, 1, (5, 4)), rng.integers(0, 2, 5)))
fig = Figure(); fig.add_subplot().plot([1, 2]); display(fig)
"""
    shown = [m["content"]["data"] for m in _run(kernel, code) if m["msg_type"] == "display_data"]
    assert "summed-gradient" in shown[0]["text/html"] and "lr_factor 100" in " ".join(_words(shown[0]["text/html"]))
    assert "W1" in shown[1]["text/html"] and "b2" in shown[1]["text/html"]
    assert "image/png" in shown[2]


# -- in process: what the view records, HTML, argument checks -----------------------------
def test_view_records_the_monitor_numbers_without_display():
    rng = np.random.default_rng(0)
    X, y = rng.uniform(0, 1, (200, 6)), rng.integers(0, 3, 200)
    view = watch(X_probe=X[:20], y_probe=y[:20], points=5, display=False)
    history = train(MLP((6, 5, 3), seed=0), X, y, epochs=2, batch_size=10, callbacks=[view])
    status = view.status()
    assert status["step"] == status["total_steps"] == 40 and status["finished"]
    assert [e["loss"] for e in status["history"]] == history.loss
    last = view.probes[-1]
    assert status["layers"][0]["saturation"] == last["layers"][0]["saturation"]
    assert status["layers"][0]["grad_norm"] == last["grad_norms"]["W1"]
    steps = [p["step"] for p in view.probes]
    assert steps[0] == 0 and steps[-1] == 40 and len(steps) >= 5
    assert view.updates == 0  # display=False: nothing drawn
    assert "step 40/40" in repr(view) and "<table>" in view._repr_html_()


def test_view_survives_a_diverging_network_and_keeps_its_records():
    rng = np.random.default_rng(0)
    X, y = rng.uniform(0, 1, (100, 6)), rng.integers(0, 3, 100)
    view = watch(X_probe=X[:10], y_probe=y[:10], points=50, display=False)
    with np.errstate(all="ignore"):
        history = train(MLP((6, 5, 3), activation="identity", loss="mse", seed=0), X, y,
                        epochs=3, lr=10, batch_size=10, callbacks=[view])
    assert not history.interrupted and history.steps == 30  # the view never stops the user's training
    assert "probing stopped" in view.status()["note"]
    assert view.probes


def test_finding_html_has_the_same_content_as_the_terminal_and_escapes():
    f = Finding("constant-output", "error", "layer <2>", "same output for every input", {"spread": 5.45e-06},
                fix="fix the causes", caused_by=("vanishing-gradients",), explanation="units are saturated")
    page = to_html(f)
    words = " ".join(_words(page))
    for part in ("ERROR", "constant-output", "layer <2>", "spread 5.45e-06", "fix the causes",
                 "vanishing-gradients", "units are saturated"):
        assert part in words
    assert "<2>" not in page and "layer &lt;2&gt;" in page
    assert page == f._repr_html_() == f._repr_mimebundle_()["text/html"]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: watch(interval=-1), "interval=-1"),
        (lambda: watch(interval=float("nan")), "interval=nan"),
        (lambda: watch(points=0), "points=0"),
        (lambda: watch(X_probe=np.zeros((2, 2))), "X_probe and y_probe together"),
        (lambda: to_html(42), "not a int"),
    ],
    ids=["watch(interval=-1)", "watch(interval=nan)", "watch(points=0)", "watch(X_probe only)", "to_html(42)"],
)
def test_bad_calls_raise_invalid_argument(call, message):
    with pytest.raises(InvalidArgument, match=message.replace("(", r"\(")):
        call()


def test_missing_ipython_names_the_extra(tmp_path):
    import subprocess
    import sys

    code = ("import sys; sys.modules['IPython'] = None\n"
            "from netdoctor.notebook import watch\n"
            "try:\n    watch()\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert "IPython" in out and "pip install 'netdoctor[notebook]'" in out


def test_live_view_is_the_class_watch_returns():
    assert isinstance(watch(display=False), LiveView)
    assert json.dumps(watch(display=False).status())  # plain data


def _words(page: str) -> list[str]:
    import html as _html

    body = re.sub(r"<style.*?</style>|<title.*?</title>", " ", page, flags=re.S)
    return _html.unescape(re.sub(r"<[^>]+>", " ", body)).split()


def test_report_html_in_a_notebook_has_the_terminal_content():
    """The notebook shows the report's findings in the terminal's order, with the same numbers and tables."""
    from netdoctor.findings import Report

    report = Report(
        [Finding("saturated-activations", "error", "layer 1 (tanh)", "90% of the activations sit at +-1", {"saturation": 0.9},
                 fix="lower the learning rate", caused_by=("summed-gradient",)),
         Finding("summed-gradient", "warning", "train_step", "each step is 100x lr", {"lr_factor": 100.0})],
        context={"model": "MLP(784-30-10)", "seed": 0},
        sections={"history": [{"epoch": 1, "loss": 2.35, "train_accuracy": 0.14}, {"epoch": 2, "loss": 2.0, "train_accuracy": 0.13}],
                  "confusion": {"labels": [0, 1], "matrix": [[3, 1], [0, 4]], "on": "test data"}},
    )
    terminal = report.to_text(width=100)
    page = to_html(report)
    assert page == report._repr_html_() and page.startswith('<div class="nd">')
    codes = re.findall(r'data-code="([^"]+)"', page)
    assert codes == report.codes() == sorted(codes, key=terminal.index)  # same order as the terminal
    words = " ".join(_words(page))
    for part in (report.verdict(), "MLP(784-30-10)", "saturation 0.9", "lr_factor 100", "2.35", "14.0%", "13.0%"):
        assert part in words and part.split()[-1] in terminal
    assert page.count("<table") >= 4  # settings, two evidence tables, history, confusion matrix


def test_a_reused_view_starts_afresh():
    rng = np.random.default_rng(0)
    X, y = rng.uniform(0, 1, (60, 4)), rng.integers(0, 2, 60)
    view = watch(X_probe=X[:8], y_probe=y[:8], display=False)
    train(MLP((4, 3, 2), seed=0), X, y, epochs=2, batch_size=20, callbacks=[view])
    first = len(view.probes)
    train(MLP((4, 3, 2), seed=1), X, y, epochs=1, batch_size=20, callbacks=[view])
    status = view.status()
    assert len(status["history"]) == 1 and status["step"] == status["total_steps"] == 3
    assert len(view.probes) < first and view.probes[0]["step"] == 0
