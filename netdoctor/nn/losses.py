"""Losses on the output layer and the target encodings they need.

Both losses are means over the batch of ``N`` samples:

* softmax cross-entropy on logits ``z`` (N, C):
  ``L = -(1/N) sum_n log softmax(z_n)[y_n]``, ``dL/dz = (softmax(z) - onehot(y)) / N``;
* mean squared error on outputs ``a`` (N, C) against encoded targets ``t``:
  ``L = (1/N) sum_n 1/2 ||a_n - t_n||^2``, ``dL/da = (a - t) / N``.

Targets for MSE are encoded to the output activation's range: +-1 for tanh,
0/1 for sigmoid, one-hot otherwise.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

from netdoctor.errors import InvalidArgument

__all__ = ["LossName", "LOSSES", "encode_targets", "softmax", "cross_entropy", "mse", "expected_initial_loss"]

LossName = Literal["cross_entropy", "mse"]
LOSSES: tuple[LossName, ...] = get_args(LossName)


def encode_targets(y: np.ndarray, n_classes: int, output_activation: str, dtype=np.float64) -> np.ndarray:
    """One-hot targets (N, C) scaled to the output activation's range.

    ``tanh`` gets -1/+1, everything else 0/1.
    """
    low = -1.0 if output_activation == "tanh" else 0.0
    t = np.full((len(y), n_classes), low, dtype=dtype)
    t[np.arange(len(y)), y] = 1.0
    return t


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (N, C) logits, shifted by the row max for stability.

    The shift uses the real part so complex-step perturbations stay analytic.
    """
    shift = np.max(z.real, axis=1, keepdims=True)
    e = np.exp(z - shift)
    return e / e.sum(axis=1, keepdims=True)


def cross_entropy(z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean softmax cross-entropy and its gradient with respect to the logits.

    Returns:
        ``(loss, dz)``: the scalar loss (0-d array, complex if ``z`` is) and
        ``dz = (softmax(z) - onehot(y)) / N`` of shape (N, C).
    """
    n = z.shape[0]
    shift = np.max(z.real, axis=1, keepdims=True)
    zs = z - shift
    e = np.exp(zs)
    s = e.sum(axis=1, keepdims=True)
    log_p = zs - np.log(s)
    loss = -log_p[np.arange(n), y].sum() / n
    dz = e / s
    dz[np.arange(n), y] -= 1
    dz /= n
    return loss, dz


def mse(a: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over samples of half the squared error, and its gradient ``(a - t) / N``."""
    n = a.shape[0]
    d = a - t
    return 0.5 * (d * d).sum() / n, d / n


def expected_initial_loss(loss: LossName | str, n_classes: int, output_activation: str) -> float:
    """The loss an untrained network with near-uniform outputs should report.

    * cross-entropy: ``ln C`` (uniform softmax);
    * MSE with outputs near 0: ``1/2 * sum_k t_k^2`` = ``C/2`` for +-1 targets,
      ``1/2`` for 0/1 one-hot; for sigmoid outputs near 0.5 it is
      ``1/2 * (0.25 * C)``.
    """
    if loss == "cross_entropy":
        return float(np.log(n_classes))
    if loss != "mse":
        raise InvalidArgument(f"loss={loss!r} is not known; use one of {', '.join(LOSSES)}.")
    if output_activation == "tanh":
        return 0.5 * n_classes
    if output_activation == "sigmoid":
        return 0.5 * 0.25 * n_classes
    return 0.5
