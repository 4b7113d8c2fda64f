"""One observation: install the backends, let the program run, merge what they saw into a Report.

:func:`observing` is the Python entry point (a context manager around the
user's own loop); ``netdoctor run`` uses :class:`Observation` around the
whole script (:mod:`netdoctor.observe.runner`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, cast

from netdoctor.findings import Finding, Report
from netdoctor.observe.backend import BACKENDS
from netdoctor.observe.options import ObserveOptions
from netdoctor.observe.tracer import StopObserving

if TYPE_CHECKING:
    from netdoctor.diagnosis.sections import ReportSections

__all__ = ["Observation", "observing", "NOTHING"]

NOTHING = ("nothing to observe: the program built no arrays that it updated while it ran "
           "(no network was found; name it with --net / observing(net) if it exists)")
"""The note of a run in which no backend found a network."""


def _load_backends(options: ObserveOptions, script: str, source: str, only: list[str] | None) -> list[Any]:
    out = []
    for name, load in BACKENDS:
        if only is not None and name not in only:
            continue
        try:
            cls = load()
        except ImportError:
            continue  # an optional backend that is not written or whose library is not installed
        if cls.applies(script, source):
            out.append(cls(options))
    return out


class Observation:
    """Backends installed around a piece of running code; :attr:`report` once it has ended.

    Args:
        options: what the backends are told (the network, limits, the user's files).
        script, source: the program's path and text (``netdoctor run``), for :meth:`Backend.applies`.
        backends: names of the backends to use (default: every one that applies).
    """

    def __init__(self, options: ObserveOptions | None = None, *, script: str = "", source: str = "",
                 backends: list[str] | None = None) -> None:
        self.options = options or ObserveOptions()
        self.backends = _load_backends(self.options, script, source, backends)
        self.partial = False
        self.stopped = ""
        self.seconds = 0.0
        self._t0 = 0.0
        self._report: Report | None = None

    def start(self) -> None:
        """Install every backend (the last installed sees the program first)."""
        self._t0 = time.perf_counter()
        for b in self.backends:
            b.install()

    def stop(self) -> None:
        """Uninstall every backend, in reverse order."""
        for b in reversed(self.backends):
            b.uninstall()
        self.seconds = time.perf_counter() - self._t0

    def __enter__(self) -> Observation:
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        self.stop()
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            self.partial = True
        if exc_type is not None and issubclass(exc_type, StopObserving):
            self.stopped = str(exc)
            return True  # a limit we set, not the program's error
        return False

    @property
    def report(self) -> Report:
        """What every backend saw, root causes first (built once, after the observation ended)."""
        if self._report is None:
            self._report = self.build_report()
        return self._report

    def build_report(self) -> Report:
        """Merge the backends' findings (causes linked as ``check`` links them), sections and context."""
        from netdoctor.rules.causes import link_causes

        findings: list[Finding] = []
        sections: dict[str, Any] = {}
        context: dict[str, Any] = {"command": "netdoctor run" if self.options.script else "netdoctor.observing"}
        if self.options.script:
            context["script"] = self.options.script
        notes: list[str] = []
        observed = False
        for b in self.backends:
            findings.extend(b.findings())
            sections.update(b.sections())
            ctx = dict(b.context())
            notes.extend(ctx.pop("notes", []))
            observed = observed or "model" in ctx
            context.update(ctx)
        if not observed:
            notes.insert(0, NOTHING)
        if self.stopped:
            notes.append(self.stopped)
        if notes:
            context["notes"] = notes
        context["seconds"] = round(self.seconds, 2)
        # The observers' sections are rendered by key like check's, but their layer rows carry only the
        # columns a program let them measure and they add an "observed" section; the renderers take both.
        return Report(link_causes(findings), context, cast("ReportSections", sections), title="netdoctor run", partial=self.partial)


def observing(net: Any = None, *, max_updates: int | None = None, max_seconds: float | None = None,
              backends: list[str] | None = None) -> Observation:
    """Observe the training code run inside a ``with`` block; ``obs.report`` afterwards.

    The functions the block calls are watched as ``netdoctor run`` watches a
    script: the network is discovered (or given as ``net``), its updates,
    targets, activations and outputs are measured, and nothing of the
    program's is changed::

        with netdoctor.observing(net) as obs:
            net.train(X, y, epochs=3)
        print(obs.report)

    Args:
        net: the network object, when discovery picks the wrong one (default: discover).
        max_updates, max_seconds: end the block early (the report says so) after this many
            observed updates or seconds.
        backends: names of the backends to use (default: all that apply).

    Returns:
        the :class:`Observation` (a context manager); its ``report`` is a
        :class:`~netdoctor.findings.Report`.
    """
    return Observation(ObserveOptions(net=net, max_updates=max_updates, max_seconds=max_seconds), backends=backends)
