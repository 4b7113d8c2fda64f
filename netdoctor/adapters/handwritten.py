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

The parts live in :mod:`netdoctor.adapters.style` (finding the net's methods
and its style), :mod:`netdoctor.adapters.forward` (outputs and activations) and
:mod:`netdoctor.adapters.training` (loss, gradients, updates).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from netdoctor.adapters.base import AdapterLoss, Layout, Method, Style, Targets
from netdoctor.adapters.style import BACKPROPS, FORWARDS, UPDATES, find_method
from netdoctor.adapters.training import LR_NAMES, AdapterTraining
from netdoctor.buffers.reach import unwrap
from netdoctor.errors import InvalidArgument, ProtocolError
from netdoctor.nn.activations import ActivationName

__all__ = ["adapt", "AdaptedNet", "unwrap", "STYLES"]

STYLES = ("gradients", "accumulate", "inplace")


def adapt(
    net: Any,
    *,
    weights: str = "weights",
    biases: str = "biases",
    forward: Method | None = "auto",
    backprop: Method | None = "auto",
    style: Style | Literal["auto"] = "auto",
    buffers: tuple[str, str] | None = None,
    update: Method | None = "auto",
    step: Method | None = None,
    train_step: Callable[..., Any] | None = None,
    lr_attr: str | None = "auto",
    loss: AdapterLoss = "mse",
    targets: Targets = "auto",
    layout: Layout = "columns",
    activation: ActivationName | Literal["auto"] | None = "auto",
    buffer_scale: float = 1.0,
    implied_lr: float = 1e-3,
) -> AdaptedNet:
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


class AdaptedNet(AdapterTraining):
    """A hand-written network seen through the model protocol (build it with :func:`adapt`).

    Attributes:
        net: the user's object (also ``__netdoctor_wrapped__``); every array
            in ``params`` is the net's own.
        style: ``"gradients"``, ``"accumulate"`` or ``"inplace"``.
        notes: what was detected automatically, in plain sentences.
    """

    def __init__(self, net: Any, *, weights: str, biases: str, forward: Method | None, backprop: Method | None, style: str,
                 buffers: tuple[str, str] | None, update: Method | None, step: Method | None,
                 train_step: Callable[..., Any] | None, lr_attr: str | None, loss: AdapterLoss, targets: Targets,
                 layout: Layout, activation: str | None, buffer_scale: float, implied_lr: float) -> None:
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
        self._forward = find_method(net, forward, FORWARDS, "forward", required=False) if forward is not None else None
        self._backprop = (find_method(net, backprop, BACKPROPS, "backprop", required=style in ("gradients", "accumulate"))
                          if backprop is not None else None)
        self._custom_step = train_step
        self._step = find_method(net, step, (), "step", required=False) if step is not None else None
        self._vectorised: bool | None = None
        self._act = self._act_out = None
        self._identify_activation(activation)
        if self._forward is None and self._act is None:
            raise ProtocolError(f"{type(net).__name__} has no forward/feedforward method; pass forward=\"<method>\" or activation=\"tanh\".")
        if buffers is not None and len(buffers) != 2:
            raise InvalidArgument(f"buffers={buffers!r} names {len(buffers)} lists; expected two: (weight buffers, bias buffers).")
        self._buffers = (buffers[0], buffers[1]) if buffers else None
        self.style = self._detect_style(style)
        self._update = None
        if self.style == "accumulate":
            if self._buffers is None:
                raise ProtocolError("backprop accumulates into buffers the adapter could not find; pass buffers=(\"weight_updates\", \"bias_updates\").")
            if train_step is None:
                self._update = find_method(net, update, UPDATES, "update", required=True)
        if self.style == "inplace" and self._step is None and train_step is None:
            raise ProtocolError("style='inplace' needs step=\"<per-sample update method>\" or train_step=f(net, X, y, lr).")
        self._lr_attr = lr_attr
        if lr_attr == "auto":
            self._lr_attr = next((n for n in LR_NAMES if isinstance(getattr(net, n, None), (int, float))), None)

    # -- reporting -----------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """How the net is adapted (JSON-ready), for reports."""
        def name(f):
            return f if isinstance(f, str) or f is None else getattr(f, "__name__", repr(f))
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
