"""The adapted network's forward pass: batches in the net's layout, outputs, activations.

Hand-written forwards take one column ``x`` (D, 1) or row (1, D). The adapter
tries the net's forward once on a whole batch (most column-vector code
broadcasts over columns) and uses it vectorised only if it agrees with
per-sample calls. When the activation can be identified (by matching the
net's own output with ``a = f(W a + b)`` over the known activations), per-layer
activations are computed from the parameters.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from netdoctor.adapters.base import AdapterBase
from netdoctor.buffers.reach import StateSnapshot
from netdoctor.errors import InvalidArgument, ProtocolError
from netdoctor.nn.activations import ACTIVATIONS

__all__ = ["AdapterForward"]


class AdapterForward(AdapterBase):
    """Forward pass of :class:`netdoctor.adapters.handwritten.AdaptedNet` (a mixin: it uses the adapter's attributes)."""

    def _samples(self, X: np.ndarray, T: np.ndarray):
        """Per-sample inputs and targets in the net's convention: (D, 1) columns or (1, D) rows."""
        if self.layout == "columns":
            return [(X[i].reshape(-1, 1), T[i].reshape(-1, 1)) for i in range(len(X))]
        return [(X[i].reshape(1, -1), T[i].reshape(1, -1)) for i in range(len(X))]

    def _inputs(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            raise InvalidArgument(f"X has shape {X.shape}; expected (n_samples, {self.sizes[0]}).")
        return X

    def output(self, X: Any) -> np.ndarray:
        """The network's output for a batch, (N, C), from its own forward method.

        The user's forward is tried once on a whole batch (``X.T`` for column
        nets: most column-vector code broadcasts over columns) and compared with
        per-sample calls; it is used vectorised only if both agree.
        """
        X = self._inputs(X)
        if self._forward is None:
            return self._own_forward(X)[-1]
        if self._vectorised is None:
            self._vectorised = self._try_vectorised(X)
        if self._vectorised:
            return self._batch_forward(X)
        return np.stack([np.asarray(self._call(self._forward, x), dtype=float).reshape(-1) for x, _ in
                         self._samples(X, np.zeros((len(X), 1)))])

    def _batch_forward(self, X: np.ndarray) -> np.ndarray:
        if self.layout == "columns":
            return np.asarray(self._call(self._forward, X.T), dtype=float).T
        return np.asarray(self._call(self._forward, X), dtype=float)

    def _try_vectorised(self, X: np.ndarray) -> bool:
        n = 3 if self.n_classes != 3 else 4
        probe = np.resize(X, (n, X.shape[1])) * np.linspace(1.0, 0.5, n)[:, None]
        snap = StateSnapshot(self.net)
        try:
            single = np.stack([np.asarray(self._call(self._forward, x), dtype=float).reshape(-1)
                               for x, _ in self._samples(probe, np.zeros((n, 1)))])
        finally:
            snap.restore()
        try:
            batch = self._batch_forward(probe)
            ok = batch.shape == single.shape and np.allclose(batch, single, rtol=1e-9, atol=1e-12)
        except Exception:  # the user's forward only takes one sample: loop instead
            ok = False
        finally:
            snap.restore()
        if not ok:
            self.notes.append("forward runs one sample at a time (it does not broadcast over a batch).")
        return ok

    def _own_forward(self, X: np.ndarray) -> list[np.ndarray]:
        """Per-layer outputs (N, units) computed from the parameters and the identified activation."""
        W, B = self._lists()
        a, outs = X, []
        for l, (w, b) in enumerate(zip(W, B)):
            z = a @ (w.T if self.layout == "columns" else w) + b.reshape(1, -1)
            f = self._act_out if l == len(W) - 1 else self._act
            if f is None:
                raise ProtocolError("the network's activation is not known; pass activation=\"tanh\" (or its name) to adapt().")
            if f == "softmax":
                e = np.exp(z - z.max(axis=1, keepdims=True))
                a = e / e.sum(axis=1, keepdims=True)
            else:
                a = ACTIVATIONS[f].forward(z)
            outs.append(a)
        return outs

    def _identify_activation(self, activation: str | None) -> None:
        if activation is None:
            return
        if activation != "auto":
            if activation not in ACTIVATIONS:
                raise InvalidArgument(f"activation={activation!r} is not known; use one of {', '.join(ACTIVATIONS)}.")
            self._act = self._act_out = activation
        elif self._forward is not None:
            X = np.random.default_rng(0).uniform(0, 1, (2, self.sizes[0]))
            try:
                ref = self.output(X)
            except Exception:  # identified later through loss(), or not at all
                return
            for hidden in ACTIVATIONS:
                for out in (hidden, "identity", "softmax", "sigmoid"):
                    self._act, self._act_out = hidden, out
                    if np.allclose(self._own_forward(X)[-1], ref, rtol=1e-7, atol=1e-10):
                        self.notes.append(f"activations identified from the forward pass: {hidden} hidden, {out} output.")
                        self.activations = self._activations
                        return
            self._act = self._act_out = None
            return
        self.activations = self._activations

    def _activations(self, X: Any) -> list[np.ndarray]:
        """Per-layer activations (N, units), hidden layers then output."""
        return self._own_forward(self._inputs(X))

    def layer_activations(self) -> list[str]:
        """Activation name per layer, hidden then output (empty when unknown)."""
        if self._act is None:
            return []
        return [self._act] * (len(self.sizes) - 2) + [self._act_out or self._act]

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels (N,): argmax of the output."""
        return np.argmax(self.output(X), axis=1)
