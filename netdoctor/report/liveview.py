"""The live training view for Jupyter: one output area kept up to date while training runs.

:func:`watch` returns a :class:`LiveView`, a training callback (for
:func:`netdoctor.nn.training.train` or ``diagnose(progress=...)``) that shows
progress, the loss, accuracy per epoch and, given a probe batch, per-layer
saturation, dead units, gradient norms and update/weight ratios. It redraws
at most every ``interval`` seconds (plus once per epoch and at the end)
through an IPython display handle, so a long run produces a single output,
not thousands. Its probe records feed :func:`netdoctor.report.plots.plot_activations`
and :func:`~netdoctor.report.plots.plot_gradients`. Re-exported by :mod:`netdoctor.notebook`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from netdoctor.params import is_bias
from netdoctor.report.format import cell
from netdoctor.report.plots.backend import INSTALL_HINT, MissingExtra

__all__ = ["watch", "LiveView"]


def ipython_display():
    """IPython's ``get_ipython`` and ``display``; :class:`MissingExtra` naming the extra when IPython is missing."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        raise MissingExtra(f"the live view needs IPython, which is not installed; run: {INSTALL_HINT}") from None
    return get_ipython, display


class LiveView:
    """The training callback :func:`watch` returns; displays itself (``_repr_html_``).

    Attributes:
        epochs: the per-epoch records seen (``epoch``, ``loss``, accuracies).
        monitor: the :class:`~netdoctor.monitor.callback.TrainingMonitor` probing
            ``X_probe`` (None without a probe batch); ``monitor.probes`` are the
            records :mod:`netdoctor.report.plots` draws.
        updates: how many times the output was redrawn (the throttle's count).
    """

    def __init__(self, *, X_probe: Any = None, y_probe: Any = None, points: int = 40, interval: float = 0.5,
                 title: str = "training", display: bool | None = None) -> None:
        self.title = title
        self.interval = interval
        self.points = points
        self.probe_data = (X_probe, y_probe)
        self._display = display
        self.monitor: Any = None
        self.epochs: list[dict[str, Any]] = []
        self.step = 0
        self.total_steps = 0
        self.n_epochs = 0
        self.last_loss = math.nan
        self.recent: list[float] = []
        self.note = ""
        self.finished = False
        self.updates = 0
        self._handle: Any = None
        self._last_draw = -math.inf

    # -- what is shown ------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """The numbers on display now (plain data, for tests and logs)."""
        layers = []
        probes = self.monitor.probes if self.monitor is not None else []
        if probes:
            last = probes[-1]
            upd: dict[str, float] = next((p["update_ratios"] for p in reversed(probes) if p.get("update_ratios")), {})
            by_layer: dict[int, list[str]] = {}
            for name, l in (last.get("layer_of") or {}).items():
                by_layer.setdefault(l, []).append(name)
            for layer in last.get("layers", []):
                names = by_layer.get(layer["layer"], [])
                weights = [n for n in names if not is_bias(n)] or names
                w = weights[0] if weights else None
                layers.append({
                    "layer": f"{layer['layer']} {layer['role']}", "activation": layer["activation"],
                    "saturation": layer["saturation"], "dead": layer["dead"], "tensor": w,
                    "grad_norm": (last.get("grad_norms") or {}).get(w), "update_ratio": upd.get(w) if w else None,
                })
        return {"step": self.step, "total_steps": self.total_steps, "epoch": len(self.epochs), "epochs": self.n_epochs,
                "loss": self.last_loss, "history": list(self.epochs), "layers": layers, "note": self.note,
                "finished": self.finished}

    def _repr_html_(self) -> str:
        from netdoctor.report.html import live_view_html

        return live_view_html(self)

    def __repr__(self) -> str:
        s = self.status()
        line = f"{self.title}: step {s['step']}/{s['total_steps']}, loss {cell(s['loss'])}"
        if s["history"]:
            e = s["history"][-1]
            line += f", epoch {e.get('epoch')} train {cell(e.get('train_accuracy'), True)} test {cell(e.get('test_accuracy'), True)}"
        return line + (f" ({s['note']})" if s["note"] else "")

    def _draw(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if self._handle is None or (not force and now - self._last_draw < self.interval):
            return
        self._handle.update(self)
        self._last_draw = now
        self.updates += 1

    # -- training callback ----------------------------------------------------------
    def on_start(self, model: Any, run: Mapping[str, Any]) -> None:
        get_ipython, display = ipython_display()
        # A view reused for a second run starts afresh (and gets a new output).
        self.epochs, self.recent, self.step, self.note, self.finished = [], [], 0, "", False
        self.last_loss, self.monitor, self._handle = math.nan, None, None
        self.total_steps = int(run["epochs"] * run["steps_per_epoch"])
        self.n_epochs = int(run["epochs"])
        X_probe, y_probe = self.probe_data
        if X_probe is not None:
            from netdoctor.monitor.callback import TrainingMonitor

            # Evenly spaced probes, ~`points` over the run: curves, not the adaptive budget.
            self.monitor = TrainingMonitor(X_probe, y_probe, every=max(1, self.total_steps // max(1, self.points)))
            self._forward("on_start", model, run)
        show = self._display if self._display is not None else get_ipython() is not None
        if show:
            self._handle = display(self, display_id=True)
            self.updates = 1
            self._last_draw = time.monotonic()

    def _forward(self, hook: str, *args: Any) -> None:
        """Call the probe monitor; a non-finite stop ends probing, never the user's training."""
        if self.monitor is None:
            return
        from netdoctor.monitor.callback import StopTraining

        try:
            getattr(self.monitor, hook)(*args)
        except StopTraining as stop:
            self.note = f"{stop}; probing stopped"
            self.monitor = _Frozen(self.monitor)

    def on_step(self, model: Any, run: Mapping[str, Any], step: int, Xb: Any, yb: Any, loss: float) -> None:
        self.step = step
        self.last_loss = loss
        self.recent.append(loss)
        if len(self.recent) > 60:  # the sparkline shows the last 60 steps
            del self.recent[0]
        self._forward("on_step", model, run, step, Xb, yb, loss)
        self._draw()

    def on_epoch(self, model: Any, run: Mapping[str, Any], record: Mapping[str, Any]) -> None:
        self.epochs.append(dict(record))
        self._forward("on_epoch", model, run, record)
        self._draw(force=True)

    def on_end(self, model: Any, run: Mapping[str, Any]) -> None:
        self._forward("on_end", model, run)
        self.finished = True
        self._draw(force=True)

    @property
    def probes(self) -> list[dict[str, Any]]:
        """The probe records so far (empty without a probe batch)."""
        return list(self.monitor.probes) if self.monitor is not None else []


class _Frozen:
    """A stopped monitor: keeps its records, ignores further hooks."""

    def __init__(self, monitor: Any) -> None:
        self.probes = monitor.probes

    def __getattr__(self, name: str) -> Any:
        if name.startswith("on_"):
            return lambda *args: None
        raise AttributeError(name)


def watch(*, X_probe: Any = None, y_probe: Any = None, points: int = 40, interval: float = 0.5,
          title: str = "training", display: bool | None = None) -> LiveView:
    """A live training view for Jupyter: pass it as a callback, it updates one output in place.

    >>> view = watch(X_probe=X[:128], y_probe=y[:128])      # doctest: +SKIP
    >>> train(model, X, y, callbacks=[view])                 # doctest: +SKIP
    >>> report = diagnose(model, X, y, progress=watch())     # doctest: +SKIP

    Args:
        X_probe, y_probe: a fixed batch (e.g. 128 training rows) to measure
            per-layer saturation, dead units, gradient norms and update
            ratios on, ``points`` times over the run; without it the view
            shows progress, loss and accuracy only.
        points: probes over the whole run (evenly spaced).
        interval: least number of seconds between two redraws; epochs and
            the end always redraw.
        title: the heading of the view.
        display: show the view (default: only inside IPython/Jupyter; the
            callback records either way).

    Returns:
        a :class:`LiveView` (the callback; ``view.probes`` feed the plots).

    Raises:
        MissingExtra: IPython is not installed (``pip install 'netdoctor[notebook]'``).
    """
    from netdoctor.errors import InvalidArgument

    ipython_display()
    if not (interval >= 0 and math.isfinite(interval)):
        raise InvalidArgument(f"interval={interval} must be a number of seconds >= 0, e.g. 0.5.")
    if points < 1:
        raise InvalidArgument(f"points={points} must be a positive number of probes, e.g. 40.")
    if (X_probe is None) != (y_probe is None):
        raise InvalidArgument("pass X_probe and y_probe together (or neither).")
    return LiveView(X_probe=X_probe, y_probe=y_probe, points=points, interval=interval, title=title, display=display)
