"""A typical hand-written network, one sample at a time: the speed baseline.

This is how many from-scratch MNIST nets are written: weights ``w[l]`` of
shape (D_out, D_in) and biases (D_out, 1) in Python lists, float64, every
sample a column vector (D, 1), and Python loops over samples and layers.
It is written *correctly* (fresh gradient sums per mini-batch, the batch mean
applied), so it computes the same update as ``netdoctor.MLP(...,
loss="mse", reduce="mean")`` with tanh units and +-1 targets; only the speed
differs. The benchmark and its test check that agreement.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PerSampleNet"]


class PerSampleNet:
    """tanh MLP with MSE on +-1 targets, trained sample by sample.

    Args:
        weights: per layer (D_out, D_in) arrays (copied, as float64).
        biases: per layer (D_out,) or (D_out, 1) arrays (copied, as float64).
    """

    def __init__(self, weights, biases) -> None:
        self.weights = [np.array(w, dtype=np.float64) for w in weights]
        self.biases = [np.array(b, dtype=np.float64).reshape(-1, 1) for b in biases]

    @classmethod
    def from_mlp(cls, model) -> PerSampleNet:
        """The same network as a netdoctor ``MLP`` (row convention ``z = a W + b``) in column form."""
        n = model.n_layers
        return cls([model.params[f"W{l}"].T for l in range(1, n + 1)],
                   [model.params[f"b{l}"] for l in range(1, n + 1)])

    def feedforward(self, x: np.ndarray) -> np.ndarray:
        """Output (C, 1) for one column ``x`` (D, 1)."""
        a = x
        for w, b in zip(self.weights, self.biases):
            a = np.tanh(w @ a + b)
        return a

    def backprop(self, x: np.ndarray, t: np.ndarray):
        """Gradients of ``1/2 ||a_L - t||^2`` for one sample, layer by layer."""
        activations = [x]
        a = x
        for w, b in zip(self.weights, self.biases):
            a = np.tanh(w @ a + b)
            activations.append(a)
        delta = (a - t) * (1 - a * a)
        nabla_w = [None] * len(self.weights)
        nabla_b = [None] * len(self.weights)
        for l in range(len(self.weights) - 1, -1, -1):
            nabla_w[l] = delta @ activations[l].T
            nabla_b[l] = delta
            if l > 0:
                a_prev = activations[l]
                delta = (self.weights[l].T @ delta) * (1 - a_prev * a_prev)
        return nabla_w, nabla_b

    def update_mini_batch(self, X: np.ndarray, y: np.ndarray, lr: float) -> None:
        """One SGD step with the mean gradient of the rows of ``X`` (N, D), labels ``y`` (N,)."""
        sum_w = [np.zeros_like(w) for w in self.weights]
        sum_b = [np.zeros_like(b) for b in self.biases]
        n_out = self.biases[-1].shape[0]
        for i in range(len(X)):
            x = X[i].reshape(-1, 1).astype(np.float64)
            t = -np.ones((n_out, 1))
            t[int(y[i])] = 1.0
            nabla_w, nabla_b = self.backprop(x, t)
            for l in range(len(self.weights)):
                sum_w[l] += nabla_w[l]
                sum_b[l] += nabla_b[l]
        for l in range(len(self.weights)):
            self.weights[l] -= lr / len(X) * sum_w[l]
            self.biases[l] -= lr / len(X) * sum_b[l]

    def train_epoch(self, X: np.ndarray, y: np.ndarray, *, lr: float = 0.1, batch_size: int = 100,
                    seed: int = 0, limit: int | None = None) -> int:
        """Shuffle (seeded), then update per mini-batch; stop after ``limit`` samples.

        Returns:
            the number of samples processed.
        """
        order = np.random.default_rng(seed).permutation(len(X))
        if limit is not None:
            order = order[:limit]
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            self.update_mini_batch(X[idx], y[idx], lr)
        return len(order)
