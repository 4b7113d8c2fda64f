"""``netdoctor run SCRIPT`` end to end: exit codes, one-line errors, faithful runs, findings with file:line.

The scripts in ``tests/run_scripts`` are small programs written for these
tests (the corpus of independently written user scripts is exercised by
``tests/test_run_scripts.py``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netdoctor.cli import main

HERE = Path(__file__).parent
SCRIPTS = HERE / "run_scripts"


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    full = dict(os.environ, NO_COLOR="1", COLUMNS="100", **(env or {}))
    return subprocess.run([sys.executable, "-m", "netdoctor.cli", *args], capture_output=True, text=True,
                          env=full, cwd=cwd, timeout=300)


def run_plain(script: Path, *args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    full = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, env=full, cwd=cwd, timeout=300)


def report_of(tmp_path: Path, script: Path, *args: str, env: dict | None = None,
              opts: tuple[str, ...] = ()) -> tuple[int, dict, subprocess.CompletedProcess]:
    out = tmp_path / "report.json"
    proc = run_cli("run", *opts, "--json", str(out), str(script), *args, env=env)
    return proc.returncode, json.loads(out.read_text()), proc


# -- could not start -------------------------------------------------------------------
def test_missing_script_is_one_line_and_exit_2(tmp_path):
    proc = run_cli("run", str(tmp_path / "nope.py"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"netdoctor: error: cannot run {tmp_path / 'nope.py'}: no such file"]


def test_syntax_error_names_the_line_and_exits_2(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import numpy\n\ndef f(:\n    pass\n")
    proc = run_cli("run", str(bad))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "line 3" in lines[0] and "SyntaxError" in lines[0] and str(bad) in lines[0]
    assert "Traceback" not in proc.stderr


# -- how the script ends ---------------------------------------------------------------
def test_script_without_network_says_nothing_was_observed_and_exits_3(tmp_path, capsys):
    script = tmp_path / "hello.py"
    script.write_text("import sys\ntotal = sum(range(10))\nprint('hello', total, sys.argv[1:])\n")
    code = main(["run", "--no-color", str(script), "a", "--b"])
    out = capsys.readouterr().out
    assert code == 3
    assert out.startswith("hello 45 ['a', '--b']\n")
    assert "nothing to observe" in out and "Not enough observed to judge: no network was found" in out
    assert "No problems found" not in out


def test_crash_shows_the_scripts_own_frames_then_the_report(tmp_path):
    script = tmp_path / "crash.py"
    script.write_text("def step(i):\n    if i == 3:\n        raise ValueError('bad row 3')\n\n"
                      "for i in range(5):\n    print('row', i)\n    step(i)\n")
    proc = run_cli("run", str(script))
    assert proc.returncode == 1
    assert proc.stdout.startswith("row 0\nrow 1\nrow 2\nrow 3\n") and "netdoctor run" in proc.stdout
    tb = proc.stderr
    assert "ValueError: bad row 3" in tb and f'File "{script}", line 3, in step' in tb
    assert "netdoctor" not in tb.replace(str(tmp_path), "")  # no frames of ours or of runpy


def test_sys_exit_zero_is_a_normal_end(tmp_path):
    script = tmp_path / "quits.py"
    script.write_text("import sys\nprint('done')\nsys.exit(0)\n")
    proc = run_cli("run", str(script))
    # ended as a script that runs to its end does: no network in it, so "not enough observed" (3), not a failure
    assert proc.returncode == 3 and proc.stdout.startswith("done\n") and "exited" not in proc.stderr


# -- faithful -----------------------------------------------------------------------------
FAITHFUL = """
import sys, numpy as np
np.random.seed(3)
W = np.random.randn(6, 4) * 0.1
rng = np.random.default_rng(5)
X = rng.normal(size=(40, 4)); y = (X[:, 0] > 0).astype(int)
for epoch in range(3):
    for i in range(0, 40, 8):
        out = np.tanh(X[i:i + 8] @ W.T)
        W -= 0.1 * (out.T @ X[i:i + 8]) / 8
    print(epoch, float(W.sum()), np.random.rand(), rng.random())
np.save(sys.argv[1], W)
print(__name__, sys.argv[1:], sys.path[0] == __import__('os').path.dirname(__file__))
"""


def test_run_is_faithful_same_output_same_random_numbers_same_files(tmp_path):
    script = tmp_path / "faithful.py"
    script.write_text(FAITHFUL)
    plain = run_plain(script, str(tmp_path / "plain.npy"))
    observed = run_cli("run", str(script), str(tmp_path / "observed.npy"))
    assert plain.returncode == 0, plain.stderr
    assert observed.returncode in (0, 1), observed.stderr
    assert observed.stdout.startswith(plain.stdout.replace("plain.npy", "observed.npy"))
    assert "__main__" in plain.stdout and "True" in plain.stdout.splitlines()[-1]
    assert (tmp_path / "plain.npy").read_bytes() == (tmp_path / "observed.npy").read_bytes()


# -- findings on small programs ------------------------------------------------------------
CASES = {
    "": set(),
    "labels": {"constant-targets", "class-collapse"},
    "alias": {"aliased-buffers", "stale-accumulator"},
    "summed": {"summed-gradient"},
}


@pytest.mark.parametrize("bugs", list(CASES), ids=[b or "healthy" for b in CASES])
def test_planted_bugs_are_named_with_lines_and_the_healthy_twin_is_quiet(tmp_path, bugs):
    code, report, proc = report_of(tmp_path, SCRIPTS / "percol.py", env={"BUGS": bugs})
    codes = {f["code"] for f in report["findings"]}
    assert CASES[bugs] <= codes, (codes, proc.stdout[-3000:])
    if not bugs:
        assert codes == set() and code == 0
    else:
        assert code == 1
        for f in report["findings"]:
            if f["code"] in CASES[bugs] - {"class-collapse"}:
                assert "percol.py:" in f["where"], f


def test_constant_targets_names_the_class_the_scaled_label_and_the_collapse(tmp_path):
    _, report, _ = report_of(tmp_path, SCRIPTS / "percol.py", env={"BUGS": "labels"})
    f = next(f for f in report["findings"] if f["code"] == "constant-targets")
    assert f["evidence"]["target_classes"] == {"0": f["evidence"]["samples"]}
    assert "divided by 255" in f["explanation"]
    collapse = next(g for g in report["findings"] if g["code"] == "class-collapse")
    assert "constant-targets" in collapse["caused_by"]
    assert report["findings"][0]["code"] == "constant-targets"


def test_max_updates_stops_the_script_early(tmp_path):
    code, report, proc = report_of(tmp_path, SCRIPTS / "percol.py", opts=("--max-updates", "5"))
    assert "epoch 1" not in proc.stdout  # stopped inside the first epoch
    assert any("--max-updates" in n for n in report["context"]["notes"])
    # 3 epochs of 600 samples, an update every 20: the run followed 5 of the program's 90 updates, too few to judge
    ctx = report["context"]
    assert ctx["updates_expected"] == 90 and ctx["training"].startswith("5 of 90 updates observed"), ctx
    assert any("only 5 of the 90 updates the program's loops make were observed" in n for n in ctx["notes"]), ctx
    assert code == 3 and report["verdict"].startswith("Not enough observed to judge: 5 of 90 updates observed"), report


def test_the_programs_own_update_count_is_read_from_its_loops(tmp_path):
    code, report, _ = report_of(tmp_path, SCRIPTS / "percol.py")
    ctx = report["context"]
    assert code == 0 and ctx["training"].startswith("90 of 90 updates observed"), ctx
    assert "enumerate(data, start=1) at " in ctx["loops"] and "one update every 20 iterations" in ctx["loops"], ctx


def _interruptible() -> None:
    """In the child before it runs: SIGINT at its default, whatever the test process inherited. A command started in
    the background by a shell without job control (`cmd &` in a script) ignores SIGINT, its children too, and Python
    then never turns Ctrl-C into KeyboardInterrupt: the interrupt tests failed that way, not by a lost signal."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_gives_the_partial_report_and_130(tmp_path):
    script = tmp_path / "forever.py"
    script.write_text("import numpy as np\nW = np.zeros((4, 4))\n\ndef step():\n    global W\n    W = W + 0.01\n\n"
                      "print('started', flush=True)\nwhile True:\n    step()\n")
    env = dict(os.environ, NO_COLOR="1")
    proc = subprocess.Popen([sys.executable, "-m", "netdoctor.cli", "run", str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, preexec_fn=_interruptible)
    assert proc.stdout.readline() == "started\n"
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # never acted on the interrupt: its loop runs forever, so it must not outlive the test
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "interrupted" in out and "partial" in out


# -- the Python entry point ----------------------------------------------------------------
def test_observing_context_manager_reports_on_the_block():
    import netdoctor

    sys.path.insert(0, str(SCRIPTS))
    try:
        import numpy as np

        os.environ["BUGS"] = "labels"
        import importlib

        import percol
        importlib.reload(percol)
        rng = np.random.default_rng(1)
        net = percol.Net([12, 16, 5], rng)
        data = percol.make_data(300, rng)
        with netdoctor.observing(net) as obs:
            net.train(data, 0.5)
            net.accuracy(data)
    finally:
        os.environ.pop("BUGS", None)
        sys.path.remove(str(SCRIPTS))
    assert "constant-targets" in obs.report.codes()
    assert obs.report.context["command"] == "netdoctor.observing"
