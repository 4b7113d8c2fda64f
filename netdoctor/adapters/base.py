"""What every part of the hand-written-net adapter shares: its state and the net's layer lists.

:class:`AdapterBase` declares the attributes that
:class:`~netdoctor.adapters.handwritten.AdaptedNet` sets up and reads the
net's ``weights``/``biases`` lists; the parts build on it in one line,
each using only what is below it: :class:`~netdoctor.adapters.forward.AdapterForward`
(outputs, activations) -> :class:`~netdoctor.adapters.style.AdapterStyle`
(how backprop hands out gradients) -> :class:`~netdoctor.adapters.training.AdapterTraining`
(loss, gradients, updates) -> ``AdaptedNet`` (construction, reporting).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from netdoctor.errors import ProtocolError

__all__ = ["AdapterBase", "Method", "Layout", "Style", "AdapterLoss", "Targets"]

Method = str | Callable[..., Any]
"""A method of the net by name, or a function ``f(net, ...)``."""
Layout = Literal["columns", "rows"]
Style = Literal["gradients", "accumulate", "inplace"]
AdapterLoss = Literal["mse", "cross_entropy"]
Targets = Literal["auto", "pm1", "onehot"]


class AdapterBase:
    """State of an adapted net and access to its per-layer arrays."""

    net: Any
    """The user's network object."""
    notes: list[str]
    """What was detected automatically, in plain sentences."""
    sizes: list[int]
    """Layer widths, input first."""
    layout: Layout
    loss_name: AdapterLoss
    targets: Targets
    style: Style
    buffer_scale: float
    implied_lr: float
    _wname: str
    _bname: str
    _forward: Method | None
    _backprop: Method | None
    _step: Method | None
    _custom_step: Callable[..., Any] | None
    _update: Method | None
    _buffers: tuple[str, str] | None
    _lr_attr: str | None
    _vectorised: bool | None
    _act: str | None
    _act_out: str | None

    # -- structure ---------------------------------------------------------
    @property
    def __netdoctor_wrapped__(self) -> Any:
        return self.net

    def _lists(self) -> tuple[Sequence[np.ndarray], Sequence[np.ndarray]]:
        """The net's own ``weights`` and ``biases`` lists (the live arrays, not copies)."""
        return self._array_list(self._wname, "weights"), self._array_list(self._bname, "biases")

    def _array_list(self, name: str, option: str) -> Sequence[np.ndarray]:
        v = getattr(self.net, name, None)
        if not isinstance(v, (list, tuple)) or not v or not all(isinstance(a, np.ndarray) for a in v):
            raise ProtocolError(
                f"{type(self.net).__name__}.{name} should be a list of per-layer NumPy arrays "
                f"(the adapter reads parameters from it); got {type(v).__name__}. Pass {option}=\"<attribute>\"."
            )
        return v

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
            wk, bk = self._keys(l)
            out[wk] = w
            out[bk] = b
        return out

    def _keys(self, l: int) -> tuple[str, str]:
        """The ``params`` names of layer ``l``: ``("weights[l]", "biases[l]")``."""
        return f"{self._wname}[{l}]", f"{self._bname}[{l}]"

    @property
    def n_classes(self) -> int:
        return self.sizes[-1]

    # -- calling the user's code ----------------------------------------
    def _call(self, fn: Any, *args: Any) -> Any:
        if isinstance(fn, str):
            return getattr(self.net, fn)(*args)
        return fn(self.net, *args)

    def _call_kw(self, fn: Any, args: tuple, kw: dict) -> Any:
        if isinstance(fn, str):
            return getattr(self.net, fn)(*args, **kw)
        return fn(self.net, *args, **kw)

