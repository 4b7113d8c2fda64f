"""What ``netdoctor run`` does once per run, made once: the same observation and the same report as doing it again.

* Discovery walks every root at each of its first scans; a walk that finds the arrays of the last scan unchanged
  (read at once in C) skips the Python fingerprint loop (``discovery._walked_unchanged``). The oracle is the same run
  with the loop always taken.
* The rules read the windows' velocity fit, update sizes and ratios several times per report; each is made once per
  judging (``verdicts._remembered``). The oracle is the same backend judged with every reading made again.
"""

from __future__ import annotations

import contextlib
import random

import numpy as np
import pytest

from netdoctor.observe.tracer import COMPILED

needs_filter = pytest.mark.skipif(not COMPILED, reason="the compiled part is not built here")


def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


class _MiniBatches:
    """A class, per-sample backprop summed over mini-batches of 10, weights re-bound; the data set a list of samples."""

    def __init__(self):
        rng = np.random.default_rng(0)
        self.weights = [rng.normal(0, 0.5, (8, 6)), rng.normal(0, 0.5, (3, 8))]
        self.biases = [np.zeros((8, 1)), np.zeros((3, 1))]

    def backprop(self, x, y):
        h = _sig(self.weights[0] @ x + self.biases[0])
        out = _sig(self.weights[1] @ h + self.biases[1])
        d2 = (out - y) * out * (1 - out)
        d1 = (self.weights[1].T @ d2) * h * (1 - h)
        return [d1, d2], [d1 @ x.T, d2 @ h.T]

    def update(self, batch, lr):
        nb = [np.zeros(b.shape) for b in self.biases]
        nw = [np.zeros(w.shape) for w in self.weights]
        for x, y in batch:
            db, dw = self.backprop(x, y)
            nb = [a + d for a, d in zip(nb, db)]
            nw = [a + d for a, d in zip(nw, dw)]
        self.weights = [w - lr / len(batch) * g for w, g in zip(self.weights, nw)]
        self.biases = [b - lr / len(batch) * g for b, g in zip(self.biases, nb)]


def _class_program():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 400)
    eye = np.eye(3)
    data = [((eye[y] @ np.eye(3, 6) * 2 + rng.normal(0, 0.3, 6)).reshape(-1, 1), eye[y].reshape(-1, 1)) for y in labels]

    def run():
        net = _MiniBatches()
        random.Random(0).shuffle(data)
        for _ in range(2):
            for k in range(0, len(data), 10):
                net.update(data[k:k + 10], 2.0)
        return [w.copy() for w in net.weights]

    return run


def _dict_program():
    """Functions and a parameter dict, rows, one sample at a time; the data set a dict of per-sample lists."""
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 3, 300)
    data = {"x": [np.eye(3, 5)[y] * 2 + rng.normal(0, 0.3, 5) for y in labels], "t": [np.eye(3)[y] for y in labels]}
    params = {"W1": rng.normal(0, 0.5, (5, 8)), "b1": np.zeros(8), "W2": rng.normal(0, 0.5, (8, 3)), "b2": np.zeros(3)}

    def step(p, x, t, lr):
        h = np.tanh(x @ p["W1"] + p["b1"])
        out = h @ p["W2"] + p["b2"]
        d = out - t
        dh = (p["W2"] @ d) * (1 - h ** 2)
        p["W2"] -= lr * np.outer(h, d)
        p["b2"] -= lr * d
        p["W1"] -= lr * np.outer(x, dh)
        p["b1"] -= lr * dh

    def run():
        for _ in range(3):
            for x, t in zip(data["x"], data["t"]):
                step(params, x, t, 0.05)
        return {k: v.copy() for k, v in params.items()}

    return run


def _observe(program):
    from netdoctor.observe.options import ObserveOptions
    from netdoctor.observe.session import Observation

    obs = Observation(ObserveOptions())
    (side,) = [b for b in obs.backends if b.name == "numpy"]
    with obs:
        made = program()
    backend = side.backend if hasattr(side, "backend") else side
    return made, obs.report, backend


def _discovered(report, backend) -> dict:
    """What discovery saw and decided, and the report."""
    d = backend.discovery
    context = {k: v for k, v in report.context.items() if k not in ("seconds", "observer_seconds", "command")}
    return {
        "findings": [f.to_dict() for f in report.findings], "context": context,
        "params": [(p.text, p.shape) for p in backend.params], "scans": d.scans, "events": d.events,
        "paths": {k: (st.changes, st.inplace, st.rebound, st.rewrites, dict(st.where)) for k, st in d.paths.items()},
        "rng": d.rng.bit_generator.state,
    }


@needs_filter
@pytest.mark.parametrize("program", [_class_program, _dict_program], ids=["class-list-of-samples", "dict-per-sample"])
def test_a_walk_that_finds_the_last_scan_unchanged_skips_the_loop_and_discovers_the_same(program, monkeypatch):
    import netdoctor.observe.numpy.discovery as discovery

    real = discovery._walked_unchanged
    skipped = []

    def counted(root, before):
        same = real(root, before)
        skipped.append(same)
        return same

    monkeypatch.setattr(discovery, "_walked_unchanged", counted)
    made_fast, report_fast, backend_fast = _observe(program())
    monkeypatch.setattr(discovery, "_walked_unchanged", lambda root, before: False)
    made_slow, report_slow, backend_slow = _observe(program())
    assert backend_fast.params, "the network is found"
    assert sum(skipped) > len(skipped) // 2  # most walks found nothing new: their loop was skipped
    for a, b in zip(made_fast if isinstance(made_fast, list) else made_fast.values(),
                    made_slow if isinstance(made_slow, list) else made_slow.values()):
        np.testing.assert_array_equal(a, b)
    assert _discovered(report_fast, backend_fast) == _discovered(report_slow, backend_slow)


def test_the_report_reads_each_measure_of_the_windows_once_and_finds_what_reading_it_again_finds(monkeypatch):
    import netdoctor.observe.numpy.verdicts as verdicts

    _, _, backend = _observe(_class_program())
    backend._settle()
    fits = []
    real_fit = verdicts.fit_velocity

    def counted(*args, **kwargs):
        fits.append(1)
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(verdicts, "fit_velocity", counted)
    once = [f.to_dict() for f in verdicts.findings_from(backend)]
    fits_once = len(fits)
    sections_once = verdicts.sections_from(backend)
    monkeypatch.setattr(verdicts, "_judging", lambda b: contextlib.nullcontext())
    fits.clear()
    again = [f.to_dict() for f in verdicts.findings_from(backend)]
    fits_again = len(fits)
    sections_again = verdicts.sections_from(backend)
    assert fits_once == 1 < fits_again
    assert once == again
    assert repr(sections_once) == repr(sections_again)
