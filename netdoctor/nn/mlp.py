"""The reference multilayer perceptron: what healthy training looks like.

Row convention: a batch ``X`` is ``(N, D)``; layer ``l`` computes
``z_l = a_{l-1} @ W_l + b_l`` with ``W_l`` of shape ``(D_{l-1}, D_l)`` and
``b_l`` of shape ``(D_l,)``, then ``a_l = f(z_l)``. The output layer uses
softmax with cross-entropy, or any activation with MSE.

It is the first citizen of the model protocol (see ``docs/protocol.md``):
``params``, ``loss(X, y)``, ``predict(X)``, ``activations(X)``,
``train_step(X, y, lr)``. Everything is vectorised over the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, get_args

import numpy as np

from netdoctor.errors import InvalidArgument
from netdoctor.nn.activations import ACTIVATIONS, ActivationName, get_activation
from netdoctor.nn.losses import LOSSES, LossName, cross_entropy, encode_targets, mse, softmax

__all__ = ["MLP", "INITS", "Init", "Reduce"]

Init = Literal["xavier", "he", "normal"]
INITS: tuple[Init, ...] = get_args(Init)
Reduce = Literal["mean", "sum"]
"""How a step combines the batch's gradients: their mean, or their sum (``lr * N`` in effect)."""
_DTYPES = {"float64": np.float64, "float32": np.float32}


def _check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise InvalidArgument(f"{name}={value!r} is not known; use one of {', '.join(choices)}.")


class MLP:
    """A fully connected network trained with mini-batch SGD.

    Args:
        sizes: layer widths from input to output, e.g. ``(784, 30, 10)``;
            at least two entries, all positive.
        activation: hidden activation: tanh, sigmoid, relu, leaky_relu, identity.
        output_activation: for MSE, the output activation (default: same as
            ``activation``, as classic hand-written nets do); must be
            ``"softmax"`` (the default) for cross-entropy.
        loss: ``"cross_entropy"`` (softmax outputs) or ``"mse"``.
        init: ``"xavier"`` (N(0, 1/fan_in) scaled for tanh-like units:
            ``sqrt(2/(fan_in+fan_out))``), ``"he"`` (``sqrt(2/fan_in)``) or
            ``"normal"`` (N(0, sigma^2), the classic N(0, 1) start). Biases start at 0,
            except for ``normal`` which draws them too, as the textbook network does.
        sigma: standard deviation for ``init="normal"``.
        momentum: heavy-ball momentum in [0, 1).
        reduce: ``"mean"`` (default) applies the batch-mean gradient; ``"sum"``
            applies the batch sum, as many hand-written nets do: the effective
            learning rate becomes ``lr * batch_size``.
        dtype: ``"float64"`` or ``"float32"`` (or the numpy types).
        seed: seed of the initialisation (an int or a ``numpy.random.Generator``).
    """

    def __init__(
        self,
        sizes: Sequence[int],
        *,
        activation: ActivationName = "tanh",
        output_activation: ActivationName | Literal["softmax"] | None = None,
        loss: LossName = "cross_entropy",
        init: Init = "xavier",
        sigma: float = 1.0,
        momentum: float = 0.0,
        reduce: Reduce = "mean",
        dtype: Any = "float64",
        seed: int | np.random.Generator | None = 0,
    ) -> None:
        sizes = tuple(int(s) for s in sizes)
        if len(sizes) < 2 or min(sizes) < 1:
            raise InvalidArgument(f"sizes={sizes} needs at least two positive layer widths, e.g. (784, 30, 10).")
        _check_choice("loss", loss, LOSSES)
        get_activation(activation)
        if output_activation is None:
            output_activation = "softmax" if loss == "cross_entropy" else activation
        if loss == "cross_entropy" and output_activation != "softmax":
            raise InvalidArgument(
                f"output_activation={output_activation!r} does not go with loss='cross_entropy'; "
                "cross-entropy takes softmax outputs (use loss='mse' for other output activations)."
            )
        if loss == "mse":
            get_activation(output_activation)
        _check_choice("init", init, INITS)
        _check_choice("reduce", reduce, get_args(Reduce))
        if not 0.0 <= momentum < 1.0:
            raise InvalidArgument(f"momentum={momentum} must be in [0, 1); 0.9 is typical.")
        if not sigma > 0:
            raise InvalidArgument(f"sigma={sigma} must be positive.")
        dtype_name = np.dtype(dtype).name
        if dtype_name not in _DTYPES:
            raise InvalidArgument(f"dtype={dtype_name!r} is not supported; use float64 or float32.")

        self.sizes = sizes
        self.activation = activation
        self.output_activation = output_activation
        self.loss_name = loss
        self.init = init
        self.sigma = float(sigma)
        self.momentum = float(momentum)
        self.reduce = reduce
        self.dtype = np.dtype(dtype_name)
        self.n_layers = len(sizes) - 1
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.params: dict[str, np.ndarray] = {}
        for l, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            if init == "xavier":
                scale = np.sqrt(2.0 / (fan_in + fan_out))
            elif init == "he":
                scale = np.sqrt(2.0 / fan_in)
            else:
                scale = self.sigma
            self.params[f"W{l}"] = (rng.standard_normal((fan_in, fan_out)) * scale).astype(self.dtype)
            b = rng.standard_normal(fan_out) * scale if init == "normal" else np.zeros(fan_out)
            self.params[f"b{l}"] = b.astype(self.dtype)
        self._velocity = {k: np.zeros_like(v) for k, v in self.params.items()} if momentum else None

    # -- description -------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """The hyper-parameters that define this network (JSON-ready)."""
        return {
            "sizes": list(self.sizes),
            "activation": self.activation,
            "output_activation": self.output_activation,
            "loss": self.loss_name,
            "init": self.init,
            "sigma": self.sigma,
            "momentum": self.momentum,
            "reduce": self.reduce,
            "dtype": self.dtype.name,
            "n_params": int(sum(p.size for p in self.params.values())),
        }

    def __repr__(self) -> str:
        arch = "-".join(map(str, self.sizes))
        return f"MLP({arch}, {self.activation}, {self.loss_name}, out={self.output_activation})"

    @property
    def n_classes(self) -> int:
        """Width of the output layer."""
        return self.sizes[-1]

    def layer_activation(self, l: int):
        """The activation of layer ``l`` (1-based; the output layer is ``n_layers``): its forward, backward and kinks."""
        if l == self.n_layers and self.loss_name == "mse":
            return ACTIVATIONS[self.output_activation]
        return ACTIVATIONS[self.activation]

    def _as_input(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            raise InvalidArgument(f"X has shape {X.shape}; expected (n_samples, {self.sizes[0]}).")
        if np.iscomplexobj(X) or X.dtype == self.dtype:
            return X
        return X.astype(self.dtype)

    # -- forward / backward -----------------------------------------------
    def forward(self, X: np.ndarray, params: dict[str, np.ndarray] | None = None):
        """Forward pass.

        Args:
            X: inputs (N, D).
            params: parameters to use instead of ``self.params`` (e.g. complex
                copies for a complex-step check).

        Returns:
            ``(out, cache)``: the last pre-activation ``z_L`` for cross-entropy
            (logits) or the output activation ``a_L`` for MSE, each (N, C);
            and the per-layer ``(a_in, z, a_out)`` tuples for backward.
        """
        p = self.params if params is None else params
        a = self._as_input(X)
        cache = []
        for l in range(1, self.n_layers + 1):
            z = a @ p[f"W{l}"]
            z += p[f"b{l}"]
            if l == self.n_layers and self.loss_name == "cross_entropy":
                cache.append((a, z, z))
                return z, cache
            out = self.layer_activation(l).forward(z)
            cache.append((a, z, out))
            a = out
        return a, cache

    def _loss_and_dout(self, out: np.ndarray, y: np.ndarray):
        if self.loss_name == "cross_entropy":
            return cross_entropy(out, y)
        t = encode_targets(y, self.n_classes, self.output_activation, dtype=self.dtype)
        return mse(out, t)

    def backward(self, dout: np.ndarray, cache) -> dict[str, np.ndarray]:
        """Backward pass from ``dout = dL/d(out)`` through the cached layers.

        Returns:
            gradients with the names and shapes of ``params``:
            ``dW_l = a_{l-1}^T dz_l`` and ``db_l = sum_n dz_l``.
        """
        grads: dict[str, np.ndarray] = {}
        d = dout
        p = self.params
        for l in range(self.n_layers, 0, -1):
            a_in, z, a_out = cache[l - 1]
            if not (l == self.n_layers and self.loss_name == "cross_entropy"):
                d = self.layer_activation(l).backward(d, z, a_out)
            grads[f"W{l}"] = a_in.T @ d
            grads[f"b{l}"] = d.sum(axis=0)
            if l > 1:
                d = d @ p[f"W{l}"].T
        return {k: grads[k] for k in p}

    def _check_labels(self, X, y) -> np.ndarray:
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(X):
            raise InvalidArgument(f"y has shape {y.shape}; expected ({len(X)},) integer labels.")
        if y.size and (y.min() < 0 or y.max() >= self.n_classes):
            raise InvalidArgument(f"labels span {y.min()}..{y.max()}; expected 0..{self.n_classes - 1}.")
        return y.astype(np.intp, copy=False)

    def loss(self, X: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        """Mean loss over the batch and its gradient for every parameter (fresh arrays)."""
        y = self._check_labels(X, y)
        out, cache = self.forward(X)
        value, dout = self._loss_and_dout(out, y)
        return float(value), self.backward(dout, cache)

    def loss_value(self, X: np.ndarray, y: np.ndarray, params: dict[str, np.ndarray] | None = None):
        """The loss alone (no backward); complex when ``params`` are complex."""
        out, _ = self.forward(X, params)
        value, _ = self._loss_and_dout(out, np.asarray(y, dtype=np.intp))
        return value

    # -- protocol extras --------------------------------------------------
    def output(self, X: np.ndarray) -> np.ndarray:
        """Network output (N, C): softmax probabilities for cross-entropy, else ``a_L``."""
        out, _ = self.forward(X)
        return softmax(out) if self.loss_name == "cross_entropy" else out

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted class labels (N,): argmax of the output."""
        out, _ = self.forward(X)
        return np.argmax(out, axis=1)

    def activations(self, X: np.ndarray) -> list[np.ndarray]:
        """Per-layer activations, hidden layers then output (softmax for cross-entropy)."""
        out, cache = self.forward(X)
        acts = [c[2] for c in cache[:-1]]
        acts.append(softmax(out) if self.loss_name == "cross_entropy" else out)
        return acts

    def layer_activations(self) -> list[str]:
        """Activation name of each layer, hidden then output."""
        return [self.activation] * (self.n_layers - 1) + [self.output_activation]

    def train_step(self, X: np.ndarray, y: np.ndarray, lr: float) -> float:
        """One SGD (or momentum) update on a mini-batch, in place.

        With ``reduce="sum"`` the applied gradient is ``N`` times the mean
        gradient that :meth:`loss` returns.

        Returns:
            the batch's mean loss before the update.
        """
        value, grads = self.loss(X, y)
        scale = lr * (len(X) if self.reduce == "sum" else 1.0)
        for k, p in self.params.items():
            g = grads[k]
            if self._velocity is not None:
                v = self._velocity[k]
                v *= self.momentum
                v -= scale * g
                p += v
            else:
                g *= scale
                p -= g
        return value

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        epochs: int = 3,
        lr: float = 0.1,
        batch_size: int = 32,
        X_test: np.ndarray | None = None,
        y_test: np.ndarray | None = None,
        seed: int | None = 0,
        callbacks: Sequence[Any] = (),
    ):
        """Train with mini-batch SGD, reshuffling every epoch (seeded).

        Returns:
            :class:`netdoctor.nn.training.History` with per-epoch loss and accuracy.
        """
        from netdoctor.nn.training import train

        return train(
            self, X, y, epochs=epochs, lr=lr, batch_size=batch_size,
            X_test=X_test, y_test=y_test, seed=seed, callbacks=callbacks,
        )
