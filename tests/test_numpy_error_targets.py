"""Targets read back from the output error a program hands its layers (``observe/numpy/error_targets.py``): for an
error linear in the targets, ``d = (O - T) / k`` with an unknown scale ``k``, ``T = O - k d`` is the targets exactly;
the errors that are not linear in them, and deltas of no class code, give none."""

from __future__ import annotations

import numpy as np
import pytest

from netdoctor.observe.numpy.error_targets import targets_from_error


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("n, c", [(20, 3), (1, 4), (16, 2), (50, 10)])
@pytest.mark.parametrize("scale", ["mean", "sum", "mse", "ascent"])
def test_the_targets_an_error_is_built_from_are_found_whatever_its_scale(n, c, scale):
    """Softmax cross-entropy averaged (``(p - t) / n``) or summed (``p - t``), a squared error's ``2 (o - t) / n``
    and a climbing step's ``(t - p) / n``: the one-hot rows the program built are given back, entry for entry."""
    rng = np.random.default_rng(n * c)
    labels = rng.integers(0, c, n)
    labels[: min(n, c)] = np.arange(min(n, c))  # (every class at least once where the batch allows)
    T = np.eye(c)[labels]
    out = softmax(rng.normal(0, 1, (n, c))) if scale != "mse" else rng.normal(0.3, 0.4, (n, c))
    d = {"mean": (out - T) / n, "sum": out - T, "mse": 2 * (out - T) / n, "ascent": (T - out) / n}[scale]
    if n == 1:
        out, d, T = out[0], d[0], T[0]
    got = targets_from_error(out, d)
    assert got is not None and got.shape == T.shape
    np.testing.assert_allclose(got, T, atol=1e-9)


def test_plus_minus_one_codes_of_a_tanh_output_are_found():
    """``(y - code) / n`` of tanh units trained toward +-1 codes: the codes, not one-hot rows."""
    rng = np.random.default_rng(3)
    codes = np.where(np.eye(4)[rng.integers(0, 4, 12)] > 0, 1.0, -1.0)
    y = np.tanh(rng.normal(0, 1, (12, 4)))
    np.testing.assert_allclose(targets_from_error(y, (y - codes) / 12), codes, atol=1e-9)


def test_a_sigmoid_delta_and_a_hidden_delta_give_none():
    """``(o - t) o (1 - o)`` is not linear in the targets; a hidden layer's delta beside its activation holds no code."""
    rng = np.random.default_rng(4)
    T = np.eye(3)[rng.integers(0, 3, 10)]
    o = 1 / (1 + np.exp(-rng.normal(0, 1, (10, 3))))
    assert targets_from_error(o, (o - T) * o * (1 - o)) is None
    h = np.tanh(rng.normal(0, 1, (10, 6)))
    assert targets_from_error(h, rng.normal(0, 0.1, (10, 6)) * (1 - h ** 2)) is None


def test_an_output_and_an_unrelated_array_of_its_shape_give_none():
    """Two arrays of the output's shape that are no (output, error) pair: no scale makes a code of them."""
    rng = np.random.default_rng(5)
    p = softmax(rng.normal(0, 1, (8, 4)))
    assert targets_from_error(p, softmax(rng.normal(0, 1, (8, 4)))) is None
    assert targets_from_error(p, np.zeros_like(p)) is None


def test_a_saturated_output_that_is_a_code_already_gives_none():
    """A tanh saturated at +-1 (``1 - 1e-16`` apart) beside its pre-activation: two entries of one value give a scale
    of ~1e-16, which reads the output itself as the targets whatever the other array is (the forum program's
    ``tanhDerivative(z)`` beside ``tanh(z)``: every sample counted twice)."""
    z = np.array([39.3, -79.3, -31.0, -33.5, -17.0, -20.2, -124.8, -42.9, -36.3, -44.2])
    assert targets_from_error(np.tanh(z).reshape(-1, 1), z.reshape(-1, 1)) is None
