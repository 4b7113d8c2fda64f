"""The same program gets the same findings whatever the machine's load.

What ``netdoctor run`` looks at in depth is scheduled in update counts
(:class:`netdoctor.observe.tracer.Budget`), never in time: here each program
runs twice under ``netdoctor run``, once as it is and once with every handler
call of the observer slowed by a busy wait (what a loaded or slow machine does
to it), and both reports must agree on the findings and on what was observed.
Which frames are followed is decided from the stack and from counts
(:meth:`netdoctor.observe.tracer.CallTracer.entry`): a program that sleeps in
its loop is observed as the same program that does not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from generated.harness import write_data
from generated.numpy_programs import N_TEST, N_TRAIN, sample_style, write

ROOT = Path(__file__).resolve().parent.parent

DRIVER = """
import sys, time
from netdoctor.observe import tracer

delay = float(sys.argv[1])
if delay:
    deliver = tracer.CallTracer._deliver

    def slowed(self, handler, *args):
        end = time.perf_counter() + delay
        while time.perf_counter() < end:  # burns the core, as another process on it would take it
            pass
        return deliver(self, handler, *args)

    tracer.CallTracer._deliver = slowed
from netdoctor.cli.app import main
sys.exit(main(sys.argv[2:]))
"""
"""``netdoctor run`` with each handler call delayed by ``argv[1]`` seconds (a ``-c`` string: the driver is no file
of the user's program, so the observer does not watch it)."""


def _observed(folder: Path, delay: float, script: Path, *args: str) -> dict:
    out = folder / f"report_{delay:g}.json"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", NO_COLOR="1", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", DRIVER, str(delay), "run", "--json", str(out), str(script), *args],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=900)
    assert out.exists(), proc.stderr[-2000:]
    return json.loads(out.read_text(encoding="utf-8"))


def _seen(report: dict) -> dict:
    """What must not depend on the load: the findings, and how much was observed."""
    ctx = report["context"]
    return {
        "findings": [(f["code"], f["severity"], f.get("where")) for f in report["findings"]],
        **{k: ctx.get(k) for k in ("updates_observed", "samples_observed", "windows_sampled")},
    }


def test_a_generated_per_sample_program_is_judged_alike_when_the_observer_is_slowed(tmp_path):
    # 800 single-sample updates: far past the first deep windows, where a clock-driven budget would grant more
    # deep checks to a slower run (one a second) and fewer to a faster one
    program = write(sample_style(114))
    script = tmp_path / "train.py"
    script.write_text(program.source, encoding="utf-8")
    data = write_data(tmp_path, N_TRAIN + N_TEST)
    quick = _seen(_observed(tmp_path, 0.0, script, str(data)))
    slow = _seen(_observed(tmp_path, 100e-6, script, str(data)))
    assert quick == slow
    assert quick["updates_observed"] >= program.updates // 2
    assert 64 < quick["windows_sampled"] < program.updates // 4  # a schedule, not every update


def test_the_forum_program_is_judged_alike_when_the_observer_is_slowed(tmp_path):
    from shared_files import MNIST_TEST, SEED, have_real_data, shuffled_train_csv

    if not (have_real_data() and (SEED / "train.py").exists()):
        pytest.skip("shared/ (MNIST data and the forum program) not beside the repository")
    train = shuffled_train_csv(tmp_path, rows=1000)
    test = tmp_path / "test.csv"
    np.savetxt(test, np.loadtxt(MNIST_TEST, delimiter=",", max_rows=100), delimiter=",", fmt="%d")
    args = (str(SEED / "train.py"), str(train), str(test), "1")
    quick = _seen(_observed(tmp_path, 0.0, *map(Path, args[:1]), *args[1:]))
    slow = _seen(_observed(tmp_path, 50e-6, *map(Path, args[:1]), *args[1:]))
    assert quick == slow
    assert quick["updates_observed"] == 10


THREAD_INLINE = """
import sys
import threading
import time

import numpy as np

PAUSE = float(sys.argv[1])


def train():
    rng = np.random.default_rng(6)
    C, D, N = 5, 24, 1200
    centers = rng.normal(0, 1, (C, D)) * 0.6
    y = rng.integers(0, C, N)
    X = centers[y] + rng.normal(0, 1, (N, D))
    eye = np.eye(C)
    W1 = rng.normal(0, 1, (D, 16)) / np.sqrt(D)
    W2 = rng.normal(0, 1, (16, C)) / 4.0
    updates = 0
    for epoch in range(4):
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
            W2 -= 0.5 * h.T @ dz
            W1 -= 0.5 * x.T @ dh
            updates += 1
            if PAUSE:
                time.sleep(PAUSE)
        print(f"epoch {epoch}: accuracy {np.mean(np.argmax(np.tanh(X[1000:] @ W1) @ W2, axis=1) == y[1000:]):.3f}")
    print(f"updates: {updates}")


worker = threading.Thread(target=train)
worker.start()
worker.join()
"""
"""Inline training in a thread's target, calling none of the program's functions: the tracer hears of the target at
its call only, so whether its loop is followed must be decided there (a timer that looked at the stacks every 50 ms
followed it from 0.1 s on: all 200 updates of a slowed run, none of a quick one)."""


def test_a_loop_that_sleeps_is_observed_as_the_same_loop_that_does_not(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(THREAD_INLINE, encoding="utf-8")
    quick = _observed(tmp_path, 0.0, script, "0")
    slow = _observed(tmp_path, 0.0, script, "0.002")
    assert _seen(quick) == _seen(slow)
    assert quick["context"]["updates_observed"] >= 200 - 2  # discovery takes the first two to find the network
