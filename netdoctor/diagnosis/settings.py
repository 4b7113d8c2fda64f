"""The training settings a diagnosis uses, and where each came from.

A network written for lr 0.001 and per-sample updates must be trained at
those settings, not at netdoctor's defaults: otherwise the diagnosis reports
problems (a too-high learning rate, a summed gradient) its author never had.
:func:`resolve_settings` takes, for the learning rate and the batch size, in
order: the value given (a CLI flag or a ``diagnose`` argument), the model's
own attribute (on the model, else on the hand-written net an adapter wraps:
``lr``, ``learning_rate``, ``eta``, ``alpha``; ``batch_size``,
``mini_batch_size``), else the default (lr 0.1, batch 32). Each
:class:`Setting` says which, for the report header.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from netdoctor._lazy import dataclass
from netdoctor.buffers.reach import unwrap

__all__ = ["Setting", "resolve_settings", "describe_model", "LR_ATTRS", "BATCH_ATTRS", "DEFAULT_LR", "DEFAULT_BATCH_SIZE"]

LR_ATTRS = ("lr", "learning_rate", "eta", "alpha")
"""Attribute names under which hand-written models keep their learning rate."""
BATCH_ATTRS = ("batch_size", "mini_batch_size")
"""Attribute names under which they keep their mini-batch size."""
DEFAULT_LR = 0.1
DEFAULT_BATCH_SIZE = 32


@dataclass(frozen=True)
class Setting:
    """One training setting and where it came from.

    Attributes:
        value: the number used.
        source: ``"given"`` (an argument or flag), ``"Class.attribute"`` (the
            model's own), or ``"default"``.
    """

    value: float
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "source": self.source}


def _usable_lr(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(float(v)) and float(v) > 0


def _usable_batch(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool) and int(v) >= 1


def _own(model: Any, names: tuple[str, ...], usable) -> Setting | None:
    """The first usable attribute of the model, or of the net it wraps."""
    for obj in dict.fromkeys((model, unwrap(model)), None):  # the model, then the wrapped net (once if the same)
        for name in names:
            try:
                v = getattr(obj, name, None)
            except Exception:  # noqa: BLE001 - a property of the user's that raises is not a setting
                continue
            if v is not None and usable(v):
                return Setting(v.item() if hasattr(v, "item") else v, f"{type(obj).__name__}.{name}")
    return None


def resolve_settings(model: Any, *, lr: float | None = None, batch_size: int | None = None) -> dict[str, Setting]:
    """``{"lr": Setting, "batch_size": Setting}``: given, else the model's own, else the default."""
    out = {}
    for key, given, names, usable, default in (("lr", lr, LR_ATTRS, _usable_lr, DEFAULT_LR),
                                              ("batch_size", batch_size, BATCH_ATTRS, _usable_batch, DEFAULT_BATCH_SIZE)):
        if given is not None:
            out[key] = Setting(given, "given")
        else:
            out[key] = _own(model, names, usable) or Setting(default, "default")
    return out


def describe_model(model: Any) -> str:
    """How the report names the model: its repr, or its class name where the repr is ``<... object at 0x...>``."""
    try:
        text = repr(model)
    except Exception:  # noqa: BLE001 - a broken __repr__ of the user's must not stop the diagnosis
        text = ""
    if not text or (text.startswith("<") and " object at 0x" in text):
        inner = unwrap(model)
        return type(inner).__qualname__ if inner is model else f"{type(inner).__qualname__} (adapted)"
    return text
