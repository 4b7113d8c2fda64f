"""Update windows only counted: the functions of a held step that have no role are not heard beneath it.

A per-sample program that accumulates its gradients into buffers has most of its update windows only counted: its
forward is held (its calls end in the call filter, as a library's do) and only the gradient function's calls are
heard (the buffers are looked at there). Python calls the trace function at every new frame whatever runs it, so
the layers' forwards and the activations that the held forward and the gradient function call used to reach the
handlers at every sample all the same (generated 102: 8,200 calls of its 26,800). They are no longer heard there;
called by the loop itself, they still are.

The oracle is the same run with that turned off: the report must be the same, finding for finding and number for
number (minus its timings), while the handlers hear none of those calls in the held windows. Two styles: layer objects
with their buffers as attributes (zeroed in place), and module functions over a dict of parameters (buffers in a
dict scaled to zero, the targets built and compared by helpers).
"""

from __future__ import annotations

import collections
import json
import re
from pathlib import Path

import pytest

from netdoctor.cli import main
from netdoctor.observe.numpy import backend

DATA = '''
import numpy as np

rng = np.random.default_rng(3)
centres = rng.normal(0, 1.5, (4, 12))
labels = rng.integers(0, 4, 3200)
X = centres[labels] + rng.normal(0, 1, (3200, 12))
'''

LAYERS = DATA + '''

def relu(z):
    return np.maximum(z, 0.0)


def relu_grad(z):
    return (z > 0).astype(float)


class Layer:
    def __init__(self, n_in, n_out, hidden):
        self.W = rng.normal(0, np.sqrt(2.0 / n_in), (n_in, n_out))
        self.b = np.zeros(n_out)
        self.hidden = hidden
        self.gW = np.zeros_like(self.W)
        self.gb = np.zeros_like(self.b)

    def forward(self, x):
        self.x = x
        self.z = x @ self.W + self.b
        return relu(self.z) if self.hidden else self.z

    def backward(self, d):
        if self.hidden:
            d = d * relu_grad(self.z)
        self.gW += np.outer(self.x, d)
        self.gb += d
        return self.W @ d


class Net:
    def __init__(self):
        self.layers = [Layer(12, 16, True), Layer(16, 4, False)]

    def predict(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def learn(self, x, label):
        out = self.predict(x)
        p = np.exp(out - out.max())
        p /= p.sum()
        p[label] -= 1.0
        d = p
        for layer in reversed(self.layers):
            d = layer.backward(d)


net = Net()
for epoch in range(2):
    for start in range(0, len(X), 16):
        for i in range(start, start + 16):
            net.learn(X[i], labels[i])
        for layer in net.layers:
            layer.W -= 0.05 / 16 * layer.gW
            layer.b -= 0.05 / 16 * layer.gb
            layer.gW[...] = 0.0
            layer.gb[...] = 0.0
print("accuracy", np.mean([net.predict(x).argmax() == t for x, t in zip(X[:400], labels[:400])]))
'''

FUNCTIONS = DATA + '''
params = {"W1": rng.normal(0, 0.3, (16, 12)), "b1": np.zeros(16), "W2": rng.normal(0, 0.3, (4, 16)), "b2": np.zeros(4)}
sums = {k: np.zeros_like(v) for k, v in params.items()}


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def dense(W, b, x):
    return W @ x + b


def forward(p, x):
    h = sigmoid(dense(p["W1"], p["b1"], x))
    return h, dense(p["W2"], p["b2"], h)


def onehot(label):
    t = np.zeros(4)
    t[label] = 1.0
    return t


def loss_grad(out, t):
    return out - t


def accumulate(p, x, label, acc):
    h, out = forward(p, x)
    d2 = loss_grad(out, onehot(label))
    d1 = (p["W2"].T @ d2) * h * (1 - h)
    acc["W2"] += np.outer(d2, h)
    acc["b2"] += d2
    acc["W1"] += np.outer(d1, x)
    acc["b1"] += d1


for epoch in range(2):
    for start in range(0, len(X), 20):
        for i in range(start, start + 20):
            accumulate(params, X[i], labels[i], sums)
        for k in params:
            params[k] -= 0.1 / 20 * sums[k]
            sums[k] *= 0.0
print("accuracy", np.mean([forward(params, x)[1].argmax() == t for x, t in zip(X[:400], labels[:400])]))
'''

TIMINGS = ("command", "seconds", "observer_seconds")


def _observe(tmp_path: Path, name: str, source: str, quiet: bool, monkeypatch) -> tuple[dict, collections.Counter]:
    """The report of ``netdoctor run`` on the program, and the calls its handlers heard, by (function, held)."""
    script = tmp_path / f"{name}.py"
    script.write_text(source)
    heard: collections.Counter = collections.Counter()
    on_call = backend.NumpyBackend._on_call

    def counting(self, frame):
        heard[(frame.f_code.co_name, self.tracer.holding)] += 1
        return on_call(self, frame)

    with monkeypatch.context() as m:
        m.setattr(backend.NumpyBackend, "_on_call", counting)
        if not quiet:
            m.setattr(backend.NumpyBackend, "_quiet_in_step", lambda self: [])
        out = tmp_path / f"{name}_{quiet}.json"
        main(["run", "--no-color", "--json", str(out), str(script)])
    report = json.loads(re.sub(r"[0-9.]+ s of CPU", "N s of CPU", out.read_text()))  # (the update check's time)
    for key in TIMINGS:
        report["context"].pop(key, None)
    return report, heard


@pytest.mark.parametrize(("name", "source", "quiet_names", "listened"), [
    ("layer_objects", LAYERS, {"forward", "relu", "relu_grad"}, "backward"),
    ("dict_functions", FUNCTIONS, {"dense", "sigmoid", "loss_grad"}, "accumulate"),
])
def test_a_held_step_s_callees_go_unheard_and_the_report_stays_the_same(tmp_path, monkeypatch, capsys, name, source,
                                                                         quiet_names, listened):
    before, heard_before = _observe(tmp_path, name, source, False, monkeypatch)
    after, heard_after = _observe(tmp_path, name, source, True, monkeypatch)
    capsys.readouterr()
    assert after == before
    assert heard_after[(listened, True)] > 0, heard_after  # windows were held, the gradient function heard there
    held_before = sum(n for (f, held), n in heard_before.items() if held and f in quiet_names)
    held_after = sum(n for (f, held), n in heard_after.items() if held and f in quiet_names)
    assert held_before > 0 and held_after == 0, (heard_before, heard_after)
    assert sum(heard_after.values()) < sum(heard_before.values())
