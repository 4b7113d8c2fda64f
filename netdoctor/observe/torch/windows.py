"""Statistics windows: :class:`StatisticsWindows`, one part of :class:`~netdoctor.observe.torch.watch.TorchWatch`.

The activation and loss-side statistics of sampled steps are kept as
tensors while a window of :data:`~netdoctor.observe.torch.watch.WINDOW`
sampled steps is open (no host reads per step) and turned into plain
numbers when it closes; the first and the latest window are kept, and the
loss side of every window (bounded) for the rules' trends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from netdoctor.observe.torch.losses import bounded_append

if TYPE_CHECKING:
    from netdoctor.observe.torch.watch import TorchWatch

__all__ = ["StatisticsWindows", "WINDOW"]

WINDOW = 8
"""Sampled steps per statistics window (activations, predictions, targets)."""


class StatisticsWindows:
    """The closed windows (see the module docstring).

    Args:
        watch: the :class:`~netdoctor.observe.torch.watch.TorchWatch` whose recorders fill the open window.
    """

    def __init__(self, watch: TorchWatch) -> None:
        self.w = watch
        self.steps = 0
        """Sampled steps in the open window."""
        self.closed = 0
        """Windows closed so far."""
        self.act_first: dict[tuple[int, str], dict] | None = None
        self.act_last: dict[tuple[int, str], dict] | None = None
        self.loss_first: dict[str, Any] | None = None
        self.loss_last: dict[str, Any] | None = None
        self.loss_windows: list[dict[str, Any]] = []
        """Every closed window's loss-side numbers (bounded), with its end_step."""

    def add_step(self) -> None:
        """One more sampled step in the open window; it closes after :data:`WINDOW` of them."""
        self.steps += 1
        if self.steps >= WINDOW:
            self.close()

    def close(self, final: bool = False) -> None:
        """Turn the current window's tensors into plain numbers; keep the first and the latest window."""
        self.w.counts.close(self.w.steps)
        if not self.w.forward.act_window and not self.w.losses.window:
            return
        if final and self.act_last is not None and self.steps < WINDOW // 2:
            # A short tail has seen too few rows to say that a unit never fires.
            return
        acts = {}
        for key, rec in self.w.forward.act_window.items():
            out = {"module": rec["module"], "kind": rec["kind"], "units": rec["units"], "rows": rec["rows"]}
            if rec["fired"] is not None:
                out["dead"] = 1.0 - float(rec["fired"].float().mean())
            if rec["sat"]:
                out["saturation"] = float(self.w.torch.stack(rec["sat"]).mean())
            if rec["std"]:
                out["std"] = float(self.w.torch.stack(rec["std"]).mean())
            acts[key] = out
        loss: dict[str, Any] = {}
        for k, v in self.w.losses.window.items():
            if k.endswith("_n"):
                continue
            if k == "loss":
                loss[k] = list(v)
            elif hasattr(v, "tolist"):
                n = self.w.losses.window.get(k + "_n", 1)
                val = v.tolist()
                loss[k] = [x / n for x in val] if k in ("spread", "scale") and isinstance(val, list) else (val / n if k in ("spread", "scale") else val)
        loss["steps"] = self.steps
        loss["end_step"] = self.w.steps
        bounded_append(self.loss_windows, loss, limit=32)
        if self.act_first is None:
            self.act_first, self.loss_first = acts, loss
        self.act_last, self.loss_last = acts, loss
        self.closed += 1
        self.w.forward.act_window = {}
        self.w.losses.window = {}
        self.steps = 0
