"""The netdoctor pytest plugin: gradient-check options, fixture, marker and summary.

Installing netdoctor enables it (entry point ``pytest11: netdoctor``);
``-p no:netdoctor`` turns it off. Without installing, load it with
``-p netdoctor.pytest_plugin``. It provides:

* options ``--netdoctor-method``, ``--netdoctor-rtol``, ``--netdoctor-atol``,
  ``--netdoctor-max-coords``, ``--netdoctor-seed`` (ini keys ``netdoctor_method``, ...);
  the command line wins over the ini file;
* the ``gradcheck`` fixture: ``gradcheck(f, x, grad)`` and
  ``gradcheck.model(model, X, y)`` with the session's options;
* the marker ``@pytest.mark.netdoctor(rtol=1e-4, method="central")`` that
  overrides options for one test;
* a "netdoctor gradient checks" section in the terminal summary.

Every pytest run imports this module, so it imports only pytest at the top;
netdoctor's numerics load when a check runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from netdoctor._lazy import dataclass

__all__ = ["OPTIONS", "gradcheck"]

_FALLBACK_METHODS = ("auto", "central", "complex", "directional")


def _methods() -> tuple[str, ...]:
    try:
        from netdoctor.gradients.options import METHODS
    except ImportError:  # pragma: no cover - only while the checker is absent
        return _FALLBACK_METHODS
    return tuple(METHODS)


def _parse_method(value: Any) -> str:
    methods = _methods()
    if value not in methods:
        raise ValueError(f"one of {', '.join(methods)}")
    return str(value)


def _parse_tolerance(value: Any, *, allow_zero: bool) -> float:
    valid = "a number in [0, 1), e.g. 1e-8" if allow_zero else "a number in (0, 1), e.g. 1e-5"
    if isinstance(value, bool):
        raise ValueError(valid)
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(valid) from None
    if not math.isfinite(out) or out < 0 or (out == 0 and not allow_zero) or out >= 1:
        raise ValueError(valid)
    return out


def _parse_int(value: Any, *, low: int, example: str) -> int:
    valid = f"an integer >= {low}, e.g. {example}"
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(valid)
    try:
        out = int(value)
    except (TypeError, ValueError):
        raise ValueError(valid) from None
    if out < low:
        raise ValueError(valid)
    return out


@dataclass(frozen=True)
class Option:
    """One gradient-check knob: its keyword, how to read it, and its help."""

    name: str
    """Keyword in Python (``rtol``); ``--netdoctor-rtol`` on the command line, ``netdoctor_rtol`` in ini."""
    parse: Callable[[Any], Any]
    """Turns a string (or marker value) into the value; ValueError says what is valid."""
    help: str

    @property
    def flag(self) -> str:
        return "--netdoctor-" + self.name.replace("_", "-")

    @property
    def ini(self) -> str:
        return "netdoctor_" + self.name


# The single definition of the knobs: command line, ini keys, marker and
# fixture are all generated from this table.
OPTIONS: tuple[Option, ...] = (
    Option("method", _parse_method,
           "how numerical gradients are made: auto (complex step where the code allows it, else central), "
           "central, complex or directional (seeded random directions)."),
    Option("rtol", lambda v: _parse_tolerance(v, allow_zero=False),
           "relative-error limit per coordinate (default: per dtype, 1e-5 for float64)."),
    Option("atol", lambda v: _parse_tolerance(v, allow_zero=True),
           "absolute floor below which differences are ignored (default: per dtype)."),
    Option("max_coords", lambda v: _parse_int(v, low=1, example="200"),
           "coordinates sampled per tensor (larger tensors are sampled, seeded)."),
    Option("seed", lambda v: _parse_int(v, low=0, example="0"),
           "seed of the coordinate sampling."),
)
_BY_NAME = {o.name: o for o in OPTIONS}

_SETTINGS = pytest.StashKey[dict]()
_RECORDER = pytest.StashKey["_Recorder"]()
_CURRENT = pytest.StashKey[Any]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("netdoctor", "netdoctor gradient checks")
    for o in OPTIONS:
        group.addoption(o.flag, dest="netdoctor_" + o.name, default=None, metavar=o.name.upper(), help=o.help)
        parser.addini(o.ini, help=f"default for {o.flag}: {o.help}", default=None)


def _read_settings(config: pytest.Config) -> dict[str, Any]:
    """Options from the command line, else the ini file; a usage error names the bad one."""
    settings: dict[str, Any] = {}
    for o in OPTIONS:
        raw, where = config.getoption("netdoctor_" + o.name), ""
        name = o.flag
        if raw is None:
            raw, name = config.getini(o.ini), o.ini
            where = f" in {config.inipath.name}" if config.inipath else " in the ini file"
        if raw is None or raw == "" or raw == []:
            continue
        if isinstance(raw, list):  # a line-list ini value
            raw = " ".join(raw)
        try:
            settings[o.name] = o.parse(raw.strip() if isinstance(raw, str) else raw)
        except ValueError as e:
            raise pytest.UsageError(f"{name}={raw!r}{where} is not valid; use {e}.") from None
    return settings


class _Recorder:
    """Collects every gradient check of the session for the terminal summary."""

    def __init__(self) -> None:
        self.results: list[tuple[Any, str]] = []
        self.failed_tests: set[str] = set()

    def __call__(self, result: Any, test: str) -> None:
        self.results.append((result, test))


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "netdoctor(**options): gradient-check options for this test's gradcheck fixture "
        f"({', '.join(o.name for o in OPTIONS)}), overriding --netdoctor-* and ini values.",
    )
    config.stash[_SETTINGS] = _read_settings(config)
    from netdoctor import testing
    recorder = _Recorder()
    config.stash[_RECORDER] = recorder
    testing.add_listener(recorder)


def pytest_unconfigure(config: pytest.Config) -> None:
    recorder = config.stash.get(_RECORDER, None)
    if recorder is not None:
        from netdoctor import testing
        testing.remove_listener(recorder)


def _marker_settings(node: pytest.Item) -> dict[str, Any]:
    out: dict[str, Any] = {}
    # iter_markers yields the closest marker first; closer ones win.
    for mark in reversed(list(node.iter_markers("netdoctor"))):
        if mark.args:
            pytest.fail(f"@pytest.mark.netdoctor takes keyword options only, got {mark.args!r}", pytrace=False)
        for key, value in mark.kwargs.items():
            if key not in _BY_NAME:
                valid = ", ".join(_BY_NAME)
                pytest.fail(f"@pytest.mark.netdoctor got unknown option {key!r}; use {valid}.", pytrace=False)
            try:
                if key == "rtol" and isinstance(value, dict):  # per-tensor or per-dtype limits
                    out[key] = {k: _BY_NAME[key].parse(v) for k, v in value.items()}
                else:
                    out[key] = _BY_NAME[key].parse(value)
            except ValueError as e:
                pytest.fail(f"@pytest.mark.netdoctor({key}={value!r}) is not valid; use {e}.", pytrace=False)
    return out


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem):
    # The fixture is session-scoped (so hypothesis's @given accepts it) and
    # finds the running test's marker through this.
    item.config.stash[_CURRENT] = item
    try:
        return (yield)
    finally:
        item.config.stash[_CURRENT] = None


def _checker_class():
    from netdoctor.testing import GradientChecker

    class SessionChecker(GradientChecker):
        """Options = session settings, overridden by the running test's ``netdoctor`` marker."""

        def __init__(self, config: pytest.Config) -> None:
            self._config = config

        @property
        def options(self) -> dict[str, Any]:  # type: ignore[override]
            out = self._config.stash.get(_SETTINGS, {}).copy()
            item = self._config.stash.get(_CURRENT, None)
            if item is not None:
                out.update(_marker_settings(item))
            return out

    return SessionChecker


@pytest.fixture(scope="session")
def gradcheck(request: pytest.FixtureRequest):
    """Gradient assertions with this session's options and the test's ``netdoctor`` marker.

    ``gradcheck(f, x, grad, **opts)`` checks a function's gradient (``gradcheck(f, x)``
    for PyTorch code: autograd gives the analytic side),
    ``gradcheck.model(model, X, y, **opts)`` a protocol model's or an ``nn.Module``'s; both return
    the result when it passes and raise ``GradientMismatch`` otherwise.
    ``gradcheck.options`` shows the options in force for the running test.
    Session-scoped and stateless, so it works inside hypothesis ``@given`` tests.
    """
    return _checker_class()(request.config)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not report.failed:
        return
    from netdoctor import testing
    # The innermost session's recorder (pytester may nest sessions in one process).
    listener = testing.current_listener()
    if isinstance(listener, _Recorder):
        listener.failed_tests.add(report.nodeid)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    recorder = config.stash.get(_RECORDER, None)
    if recorder is None or not recorder.results:
        return
    results = recorder.results
    failed = sum(1 for r, _ in results if not r.ok)
    tests = {t for _, t in results}
    worst_value, worst_where = -1.0, ""
    for r, test in results:
        err = float(r.worst_rel_error)
        if err > worst_value or math.isnan(err):
            names = [t.name for t in r.tensors if float(t.max_rel_error) == err] or ["direction"]
            worst_value, worst_where = err, f"{names[0]} in {test}" if test else names[0]
        if math.isnan(err):
            break
    tr = terminalreporter
    tr.section("netdoctor gradient checks")
    tr.line(
        f"{len(results)} gradient check(s) in {len(tests)} test(s): "
        f"{len(results) - failed} passed, {failed} failed",
        red=bool(failed), green=not failed,
    )
    expected = sum(1 for r, test in results if not r.ok and test and test not in recorder.failed_tests)
    if expected:
        tr.line(f"{expected} of the failed checks ran in tests that passed (expected mismatches, e.g. pytest.raises)")
    if worst_value >= 0 or math.isnan(worst_value):
        tr.line(f"worst relative error: {worst_value:.2e} ({worst_where})")
