"""``netdoctor run`` names weights gone NaN or Inf at the update where they first are, in a window only counted.

The light look at every update (``NumpyBackend._light_nonfinite``: three entries per parameter, also read by the
compiled filter before it counts an update) makes whether a NaN is named independent of which windows are deep: a
blow-up inside a counted window freezes the weights' fingerprints (a NaN weight stays NaN), so no later update is
seen to look at. Main at round 12 missed both programs below (a per-sample class: "the output first held NaN" one
update late; a module-level loop over a dict: no finding at all). Each program finds its own first non-finite update
(the oracle, printed last), at update 150-151: past the first 64 windows, between the schedule's pairs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PER_SAMPLE_CLASS = '''
import numpy as np

rng = np.random.default_rng(0)
X = rng.normal(size=(300, 8))
Y = np.eye(3)[rng.integers(0, 3, 300)]


class Net:
    def __init__(self):
        self.weights = [rng.normal(0, 0.3, (8, 16)), rng.normal(0, 0.3, (16, 3))]
        self.steps = 0

    def forward(self, x):
        self.h = np.tanh(x @ self.weights[0])
        return self.h @ self.weights[1]

    def train_one(self, x, y):
        out = self.forward(x)
        err = out - y
        g1 = np.outer(self.h, err)
        g0 = np.outer(x, (err @ self.weights[1].T) * (1 - self.h ** 2))
        self.steps += 1
        lr = np.float64(0.05) / (1.0 - self.steps / 150.0)  # a decay that reaches its pole at step 150
        self.weights[0] -= lr * g0
        self.weights[1] -= lr * g1


net = Net()
first = None
with np.errstate(all="ignore"):
    for epoch in range(2):
        for x, y in zip(X, Y):
            net.train_one(x, y)
            if first is None and not all(np.isfinite(w).all() for w in net.weights):
                first = net.steps
print("first non-finite update:", first)
'''

BATCHED_MODULE_DICT = '''
import numpy as np

rng = np.random.default_rng(1)
X = rng.normal(size=(300, 8))
labels = rng.integers(0, 3, 300)
params = {"W1": rng.normal(0, 0.3, (8, 16)), "b1": np.zeros(16), "W2": rng.normal(0, 0.3, (16, 3)), "b2": np.zeros(3)}
step = 0
first = None
with np.errstate(all="ignore"):
    for epoch in range(10):
        for i in range(0, 300, 10):
            xb, yb = X[i:i + 10], np.eye(3)[labels[i:i + 10]]
            h = np.maximum(0, xb @ params["W1"] + params["b1"])
            out = h @ params["W2"] + params["b2"]
            d2 = (out - yb) / len(xb)
            d1 = (d2 @ params["W2"].T) * (h > 0)
            step += 1
            lr = 0.1 * 1e40 ** min(max(0, step - 148), 7)  # a warm-up gone wrong: the rate grows 1e40x a step from 149 on
            params["W2"] -= lr * (h.T @ d2)
            params["b2"] -= lr * d2.sum(axis=0)
            params["W1"] -= lr * (xb.T @ d1)
            params["b1"] -= lr * d1.sum(axis=0)
            if first is None and not all(np.isfinite(p).all() for p in params.values()):
                first = step
print("first non-finite update:", first)
'''

PROGRAMS = {
    "per_sample_class": (PER_SAMPLE_CLASS, {"self.weights[0]", "self.weights[1]"}),
    "batched_module_dict": (BATCHED_MODULE_DICT, {"params['W1']", "params['b1']", "params['W2']", "params['b2']"}),
}


def _run(tmp_path: Path, source: str, pure: bool) -> tuple[int, dict]:
    """(the program's own first non-finite update, the report)."""
    script = tmp_path / "train.py"
    script.write_text(source, encoding="utf-8")
    out = tmp_path / ("pure.json" if pure else "compiled.json")
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1", NO_COLOR="1")
    env["NETDOCTOR_PURE_TRACER" if pure else "NETDOCTOR_REQUIRE_CTRACE"] = "1"
    proc = subprocess.run([sys.executable, "-m", "netdoctor.cli", "run", "--json", str(out), str(script)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    oracle = [line for line in proc.stdout.splitlines() if line.startswith("first non-finite update:")]
    assert oracle, proc.stdout + proc.stderr
    return int(oracle[-1].split(":")[1]), json.loads(out.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(PROGRAMS))
@pytest.mark.parametrize("pure", [False, True], ids=["compiled", "pure"])
def test_weights_gone_nonfinite_in_a_counted_window_are_named_at_their_update(tmp_path, name, pure):
    source, arrays = PROGRAMS[name]
    first, report = _run(tmp_path, source, pure)
    assert 140 < first < 160  # the program blew up where it was written to (between the schedule's deep pairs)
    found = [f for f in report["findings"] if f["code"] == "non-finite"]
    assert found, report["findings"]
    evidence = found[0]["evidence"]
    assert evidence["origin"] == "parameters" and evidence["step"] == first, evidence
    assert set(evidence["tensors"]) == arrays, evidence
    assert found[0]["severity"] == "error"
