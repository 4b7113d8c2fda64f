"""What ``netdoctor run`` imports while the program runs: only what observing needs (issue 25's fixed cost).

The records the rules read (:mod:`netdoctor.rules.evidence`: 27 frozen dataclasses, about 20 ms to build) are made
after the program ends; the observer that watches it while it runs must not import them. The program itself looks at
``sys.modules`` on its last line, while it is still observed: what it prints is what the run had imported by then.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROGRAM = """
import sys
import numpy as np

rng = np.random.default_rng(0)
X = rng.normal(size=(256, 8))
y = (X[:, 0] > 0).astype(int)
T = np.eye(2)[y]
W1, b1 = rng.normal(0, 0.3, (8, 16)), np.zeros(16)
W2, b2 = rng.normal(0, 0.3, (16, 2)), np.zeros(2)


def forward(x):
    h = np.tanh(x @ W1 + b1)
    z = h @ W2 + b2
    e = np.exp(z - z.max(1, keepdims=True))
    return h, e / e.sum(1, keepdims=True)


def backward(x, t, h, p):
    dz = (p - t) / len(x)
    dh = (dz @ W2.T) * (1 - h ** 2)
    return x.T @ dh, dh.sum(0), h.T @ dz, dz.sum(0)


for epoch in range(10):
    for i in range(0, 256, 32):
        x, t = X[i:i + 32], T[i:i + 32]
        h, p = forward(x)
        dW1, db1, dW2, db2 = backward(x, t, h, p)
        W1 -= 0.5 * dW1
        b1 -= 0.5 * db1
        W2 -= 0.5 * dW2
        b2 -= 0.5 * db2
print("loaded:", sorted(m for m in sys.modules if m.startswith(("netdoctor.rules.evidence", "rich"))))
"""


def _run(tmp_path: Path) -> tuple[subprocess.CompletedProcess, dict]:
    script = tmp_path / "train.py"
    script.write_text(PROGRAM, encoding="utf-8")
    out = tmp_path / "report.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1", NO_COLOR="1")
    proc = subprocess.run([sys.executable, "-m", "netdoctor.cli", "run", "--json", str(out), str(script)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    return proc, json.loads(out.read_text(encoding="utf-8"))


def test_the_records_the_rules_read_are_not_imported_while_the_program_runs(tmp_path):
    proc, report = _run(tmp_path)
    loaded = next(line for line in proc.stdout.splitlines() if line.startswith("loaded:"))
    assert loaded == "loaded: []", proc.stdout
    # the run was observed and judged: the observer watched it, and the rules read the records after it ended
    assert report["context"]["updates_observed"] == 80, report["context"]
    assert report["context"].get("windows_sampled", 0) > 0
    assert "verdict" in report and report["verdict"]


NEVER_IMPORTED = (
    "numpy.ma",  # np.median and np.unique touch np.ma: netdoctor.nn.stats computes their values without it
    "tempfile", "shutil", "bz2", "lzma",  # argparse's help width and the report's atomic write imported these
    "importlib.abc",  # the torch import watch is a plain finder
    "torch", "netdoctor.observe.torch.watch", "netdoctor.observe.torch.rules",  # a NumPy program's run
    "netdoctor.report.html", "netdoctor.report.plots", "netdoctor.notebook", "netdoctor.diagnosis",
    "hypothesis", "pytest", "matplotlib",
)
"""Modules a NumPy program's ``netdoctor run --json`` has no use for; each was imported by some run before."""


def test_a_numpy_run_never_imports_what_it_does_not_use(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(PROGRAM, encoding="utf-8")
    out = tmp_path / "report.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1", NO_COLOR="1")
    code = ("import sys; from netdoctor.cli.app import main; status = main(sys.argv[1:]); "
            f"print('after:', sorted(m for m in {NEVER_IMPORTED!r} if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code, "run", "--json", str(out), str(script)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    after = next(line for line in proc.stdout.splitlines() if line.startswith("after:"))
    assert after == "after: []", proc.stdout + proc.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["context"]["updates_observed"] == 80 and report["verdict"]
