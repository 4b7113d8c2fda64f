"""A user's own network code: a hand-written dense + tanh layer and a tiny classifier.

This is the kind of code netdoctor's pytest plugin and hypothesis strategies
are for (see ``test_my_layer.py`` next to it). Set ``MY_LAYER_BUG=1`` to plant
a classic bug: the output error written the textbook delta-rule way,
``target - output``, while the code returns gradients (``output - target``)
for an optimizer that subtracts them. Every gradient then has the wrong sign.
"""

from __future__ import annotations

import os

import numpy as np


def bug_planted() -> bool:
    """True when the environment asks for the planted sign bug (MY_LAYER_BUG=1)."""
    return os.environ.get("MY_LAYER_BUG", "") == "1"


class DenseTanh:
    """``h = tanh(x @ W + b)`` for a batch ``x`` of shape (N, D); ``W`` (D, H), ``b`` (H,)."""

    def __init__(self, n_in: int, n_out: int, *, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.params = {"W": rng.standard_normal((n_in, n_out)) / np.sqrt(n_in), "b": np.zeros(n_out)}

    def forward(self, x: np.ndarray, params: dict | None = None):
        """Returns ``(h, cache)`` with ``h`` of shape (N, H)."""
        p = self.params if params is None else params
        h = np.tanh(x @ p["W"] + p["b"])
        return h, (x, h, p["W"])

    def backward(self, dh: np.ndarray, cache) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """From ``dh = dL/dh`` (N, H) to ``(dx, {"W": dW, "b": db})``."""
        x, h, W = cache
        dz = dh * (1.0 - h * h)
        dW = x.T @ dz
        # Each sample adds its own dz to the bias gradient: a sum over the batch.
        db = dz.sum(axis=0)
        dx = dz @ W.T
        return dx, {"W": dW, "b": db}


class TinyNet:
    """DenseTanh hidden layer, then a linear layer with softmax cross-entropy.

    Follows netdoctor's model protocol: ``params`` (W1, b1, W2, b2) and
    ``loss(X, y) -> (mean loss, gradients)``.
    """

    def __init__(self, n_inputs: int, n_hidden: int, n_classes: int, *, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.n_inputs, self.n_classes = n_inputs, n_classes
        self.hidden = DenseTanh(n_inputs, n_hidden, seed=seed)
        self.params = {
            "W1": self.hidden.params["W"],
            "b1": self.hidden.params["b"],
            "W2": rng.standard_normal((n_hidden, n_classes)) / np.sqrt(n_hidden),
            "b2": np.zeros(n_classes),
        }

    def loss(self, X: np.ndarray, y: np.ndarray):
        p = self.params
        h, cache = self.hidden.forward(X, {"W": p["W1"], "b": p["b1"]})
        z = h @ p["W2"] + p["b2"]
        z = z - z.max(axis=1, keepdims=True)
        probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        n = len(X)
        loss = -np.log(probs[np.arange(n), y]).mean()
        onehot = np.zeros_like(probs)
        onehot[np.arange(n), y] = 1.0
        # dL/dz of the mean cross-entropy is (softmax - onehot) / N.
        dz = (onehot - probs) / n if bug_planted() else (probs - onehot) / n
        _, g = self.hidden.backward(dz @ p["W2"].T, cache)
        return float(loss), {"W1": g["W"], "b1": g["b"], "W2": h.T @ dz, "b2": dz.sum(axis=0)}

    def predict(self, X: np.ndarray) -> np.ndarray:
        h, _ = self.hidden.forward(X, {"W": self.params["W1"], "b": self.params["b1"]})
        return np.argmax(h @ self.params["W2"] + self.params["b2"], axis=1)
