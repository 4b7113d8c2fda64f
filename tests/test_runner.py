"""``netdoctor run`` next to plain ``python``: the same program, the same output, status, files; a report that tells the truth.

Each test writes a small program, runs it with ``python`` and with
``netdoctor run``, and compares what a user (or CI) sees: stdout up to the
report, stderr, the exit status and the files written.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


def _env() -> dict[str, str]:
    return dict(os.environ, NO_COLOR="1", COLUMNS="100")


# The installed command, as a user types it: `python -m netdoctor.cli` would put the user's folder (the
# working directory) first on netdoctor's own import path, which the command never does.
_COMMAND = Path(sys.executable).with_name("netdoctor" + (".exe" if os.name == "nt" else ""))
NETDOCTOR = [str(_COMMAND)] if _COMMAND.exists() else [sys.executable, "-m", "netdoctor.cli"]


def plain(cwd: Path, *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *argv], capture_output=True, text=True, cwd=cwd, env=_env(),
                          timeout=120, input=stdin)


NOTHING_OBSERVED = 3
"""The exit status of a script that ended without training anything netdoctor could observe (docs/run.md)."""


def netdoctor(cwd: Path, *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*NETDOCTOR, "run", *argv], capture_output=True, text=True,
                          cwd=cwd, env=_env(), timeout=120, input=stdin)


def script(folder: Path, name: str, text: str) -> str:
    (folder / name).write_text(text)
    return name


# -- being python ------------------------------------------------------------------------------
def test_script_arguments_are_kept_verbatim_a_leading_double_dash_included(tmp_path):
    name = script(tmp_path, "args.py", "import sys\nprint(sys.argv)\n")
    argv = [name, "--", "x", "--json", "y", "-m"]
    want, got = plain(tmp_path, *argv), netdoctor(tmp_path, *argv)
    assert want.stdout == "['args.py', '--', 'x', '--json', 'y', '-m']\n"
    # exit 3: a script that trains nothing ends as "not enough observed to judge" (docs/run.md, exit codes)
    assert got.stdout.startswith(want.stdout) and want.returncode == 0 and got.returncode == NOTHING_OBSERVED


def test_main_sees_builtins_as_a_module_and_a_fresh_namespace(tmp_path):
    name = script(tmp_path, "b.py", "__builtins__.print(type(__builtins__).__name__, __name__, __package__, __spec__)\n")
    want, got = plain(tmp_path, name), netdoctor(tmp_path, name)
    assert want.stdout == "module __main__ None None\n"
    assert got.stdout.startswith(want.stdout), got.stderr


def test_a_latin1_file_with_a_coding_line_runs(tmp_path):
    (tmp_path / "lat.py").write_bytes(b"# -*- coding: latin-1 -*-\nprint('caf\xe9', len('\xe9\xe8'))\n")
    want, got = plain(tmp_path, "lat.py"), netdoctor(tmp_path, "lat.py")
    assert want.stdout == "café 2\n" and got.stdout.startswith(want.stdout), got.stderr


def test_a_folder_with_main_runs_as_python_runs_it(tmp_path):
    (tmp_path / "app").mkdir()
    script(tmp_path / "app", "__main__.py", "import sys, helper\nprint(__name__, helper.X, sys.argv, sys.path[0], __file__)\n")
    script(tmp_path / "app", "helper.py", "X = 5\n")
    want, got = plain(tmp_path, "app", "a", "--", "b"), netdoctor(tmp_path, "app", "a", "--", "b")
    assert want.returncode == 0 and want.stdout.startswith("__main__ 5 ['app', 'a', '--', 'b'] ")
    assert got.stdout.startswith(want.stdout), got.stderr


def test_dash_m_runs_a_module_with_relative_imports(tmp_path):
    (tmp_path / "proj").mkdir()
    script(tmp_path / "proj", "__init__.py", "")
    script(tmp_path / "proj", "helper.py", "X = 7\n")
    script(tmp_path / "proj", "train.py", "import sys\nfrom .helper import X\nprint(__name__, __package__, X, sys.argv[1:])\n")
    want, got = plain(tmp_path, "-m", "proj.train", "-v", "--"), netdoctor(tmp_path, "-m", "proj.train", "-v", "--")
    assert want.stdout == "__main__ proj 7 ['-v', '--']\n"
    assert got.stdout.startswith(want.stdout), got.stderr
    missing = netdoctor(tmp_path, "-m", "proj.nope")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "proj.nope" in missing.stderr


def test_a_raised_keyboard_interrupt_prints_its_traceback_as_python_does(tmp_path):
    name = script(tmp_path, "ki.py", "def stop():\n    raise KeyboardInterrupt\n\nprint('before')\nstop()\n")
    want, got = plain(tmp_path, name), netdoctor(tmp_path, name)
    assert want.stderr.startswith("Traceback") and want.stderr.rstrip().endswith("KeyboardInterrupt")
    assert got.stderr == want.stderr
    assert got.returncode == 130 and want.returncode in (-2, 130)  # python kills itself with SIGINT: a shell shows 130
    assert "KeyboardInterrupt at ki.py:2" in got.stdout


# -- the script's fate, in every medium ----------------------------------------------------------
TRAINS_THEN = """
import sys
import numpy as np
rng = np.random.default_rng(0)
X = rng.normal(size=(64, 5)); y = (X[:, 0] > 0).astype(int)
W = rng.normal(0, 0.3, (2, 5))

def step(W, xb, yb):
    P = np.exp(xb @ W.T); P /= P.sum(axis=1, keepdims=True)
    W -= 0.1 * (P - np.eye(2)[yb]).T @ xb / len(xb)
    return P

for epoch in range(3):
    for i in range(0, 64, 16):
        step(W, X[i:i + 16], y[i:i + 16])
print('trained')
END
"""


@pytest.mark.parametrize("end, status, fate", [
    ("raise ValueError('bad row 7\\nsecond line')", 1, "raised ValueError: bad row 7 (fails.py:{line})"),
    ("sys.exit(3)", 3, "exited with status 3 (fails.py:{line})"),
], ids=["raises", "sys-exit-3"])
def test_a_failed_script_is_said_so_in_the_terminal_json_and_html_with_its_status(tmp_path, end, status, fate):
    source = TRAINS_THEN.replace("END", end)
    name = script(tmp_path, "fails.py", source)
    fate = fate.format(line=source.splitlines().index(end) + 1)
    want = plain(tmp_path, name)
    got = netdoctor(tmp_path, "--json", "r.json", "--html", "r.html", name)
    assert want.returncode == got.returncode == status
    assert got.stderr == want.stderr  # the traceback (or nothing) exactly as python prints it
    assert got.stdout.startswith(want.stdout)
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["ok"] is False and report["failed"] == fate
    assert report["verdict"].startswith(f"The script {fate}")
    assert report["context"]["command"] == f"netdoctor run --json r.json --html r.html {name}"
    text = " ".join(got.stdout.split())
    assert f"The script {fate}" in text and "No problems found" not in got.stdout
    page = (tmp_path / "r.html").read_text()
    assert fate.split(" (")[0].replace("'", "&#x27;") in page and "No problems found" not in page
    assert all(w in page for w in ("--json", "r.json", "--html", "r.html", name))


def test_a_script_that_ends_well_is_not_called_failed(tmp_path):
    name = script(tmp_path, "ok.py", TRAINS_THEN.replace("END", "sys.exit(0)"))
    got = netdoctor(tmp_path, "--json", "r.json", name)
    report = json.loads((tmp_path / "r.json").read_text())
    # 0, or 3 while the NumPy observer does not find this module-level loop's network (then it says so)
    assert got.returncode in (0, NOTHING_OBSERVED) and report["failed"] == "" and report["ok"] is True, got.stdout


# -- writing where it must not -------------------------------------------------------------------
MARKS_RUN = "open('ran.txt', 'w').write('ran')\nprint('ran')\n"


def test_json_over_a_file_that_is_not_a_report_is_refused_before_the_script_runs(tmp_path):
    victim = tmp_path / "victim.py"
    victim.write_text("print('precious')\n")
    name = script(tmp_path, "train.py", MARKS_RUN)
    got = netdoctor(tmp_path, "--json", "victim.py", name)
    assert got.returncode == 2 and got.stdout == ""
    assert got.stderr.count("\n") == 1 and "victim.py" in got.stderr and "Traceback" not in got.stderr
    assert victim.read_text() == "print('precious')\n" and not (tmp_path / "ran.txt").exists()
    html = netdoctor(tmp_path, "--html", "victim.py", name)
    assert html.returncode == 2 and victim.read_text() == "print('precious')\n"


def test_a_previous_report_is_replaced(tmp_path):
    name = script(tmp_path, "train.py", MARKS_RUN)
    for _ in range(2):
        got = netdoctor(tmp_path, "--json", "r.json", "--html", "r.html", name)
        assert got.returncode == NOTHING_OBSERVED, got.stderr
    assert json.loads((tmp_path / "r.json").read_text())["schema_version"] == 1


@pytest.mark.parametrize("flag", ["--json", "--html"])
def test_an_output_in_a_missing_folder_fails_at_once_in_one_line(tmp_path, flag):
    name = script(tmp_path, "train.py", MARKS_RUN)
    got = netdoctor(tmp_path, flag, str(tmp_path / "no-such-dir" / "x.out"), name)
    assert got.returncode == 2 and got.stdout == "" and not (tmp_path / "ran.txt").exists()
    lines = got.stderr.splitlines()
    assert len(lines) == 1 and "no-such-dir" in lines[0] and ".tmp" not in lines[0]


def test_a_file_that_cannot_be_written_at_the_end_never_costs_the_terminal_report(tmp_path):
    (tmp_path / "out").mkdir()
    name = script(tmp_path, "cleans.py", "import shutil\nshutil.rmtree('out')\nprint('cleaned')\n")
    got = netdoctor(tmp_path, "--json", "out/r.json", name)
    assert got.returncode == 2
    assert got.stdout.startswith("cleaned\n") and "verdict" in got.stdout
    assert got.stderr.splitlines()[-1].startswith("netdoctor: error: cannot write --json out/r.json")


def test_json_to_dev_null_leaves_dev_null_a_device(tmp_path):
    import stat

    before = os.stat(os.devnull)
    name = script(tmp_path, "train.py", MARKS_RUN)
    got = netdoctor(tmp_path, "--json", os.devnull, name)
    after = os.stat(os.devnull)
    assert got.returncode == NOTHING_OBSERVED, got.stderr
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino


def test_a_script_that_rebinds_stdout_keeps_its_log_and_the_report_reaches_the_terminal(tmp_path):
    name = script(tmp_path, "logs.py", "import sys\nprint('to terminal')\nsys.stdout = open('log.txt', 'w')\n"
                                       "print('to log')\n")
    want = plain(tmp_path, name)
    log = (tmp_path / "log.txt").read_text()
    got = netdoctor(tmp_path, name)
    assert (tmp_path / "log.txt").read_text() == log == "to log\n"
    assert got.stdout.startswith(want.stdout) and "verdict" in got.stdout and got.stderr == want.stderr


def test_a_script_that_closes_stdout_gets_its_report_and_no_traceback(tmp_path):
    name = script(tmp_path, "closes.py", "import sys\nprint('bye')\nsys.stdout.close()\n")
    want, got = plain(tmp_path, name), netdoctor(tmp_path, name)
    assert want.returncode == 0 and got.returncode == NOTHING_OBSERVED
    assert got.stderr == want.stderr == ""
    assert got.stdout.startswith("bye\n") and "verdict" in got.stdout


@pytest.mark.parametrize("helper", ["html", "json", "rich"])
def test_a_helper_module_named_like_a_library_does_not_break_the_report(tmp_path, helper):
    script(tmp_path, f"{helper}.py", "MINE = 'the user\\'s own'\n")
    name = script(tmp_path, "uses.py", f"import {helper}\nprint({helper}.MINE)\n")
    want = plain(tmp_path, name)
    got = netdoctor(tmp_path, "--html", "r.html", "--json", "r.json", name)
    assert want.stdout == "the user's own\n" and got.stdout.startswith(want.stdout)
    assert got.returncode == NOTHING_OBSERVED and "Traceback" not in got.stderr, got.stderr
    assert (tmp_path / "r.html").read_text().lower().startswith("<!doctype html")
    assert json.loads((tmp_path / "r.json").read_text())["ok"] is True


TRAINS = """import numpy as np
rng = np.random.default_rng(0)
X, y = rng.normal(size=(256, 20)), rng.integers(0, 4, 256)
W1, b1, W2, b2 = rng.normal(0, 0.3, (20, 16)), np.zeros(16), rng.normal(0, 0.3, (16, 4)), np.zeros(4)


def forward(x):
    h = np.tanh(x @ W1 + b1)
    z = h @ W2 + b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return h, e / e.sum(axis=1, keepdims=True)


def backward(x, t, h, p):
    d = (p - np.eye(4)[t]) / len(x)
    dh = (d @ W2.T) * (1 - h ** 2)
    return x.T @ dh, dh.sum(axis=0), h.T @ d, d.sum(axis=0)


for epoch in range(10):
    for i in range(0, 256, 32):
        x, t = X[i:i + 32], y[i:i + 32]
        h, p = forward(x)
        for P, G in zip((W1, b1, W2, b2), backward(x, t, h, p)):
            P -= 0.5 * G
print("trained")
"""
"""A small batched NumPy program: 80 updates of a 20-16-4 tanh network."""


def test_a_script_beside_a_copy_of_netdoctor_is_watched_by_the_running_netdoctor_alone(tmp_path):
    # a script in a folder that holds a netdoctor package (the root of a checkout): the observer's own imports while
    # the program runs must not come from that copy, which would run as the program's code (traced and watched)
    beside, alone = tmp_path / "checkout", tmp_path / "alone"
    (beside / "netdoctor").mkdir(parents=True)
    alone.mkdir()
    (beside / "netdoctor" / "__init__.py").write_text(
        "import pathlib\npathlib.Path(__file__).with_name('IMPORTED').write_text('yes')\n"
        "raise ImportError('the copy beside the script was imported')\n")
    reports = []
    for folder in (beside, alone):
        name = script(folder, "train.py", TRAINS)
        want = plain(folder, name)
        got = netdoctor(folder, "--json", "r.json", name)
        assert want.stdout == "trained\n" and got.stdout.startswith(want.stdout), got.stdout
        assert got.stderr == want.stderr == "", got.stderr
        reports.append(json.loads((folder / "r.json").read_text()))
    assert not (beside / "netdoctor" / "IMPORTED").exists()
    context = [{k: v for k, v in r["context"].items() if k not in ("command", "seconds", "observer_seconds")} for r in reports]
    for c in context:  # the update check's note ends in the CPU time it took
        c["notes"] = [re.sub(r"[\d.]+ s of CPU\)$", "s of CPU)", note) for note in c.get("notes", [])]
    assert context[0]["updates_observed"] == 80, context[0]
    assert not any("stopped early" in note for note in context[0].get("notes", [])), context[0]["notes"]
    assert context[0] == context[1]
    assert reports[0]["findings"] == reports[1]["findings"]


# -- argument messages ----------------------------------------------------------------------------
@pytest.mark.parametrize("argv, says", [
    (["--json", "x"], "the following arguments are required: SCRIPT\n"),
    (["--max-updates", "1.5", "a.py"], "'1.5': expected a whole number"),
    (["--max-seconds", "soon", "a.py"], "'soon': expected a number"),
    (["--ignore", "no-such-code", "a.py"], "--ignore no-such-code: no such finding code; known codes: accuracy-plateau, "),
], ids=["script-required", "max-updates-whole", "max-seconds-number", "ignore-unknown"])
def test_bad_flags_say_what_was_expected(tmp_path, argv, says):
    got = netdoctor(tmp_path, *argv)
    assert got.returncode == 2 and says in got.stderr and "ARGS" not in got.stderr.splitlines()[-1], got.stderr


# -- limits and control ---------------------------------------------------------------------------
LOOPS = {
    # no array persists across iterations: nothing to judge, only the stop (an array that grows each step is
    # followed since module-level loops are, and judged as a weight)
    "module-level-loop": "print('started', flush=True)\nimport numpy as np\nn = 0\nwhile True:\n"
                         "    n = n + int(np.ones(2).sum())\n",
    "sleep-loop": "import time\nprint('started', flush=True)\nwhile True:\n    time.sleep(0.05)\n",
}


@pytest.mark.parametrize("loop", list(LOOPS))
def test_max_seconds_stops_a_loop_that_calls_no_function_of_the_user(tmp_path, loop):
    name = script(tmp_path, "forever.py", LOOPS[loop])
    got = netdoctor(tmp_path, "--max-seconds", "0.5", "--json", "r.json", name)  # without the stop: the 120 s timeout
    report = json.loads((tmp_path / "r.json").read_text())
    assert got.returncode == NOTHING_OBSERVED and got.stdout.startswith("started\n"), got.stderr
    assert "stopped after 0.5 s (--max-seconds)" in report["context"]["notes"]
    assert report["failed"] == "" and "Traceback" not in got.stderr


def test_a_bare_except_that_swallows_the_stop_is_stopped_harder_and_reported(tmp_path):
    name = script(tmp_path, "swallows.py", "import time\nprint('started', flush=True)\ncaught = 0\n\n"
                                           "def step():\n    time.sleep(0.01)\n\nwhile True:\n    try:\n        step()\n"
                                           "    except:\n        caught += 1\n")
    got = netdoctor(tmp_path, "--max-seconds", "0.3", "--json", "r.json", name)
    report = json.loads((tmp_path / "r.json").read_text())
    notes = " ".join(report["context"]["notes"])
    assert got.stdout.startswith("started\n") and "verdict" in got.stdout, got.stderr
    assert "the program caught netdoctor's stop and ran on" in notes and "netdoctor ended the process" in notes


def test_sigterm_gives_a_partial_report_and_the_status_of_a_terminated_program(tmp_path):
    import signal
    import time

    source = TRAINS_THEN.replace("for epoch in range(3):", "open('started', 'w').close()\nwhile True:")
    name = script(tmp_path, "long.py", source.replace("END", ""))
    proc = subprocess.Popen([*NETDOCTOR, "run", "--json", "r.json", name], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=_env())
    deadline = time.monotonic() + 60
    while not (tmp_path / "started").exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    report = json.loads((tmp_path / "r.json").read_text())
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert report["partial"] is True and report["failed"] == "was terminated by SIGTERM" and report["ok"] is False
    assert "The script was terminated by SIGTERM" in " ".join(out.split())


def test_breakpoint_stops_on_the_scripts_line_with_its_variables_as_under_python(tmp_path):
    name = script(tmp_path, "debugged.py", "def helper(v):\n    return v * 2\n\n\ndef train():\n    secret = 41\n"
                                           "    breakpoint()\n    result = helper(secret)\n    return result\n\n\n"
                                           "print(train())\n")
    commands = "p secret\nn\np result\nc\n"
    want = plain(tmp_path, name, stdin=commands)
    got = netdoctor(tmp_path, "--json", "r.json", name, stdin=commands)
    assert "debugged.py(8)train()" in want.stdout and "(Pdb) 41\n" in want.stdout and "(Pdb) 82\n" in want.stdout
    assert got.stdout.startswith(want.stdout), got.stdout[:800]
    notes = json.loads((tmp_path / "r.json").read_text())["context"]["notes"]
    assert any("a debugger took over at debugged.py:7" in n for n in notes)


def test_code_that_puts_the_trace_function_back_is_no_debugger(tmp_path):
    # torch.compile saves sys.gettrace(), clears it while it compiles a frame and sets it back: what it sets
    # back is netdoctor's own tracer, so nothing took over and tracing goes on
    name = script(tmp_path, "restores.py", "import sys\n\nimport numpy  # the NumPy observer traces once it is imported\n\n\n"
                                           "def compile_like():\n    saved = sys.gettrace()\n"
                                           "    sys.settrace(None)\n    sys.settrace(saved)\n\n\n"
                                           "for _ in range(3):\n    compile_like()\nprint('done')\n")
    want = plain(tmp_path, name)
    got = netdoctor(tmp_path, "--json", "r.json", name)
    assert got.stdout.startswith(want.stdout) and want.stdout == "done\n"
    notes = json.loads((tmp_path / "r.json").read_text())["context"]["notes"]
    assert not any("debugger" in n for n in notes), notes


def test_netdoctor_never_calls_the_programs_own_getattr_where_python_does_not(tmp_path):
    name = script(tmp_path, "lazy.py", """
import numpy as np
calls = []

class Layer:
    __slots__ = ("W",)
    def __init__(self, n):
        self.W = np.full((n, n), 0.1)
    def __getattr__(self, name):
        calls.append(name)
        raise AttributeError(name)

class Net:
    def __init__(self):
        self.W = np.full((3, 4), 0.1)
        self.layers = [Layer(3), Layer(3)]
    def __getattr__(self, name):
        calls.append(name)
        raise AttributeError(name)
    def step(self, x, y):
        out = np.tanh(x @ self.W.T)
        self.W -= 0.1 * (out - y).T @ x / len(x)
        for layer in self.layers:
            layer.W -= 0.01
        return out

rng = np.random.default_rng(0)
net = Net()
X = rng.normal(size=(64, 4)); Y = np.eye(3)[rng.integers(0, 3, 64)]
for epoch in range(5):
    for i in range(0, 64, 16):
        net.step(X[i:i + 16], Y[i:i + 16])
print("__getattr__ called for:", sorted(set(calls)))
""")
    want, got = plain(tmp_path, name), netdoctor(tmp_path, name)
    assert want.stdout == "__getattr__ called for: []\n"
    called = got.stdout.splitlines()[0]
    # the observer's probes (is it an array? what does it hold?) never reach the program's __getattr__
    assert called.startswith("__getattr__ called for: [") and "__array__" not in called and "__dict__" not in called
    # nor do the update check's copies of its objects (observe/numpy/replay.py copies without asking them)
    assert called == want.stdout.rstrip("\n")


def test_a_script_without_numpy_is_run_and_reported_without_loading_numpy_or_the_rules(tmp_path):
    """The fixed cost of ``netdoctor run``: a program that never imports NumPy has no arrays to watch, and neither
    the NumPy observer, NumPy itself (about 0.1 s of CPU), the rules nor PyTorch are loaded to say so."""
    (tmp_path / "hello.py").write_text('print("hello")\n')
    probe = ("import sys\nfrom netdoctor.cli import main\n"
             "status = main(['run', '--json', 'report.json', 'hello.py'])\n"
             "print('LOADED', status, sorted(m for m in ('numpy', 'netdoctor.rules', 'torch') if m in sys.modules))\n")
    proc = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, NO_COLOR="1"))
    assert proc.stdout.startswith("hello\n"), proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1] == "LOADED 3 []", proc.stdout + proc.stderr
    assert json.loads((tmp_path / "report.json").read_text())["unobserved"]
