"""One observation: install the backends, let the program run, merge what they saw into a Report.

:func:`observing` is the Python entry point (a context manager around the
user's own loop); ``netdoctor run`` uses :class:`Observation` around the
whole script (:mod:`netdoctor.observe.runner`).

Honest silence: a report of a run in which too little was observed says so
and why (:attr:`Report.unobserved <netdoctor.findings.Report>`), never "No
problems found": no network was found, the observer stopped on an error of
its own, a name given with ``--net`` does not exist, or only a few of the
program's updates were followed. The observer's own numeric work after the
run (the rules, the statistics) runs on one BLAS thread.
"""

from __future__ import annotations

import builtins
import contextlib
import gc
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

from netdoctor.findings import Finding, Report
from netdoctor.observe.backend import BACKENDS
from netdoctor.observe.options import ObserveOptions
from netdoctor.observe.quiet import warnings_ignored
from netdoctor.observe.tracer import StopObserving

if TYPE_CHECKING:
    from netdoctor.diagnosis.sections import ReportSections

__all__ = ["Observation", "observing", "NOTHING", "MIN_UPDATES", "unobserved_reason", "unjudged_reason", "collector_paused"]

NOTHING = ("nothing to observe: the program built no arrays that it updated while it ran "
           "(no network was found; name it with --net / observing(net) if it exists)")
"""The note of a run in which no backend found a network."""

MIN_UPDATES = 2
"""Updates of a network that must be followed before its training can be judged (one shows no trend)."""
FROZEN_COMPUTATIONS = 10
"""Gradient computations of a network whose arrays never moved after which the run is judged (frozen parameters are
what was observed, not too little)."""


def unobserved_reason(context: dict[str, Any], notes: list[str], observed: bool) -> str:
    """Why too little was observed to judge the run, in one sentence; "" when enough was.

    Args:
        context: the merged header facts of the backends (``updates_observed``,
            ``updates_expected``, ``optimizer_steps``, ``gradient_computations`` of a network that never moved).
        notes: the backends' notes (an observer's own error is one of them).
        observed: whether any backend found a network.
    """
    failed = next((n for n in notes if "error of its own" in n), "")
    if not observed:
        return failed or ("no network was found: the program built no arrays that it updated while it ran, "
                          "or it trained them where netdoctor could not follow")
    seen = int(context.get("updates_observed") or 0) + int(context.get("optimizer_steps") or 0)
    expected = context.get("updates_expected")
    if isinstance(expected, int) and expected > 0 and 2 * seen < expected:
        return f"{seen} of {expected} updates observed" + (f"; {failed}" if failed else "")
    if seen < MIN_UPDATES and int(context.get("gradient_computations") or 0) < FROZEN_COMPUTATIONS:
        return (f"only {seen} update{'s' * (seen != 1)} of the network observed, too few to judge its training"
                + (f"; {failed}" if failed else ""))
    return ""


def unjudged_reason(context: dict[str, Any]) -> str:
    """What a run observed well enough to judge could not be judged on, in one clause; "" when nothing.

    A NumPy run whose updates were observed while no target it trained on was seen (compared with the output inside a
    function the observer does not read, or only held on an attribute): the rules that compare the output with its
    targets had nothing to compare.
    """
    updates = int(context.get("updates_observed") or 0)
    if context.get("observer") == "numpy" and updates and not context.get("samples_observed"):
        return (f"the targets it trained on were never seen in the {updates:,} updates observed, so the rules that "
                "compare the output with its targets (constant or scaled targets, the output's error) could not run")
    return ""


def _load_backends(options: ObserveOptions, script: str, source: str, only: list[str] | None) -> list[Any]:
    out: list[Any] = []
    for name, load in BACKENDS:
        if only is not None and name not in only:
            continue
        if name == "numpy" and "numpy" not in sys.modules:
            out.append(_WhenImported("numpy", load, options, script, source))
            continue
        try:
            cls = load()
        except ImportError:
            continue  # an optional backend that is not written or whose library is not installed
        if cls.applies(script, source):
            out.append(cls(options))
    _connect(out)
    return out


def _connect(backends: list[Any]) -> None:
    """A PyTorch program's training, once the PyTorch observer recognises it (its first optimizer step), is that
    observer's: the NumPy observer is told, and stands down unless it has seen NumPy arrays being trained."""
    torch = next((b for b in backends if b.name == "torch"), None)
    numpy = next((b for b in backends if b.name == "numpy"), None)
    if torch is not None and numpy is not None:
        torch.training_listeners.append(numpy.other_training)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while netdoctor imports its own modules, and back on after.

    Importing a module allocates classes, functions and tables that live as long as the process; each few hundred
    allocations start a collection of the youngest generation (and every tenth one the middle one), which finds
    nothing to free among them: 30-60 collections, 3-8 ms of CPU, for the observer's modules or the report's. The
    collector stays as it was when the program turned it off itself.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class _WhenImported:
    """A backend loaded and installed only once the program imports its library (NumPy) itself.

    Importing NumPy and the NumPy observer costs more than a short script
    takes; a program that never imports NumPy has no arrays to watch. A
    library that only an installed package imports (``import torch`` and
    ``import pandas`` import NumPy) is not the program's: the program has no
    NumPy training code of its own. Until one of the program's own modules
    (a file of the user's) imports the library, ``builtins.__import__`` is
    wrapped to notice it (the wrapper is gone once it has); the backend's
    tracer then starts when that outermost import has finished and takes on
    the program's frames that are already running
    (:meth:`netdoctor.observe.tracer.CallTracer.install`).
    """

    def __init__(self, library: str, load: Any, options: ObserveOptions, script: str, source: str) -> None:
        self.name = library
        self.library = library
        self._load = load
        self._args = (options, script, source)
        self.backend: Any = None
        self._original: Any = None
        self._wrapper: Any = None
        self.installed = False
        self.training_elsewhere = ""
        """Another observer recognised the program's training before the library was imported (told on start)."""

    def install(self) -> None:
        self.installed = True
        self._original = original = builtins.__import__
        library, dotted = self.library, self.library + "."
        is_user = self._args[0].is_user
        users: dict[str, bool] = {}
        depth = [0]
        wanted = [False]

        def __import__(name, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002 - builtins.__import__'s signature
            importer = globals.get("__file__") if isinstance(globals, dict) else None
            mine = isinstance(importer, str) and (users[importer] if importer in users else users.setdefault(importer, is_user(importer)))
            if mine and not level and (name == library or name.startswith(dotted)):
                wanted[0] = True  # the program's own import of the library
            depth[0] += 1
            try:
                if mine or builtins.__import__ is not wrapper:
                    module = original(name, globals, locals, fromlist, level)
                else:
                    # An installed package importing (torch's own 15,000 imports): none of them is the program's, so
                    # they run with the original __import__ (a program's thread importing meanwhile is not seen).
                    builtins.__import__ = original
                    try:
                        module = original(name, globals, locals, fromlist, level)
                    finally:
                        if self.installed and builtins.__import__ is original and self._wrapper is wrapper:
                            builtins.__import__ = wrapper
            finally:
                depth[0] -= 1
            # once the outermost import is done: the library is then fully initialised
            if depth[0] == 0 and wanted[0] and library in sys.modules and self.backend is None and self.installed:
                self._restore()
                self._start()
            return module

        self._wrapper = wrapper = __import__
        builtins.__import__ = __import__

    def _restore(self) -> None:
        if self._wrapper is not None and builtins.__import__ is self._wrapper:
            builtins.__import__ = self._original
        self._wrapper = None

    def _start(self) -> None:
        options, script, source = self._args
        try:
            with collector_paused():  # the observer's modules: ~30 collections of objects that all stay
                cls = self._load()
        except ImportError:
            return
        if cls.applies(script, source):
            self.backend = cls(options)
            self.backend.install()
            if self.training_elsewhere:
                self.backend.other_training(self.training_elsewhere)

    def other_training(self, what: str) -> None:
        """Another observer recognised the program's training (see :func:`_connect`)."""
        if self.backend is not None:
            self.backend.other_training(what)
        else:
            self.training_elsewhere = what

    def uninstall(self) -> None:
        self._restore()
        self.installed = False
        if self.backend is not None:
            self.backend.uninstall()

    def verdict_ready(self) -> bool:
        return self.backend is not None and self.backend.verdict_ready()

    @property
    def network_found(self) -> bool:
        return self.backend is not None and self.backend.network_found

    def observer_seconds(self) -> float:
        return self.backend.observer_seconds() if self.backend is not None and hasattr(self.backend, "observer_seconds") else 0.0

    def findings(self) -> list[Finding]:
        with quiet_numerics():
            return self.backend.findings() if self.backend is not None else []

    def sections(self) -> dict[str, Any]:
        return self.backend.sections() if self.backend is not None else {}

    def context(self) -> dict[str, Any]:
        if self.backend is not None:
            return self.backend.context()
        return {"notes": [f"the program never imported {self.library} itself: no {self.library} training code to observe"]}


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
        """Merge the backends' findings (causes linked as ``check`` links them), sections and context.

        The rules' statistics run on one BLAS thread: the observer's work never takes a core the program did
        not ask for. Their arithmetic on the program's arrays (weights gone NaN, norms that overflow) warns nothing:
        a RuntimeWarning printed then would be netdoctor's, on the program's stderr.
        """
        with quiet_numerics():
            if "numpy" not in sys.modules or not any(b.name == "numpy" and b.network_found for b in self.backends):
                # No BLAS in the process, or no NumPy network to judge (a PyTorch run's rules use torch): nothing to
                # limit (threadpoolctl's scan of the loaded libraries alone costs tens of milliseconds beside torch).
                return self._merge()
            from netdoctor.nn.threads import blas_threads

            with blas_threads(1):
                return self._merge()

    def _merge(self) -> Report:
        findings: list[Finding] = []
        sections: dict[str, Any] = {}
        context: dict[str, Any] = {"command": "netdoctor run" if self.options.script else "netdoctor.observing"}
        if self.options.script:
            context["script"] = self.options.script
        notes: list[str] = []
        observed = False
        contexts = []
        unjudged: list[str] = []
        for b in self.backends:
            findings.extend(b.findings())
            sections.update(b.sections())
            ctx = dict(b.context())
            notes.extend(ctx.pop("notes", []))
            if ctx.get("unjudged"):
                unjudged.append(ctx.pop("unjudged"))
            observed = observed or "model" in ctx
            contexts.append(ctx)
        for ctx in contexts:
            # Beside a backend that found the network, one that found none adds only its notes: the header
            # describes the observation that happened (a PyTorch run is not "observer=numpy, 0 updates").
            if "model" in ctx or not observed:
                context.update(ctx)
        if not observed:
            notes.insert(0, NOTHING)
        if self.stopped:
            notes.append(self.stopped)
        missing = self.options.net_missing()
        unobserved = missing or unobserved_reason(context, notes, observed)
        if missing:
            notes.insert(0, missing)
        if notes:
            context["notes"] = notes
        context["seconds"] = round(self.seconds, 2)
        spent = sum(b.observer_seconds() for b in self.backends if hasattr(b, "observer_seconds"))
        if spent:
            context["observer_seconds"] = round(spent, 2)
        # The observers' sections are rendered by key like check's, but their layer rows carry only the
        # columns a program let them measure and they add an "observed" section; the renderers take both.
        if findings:
            from netdoctor.rules.causes import link_causes

            findings = link_causes(findings)
        return Report(findings, context, cast("ReportSections", sections), title="netdoctor run",
                      partial=self.partial, unobserved=unobserved,
                      unjudged="" if unobserved else unjudged_reason(context) or "; ".join(unjudged))


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


@contextlib.contextmanager
def quiet_numerics() -> Iterator[None]:
    """No RuntimeWarning (NumPy's floating-point errors included) from netdoctor's own arithmetic while it lasts; the
    program's warning filters and NumPy error state are as they were afterwards."""
    with warnings_ignored(RuntimeWarning):
        np = sys.modules.get("numpy")
        if np is None:
            yield
            return
        with np.errstate(all="ignore"):
            yield
