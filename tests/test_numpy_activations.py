"""The NumPy observer finds a hidden layer's output among the arrays it sees, on the first samples of a large batch."""

from __future__ import annotations

import numpy as np
import pytest

from netdoctor.observe.options import ObserveOptions
from netdoctor.observe.session import Observation


class _Batched:
    """A 30-40-3 tanh net trained on batches of 200 (the activation check compares 26 samples of each)."""

    def __init__(self, cols: bool) -> None:
        rng = np.random.default_rng(0)
        self.cols = cols
        self.W1, self.W2 = rng.normal(0, 0.3, (30, 40)), rng.normal(0, 0.3, (40, 3))
        if cols:
            self.W1, self.W2 = self.W1.T.copy(), self.W2.T.copy()
        self.b1, self.b2 = np.zeros(40), np.zeros(3)
        self.seen: list[np.ndarray] = []

    def forward(self, x):
        if self.cols:
            h = np.tanh(self.W1 @ x + self.b1[:, None])
            z = self.W2 @ h + self.b2[:, None]
            e = np.exp(z - z.max(axis=0))
            self.seen.append(h.T.copy())
            return h, e / e.sum(axis=0)
        h = np.tanh(x @ self.W1 + self.b1)
        z = h @ self.W2 + self.b2
        e = np.exp(z - z.max(axis=1, keepdims=True))
        self.seen.append(h.copy())
        return h, e / e.sum(axis=1, keepdims=True)

    def backward(self, x, y, h, p):
        n = len(y)
        if self.cols:
            dz = p.copy()
            dz[y, np.arange(n)] -= 1
            dh = (self.W2.T @ dz) * (1 - h ** 2) / n
            return dh @ x.T, dh.sum(1), dz @ h.T / n, dz.sum(1) / n
        dz = p.copy()
        dz[np.arange(n), y] -= 1
        dh = (dz @ self.W2.T) * (1 - h ** 2) / n
        return x.T @ dh, dh.sum(0), h.T @ dz / n, dz.sum(0) / n

    def train(self, X, Y, lr, batch):
        updates = 0
        for _ in range(3):
            for i in range(0, len(Y), batch):
                x, y = X[i:i + batch], Y[i:i + batch]
                x = x.T if self.cols else x
                h, p = self.forward(x)
                gW1, gb1, gW2, gb2 = self.backward(x, y, h, p)
                self.W1 -= lr * gW1
                self.b1 -= lr * gb1
                self.W2 -= lr * gW2
                self.b2 -= lr * gb2
                updates += 1
        return updates


@pytest.mark.parametrize("cols", [False, True], ids=["rows", "columns"])
def test_a_hidden_layers_output_is_found_in_large_batches(cols):
    """Each activation the observer keeps is the first rows of one the program computed: found by comparing the
    candidate's leading samples with the layer's pre-activation (the product costs the same for any batch size)."""
    rng = np.random.default_rng(1)
    Y = rng.integers(0, 3, 2000)
    X = rng.normal(0, 1, (3, 30))[Y] + rng.normal(0, 1, (2000, 30))
    obs = Observation(ObserveOptions())
    (numpy_side,) = [b for b in obs.backends if b.name == "numpy"]
    with obs:
        net = _Batched(cols)
        made = net.train(X, Y, 0.5, 200)
    assert made == 30
    assert obs.report.context["updates_observed"] == 30
    backend = numpy_side.backend if hasattr(numpy_side, "backend") else numpy_side
    kept = backend.rows.get(1, [])
    assert kept, "no activation of the hidden layer was found"
    for rows in kept:
        assert rows.shape == (64, 40)
        assert any(np.array_equal(rows, h[:64]) for h in net.seen), "a kept activation is no output the program computed"


class _ListSamples:
    """A 12-8-3 tanh net trained one sample at a time, each sample handed around as a list of one-value lists (as
    the forum program keeps its pixels): the step, the forward and the loop all hold the same list."""

    def __init__(self) -> None:
        rng = np.random.default_rng(2)
        self.W1, self.b1 = rng.normal(0, 0.5, (8, 12)), np.zeros((8, 1))
        self.W2, self.b2 = rng.normal(0, 0.5, (3, 8)), np.zeros((3, 1))
        self.hidden: list[np.ndarray] = []

    def forward(self, sample):
        h = np.tanh(self.W1 @ np.array(sample) + self.b1)
        self.hidden.append(h[:, 0].copy())
        return h, self.W2 @ h + self.b2

    def step(self, sample, target, lr):
        x = np.array(sample)
        h, out = self.forward(sample)
        d_out = out - target
        d_h = (self.W2.T @ d_out) * (1 - h ** 2)
        self.W2 -= lr * d_out @ h.T
        self.b2 -= lr * d_out
        self.W1 -= lr * d_h @ x.T
        self.b1 -= lr * d_h


def test_a_sample_kept_as_a_list_is_converted_once_per_look(monkeypatch):
    """A look at the layers' outputs reads the inputs the frame and its callers hold: a sample kept as a list, held by
    three frames, is converted to an array once per look (each conversion of 784 one-value lists cost the forum
    program 0.1 ms), and every frame that holds it still contributes an input, as when each was converted."""
    from netdoctor.observe.numpy.backend import NumpyBackend

    conversions: list[int] = []
    looks: list[tuple[int, int]] = []
    """Per look: the conversions of a list already converted in it, and the inputs of the sample's values it read."""
    as_input, inputs_near = NumpyBackend._as_input, NumpyBackend._inputs_near

    def counted_as_input(self, v):
        if isinstance(v, list) and len(v) == 12:
            conversions.append(id(v))
        return as_input(self, v)

    def counted_inputs_near(self, frame, kept=[]):  # noqa: B006 - as the original's
        before = len(conversions)
        seen, told = inputs_near(self, frame, kept)
        mine = conversions[before:]
        looks.append((len(mine) - len(set(mine)), sum(x.size == 12 for x in seen)))
        return seen, told

    monkeypatch.setattr(NumpyBackend, "_as_input", counted_as_input)
    monkeypatch.setattr(NumpyBackend, "_inputs_near", counted_inputs_near)
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, 300)
    X = rng.normal(0, 1, (3, 12))[labels] + rng.normal(0, 0.5, (300, 12))
    targets = np.eye(3)[labels][:, :, None]
    obs = Observation(ObserveOptions())
    with obs:
        net = _ListSamples()
        for row, target in zip(X, targets):
            sample = [[float(v)] for v in row]
            net.step(sample, target, 0.05)
    assert obs.report.context["updates_observed"] == 300
    assert looks, "no look at the layers' outputs read the inputs"
    assert all(again == 0 for again, _ in looks), [look for look in looks if look[0]][:8]
    # the step's argument, the forward's and the loop's local: three inputs of the sample's values in each look
    assert max(held for _, held in looks) >= 2


def _output_like_cases():
    """Arrays a look meets: pre-activations, outputs of tanh/sigmoid/relu, deltas, masks (0/1 and an inverted
    dropout's 0/1.25), a relu output with one firing value, all zeros, NaN and infinities placed early or late, in
    C, F and strided layouts, small and larger than the screened head."""
    rng = np.random.default_rng(3)
    cases = []
    for shape in [(3, 5), (32, 4000), (4000, 10), (7,), (64, 9)]:
        z = rng.normal(0, 2, shape)
        relu = np.maximum(z, 0)
        one_value = np.where(z > 1.5, 0.7, 0.0)
        cases += [z, z * 0.1, np.tanh(z), 1 / (1 + np.exp(-z)), relu, (z > 0).astype(float), (z > 0) * 1.25,
                  one_value, np.where(z > 0, 1.0, 0.0) * (rng.random(shape) < 0.99), np.zeros(shape), relu - 1e-3,
                  np.clip(z, -1, 1), np.clip(z, -1, 1.0000001), np.clip(z, -1.0000001, 1)]
        for base in (np.tanh(z), relu, (z > 0) * 1.25):
            for value in (np.nan, np.inf, -np.inf, -2.0, 1.5, 0.3):
                for at in (0, base.size - 1):
                    planted = base.copy()
                    planted.reshape(-1)[at] = value
                    cases.append(planted)
    # layouts: a transposed view and a strided slice read through the flat iterator
    cases += [c.T for c in cases if c.ndim == 2] + [c[:, ::2] for c in cases if c.ndim == 2 and c.shape[1] > 2]
    return cases


def test_output_like_answers_as_bounded_and_not_a_mask():
    from netdoctor.observe.numpy.activations import _mask, _output_like
    from netdoctor.observe.numpy.roles import bounded

    cases = _output_like_cases()
    answers = [_output_like(a) for a in cases]
    assert answers == [bool(bounded(a) and not _mask(a)) for a in cases]
    assert any(answers) and not all(answers)


def _candidates_by_definition(values, widths, skip):
    """The candidates as round 15 listed them: every array met, each tested with ``bounded`` and ``_mask`` in full."""
    from netdoctor.observe.numpy.activations import _batch_axis_ok, _mask
    from netdoctor.observe.numpy.roles import bounded

    candidates = {}
    for v in values:
        seq = v if isinstance(v, (list, tuple)) and len(v) <= 16 else (v,)
        for a in seq:
            if not isinstance(a, np.ndarray) or a.dtype.kind != "f" or a.ndim > 2 or a.size == 0 or id(a) in skip:
                continue
            for layer, w in enumerate(widths, start=1):
                if w not in a.shape:
                    continue
                for cols in (True, False):
                    if (a.ndim == 1 or _batch_axis_ok(a, w, cols)) and len(candidates.setdefault((layer, cols), [])) < 8:
                        if all(a is not c for c in candidates[(layer, cols)]) and bounded(a) and not _mask(a):
                            candidates[(layer, cols)].append(a)
    return candidates


@pytest.mark.parametrize("seed", range(6))
def test_layer_candidates_are_those_of_the_definition(seed):
    """Arrays met several times (a local that a layer object also keeps, in a tuple returned), lists longer than 16,
    parameters skipped, more than 8 arrays of one width, square arrays: the same candidates in the same order."""
    from netdoctor.observe.numpy.activations import _layer_candidates

    rng = np.random.default_rng(seed)
    pool = [a for a in _output_like_cases() if a.ndim <= 2]
    pool += [np.tanh(rng.normal(0, 1, shape)) for shape in [(16, 16), (16, 5), (5, 16), (16,), (12, 16)] for _ in range(5)]
    picks = [pool[i] for i in rng.integers(0, len(pool), 60)]
    values = []
    for a in picks:
        roll = rng.random()
        values.append(a if roll < 0.6 else (a, picks[0]) if roll < 0.8 else [a] * 17 if roll < 0.85 else "text")
    values += picks[:10]  # met again
    skip = {id(a) for a in picks[5:15:3]}
    widths = [16, 5] if seed % 2 else [32, 10, 16]
    got = _layer_candidates(values, widths, skip)
    want = _candidates_by_definition(values, widths, skip)
    assert {k: [id(a) for a in v] for k, v in got.items() if v} == {k: [id(a) for a in v] for k, v in want.items() if v}
    assert any(got.values())
