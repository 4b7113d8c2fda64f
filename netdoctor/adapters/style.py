"""Recognising a hand-written network: its methods, and how its backprop hands out gradients.

The adapter (:mod:`netdoctor.adapters.handwritten`) looks up the net's forward, backprop
and update methods by the usual names, then calls ``backprop`` once on a
trial sample (everything it touches is restored) to decide the style:
per-sample gradients returned (``"gradients"``), gradients added into buffer
lists (``"accumulate"``), or weights changed in place (``"inplace"``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from netdoctor.adapters.base import Style
from netdoctor.adapters.forward import AdapterForward
from netdoctor.buffers.reach import StateSnapshot
from netdoctor.buffers.roles import is_template
from netdoctor.errors import ProtocolError
from netdoctor.nn.losses import encode_targets

__all__ = ["AdapterStyle", "find_method", "FORWARDS", "BACKPROPS", "UPDATES"]

FORWARDS = ("feedforward", "feed_forward", "forward", "forward_pass", "output")
BACKPROPS = ("backprop", "backward", "back_propagate", "backpropagate", "gradient", "gradients")
UPDATES = ("apply_updates", "update_weights", "apply_gradients", "update", "apply", "step")
"""Method names tried, in order, for the forward pass, per-sample backprop and buffer update."""


def find_method(net: Any, spec: Any, candidates: tuple[str, ...], what: str, required: bool) -> Any:
    """The net's method for one role, as a method name or the callable passed.

    Args:
        net: the user's network.
        spec: a method name, a callable ``f(net, ...)``, or ``None``/``"auto"`` to try ``candidates``.
        candidates: method names tried in order for ``"auto"``.
        what: the role, for the error message (``"forward"``, ``"backprop"``, ...).
        required: raise when nothing is found (a named ``spec`` that is missing always raises).

    Returns:
        the callable, the method name, or None when nothing optional was found.

    Raises:
        ProtocolError: the method is required or was named, and the net does not have it.
    """
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


class AdapterStyle(AdapterForward):
    """Style detection for :class:`netdoctor.adapters.handwritten.AdaptedNet` (a mixin: it uses the adapter's attributes)."""

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

    def _detect_style(self, style: str) -> Style:
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
                c.sort(key=lambda k: (is_template(k), k))
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
                    wk, bk = self._keys(l)
                    out[wk] = np.array(gw[l], dtype=float)
                    out[bk] = np.array(gb[l], dtype=float).reshape(B[l].shape)
                return out
        return None
