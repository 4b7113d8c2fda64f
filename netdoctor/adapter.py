"""Make a hand-written network speak the model protocol in a few lines.

Most from-scratch networks keep lists ``weights``/``biases`` of layers, work
on column vectors (``W_l`` of shape (out, in), ``b_l`` (out, 1), an image
``x`` (784, 1)), have a ``feedforward`` method and a ``backprop`` that

* ``"gradients"``: returns the sample's gradients, ``(nabla_b, nabla_w)`` as in
  the textbook network (either order, matched by shape);
* ``"accumulate"``: adds the sample's gradient into buffer lists, which an
  ``update`` method applies and resets; or
* ``"inplace"``: there is no gradient at all, only a ``step`` that changes the
  weights in place. The adapter then reports the *implied gradient*
  ``-(w_after - w_before) / lr`` of one real step at a known learning rate
  (the weights are restored bit for bit), so a gradient check judges the update
  the code really applies.

:func:`adapt` returns an :class:`AdaptedNet` with ``params`` (``weights[0]``,
``biases[0]``, ... live arrays, re-read on every access), ``loss(X, y)`` (the
batch mean of the loss the net minimises, ``1/2 ||a - t||^2`` per sample for
``"mse"``), ``predict``, ``train_step`` and, when the activation can be
identified, ``activations``. See ``docs/adapter.md``.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np

from .activations import ACTIVATIONS
from .aliasing import StateSnapshot
from .errors import InvalidArgument, ProtocolError
from .losses import encode_targets

__all__ = ["adapt", "AdaptedNet", "unwrap", "STYLES"]

STYLES = ("gradients", "accumulate", "inplace")
_FORWARDS = ("feedforward", "feed_forward", "forward", "forward_pass", "output")
_BACKPROPS = ("backprop", "backward", "back_propagate", "backpropagate", "gradient", "gradients")
_UPDATES = ("apply_updates", "update_weights", "apply_gradients", "update", "apply", "step")
_LR_NAMES = ("lr", "eta", "learning_rate", "alpha", "rate")


def unwrap(model: Any) -> Any:
    """The user's own network behind an adapted model (the model itself otherwise)."""
    inner = getattr(model, "__netdoctor_wrapped__", None)
    return model if inner is None else inner


def _method(net: Any, spec: Any, candidates: tuple[str, ...], what: str, required: bool) -> Any:
    """A callable from a name, a callable, or the first candidate name the net has."""
    if callable(spec) and not isinstance(spec, str):
        return spec
    names = candidates if spec in (None, "auto") else (spec,)
    for name in names:
        fn = getattr(net, name, None)
        if callable(fn):
            return name
    if required or spec not in (None, "auto"):
        raise ProtocolError(
            f"{type(net).__name__} has no method {' / '.join(names)}; the adapter needs it as the {what} "
            f"(pass {what}=\"<method name>\")."
        )
    return None


def adapt(
    net: Any,
    *,
    weights: str = "weights",
    biases: str = "biases",
    forward: str | Callable | None = "auto",
    backprop: str | Callable | None = "auto",
    style: str = "auto",
    buffers: tuple[str, str] | None = None,
    update: str | Callable | None = "auto",
    step: str | Callable | None = None,
    train_step: Callable | None = None,
    lr_attr: str | None = "auto",
    loss: str = "mse",
    targets: str = "auto",
    layout: str = "columns",
    activation: str | None = "auto",
    buffer_scale: float = 1.0,
    implied_lr: float = 1e-3,
) -> "AdaptedNet":
    """Wrap a hand-written network as a protocol model.

    Args:
        net: the user's network object.
        weights, biases: names of its lists of per-layer arrays.
        forward: method name (or ``f(net, x)``) computing the output of a column
            (or row) batch; ``"auto"`` tries feedforward/forward/...; ``None``
            computes the output from ``activation``.
        backprop: per-sample gradient method ``backprop(x, t)``; ``"auto"`` looks
            for backprop/backward/...
        style: ``"gradients"``, ``"accumulate"``, ``"inplace"`` or ``"auto"``
            (one trial call of ``backprop`` on a sample decides; nothing is kept).
        buffers: for ``"accumulate"``: names of the weight and bias buffer lists
            (found automatically: the lists the trial call changed).
        update: for ``"accumulate"``: the method applying (and resetting) the buffers.
        step: for ``"inplace"``: per-sample update ``step(x, t[, lr])``.
        train_step: a function ``f(net, X, y, lr)`` doing one mini-batch update;
            overrides the style's own update.
        lr_attr: attribute holding the net's learning rate, set to the ``lr``
            passed to ``train_step`` when the update method takes no ``lr``
            (``"auto"``: learning_rate / lr / eta / alpha).
        loss: ``"mse"`` (``1/2 ||a - t||^2`` per sample, mean over the batch) or
            ``"cross_entropy"`` (``-log a[y]`` on probability outputs).
        targets: ``"pm1"`` (+-1, tanh outputs), ``"onehot"`` (0/1) or ``"auto"``
            (+-1 if the net's outputs go below 0).
        layout: ``"columns"`` (x is (D, 1), W (out, in)) or ``"rows"`` (x is
            (1, D), W (in, out)).
        activation: activation name used to compute per-layer activations;
            ``"auto"`` identifies it by matching the net's own forward.
        buffer_scale: multiply buffer contents by this to get gradients (e.g.
            ``-1`` if the buffers accumulate negative gradients).
        implied_lr: learning rate of the trial step that measures an implied gradient.

    Returns:
        the :class:`AdaptedNet`; ``.notes`` says what was detected automatically.

    Raises:
        ProtocolError: a list or method the adapter needs is missing or inconsistent.
    """
    return AdaptedNet(
        net, weights=weights, biases=biases, forward=forward, backprop=backprop, style=style,
        buffers=buffers, update=update, step=step, train_step=train_step, lr_attr=lr_attr,
        loss=loss, targets=targets, layout=layout, activation=activation,
        buffer_scale=buffer_scale, implied_lr=implied_lr,
    )


class AdaptedNet:
    """A hand-written network seen through the model protocol (build it with :func:`adapt`).

    Attributes:
        net: the user's object (also ``__netdoctor_wrapped__``); every array
            in ``params`` is the net's own.
        style: ``"gradients"``, ``"accumulate"`` or ``"inplace"``.
        notes: what was detected automatically, in plain sentences.
    """

    def __init__(self, net: Any, *, weights, biases, forward, backprop, style, buffers, update, step,
                 train_step, lr_attr, loss, targets, layout, activation, buffer_scale, implied_lr) -> None:
        if layout not in ("columns", "rows"):
            raise InvalidArgument(f"layout={layout!r} is not known; use 'columns' (x is (D, 1)) or 'rows' (x is (1, D)).")
        if loss not in ("mse", "cross_entropy"):
            raise InvalidArgument(f"loss={loss!r} is not known; use 'mse' or 'cross_entropy'.")
        if targets not in ("auto", "pm1", "onehot"):
            raise InvalidArgument(f"targets={targets!r} is not known; use 'pm1', 'onehot' or 'auto'.")
        if style not in ("auto", *STYLES):
            raise InvalidArgument(f"style={style!r} is not known; use one of auto, {', '.join(STYLES)}.")
        if not implied_lr > 0:
            raise InvalidArgument(f"implied_lr={implied_lr} must be positive; 1e-3 is typical.")
        self.net = net
        self.notes: list[str] = []
        self._wname, self._bname = weights, biases
        self.layout, self.loss_name, self.targets = layout, loss, targets
        self.buffer_scale, self.implied_lr = float(buffer_scale), float(implied_lr)
        self._check_layers()
        self._forward = _method(net, forward, _FORWARDS, "forward", required=False) if forward is not None else None
        self._backprop = (_method(net, backprop, _BACKPROPS, "backprop", required=style in ("gradients", "accumulate"))
                          if backprop is not None else None)
        self._custom_step = train_step
        self._step = _method(net, step, (), "step", required=False) if step is not None else None
        self._vectorised: bool | None = None
        self._act = self._act_out = None
        self._identify_activation(activation)
        if self._forward is None and self._act is None:
            raise ProtocolError(f"{type(net).__name__} has no forward/feedforward method; pass forward=\"<method>\" or activation=\"tanh\".")
        self._buffers = tuple(buffers) if buffers else None
        self.style = self._detect_style(style)
        self._update = None
        if self.style == "accumulate":
            if self._buffers is None:
                raise ProtocolError("backprop accumulates into buffers the adapter could not find; pass buffers=(\"weight_updates\", \"bias_updates\").")
            if train_step is None:
                self._update = _method(net, update, _UPDATES, "update", required=True)
        if self.style == "inplace" and self._step is None and train_step is None:
            raise ProtocolError("style='inplace' needs step=\"<per-sample update method>\" or train_step=f(net, X, y, lr).")
        self._lr_attr = lr_attr
        if lr_attr == "auto":
            self._lr_attr = next((n for n in _LR_NAMES if isinstance(getattr(net, n, None), (int, float))), None)

    # -- structure ---------------------------------------------------------
    @property
    def __netdoctor_wrapped__(self) -> Any:
        return self.net

    def _lists(self) -> tuple[list, list]:
        W, B = getattr(self.net, self._wname, None), getattr(self.net, self._bname, None)
        for name, v in ((self._wname, W), (self._bname, B)):
            if not isinstance(v, (list, tuple)) or not v or not all(isinstance(a, np.ndarray) for a in v):
                raise ProtocolError(
                    f"{type(self.net).__name__}.{name} should be a list of per-layer NumPy arrays "
                    f"(the adapter reads parameters from it); got {type(v).__name__}. Pass {('weights' if v is W else 'biases')}=\"<attribute>\"."
                )
        return W, B

    def _check_layers(self) -> None:
        W, B = self._lists()
        if len(W) != len(B):
            raise ProtocolError(f"{self._wname} has {len(W)} layers but {self._bname} has {len(B)}; they must pair up.")
        for l, (w, b) in enumerate(zip(W, B)):
            out = w.shape[0] if self.layout == "columns" else w.shape[-1]
            if w.ndim != 2 or b.size != out:
                raise ProtocolError(
                    f"layer {l}: {self._wname}[{l}] has shape {w.shape} and {self._bname}[{l}] {b.shape}; with "
                    f"layout={self.layout!r} expected W (out, in) and b (out, 1)" if self.layout == "columns" else
                    f"layer {l}: {self._wname}[{l}] has shape {w.shape} and {self._bname}[{l}] {b.shape}; with "
                    f"layout='rows' expected W (in, out) and b (out,)"
                )
        self.sizes = [W[0].shape[1] if self.layout == "columns" else W[0].shape[0]] + [b.size for b in B]

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Live parameter arrays, ``weights[l]`` then ``biases[l]`` per layer (re-read each access)."""
        W, B = self._lists()
        out: dict[str, np.ndarray] = {}
        for l, (w, b) in enumerate(zip(W, B)):
            out[f"{self._wname}[{l}]"] = w
            out[f"{self._bname}[{l}]"] = b
        return out

    @property
    def n_classes(self) -> int:
        return self.sizes[-1]

    # -- calling the user's code ----------------------------------------
    def _call(self, fn: Any, *args: Any) -> Any:
        if isinstance(fn, str):
            return getattr(self.net, fn)(*args)
        return fn(self.net, *args)

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
        named = [p for p in rest if p.name in _LR_NAMES]
        if named:
            return self._call_kw(fn, args, {named[0].name: lr})
        if len([p for p in rest if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]) == 1:
            return self._call(fn, *args, lr)
        if self._lr_attr is not None:
            setattr(self.net, self._lr_attr, lr)
        elif "lr ignored" not in " ".join(self.notes):
            self.notes.append("lr ignored: the update method takes no learning rate and no lr attribute was found.")
        return self._call(fn, *args)

    def _call_kw(self, fn: Any, args: tuple, kw: dict) -> Any:
        if isinstance(fn, str):
            return getattr(self.net, fn)(*args, **kw)
        return fn(self.net, *args, **kw)

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

    # -- forward -----------------------------------------------------------
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
        return [self._act] * (len(self.sizes) - 2) + [self._act_out]

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels (N,): argmax of the output."""
        return np.argmax(self.output(X), axis=1)

    # -- style detection -----------------------------------------------------
    def _trial_backprop(self) -> tuple[Any, list[str]]:
        """Call backprop on one sample, note its result and the list attributes it changed, undo everything."""
        rng = np.random.default_rng(0)
        X = rng.uniform(0, 1, (1, self.sizes[0]))
        T = encode_targets(np.zeros(1, dtype=np.intp), self.n_classes, "sigmoid")
        (x, t), = self._samples(X, T)
        lists = {k: v for k, v in getattr(self.net, "__dict__", {}).items()
                 if isinstance(v, list) and v and all(isinstance(a, np.ndarray) for a in v)}
        before = {k: [a.copy() for a in v] for k, v in lists.items()}
        snap = StateSnapshot(self.net)
        try:
            result = self._call(self._backprop, x, t)
            changed = [k for k, v in getattr(self.net, "__dict__", {}).items() if k in before and (
                len(v) != len(before[k]) or any(not np.array_equal(a, b) for a, b in zip(v, before[k])))]
        finally:
            snap.restore()
        return result, changed

    def _detect_style(self, style: str) -> str:
        if style == "inplace" or (style == "auto" and self._backprop is None):
            if self._step is None and self._custom_step is None:
                raise ProtocolError(f"{type(self.net).__name__} has no backprop method; pass backprop=, step= or train_step=.")
            return "inplace"
        result, changed = self._trial_backprop()
        W, B = self._lists()
        if style == "gradients" or (style == "auto" and self._as_grads(result) is not None):
            if self._as_grads(result) is None:
                raise ProtocolError(
                    f"backprop returned {type(result).__name__}; style='gradients' needs two lists matching "
                    f"{self._wname} and {self._bname} (e.g. (nabla_b, nabla_w)).")
            if style == "auto":
                self.notes.append("backprop returns per-sample gradients (style='gradients').")
            return "gradients"
        if self._buffers is None:
            def pick(shapes):
                c = [k for k in changed if k not in (self._wname, self._bname)
                     and [a.shape for a in getattr(self.net, k)] == shapes]
                c.sort(key=lambda k: ("templat" in k.lower() or "zero" in k.lower(), k))
                return c[0] if c else None
            wb, bb = pick([w.shape for w in W]), pick([b.shape for b in B])
            if wb and bb:
                self._buffers = (wb, bb)
                self.notes.append(f"gradient buffers found: {wb}, {bb} (backprop adds into them).")
        if self._buffers is not None:
            return "accumulate"
        if self._wname in changed or self._bname in changed:
            self._step = self._backprop
            self.notes.append("backprop updates the weights in place: gradients are implied by one trial step.")
            return "inplace"
        raise ProtocolError(
            "backprop neither returned gradients nor changed buffers or weights on a trial sample; "
            "pass style= and buffers= (see docs/adapter.md).")

    def _as_grads(self, result: Any) -> dict[str, np.ndarray] | None:
        """Map a ``(nabla_b, nabla_w)`` / ``(nabla_w, nabla_b)`` result onto params, or None."""
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            return None
        W, B = self._lists()
        for gw, gb in (result, result[::-1]):
            if (isinstance(gw, (list, tuple)) and isinstance(gb, (list, tuple)) and len(gw) == len(W) == len(gb)
                    and all(np.shape(g) == w.shape for g, w in zip(gw, W))
                    and all(np.size(g) == b.size for g, b in zip(gb, B))):
                out = {}
                for l in range(len(W)):
                    out[f"{self._wname}[{l}]"] = np.array(gw[l], dtype=float)
                    out[f"{self._bname}[{l}]"] = np.array(gb[l], dtype=float).reshape(B[l].shape)
                return out
        return None

    # -- loss and gradients --------------------------------------------------
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
        wb, bb = (getattr(self.net, b) for b in self._buffers)
        W, B = self._lists()
        out = {}
        for l in range(len(W)):
            out[f"{self._wname}[{l}]"] = np.array(wb[l], dtype=float).reshape(W[l].shape)
            out[f"{self._bname}[{l}]"] = np.array(bb[l], dtype=float).reshape(B[l].shape)
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

    def describe(self) -> dict[str, Any]:
        """How the net is adapted (JSON-ready), for reports."""
        name = lambda f: f if isinstance(f, str) or f is None else getattr(f, "__name__", repr(f))
        return {
            "class": type(self.net).__name__, "style": self.style, "layout": self.layout,
            "sizes": self.sizes, "loss": self.loss_name, "targets": self.targets,
            "forward": name(self._forward), "backprop": name(self._backprop),
            "buffers": list(self._buffers) if self._buffers else None, "update": name(self._update),
            "step": name(self._step), "lr_attr": self._lr_attr, "activations": self.layer_activations(),
            "notes": list(self.notes),
        }

    def __repr__(self) -> str:
        return f"adapt({type(self.net).__name__}, style={self.style!r}, sizes={self.sizes})"
