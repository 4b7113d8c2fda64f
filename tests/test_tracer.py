"""How ``netdoctor run`` follows a program: loop heads, module-level code, threads, imports, user files, honest silence.

Each behaviour is checked on a small program of its own, run through
``netdoctor run`` as a user would, or on the tracer directly; oracles are the
program's own counts (it prints how many updates it made) and Python's own
view of the source (``ast``).
"""

from __future__ import annotations

import ast
import builtins
import json
import os
import signal
import subprocess
import sys
import sysconfig
import textwrap
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from netdoctor.findings import Report
from netdoctor.observe.session import unobserved_reason
from netdoctor.observe.tracer import (
    EXPRESSION_SCOPES,
    FOLLOW_CALLS,
    LAUNCHERS,
    PURE_ENV,
    Budget,
    CallTracer,
    is_user_file,
    loop_heads,
    runs_program,
    sampled,
)


def run_json(tmp_path: Path, source: str, *opts: str) -> tuple[subprocess.CompletedProcess, dict]:
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(source))
    out = tmp_path / "report.json"
    env = dict(os.environ, NO_COLOR="1", COLUMNS="100")
    proc = subprocess.run([sys.executable, "-m", "netdoctor.cli", "run", *opts, "--json", str(out), str(script)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    return proc, (json.loads(out.read_text()) if out.exists() else {})


def updates_made(proc: subprocess.CompletedProcess) -> int:
    return int(next(line for line in proc.stdout.splitlines() if line.startswith("updates: ")).split()[1])


# -- loop heads ------------------------------------------------------------------------------
LOOPS = """
total = 0
for a in range(3):
    x = 1
    while x < 3:
        x += 1
    for b in []:
        pass
squares = [i * i for i in range(3)]
while True:
    total += 1
    if total > 5:
        break
"""


def test_loop_heads_are_the_for_lines_and_the_first_line_of_each_while_body():
    tree = ast.parse(LOOPS)
    expected = {n.lineno for n in ast.walk(tree) if isinstance(n, ast.For)}
    expected |= {n.body[0].lineno for n in ast.walk(tree) if isinstance(n, ast.While)}
    assert loop_heads(compile(LOOPS, "loops.py", "exec")) == expected


def test_code_without_loops_has_no_heads():
    assert loop_heads(compile("x = 1\ny = [i for i in range(3)]\n", "flat.py", "exec")) == frozenset()


# -- module-level code, threads: every update followed ---------------------------------------------
MODULE_LOOP = """
import numpy as np
rng = np.random.default_rng(0)
X = rng.normal(size=(100, 6))
T = np.eye(3)[rng.integers(0, 3, 100)]
W1 = rng.normal(0, 0.3, (6, 8))
W2 = rng.normal(0, 0.3, (8, 3))
updates = 0
for epoch in range(3):
    for x, t in zip(X, T):
        h = np.tanh(x @ W1)
        d = h @ W2 - t
        W2 -= 0.05 * np.outer(h, d)
        W1 -= 0.05 * np.outer(x, (W2 @ d) * (1 - h ** 2))
        updates += 1
print(f"updates: {updates}")
"""


def test_a_module_level_training_loop_is_followed_at_every_update(tmp_path):
    proc, report = run_json(tmp_path, MODULE_LOOP)
    assert proc.returncode in (0, 1), proc.stderr
    made, seen = updates_made(proc), report["context"]["updates_observed"]
    assert made == 300
    assert made - 2 <= seen <= made  # discovery takes the first two to find the network


def test_a_module_level_net_given_by_name(tmp_path):
    proc, report = run_json(tmp_path, MODULE_LOOP, "--net", "W1")
    assert proc.returncode in (0, 1), proc.stderr
    assert report["context"]["updates_observed"] >= 150


def test_an_unknown_net_name_is_an_error_naming_the_names_that_exist(tmp_path):
    proc, _ = run_json(tmp_path, MODULE_LOOP, "--net", "nosuchnet")
    assert proc.returncode == 2
    assert proc.stdout.startswith("updates: 300")  # the script itself ran as always
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert "--net nosuchnet" in lines[0] and "W1" in lines[0] and "W2" in lines[0]


THREAD = """
import threading
import numpy as np

def train(state):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 5))
    y = rng.integers(0, 2, 60)
    for epoch in range(4):
        for i in range(0, 60, 6):
            state["updates"] += step(state["params"], X[i:i + 6], y[i:i + 6])

def step(params, x, y):
    p = 1 / (1 + np.exp(-(x @ params["W"] + params["b"])))
    g = p - np.eye(2)[y]
    params["W"] -= 0.1 * x.T @ g / len(x)
    params["b"] -= 0.1 * g.mean(axis=0)
    return 1

state = {"params": {"W": np.zeros((5, 2)), "b": np.zeros(2)}, "updates": 0}
worker = threading.Thread(target=train, args=(state,))
worker.start()
worker.join()
print(f"updates: {state['updates']}")
"""


def test_training_in_a_thread_is_followed_as_in_the_main_thread(tmp_path):
    (tmp_path / "threaded").mkdir()
    (tmp_path / "main").mkdir()
    proc, report = run_json(tmp_path / "threaded", THREAD)
    assert proc.returncode in (0, 1), proc.stderr
    twin = THREAD.replace("worker = threading.Thread(target=train, args=(state,))\nworker.start()\nworker.join()", "train(state)")
    assert twin != THREAD
    proc_main, report_main = run_json(tmp_path / "main", twin)
    assert updates_made(proc) == updates_made(proc_main) == 40
    seen = report["context"]["updates_observed"]
    assert seen > 0 and seen == report_main["context"]["updates_observed"]


NPZ = """
import numpy as np
np.savez("data.npz", X=np.random.default_rng(0).normal(size=(50, 4)), y=np.arange(50) % 2)
data = np.load("data.npz")
X, y = data["X"], data["y"]
W = np.zeros((4, 2))
updates = 0
for epoch in range(5):
    for i in range(0, 50, 10):
        p = np.exp(X[i:i + 10] @ W)
        p /= p.sum(axis=1, keepdims=True)
        W -= 0.1 * X[i:i + 10].T @ (p - np.eye(2)[y[i:i + 10]]) / 10
        updates += 1
print(f"updates: {updates}")
"""


def test_a_global_npz_archive_does_not_stop_the_observer(tmp_path):
    proc, report = run_json(tmp_path, NPZ)
    assert proc.returncode in (0, 1, 3), proc.stderr
    notes = " ".join(report["context"].get("notes", []))
    assert "error of its own" not in notes, notes


# -- honest silence -----------------------------------------------------------------------------
def test_not_enough_observed_is_said_with_its_reason_and_never_as_no_problems():
    report = Report([], {}, unobserved="1 of 50 updates observed")
    assert report.verdict() == "Not enough observed to judge: 1 of 50 updates observed."
    assert report.to_dict()["unobserved"] == "1 of 50 updates observed"


@pytest.mark.parametrize(("context", "notes", "observed", "expected"), [
    ({}, [], False, "no network was found"),
    ({}, ["the observer stopped early on an error of its own (AttributeError: x at a.py:3)"], False, "error of its own"),
    ({"model": "m", "updates_observed": 1, "updates_expected": 50}, [], True, "1 of 50 updates observed"),
    ({"model": "m", "updates_observed": 1}, [], True, "only 1 update of the network observed"),
    ({"model": "m", "updates_observed": 40, "updates_expected": 50}, [], True, ""),
    ({"model": "m", "optimizer_steps": 30}, [], True, ""),
], ids=["nothing", "own-error", "few-of-many", "one-update", "enough", "torch-steps"])
def test_the_reason_for_too_little_observed(context, notes, observed, expected):
    reason = unobserved_reason(context, notes, observed)
    assert (expected in reason) if expected else reason == ""


# -- which files are the user's; imports of installed packages untraced ---------------------------------
def test_user_files_are_the_programs_not_the_libraries(tmp_path):
    assert is_user_file(str(tmp_path / "train.py"))
    assert is_user_file(os.path.join(sys.prefix, "train.py"))  # a project-local venv: the project is the prefix
    assert is_user_file(os.path.join(sys.base_prefix, "project", "train.py"))  # under the installation's prefix
    assert not is_user_file(os.__file__)
    assert not is_user_file(np.__file__)
    assert not is_user_file(os.path.join(sysconfig.get_paths()["purelib"], "pkg", "mod.py"))
    assert not is_user_file(is_user_file.__code__.co_filename)  # netdoctor itself
    assert not is_user_file("<string>")


def test_imports_of_modules_that_are_not_the_users_run_untraced(tmp_path, monkeypatch):
    (tmp_path / "installed").mkdir()
    (tmp_path / "mine").mkdir()
    probe = "import sys\nTRACE = sys.gettrace()\n"
    (tmp_path / "installed" / "nd_probe_lib.py").write_text(probe)
    (tmp_path / "mine" / "nd_probe_user.py").write_text(probe)
    monkeypatch.syspath_prepend(str(tmp_path / "installed"))
    monkeypatch.syspath_prepend(str(tmp_path / "mine"))
    calls: list[str] = []
    tracer = CallTracer(lambda f: calls.append(f.f_code.co_filename) is None, lambda f, v: None,
                        is_user=lambda name: "mine" in name)
    original = builtins.__import__
    tracer.install()
    try:
        import nd_probe_lib  # noqa: F401 - imported for its side effect
        import nd_probe_user  # noqa: F401
    finally:
        tracer.uninstall()
    assert builtins.__import__ is original
    assert sys.modules["nd_probe_lib"].TRACE is None
    assert sys.modules["nd_probe_user"].TRACE is not None
    assert any("nd_probe_user" in c for c in calls) and not any("nd_probe_lib" in c for c in calls)
    for name in ("nd_probe_lib", "nd_probe_user"):
        sys.modules.pop(name, None)


def _a_step_of_the_program():
    return 1


def test_a_handlers_float_errors_neither_warn_nor_raise_and_the_program_keeps_its_own_error_state():
    """The handlers' arithmetic on weights that overflowed (``inf - inf``, a norm past float32's range) must not warn
    on the program's stderr nor raise where the program asked NumPy to (``np.seterr(all="raise")``): a raise would end
    the observation. Around the handlers the program's own state holds: its own overflow still raises."""
    seen: list[tuple[str, float, float]] = []

    def on_call(frame):
        if frame.f_code is _a_step_of_the_program.__code__:
            big, inf = np.float32(3e38), np.float32(np.inf)
            seen.append((np.geterr()["over"], float(big * np.float32(10)), float(inf - inf)))
        return False

    tracer = CallTracer(on_call, lambda f, v: None, is_user=lambda name: name == __file__)
    before = np.seterr(all="raise")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a warning would raise here, in the handler, and end the observation
            tracer.install()
            try:
                _a_step_of_the_program()
                with pytest.raises(FloatingPointError):
                    np.float32(3e38) * np.float32(10)
            finally:
                tracer.uninstall()
        after = np.geterr()
    finally:
        np.seterr(**before)
    assert tracer.failed is None, tracer.failed
    assert len(seen) == 1 and seen[0][0] == "ignore" and seen[0][1] == np.inf and np.isnan(seen[0][2])
    assert after == {"divide": "raise", "over": "raise", "under": "raise", "invalid": "raise"}


def _comprehensions_and_a_generator(n):
    rows = [[i, i + 1] for i in range(n)]
    flat = {v for row in rows for v in row}
    table = {i: v for i, v in enumerate(sorted(flat))}
    return sum(v * v for v in table.values()) + sum(_squares(n))


def _squares(n):
    for i in range(n):
        yield i * i


def test_comprehensions_and_generator_expressions_are_not_followed_as_calls():
    """Python 3.11 gives each comprehension a frame and resumes a generator expression once per item: none of them is
    a function of the program, and each event would cost the observer as much as a call of the forward. A generator
    function of the program's own is followed (one call event per resumption, as Python reports it)."""
    calls: list[str] = []
    tracer = CallTracer(lambda f: calls.append(f.f_code.co_name) is None, lambda f, v: None,
                        is_user=lambda name: name == __file__)
    tracer.install()
    try:
        total = _comprehensions_and_a_generator(20)
    finally:
        tracer.uninstall()
    assert total == sum(v * v for v in range(21)) + sum(i * i for i in range(20))
    assert calls.count("_comprehensions_and_a_generator") == 1
    assert calls.count("_squares") == 21  # started once, resumed for each of its 20 items and for the end
    assert not EXPRESSION_SCOPES & set(calls), calls


def _on_signal(signum, frame):
    _on_signal.heard += 1  # type: ignore[attr-defined]


def _signalled(n):
    total = 0
    for i in range(n):  # a signal arrives in the middle of the loop's work, its handler runs at the next instruction
        signal.raise_signal(signal.SIGUSR1)
        total += _called_in_a_loop() + i
    return total


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="no SIGUSR1 on this platform")
@pytest.mark.parametrize("pure", ["1", ""], ids=["pure", "compiled"])
def test_a_signal_handler_of_the_programs_own_is_no_call_of_its_training(pure, monkeypatch):
    """A signal handler the program installs (a sampling profiler's SIGPROF handler runs at every tick of a timer) is
    called by the interpreter wherever the signal arrives, as a finalizer is: never heard as one of the program's
    calls, which would release a held step and re-enter the observer mid-step."""
    monkeypatch.setenv(PURE_ENV, pure)
    calls: list[str] = []
    _on_signal.heard = 0  # type: ignore[attr-defined]
    previous = signal.signal(signal.SIGUSR1, _on_signal)
    tracer = CallTracer(lambda f: calls.append(f.f_code.co_name) is None, lambda f, v: None,
                        is_user=lambda name: name == __file__)
    tracer.install()
    try:
        assert _signalled(5) == 5 + sum(range(5))
    finally:
        tracer.uninstall()
        signal.signal(signal.SIGUSR1, previous)
    assert _on_signal.heard == 5  # type: ignore[attr-defined]
    assert calls.count("_called_in_a_loop") == 5 and "_on_signal" not in calls, calls


def _called_in_a_loop():
    return 1


def _loop_calling(n):
    total = 0
    for _ in range(n):
        total += _called_in_a_loop()
    return total


def test_a_followed_loop_keeps_its_ticks_when_the_handler_does_not_watch_its_callees_returns():
    """After a tick, a followed frame that called the user's code has no line events until a callee returns into it;
    a callee whose return the handler declined must still give them back, or the loop's later iterations (and the
    updates applied inline there) go unseen."""
    ticks: list[int] = []
    tracer = CallTracer(lambda f: f.f_code.co_name != "_called_in_a_loop", lambda f, v: None,
                        on_tick=lambda f: ticks.append(f.f_lineno) if f.f_code.co_name == "_loop_calling" else None,
                        is_user=lambda name: name == __file__)
    tracer.install()
    try:
        assert _loop_calling(100) == 100
    finally:
        tracer.uninstall()
    # followed from its FOLLOW_CALLS-th call on: a tick at every later iteration
    assert len(ticks) >= 100 - FOLLOW_CALLS, len(ticks)


def test_a_followed_loop_keeps_its_ticks_when_a_callee_it_called_is_ignored():
    """The handler ignores the callee at one of its calls (an activation function with no role): its later calls run
    untraced and never return into the loop, so the loop's line events must not wait for them (a module-level loop
    calling sigmoid() was followed for 12 of its 4,000 iterations)."""
    ticks: list[int] = []
    tracer: CallTracer

    def on_call(frame):
        if frame.f_code.co_name == "_called_in_a_loop" and len(ticks) > 10:
            tracer.ignore(frame.f_code)
            return False
        return True

    tracer = CallTracer(on_call, lambda f, v: None,
                        on_tick=lambda f: ticks.append(f.f_lineno) if f.f_code.co_name == "_loop_calling" else None,
                        is_user=lambda name: name == __file__)
    tracer.install()
    try:
        assert _loop_calling(100) == 100
    finally:
        tracer.uninstall()
    assert len(ticks) >= 100 - FOLLOW_CALLS, len(ticks)



# -- entry functions: followed from their call, by the stack and by counts, never by a clock ------------------------
def _inline_loop(n, pause):
    """Trains inline: a loop that calls none of the user's functions (the tracer hears of it once, at its call)."""
    total = 0.0
    for i in range(n):
        total += i
        if pause:
            time.sleep(pause)
    return total


def _short_loop(x):
    for _ in range(2):  # a step looping over two layers: brief
        x += 1
    return x


def _long_loop(n):
    total = 0
    for i in range(n):  # an epoch's loop
        total += i
    return total


def _batches(n):
    for i in range(n):  # loops, and yields a batch per iteration
        yield i, i + 1


ENTRIES = compile("""
for i in range(20):
    _short_loop(i)
for k in range(3):
    _long_loop(200)
for b in _batches(50):
    pass
""", __file__, "exec")
"""Module-level code of this file's (a script's loop calling a step, an epoch function and a batch generator)."""


def _ticks_in_a_thread(target, *args) -> tuple[dict[str, int], list[int]]:
    """Loop-head ticks per function of ``target(*args)`` run as a thread's target under a tracer; and the number of
    threads the program saw before and after."""
    ticks: dict[str, int] = {}
    seen: list[int] = []

    def tick(frame):
        ticks[frame.f_code.co_name] = ticks.get(frame.f_code.co_name, 0) + 1

    tracer = CallTracer(lambda f: True, lambda f, v: None, on_tick=tick, is_user=lambda name: name == __file__)
    tracer.install()
    try:
        seen.append(len(threading.enumerate()))
        worker = threading.Thread(target=target, args=args)
        worker.start()
        worker.join()
        seen.append(len(threading.enumerate()))
    finally:
        tracer.uninstall()
    return ticks, seen


def test_a_threads_target_that_calls_nothing_is_followed_from_its_call_whatever_the_time_it_takes():
    """What is followed is a function of the program's execution only: the same loop, run quickly or slowed down
    (sleeping in its loop, as a loaded machine slows it), gets the same ticks, one per iteration from the first; the
    observer starts no thread the program could see."""
    quick, threads = _ticks_in_a_thread(_inline_loop, 50, 0.0)
    slow, _ = _ticks_in_a_thread(_inline_loop, 50, 0.004)
    assert quick == slow
    assert quick["_inline_loop"] >= 50, quick
    assert threads[0] == threads[1]  # before the worker started and after it ended: no thread of netdoctor's


def test_entry_functions_later_calls_are_followed_when_a_call_looped_long_and_generators_are_not_entries():
    ticks, _ = _ticks_in_a_thread(exec, ENTRIES, {"_short_loop": _short_loop, "_long_loop": _long_loop,
                                                  "_batches": _batches})
    assert ticks.get("_short_loop", 0) <= 3, ticks  # its first call only (two iterations); 19 more calls untraced
    assert ticks["_long_loop"] >= 3 * 200, ticks  # every call: the first one looped past FOLLOW_CALLS
    assert "_batches" not in ticks, ticks
    assert ticks["<module>"] >= 20 + 3 + 50, ticks


EPOCH_FUNCTION = """
import numpy as np

rng = np.random.default_rng(6)
C, D, N = 5, 24, 1200
centers = rng.normal(0, 1, (C, D)) * 0.6
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1, (N, D))
eye = np.eye(C)
W1 = rng.normal(0, 1, (D, 16)) / np.sqrt(D)
W2 = rng.normal(0, 1, (16, C)) / 4.0
updates = 0


def train_epoch(lr):
    global updates
    order = rng.permutation(1000)
    for i in range(0, 1000, 20):
        rows = order[i:i + 20]
        x, t = X[rows], eye[y[rows]]
        h = np.tanh(x @ W1)
        z = h @ W2
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        dz = (p - t) / len(x)
        dh = (dz @ W2.T) * (1 - h ** 2)
        W2[...] -= lr * h.T @ dz
        W1[...] -= lr * x.T @ dh
        updates += 1


for epoch in range(6):
    train_epoch(0.5)
print(f"updates: {updates}")
"""
"""One epoch per call of a function the script's loop calls, its updates inline (it calls none of the program's
functions): only its first call was followed once (55 of 300 updates, and "No problems found")."""


def test_an_epoch_function_that_trains_inline_is_followed_at_every_epoch(tmp_path):
    proc, report = run_json(tmp_path, EPOCH_FUNCTION)
    assert proc.returncode in (0, 1), proc.stderr
    made, seen = updates_made(proc), report["context"]["updates_observed"]
    assert made == 300
    assert made - 2 <= seen <= made  # discovery takes the first two to find the network

def _program_started_late(calls: list) -> None:
    """The program's own frame, in which the tracer starts (as when the program imports NumPy)."""
    # builtins as handlers: a handler of this file would be one more call of the user's code
    tracer = CallTracer(calls.append, max, is_user=__file__.__eq__)
    tracer.install()
    tracer.uninstall()


@runs_program
def _runner(program, *args):
    """Stands for netdoctor's runner: what lies below its frame started netdoctor."""
    return program(*args)


def _launcher(calls: list) -> None:
    """Stands for the installed ``netdoctor`` script: a file outside every library folder that calls the runner."""
    _runner(_program_started_late, calls)


def test_netdoctors_launcher_is_not_the_users_code():
    calls: list = []
    _launcher(calls)
    assert [f.f_code.co_name for f in calls] == ["_program_started_late"]  # not _launcher, not this test
    console = os.path.normcase(os.path.abspath(os.path.join(sysconfig.get_paths()["scripts"], "netdoctor")))
    assert console in LAUNCHERS
    assert not any(is_user_file(path) for path in LAUNCHERS)
    assert is_user_file(os.path.join(sysconfig.get_paths()["scripts"], "train.py"))  # only netdoctor's own

# -- the observer's own budget ---------------------------------------------------------------------
def test_deep_checks_follow_a_schedule_in_update_counts():
    budget = Budget(first=8, per_doubling=4)
    granted = [n for n in range(1, 129) if budget.deep()]
    # all of the first 8 windows, then 4 per doubling of the count, in pairs of consecutive windows, evenly spread
    assert granted[:8] == list(range(1, 8)) + [8]
    for start in (8, 16, 32, 64):
        inside = [n for n in granted if start <= n < 2 * start]
        assert len(inside) == 4, (start, inside)
        assert inside[1] == inside[0] + 1 and inside[3] == inside[2] + 1
        assert inside[2] - inside[0] == start // 2
    assert budget.asked == 128 and budget.granted == len(granted)


def test_the_schedule_ignores_the_clock_and_the_handlers_time():
    """What is deep-checked is a function of the update count only: no clock, no share of elapsed time."""
    quick, slow = Budget(), Budget()
    slow.spent = 1e9  # the handlers took far longer (a loaded machine): nothing changes
    answers = [quick.deep() for _ in range(3000)]
    assert answers == [slow.deep() for _ in range(3000)]
    # the total grows with the logarithm of the count: a long run is not checked at every step
    assert 150 < sum(answers) < 200


@pytest.mark.parametrize("work", [1, 8, 20, 40, 100, 300])
def test_big_windows_end_the_start_at_its_work_bound_and_get_fewer_pairs(work):
    """The start lasts while the windows' gradient computations stay below ``first_work`` (at most ``first``
    windows); then pairs, fewer per doubling in proportion to how early the start ended."""
    budget = Budget()
    answers = [budget.deep(work) for _ in range(2000)]
    # the window whose work reaches the bound (or the first-th) ends the start; all before it are deep
    ended = min(budget.first, -(-budget.first_work // work))
    assert all(answers[:ended]) and budget._start is not None and budget._start[0] == ended
    per = budget._start[1]
    assert per == max(2, (budget.per_doubling * ended // budget.first) & ~1)
    start = ended
    while 2 * start <= len(answers):  # each doubling of the count from there: ``per`` windows in pairs
        inside = [n for n in range(start, 2 * start) if answers[n - 1]]
        # (``per`` evenly spread: one pair more where the stretch's length is no multiple of their spacing)
        assert per <= len(inside) <= per + 2 and all(b == a + 1 for a, b in zip(inside[::2], inside[1::2])), (
            start, inside)
        start *= 2


def test_windows_asked_for_by_count_are_deep_and_never_counted_past():
    """A recorder's own boundaries (the update check's) are deep windows, with the window after each, whatever the
    schedule: and the updates counted without asking (:meth:`Budget.counted_ahead`) stop short of them."""
    plain, asked = Budget(), Budget()
    asked.deep_at([39, 300])
    a = [plain.deep(100) for _ in range(1000)]  # big windows: the start ends early, pairs are far apart
    b = [asked.deep(100) for _ in range(1000)]
    assert not a[39 - 1] and not a[300 - 1]  # (the schedule alone leaves them out)
    extra = [n for n in range(1, 1001) if b[n - 1] and not a[n - 1]]
    assert extra == [39, 40, 300, 301]
    # counted ahead from each update: never past a deep window, whatever made it deep
    probe = Budget()
    probe.deep_at([39, 300])
    for n in range(1, 1000):
        ahead = probe.counted_ahead(4096)
        assert not any(b[probe.asked:probe.asked + ahead]), (n, ahead)
        if probe._start is not None:  # (before the start ended it counts none ahead: the work decides)
            nxt = next((k for k in range(1000 - probe.asked) if b[probe.asked + k]), None)
            assert ahead == nxt if nxt is not None else ahead >= 1000 - probe.asked, (n, ahead, nxt)
        probe.deep(100)


def test_the_start_holds_twice_the_rows_of_the_early_accuracy_reading():
    """A per-sample program's start (one sample per gradient computation) reads the early training accuracy's rows
    twice over, and the rows the rules on targets need many times over: no more (a deep window of 20 samples traces
    every call of 20 forwards and backwards)."""
    from netdoctor.observe.numpy.learning import EARLY_ROWS
    from netdoctor.rules.policy import MIN_TARGET_ROWS

    assert Budget().first_work == 2 * EARLY_ROWS >= 8 * MIN_TARGET_ROWS


def test_recurring_work_is_sampled_by_count_thinning_per_doubling():
    done = [n for n in range(1, 4097) if sampled(n, first=64, per_doubling=32, stride=16)]
    assert done[:64] == list(range(1, 65))
    # every 16th while that gives at most 32 per doubling, then 32 per doubling evenly spread
    assert [n for n in done if 64 < n < 128] == [80, 96, 112]
    for start in (512, 1024, 2048):
        inside = [n for n in done if start <= n < 2 * start]
        assert len(inside) == 32 and len({b - a for a, b in zip(inside, inside[1:])}) == 1, (start, inside)


@pytest.mark.parametrize("kwargs", [dict(first=0), dict(per_doubling=3), dict(first=4, per_doubling=8)],
                         ids=["first=0", "per_doubling=3", "first=4-per_doubling=8"])
def test_a_schedule_that_cannot_pair_its_windows_is_refused(kwargs):
    with pytest.raises(ValueError):
        Budget(**kwargs)


# -- PyTorch programs: the NumPy tracer only where NumPy training code exists ------------------------------
TORCH_DATASET = """
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

class Rows(Dataset):
    def __init__(self, X, y):
        self.X, self.y = X, y
    def __len__(self):
        return len(self.y)
    def __getitem__(self, i):
        return torch.from_numpy(self.X[i]), int(self.y[i])

rng = np.random.default_rng(0)
X = rng.normal(size=(1200, 8)).astype(np.float32)
y = (X[:, 0] > 0).astype(int)
torch.manual_seed(0)
model = torch.nn.Linear(8, 2)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
updates = 0
for xb, yb in DataLoader(Rows(X, y), batch_size=40, shuffle=True):
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(xb), yb).backward()
    opt.step()
    updates += 1
print(f"updates: {updates}")
"""


def test_a_pytorch_program_whose_functions_touch_no_numpy_array_is_left_to_the_pytorch_observer(tmp_path):
    pytest.importorskip("torch")
    proc, report = run_json(tmp_path, TORCH_DATASET)
    assert proc.returncode in (0, 1), proc.stderr
    notes = " ".join(report["context"].get("notes", []))
    assert "NumPy observer stood down" in notes
    assert report["context"]["optimizer_steps"] == updates_made(proc) == 30


def test_numpy_training_beside_an_unused_torch_import_is_still_followed(tmp_path):
    pytest.importorskip("torch")
    proc, report = run_json(tmp_path, "import torch  # noqa: F401\n" + textwrap.dedent(MODULE_LOOP))
    assert proc.returncode in (0, 1), proc.stderr
    assert "stood down" not in " ".join(report["context"].get("notes", []))
    assert report["context"]["updates_observed"] >= updates_made(proc) - 2


def _touch(i: int) -> int:
    """A function of the program's (this file is the user's): each call is an event of the NumPy tracer."""
    return i + 1


def test_the_numpy_tracer_stands_down_at_the_first_pytorch_optimizer_step():
    """An inline PyTorch loop calls few of the program's functions, so counting calls would keep the NumPy tracer
    (and Python's slower traced path for all of torch's own Python code) on for the whole run: it stands down as
    soon as the PyTorch observer has seen the first optimizer step, and hears of no call after it."""
    torch = pytest.importorskip("torch")
    from netdoctor.observe.options import ObserveOptions
    from netdoctor.observe.session import Observation

    obs = Observation(ObserveOptions())
    (numpy_side,) = [b for b in obs.backends if b.name == "numpy"]
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(16, 4), torch.randint(0, 2, (16,))
    with obs:
        for i in range(20):
            _touch(i)
        before = numpy_side.events
        traced_before = numpy_side.tracer.tracing()
        for _ in range(3):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        at_step = numpy_side.events
        for i in range(200):
            _touch(i)
        traced_after = numpy_side.tracer.tracing()
    assert before >= 20 and traced_before
    assert numpy_side.tracer.stood_down.startswith("the NumPy observer stood down at the first PyTorch optimizer step (SGD.step()")
    assert not traced_after and numpy_side.events == at_step  # none of the 200 later calls was delivered
    assert obs.report.context["optimizer_steps"] == 3


def test_numpy_arrays_trained_before_the_first_pytorch_step_keep_the_numpy_tracer_on():
    """The stand-down is for programs in which no NumPy array was seen being trained: a NumPy network whose
    weights already moved is still followed after a PyTorch step."""
    torch = pytest.importorskip("torch")
    from netdoctor.observe.options import ObserveOptions
    from netdoctor.observe.session import Observation

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(64, 3)), rng.normal(size=(64, 1))
    net = {"W": rng.normal(size=(3, 1)) * 0.1}
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def grad(params: dict, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return x.T @ (x @ params["W"] - y) / len(x)

    def update(params: dict, g: np.ndarray) -> None:
        params["W"] -= 0.1 * g

    obs = Observation(ObserveOptions())
    (numpy_side,) = [b for b in obs.backends if b.name == "numpy"]
    with obs:
        for i in range(0, 64, 8):
            update(net, grad(net, X[i:i + 8], Y[i:i + 8]))
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(torch.from_numpy(X).float()), torch.from_numpy(Y).float()).backward()
        opt.step()
        traced_after = numpy_side.tracer.tracing()
    assert not numpy_side.tracer.stood_down and traced_after


TORCH_ONLY = """
import torch
from torch.utils.data import DataLoader, Dataset

class Rows(Dataset):
    def __init__(self, X, y):
        self.X, self.y = X, y
    def __len__(self):
        return len(self.y)
    def __getitem__(self, i):
        return self.X[i], self.y[i]

torch.manual_seed(0)
X = torch.randn(400, 8)
y = (X[:, 0] > 0).long()
model = torch.nn.Linear(8, 2)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
updates = 0
for xb, yb in DataLoader(Rows(X, y), batch_size=20):
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(xb), yb).backward()
    opt.step()
    updates += 1
print(f"updates: {updates}")
"""


def test_a_program_that_never_imports_numpy_itself_gets_no_numpy_tracer(tmp_path):
    """``import torch`` imports NumPy, but the program has no NumPy code of its own: the NumPy observer is never
    installed, so its per-sample ``__getitem__`` runs untraced from the first batch on."""
    pytest.importorskip("torch")
    proc, report = run_json(tmp_path, TORCH_ONLY)
    assert proc.returncode in (0, 1), proc.stderr
    notes = " ".join(report["context"].get("notes", []))
    assert "the program never imported numpy itself" in notes and "stood down" not in notes
    assert report["context"]["observer"] == "torch" and report["context"]["optimizer_steps"] == updates_made(proc) == 20
    # the same program importing NumPy itself (already loaded by torch) gets the NumPy observer, which stands down at
    # the first step
    proc, report = run_json(tmp_path, TORCH_ONLY.replace("import torch\n", "import torch\nimport numpy as np  # noqa: F401\n", 1))
    notes = " ".join(report["context"].get("notes", []))
    assert "stood down at the first PyTorch optimizer step" in notes and "never imported numpy" not in notes


@pytest.mark.parametrize("change", ["no-add", "add-raises"])
def test_a_torch_without_dynamos_skip_list_api_gets_a_note_not_an_error(monkeypatch, change):
    """``torch._dynamo.trace_rules.add`` is private: a torch without it (or where it fails) leaves a note in the
    report, and the program's ``torch.compile`` goes on as without netdoctor."""
    torch = pytest.importorskip("torch")
    from torch._dynamo import trace_rules

    from netdoctor.observe.options import ObserveOptions
    from netdoctor.observe.session import Observation

    if change == "no-add":
        monkeypatch.delattr(trace_rules, "add")
    else:
        def add(_name: str) -> None:
            raise TypeError("a changed signature")

        monkeypatch.setattr(trace_rules, "add", add)
    obs = Observation(ObserveOptions(), backends=["torch"])
    with obs:
        model = torch.nn.Linear(3, 2)
        compiled = torch.compile(model, backend="eager")
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(2):
            opt.zero_grad()
            compiled(torch.ones(4, 3)).sum().backward()
            opt.step()
    notes = obs.report.context.get("notes", [])
    expected = "has no torch._dynamo.trace_rules.add" if change == "no-add" else "could not put its own frames on Dynamo's skip list (TypeError: a changed signature)"
    assert any(expected in n for n in notes), notes
    assert not any(n.startswith("observer:") for n in notes), notes


# -- the observer's own cost -----------------------------------------------------------------------
def test_an_ignored_function_runs_untraced_until_it_is_heeded():
    calls: list[str] = []
    tracer = CallTracer(lambda f: calls.append(f.f_code.co_name) is None, lambda f, v: None,
                        is_user=lambda name: name == __file__)
    tracer.install()
    try:
        _called_in_a_loop()
        tracer.ignore(_called_in_a_loop.__code__)
        _called_in_a_loop()
        ignored = tracer.user_code(_called_in_a_loop.__code__)
        tracer.heed(_called_in_a_loop.__code__)
        _called_in_a_loop()
    finally:
        tracer.uninstall()
    assert calls.count("_called_in_a_loop") == 2 and not ignored
    assert tracer.user_code(_called_in_a_loop.__code__)


@pytest.mark.parametrize("make", [
    lambda: np.arange(1000 * 785, dtype=float).reshape(1000, 785)[:, 1:],  # a column slice: not contiguous
    lambda: np.asfortranarray(np.arange(60.0).reshape(6, 10)),
    lambda: np.arange(60.0).reshape(6, 10).T,
    lambda: np.arange(100.0)[::3],
    lambda: np.arange(24, dtype=np.float32).reshape(2, 3, 4)[:, ::2, 1:],
], ids=["column-slice", "fortran", "transposed", "strided-1d", "3d-view"])
def test_sampled_entries_are_np_takes_without_a_copy_of_the_array(make):
    """Fingerprints and sampled entries read a few flat (C-order) positions: ``np.take`` gives them too, but ravels a
    non-contiguous array first, copying all of it at every look."""
    import tracemalloc

    from netdoctor.observe.numpy.arrays import entries, fingerprint, sample_index

    a = make()
    idx = sample_index(a.size, 5, np.random.default_rng(0))
    assert np.array_equal(entries(a, idx), np.take(a, idx))
    assert fingerprint(a, idx) == (id(a), np.take(a, idx).tobytes())
    peaks = []
    for read in (entries, np.take):
        tracemalloc.start()
        try:
            read(a, idx)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    assert peaks[0] < 65536, peaks
    if a.nbytes > 1_000_000:  # the column slice: np.take copies all of its 6 MB
        assert peaks[1] > a.nbytes // 2, peaks


def _sig(z):
    return 1 / (1 + np.exp(-z))


class _PerSample:
    def __init__(self):
        rng = np.random.default_rng(0)
        self.W1, self.b1 = rng.normal(0, 0.5, (8, 4)), np.zeros((8, 1))
        self.W2, self.b2 = rng.normal(0, 0.5, (3, 8)), np.zeros((3, 1))

    def forward(self, x):
        h = _sig(self.W1 @ x + self.b1)
        return h, _sig(self.W2 @ h + self.b2)

    def backprop(self, x, t):
        h, out = self.forward(x)
        d2 = (out - t) * out * (1 - out)
        d1 = (self.W2.T @ d2) * h * (1 - h)
        return d1 @ x.T, d1, d2 @ h.T, d2

    def train(self, X, Y, lr):
        eye = np.eye(3)
        for x, y in zip(X, Y):
            gW1, gb1, gW2, gb2 = self.backprop(x.reshape(-1, 1), eye[y].reshape(-1, 1))
            self.W1 -= lr * gW1
            self.b1 -= lr * gb1
            self.W2 -= lr * gW2
            self.b2 -= lr * gb2
        return len(Y)


def test_a_function_with_no_role_runs_untraced_once_nothing_needs_its_calls():
    """An activation function called at every layer of every sample has no role of its own: after the update checks,
    its calls cost what a library's do, while every update is still followed."""
    from netdoctor.observe.options import ObserveOptions
    from netdoctor.observe.session import Observation

    rng = np.random.default_rng(1)
    Y = rng.integers(0, 3, 900)
    X = np.eye(3, 4)[Y] * 2 + rng.normal(0, 0.3, (900, 4))
    obs = Observation(ObserveOptions())
    (numpy_side,) = [b for b in obs.backends if b.name == "numpy"]
    with obs:
        net = _PerSample()
        made = net.train(X, Y, 0.5)
    assert made == 900
    assert obs.report.context["updates_observed"] == 900
    backend = numpy_side.backend if hasattr(numpy_side, "backend") else numpy_side
    assert not backend.tracer.user_code(_sig.__code__)  # ignored: its later calls were never delivered
    assert backend.tracer.user_code(_PerSample.backprop.__code__)


def _accuracy(net, X, Y):
    return float(np.mean([np.argmax(net.forward(x.reshape(-1, 1))[1]) == y for x, y in zip(X, Y)]))


def test_windows_only_counted_run_the_step_untraced_and_an_evaluation_after_them_is_heard():
    """Past the first deep windows, the per-sample step's forward and backprop run untraced in the windows only counted:
    every update is still counted, the header says the targets were read in the deep windows alone, and an evaluation
    after training (a function of its own calling the forward per row) is heard in full."""
    from netdoctor.observe.options import ObserveOptions
    from netdoctor.observe.session import Observation

    rng = np.random.default_rng(1)
    Y = rng.integers(0, 3, 1200)
    X = np.eye(3, 4)[Y] * 2 + rng.normal(0, 0.3, (1200, 4))
    obs = Observation(ObserveOptions())
    (numpy_side,) = [b for b in obs.backends if b.name == "numpy"]
    with obs:
        net = _PerSample()
        made = net.train(X[:900], Y[:900], 0.5)
        acc = _accuracy(net, X[900:], Y[900:])
    assert made == 900 and acc > 0.9
    ctx = obs.report.context
    assert ctx["updates_observed"] == 900
    backend = numpy_side.backend if hasattr(numpy_side, "backend") else numpy_side
    held = backend.held_updates
    assert 600 < held < 900 - ctx["windows_sampled"] + 2  # the deep windows were all traced
    assert ctx["samples_observed"] < 900 - held + 8  # targets read in the windows traced only
    # one sample a window: the windows whose targets were read (not every window but the held ones: those before the
    # network was found, or whose step was only counted in C, were not) are the samples read
    assert f"read in {ctx['samples_observed']:,} of the 900 update windows" in ctx["training"]
    assert 850 <= ctx["samples_trained"] <= 950
    backend._settle()
    evaluated = [seg for seg in backend.eval_segments if seg["code"] is _accuracy.__code__]
    assert sum(sum(seg["counts"].values()) for seg in evaluated) == 300  # every row the evaluation predicted


@pytest.mark.parametrize("out_in", [None, True, False], ids=["as-the-batch", "out-in", "in-out"])
@pytest.mark.parametrize("cols", [True, False], ids=["columns", "rows"])
def test_a_layers_product_is_ruled_out_from_its_shapes_as_the_product_itself_would(cols, out_in):
    """The activation check skips an input whose product with the layer's weights (plus the bias) could not have the
    candidate's size, without computing it; the oracle is the product itself, written out for each layout of the
    batch (a sample per column or per row) and of the weights ((out, in) or (in, out); by default as the batch)."""
    from netdoctor.observe.numpy.activations import layer_product
    from netdoctor.observe.numpy.backend import NumpyBackend

    rng = np.random.default_rng(0)
    stored_out_in = cols if out_in is None else out_in
    for _ in range(300):
        W = rng.normal(size=tuple(rng.integers(1, 5, 2)))
        x = rng.normal(size=tuple(rng.integers(1, 5, 2)))
        b = np.zeros(int(rng.integers(1, 5))) if rng.random() < 0.7 else None
        size = int(rng.integers(1, 17))
        product = {(True, True): lambda W, x: W @ x, (True, False): lambda W, x: W.T @ x,
                   (False, True): lambda W, x: x @ W.T, (False, False): lambda W, x: x @ W}[(cols, stored_out_in)]
        try:
            pre = product(W, x)
            assert np.array_equal(layer_product(W, x, cols, stored_out_in), pre)
            if b is not None:
                pre = pre + (b.reshape(-1, 1) if cols else b.reshape(1, -1))
            expected = pre.size == size
        except ValueError:
            expected = False
        assert NumpyBackend._chains_to(W, x, b, cols, size, out_in) == expected, (
            W.shape, x.shape, None if b is None else b.size, size)
