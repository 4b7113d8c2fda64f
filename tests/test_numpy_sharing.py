"""netdoctor.observe.numpy.sharing: the rows of a data set as a set (a shuffle keeps it, a write changes it); how long
the look for the buffers' second names keeps a window's step heard."""

from __future__ import annotations

import collections
import json
import sys
from types import FrameType

import numpy as np
import pytest

from netdoctor.cli import main
from netdoctor.observe.numpy import backend, sharing
from netdoctor.observe.numpy.network import Param, Root
from netdoctor.observe.numpy.sharing import row_set, same_rows


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.uint8])
def test_row_set_is_the_sorted_row_sums_and_sums_of_squares(dtype):
    rng = np.random.default_rng(3)
    a = (rng.random((200, 13)) * 200).astype(dtype)
    sums, squares = row_set(a)
    rows = [[float(x) for x in r] for r in a]  # the oracle: one row at a time, in Python floats
    assert np.allclose(sums, sorted(sum(r) for r in rows), rtol=1e-12)
    assert np.allclose(squares, sorted(sum(x * x for x in r) for r in rows), rtol=1e-12)


def test_a_shuffle_keeps_the_rows_and_a_write_into_one_row_does_not():
    rng = np.random.default_rng(4)
    a = rng.random((500, 784))
    before = row_set(a)
    shuffled = a[rng.permutation(len(a))]
    assert same_rows(before, row_set(shuffled))
    shuffled[17] *= 0.95
    assert not same_rows(before, row_set(shuffled))
    assert row_set(a[:, 0]) is None  # a vector has no rows


# -- how long the look keeps a window's step heard ------------------------------------------------------------------


class _Net:
    def __init__(self) -> None:
        self.W = np.ones((3, 2))
        self.dW = np.zeros((3, 2))
        self.template = np.zeros((3, 2))


def _grad(net: _Net, looks: sharing.SharedBuffers, updates: int) -> None:
    """The first gradient computation of a window: the look reads the buffers (while a start is worth reading, as the
    backend asks), then the gradient is added."""
    frame: FrameType = sys._getframe()
    root = Root(net, "net")
    if looks.pending(updates):
        looks.at_window_start(frame, root, [Param((("attr", "W"),), "net.W", (3, 2), np.arange(2),
                                                          buffer=(("attr", "dW"),))], [], updates)
    net.dW += 1.0


def _train(net: _Net, looks: sharing.SharedBuffers, windows: int, reset) -> list[tuple[bool, bool]]:
    """``windows`` windows, each one gradient then an update and ``reset(net)``: (waits, pending) after each start."""
    out = []
    for update in range(1, windows + 1):
        _grad(net, looks, update)
        out.append((looks.waits(update), looks.pending(update)))
        net.W -= 0.1 * net.dW
        reset(net)
    return out


def _fresh(net: _Net) -> None:
    net.dW = np.zeros_like(net.W)


def _in_place(net: _Net) -> None:
    net.dW[...] = 0.0


def _to_template(net: _Net) -> None:
    net.dW = net.template  # the bug: the next window sums into the template, the reset after hands the sums back


def _mine(code) -> bool:
    """The program's own code: the gradient function alone (the test's frames hold the looks themselves)."""
    return code is _grad.__code__


@pytest.mark.parametrize("reset", [_fresh, _in_place], ids=["fresh zeros", "zeroed in place"])
def test_buffers_emptied_at_every_reset_stop_the_wait_after_EMPTY_starts_and_are_still_read(reset):
    looks = sharing.SharedBuffers(_mine)
    seen = _train(_Net(), looks, sharing.EMPTY + 2, reset)
    # every start found the buffer empty: no look, nothing found; the step may go unheard from the EMPTY-th start on
    assert looks.scans == 0 and not looks.found
    assert [w for w, _ in seen] == [True] * (sharing.EMPTY - 1) + [False] * 3
    assert all(p for _, p in seen)  # (a start that is heard is still read)
    assert looks.windows == sharing.EMPTY + 2


def test_a_buffer_re_bound_to_a_kept_template_is_found_before_the_wait_ends():
    looks = sharing.SharedBuffers(_mine)
    net = _Net()
    seen = _train(net, looks, sharing.EMPTY + 2, _to_template)
    # the first start comes before any reset and the second after the first re-binding (the template still empty);
    # the third finds the template's sums under both names
    assert seen[:2] == [(True, True)] * 2
    assert list(looks.found) == ["net.dW"] and looks.found["net.dW"].other == "net.template"
    assert looks.first_update == 3
    assert not any(w for w, _ in seen[2:])


def test_a_buffer_never_emptied_is_looked_at_and_keeps_the_wait_until_the_looks_are_spent():
    looks = sharing.SharedBuffers(_mine)
    seen = _train(_Net(), looks, sharing.SCANS + 2, lambda net: None)
    assert not looks.found and looks.scans == sharing.SCANS
    assert [w for w, _ in seen] == [True] * sharing.SCANS + [False] * 2


FRESH_ZEROS = '''
import numpy as np

rng = np.random.default_rng(5)
centres = rng.normal(0, 1.5, (12, 4))
labels = rng.integers(0, 4, 1600)
X = centres[:, labels] + rng.normal(0, 1, (12, 1600))
EYE = np.eye(4)


class Dense:
    def __init__(self, n_in, n_out, hidden):
        self.W = rng.normal(0, np.sqrt(2.0 / n_in), (n_out, n_in))
        self.b = np.zeros((n_out, 1))
        self.hidden = hidden
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)

    def forward(self, x):
        self.x = x
        self.z = self.W @ x + self.b
        return np.maximum(self.z, 0.0) if self.hidden else self.z

    def backward(self, d):
        dz = d * (self.z > 0) if self.hidden else d
        self.dW += dz @ self.x.T
        self.db += dz
        return self.W.T @ dz


def forward(layers, x):
    a = x
    for layer in layers:
        a = layer.forward(a)
    return a


def backward(layers, t, out):
    e = np.exp(out - out.max())
    d = e / e.sum() - t
    for layer in reversed(layers):
        d = layer.backward(d)


def train(layers):
    for epoch in range(2):
        for start in range(0, 1600, 40):
            for j in range(start, start + 40):
                x = X[:, j:j + 1]
                out = forward(layers, x)
                backward(layers, EYE[labels[j]].reshape(-1, 1), out)
            for layer in layers:
                layer.W -= 0.05 / 40 * layer.dW
                layer.b -= 0.05 / 40 * layer.db
                layer.dW = np.zeros_like(layer.W)  # fresh zeros: nothing shared
                layer.db = np.zeros_like(layer.b)


train([Dense(12, 16, True), Dense(16, 4, False)])
'''


def _windows(tmp_path, monkeypatch, empty: int) -> tuple[dict, collections.Counter]:
    """The findings of ``netdoctor run`` on :data:`FRESH_ZEROS` with :data:`sharing.EMPTY` at ``empty``, and its windows
    by kind (deep, held, neither: traced in full)."""
    script = tmp_path / "fresh_zeros.py"
    script.write_text(FRESH_ZEROS)
    kinds: collections.Counter = collections.Counter()
    next_window = backend.NumpyBackend._next_window

    def counting(self):
        next_window(self)
        kinds["deep" if self._deep else "held" if self.tracer.holding else "traced"] += 1

    with monkeypatch.context() as m:
        m.setattr(sharing, "EMPTY", empty)
        m.setattr(backend.NumpyBackend, "_next_window", counting)
        out = tmp_path / f"fresh_{empty}.json"
        main(["run", "--no-color", "--json", str(out), str(script)])
    findings = [(f["code"], f["severity"], f["where"]) for f in json.loads(out.read_text())["findings"]]
    return {"findings": findings}, kinds


def test_a_program_whose_buffers_get_fresh_zeros_is_held_after_the_start_and_reports_the_same(tmp_path, monkeypatch,
                                                                                              capsys):
    # the oracle: the same run with the wait of before (every look of the first WINDOWS window starts kept the step heard)
    before, kinds_before = _windows(tmp_path, monkeypatch, sharing.WINDOWS)
    after, kinds_after = _windows(tmp_path, monkeypatch, sharing.EMPTY)
    capsys.readouterr()
    assert after == before
    assert kinds_before["traced"] > 0, kinds_before  # (the start ended before the WINDOWS-th window start)
    assert kinds_after["traced"] == 0 and kinds_after["held"] > kinds_before["held"], (kinds_before, kinds_after)
