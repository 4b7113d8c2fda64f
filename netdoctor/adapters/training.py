"""The adapted network's loss, gradients and training step, computed by the net's own code.

``loss(X, y)`` is the batch mean of the loss the net minimises (``1/2 ||a - t||^2``
per sample for ``"mse"``, ``-log a[y]`` for ``"cross_entropy"``) with the
gradient its code computes: returned per sample, accumulated into buffers, or
implied by one real in-place step ``-(w_after - w_before) / lr``. Everything
the net's code touches while computing it is restored bit for bit.
``train_step`` runs one mini-batch update through the net's own methods.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from netdoctor.adapters.style import AdapterStyle
from netdoctor.buffers.reach import StateSnapshot
from netdoctor.errors import InvalidArgument, ProtocolError
from netdoctor.nn.losses import encode_targets

__all__ = ["AdapterTraining", "LR_NAMES"]

LR_NAMES = ("lr", "eta", "learning_rate", "alpha", "rate")
"""Parameter and attribute names under which hand-written nets take their learning rate."""


class AdapterTraining(AdapterStyle):
    """Loss, gradients and updates of :class:`netdoctor.adapters.handwritten.AdaptedNet` (a mixin: it uses the adapter's attributes)."""

    def _call_lr(self, fn: Any, args: tuple, lr: float) -> Any:
        """Call an update method, handing it ``lr`` by parameter or through the lr attribute."""
        f = getattr(self.net, fn) if isinstance(fn, str) else fn
        try:
            params = list(inspect.signature(f).parameters.values())
        except (TypeError, ValueError):
            params = []
        if not isinstance(fn, str):
            params = params[1:]  # f(net, ...)
        rest = params[len(args):]
        named = [p for p in rest if p.name in LR_NAMES]
        if named:
            return self._call_kw(fn, args, {named[0].name: lr})
        if len([p for p in rest if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]) == 1:
            return self._call(fn, *args, lr)
        if self._lr_attr is not None:
            setattr(self.net, self._lr_attr, lr)
        elif "lr ignored" not in " ".join(self.notes):
            self.notes.append("lr ignored: the update method takes no learning rate and no lr attribute was found.")
        return self._call(fn, *args)

    def _encode(self, y: Any, out: np.ndarray | None = None) -> np.ndarray:
        y = np.asarray(y).astype(np.intp)
        if self.targets == "auto":
            if self._act_out is not None:
                self.targets = "pm1" if self._act_out == "tanh" else "onehot"
                self.notes.append(f"targets={self.targets!r}: the output activation is {self._act_out}.")
            else:
                if out is None:
                    out = self.output(np.zeros((1, self.sizes[0])))
                self.targets = "pm1" if float(np.min(out)) < -1e-9 else "onehot"
                self.notes.append(f"targets={self.targets!r}: the network's outputs "
                                  f"{'go below 0 (tanh-like)' if self.targets == 'pm1' else 'stay >= 0'}.")
        return encode_targets(y, self.n_classes, "tanh" if self.targets == "pm1" else "sigmoid")

    def _labels(self, X: np.ndarray, y: Any) -> np.ndarray:
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(X):
            raise InvalidArgument(f"y has shape {y.shape}; expected ({len(X)},) integer labels.")
        if y.size and (y.min() < 0 or y.max() >= self.n_classes):
            raise InvalidArgument(f"labels span {y.min()}..{y.max()}; expected 0..{self.n_classes - 1}.")
        return y.astype(np.intp)

    def _loss_value(self, out: np.ndarray, T: np.ndarray, y: np.ndarray) -> float:
        n = len(out)
        if self.loss_name == "mse":
            return float(0.5 * np.sum((out - T) ** 2) / n)
        return float(-np.mean(np.log(np.clip(out[np.arange(n), y], 1e-300, None))))

    def loss(self, X: Any, y: Any) -> tuple[float, dict[str, np.ndarray]]:
        """Mean loss over the batch and the gradient the net's own code computes (or implies).

        Nothing of the net changes: buffers, counters and weights touched by
        its backprop or trial step are restored bit for bit.
        """
        X = self._inputs(X)
        y = self._labels(X, y)
        out = self.output(X)
        T = self._encode(y, out)
        return self._loss_value(out, T, y), self._gradients(X, T, y)

    def _gradients(self, X: np.ndarray, T: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        n = len(X)
        names = list(self.params)
        acc = {k: np.zeros(p.shape) for k, p in self.params.items()}
        snap = StateSnapshot(self.net)
        try:
            if self.style == "gradients":
                for x, t in self._samples(X, T):
                    g = self._as_grads(self._call(self._backprop, x, t))
                    if g is None:
                        raise ProtocolError("backprop stopped returning (nabla_b, nabla_w) lists matching the layers.")
                    for k in names:
                        acc[k] += g[k]
                return {k: v / n for k, v in acc.items()}
            if self.style == "accumulate":
                before = self._buffer_contents()
                for x, t in self._samples(X, T):
                    self._call(self._backprop, x, t)
                after = self._buffer_contents()
                return {k: self.buffer_scale * (after[k] - before[k]) / n for k in names}
            # inplace: one trial step per sample from the same weights, or one batch step
            lr = self.implied_lr
            if self._custom_step is not None:
                before = {k: p.copy() for k, p in self.params.items()}
                self._custom_step(self.net, X, y, lr)
                return {k: -(np.asarray(p, dtype=float) - before[k]) / lr for k, p in self.params.items()}
            for x, t in self._samples(X, T):
                before = {k: p.copy() for k, p in self.params.items()}
                self._call_lr(self._step, (x, t), lr)
                for k, p in self.params.items():
                    acc[k] -= (p - before[k]) / lr
                snap.restore()
            return {k: v / n for k, v in acc.items()}
        finally:
            snap.restore()

    def _buffer_contents(self) -> dict[str, np.ndarray]:
        if self._buffers is None:
            raise ProtocolError("style='accumulate' needs buffers=(\"<weight buffers>\", \"<bias buffers>\").")
        wb, bb = (getattr(self.net, b) for b in self._buffers)
        W, B = self._lists()
        out = {}
        for l in range(len(W)):
            wk, bk = self._keys(l)
            out[wk] = np.array(wb[l], dtype=float).reshape(W[l].shape)
            out[bk] = np.array(bb[l], dtype=float).reshape(B[l].shape)
        return out


    # -- training ------------------------------------------------------------
    def train_step(self, X: Any, y: Any, lr: float) -> float:
        """One mini-batch update by the net's own code.

        * custom ``train_step``: ``f(net, X, y, lr)``;
        * ``"gradients"``: the net's ``update_mini_batch(samples, lr)`` if it has
          one, else ``w -= lr * mean gradient`` on the net's arrays;
        * ``"accumulate"``: ``backprop`` per sample, then the net's ``update``;
        * ``"inplace"``: the per-sample ``step`` (each with ``lr``).

        Returns:
            the batch's mean loss before the update.
        """
        X = self._inputs(X)
        y = self._labels(X, y)
        out = self.output(X)
        T = self._encode(y, out)
        value = self._loss_value(out, T, y)
        if self._custom_step is not None:
            self._custom_step(self.net, X, y, lr)
        elif self.style == "gradients":
            if callable(getattr(self.net, "update_mini_batch", None)):
                self._call_lr("update_mini_batch", (self._samples(X, T),), lr)
            else:
                g = self._gradients(X, T, y)
                for k, p in self.params.items():
                    p -= lr * g[k]
        elif self.style == "accumulate":
            for x, t in self._samples(X, T):
                self._call(self._backprop, x, t)
            self._call_lr(self._update, (), lr)
        else:
            for x, t in self._samples(X, T):
                self._call_lr(self._step, (x, t), lr)
        return value
