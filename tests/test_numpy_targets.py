"""How the NumPy observer tells targets from the other arrays handed with them (``observe/numpy/targets.py``): codes
of a few values, and rows of many values that name a class and come back (label smoothing toward the class prior, a
fixed teacher's distributions), never the forward's output, collapsed or not."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from netdoctor.observe.numpy.arrays import weak
from netdoctor.observe.numpy.targets import SOFT_ROWS, SoftRows, _encodes_classes, _is_output, _soft_read

C = 5
PRIOR = np.array([0.35, 0.25, 0.2, 0.12, 0.08])
SMOOTH = 0.8 * np.eye(C) + 0.2 * PRIOR
"""Label smoothing toward the class prior: a distribution of five distinct values per class."""


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def batch(rng: np.random.Generator, n: int = 25) -> np.ndarray:
    return SMOOTH[rng.integers(0, C, n)]


@pytest.mark.parametrize("rows, several, encodes", [
    (np.eye(C)[[0, 3, 1, 1]], True, True),
    (np.where(np.eye(C)[[0, 3, 1]] > 0, 0.9, -0.9), True, True),  # a +-0.9 margin
    (np.where(np.eye(C)[[0, 3, 1]] > 0, 0.91, 0.01), True, True),  # uniform smoothing: two values
    (np.array([2, 0, 4]), True, True),  # integer labels
    (SMOOTH[[0, 3, 1]], True, False),  # smoothing toward the prior: read only once the rows come back
    (softmax(np.random.default_rng(0).normal(size=(4, C))) - np.eye(C)[[0, 1, 2, 3]], True, False),  # an error
    (np.array([[1.0, 1, 0, 0, 0], [0, 1, 0, 1, 0]]), True, True),  # multi-hot rows (T[:, y] = 1)
    (np.array([[1.0, 1, 0, 0, 0], [0, 1, 0, 1, 0]]), False, False),  # beside the output: a mask, not targets
], ids=["one-hot", "margin", "uniform-smoothing", "labels", "prior-smoothing", "output-error", "multi-hot",
        "multi-hot-beside-output"])
def test_codes_of_a_few_values_encode_classes(rows, several, encodes):
    assert _encodes_classes(rows, several=several) is encodes


def test_smoothed_rows_are_read_once_they_came_back_after_an_update():
    rng = np.random.default_rng(1)
    soft = SoftRows()
    first = batch(rng)
    assert not soft.known("t", first, 1)  # first seen
    assert not soft.known("t", first, 1)  # again, but the weights have not moved since
    assert soft.known("t", first[::-1], 2)
    assert not soft.known("t", np.vstack([first, [[0.2, 0.2, 0.2, 0.2, 0.2]]]), 3)  # a row never seen before
    assert soft.known("t", first, 3)
    assert not soft.known("other", first, 4)  # each name has its own table


def test_a_collapsed_output_moving_with_each_update_never_comes_back():
    """Every row of a collapsed network's output is one row; it moves with the output layer at every update."""
    rng = np.random.default_rng(2)
    soft = SoftRows()
    b = rng.normal(size=C)
    for update in range(200):
        b -= 0.1 * (softmax(b[None])[0] - PRIOR)  # the output bias descending toward the prior
        assert not soft.known("probs", np.repeat(softmax(b[None]), 25, axis=0), update)


def test_outputs_filling_the_table_make_room_for_targets_that_come_back():
    rng = np.random.default_rng(3)
    soft = SoftRows()
    for update in range(1, 8):
        assert not soft.known("x", softmax(rng.normal(size=(40, C))), update)  # never the same row twice
    t = batch(rng)
    assert not soft.known("x", t, 8)
    assert not soft.known("x", softmax(rng.normal(size=(40, C))), 9)
    assert soft.known("x", t, 10)
    assert len(soft.tables["x"][0]) <= SOFT_ROWS


def backend(out: np.ndarray | None, updates: int = 0) -> SimpleNamespace:
    """What :func:`_soft_read` reads of the observer: the forward's last output (weakly, with its first row)."""
    b = SimpleNamespace(soft_rows=SoftRows(), updates=updates,
                        _last_out=(weak(out), out[0].astype(float)) if out is not None else None)
    b._is_output = lambda v, rows: _is_output(b, v, rows)
    return b


def test_a_frozen_collapsed_output_is_never_taken_for_targets():
    """A collapsed network whose output never moves: identical rows at every update, handed to the gradient function
    as a distribution like the targets. It is the forward's output, by identity and by value (a copy, or the softmax of
    its logits computed outside the forward)."""
    logits = np.repeat(np.array([[2.0, 0.5, 0.1, -1.0, 0.0]]), 25, axis=0)
    probs = softmax(logits)
    for out, handed in ((probs, probs), (probs, probs.copy()), (logits, probs)):
        b = backend(out)
        for update in range(1, 6):
            b.updates = update
            assert not _soft_read(b, "p", handed, handed), (out is logits, handed is probs)
    # the same rows as targets of a network whose output is elsewhere: read once they come back
    b = backend(softmax(np.random.default_rng(4).normal(size=(25, C))))
    assert not _soft_read(b, "t", probs, probs)
    b.updates = 1
    assert _soft_read(b, "t", probs.copy(), probs.copy())


def test_smoothed_targets_beside_a_healthy_output_are_read():
    rng = np.random.default_rng(5)
    b = backend(softmax(rng.normal(size=(25, C))))
    t = batch(rng)
    assert not _soft_read(b, "t", t, t)
    b.updates = 1
    assert _soft_read(b, "t", t, t)
    e = t - 0.01  # not a distribution: never read this way
    assert not _soft_read(b, "e", e, e) and not _soft_read(b, "e", e, e)
