"""Assertions for test suites: gradients that must match finite differences.

``assert_gradients_match(f, x, grad)`` and ``assert_model_gradients(model, X, y)``
run :mod:`netdoctor.gradients` and, when a gradient disagrees, raise
:class:`~netdoctor.errors.GradientMismatch` (an ``AssertionError``) whose
message reads like pytest's own: which parameter, a small table of the
worst coordinates and a hint at the likely bug::

    GradientMismatch: gradient of W2 disagrees at 8 of 8 entries (100.0%); worst W2[3, 1]: ...
        index             analytic     numerical  rel error
        [3, 1]          2.5296e-02    1.2648e-02    5.0e-01
        ...
        hint: analytic is 2x numerical in every checked entry of W2: a factor 2 too many (...)
    (W1, b1, b2 agree; method central, h 1e-05, rtol 1e-05, 26 entries checked)

The helpers work in any test runner; under pytest with the netdoctor plugin
their results also feed the "netdoctor gradient checks" summary.
This module imports numpy only when a check runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from netdoctor.errors import GradientMismatch, InvalidArgument

__all__ = [
    "assert_gradients_match",
    "assert_model_gradients",
    "GradientChecker",
    "format_mismatch",
    "OPTION_NAMES",
]

OPTION_NAMES = ("method", "h", "rtol", "atol", "max_coords", "seed", "n_directions")
"""Keyword options the helpers pass on to :mod:`netdoctor.gradients`."""

# Listeners get (result, test id) for every check; the pytest plugin pushes
# one per session and only the innermost session (the last pushed) hears it.
_listeners: list[Callable[[Any, str], None]] = []


def add_listener(listener: Callable[[Any, str], None]) -> None:
    """Hear every check as ``listener(result, test id)`` until :func:`remove_listener` (the innermost one only)."""
    _listeners.append(listener)


def remove_listener(listener: Callable[[Any, str], None]) -> None:
    """Stop ``listener`` hearing the checks (nothing happens when it is not listening)."""
    if listener in _listeners:
        _listeners.remove(listener)


def current_listener() -> Callable[[Any, str], None] | None:
    """The listener that hears the checks now (the last added), or None."""
    return _listeners[-1] if _listeners else None


def _notify(result: Any) -> None:
    if _listeners:
        test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
        _listeners[-1](result, test)


def _check_options(opts: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(opts) - set(OPTION_NAMES))
    if unknown:
        raise InvalidArgument(f"unknown gradient-check option(s) {unknown}; use {', '.join(OPTION_NAMES)}.")
    return {k: v for k, v in opts.items() if v is not None}


def format_mismatch(result: Any, *, max_rows: int = 5) -> str:
    """The failure message of a gradient check, one block per disagreeing tensor.

    Args:
        result: a :class:`netdoctor.gradients.result.GradcheckResult`.
        max_rows: worst coordinates shown per tensor.

    Returns:
        multi-line text: per failing tensor, output layer first, the one-sentence verdict, a table
        of its worst entries (index, analytic, numerical, rel error) and the
        hint; failing random directions; then one line naming the tensors that
        agree and how the check was made.
    """
    lines: list[str] = []
    by_name = {t.name: t for t in result.tensors}
    # Output layer first: an error there flows backwards into every earlier
    # layer's gradient, so the first block is the one to fix first.
    order = result.failing_order()
    for t in (by_name[n] for n in order):
        lines.append(t.message())
        if t.problem is None and t.worst:
            lines.append(f"    {'index':<12}{'analytic':>14}{'numerical':>14}{'rel error':>11}")
            for c in list(t.worst)[:max_rows]:
                idx = "[" + ", ".join(str(int(i)) for i in c.index) + "]"
                lines.append(f"    {idx:<12}{c.analytic:>14.4e}{c.numeric:>14.4e}{c.rel_error:>11.1e}")
        if t.hint:
            lines.append(f"    hint: {t.hint}")
    for d in getattr(result, "directions", ()):
        if not d.ok:
            lines.append(
                f"directional derivative along random direction (seed {d.seed}) of {d.scope} disagrees: "
                f"analytic {d.analytic:.4e}, numeric {d.numeric:.4e}, rel_error {d.rel_error:.1e} "
                f"> limit {result.rtol:.0e}"
            )
    good = [t.name for t in result.tensors if t.ok]
    how = f"method {result.method}, h {result.h:.0e}, rtol {result.rtol:.0e}, {result.n_checked} entries checked"
    lines.append(f"({', '.join(good)} agree; {how})" if good else f"({how})")
    lines += [f"note: {n}" for n in getattr(result, "notes", ())]
    return "\n".join(lines)


def _finish(result: Any) -> Any:
    __tracebackhide__ = True
    _notify(result)
    if not result.ok:
        raise GradientMismatch(format_mismatch(result))
    return result


def assert_gradients_match(f: Callable[..., Any], x: Any, grad: Any = None, **opts: Any) -> Any:
    """Assert that ``grad`` is the gradient of the scalar function ``f`` at ``x``.

    Args:
        f: ``f(x) -> float``; ``x`` is an array or a dict/list/tuple of arrays. Or PyTorch
            code (a function of tensors, an ``nn.Module``, an ``autograd.Function`` class):
            then autograd gives the analytic side and ``grad`` is left out.
        x: the point; left exactly as found (``f`` and ``grad`` get copies).
        grad: ``grad(x)`` returning the analytic gradient in the structure of
            ``x``, or the gradient's value at ``x`` itself (arrays shaped like ``x``).
        **opts: ``method``, ``h``, ``rtol``, ``atol``, ``max_coords``, ``seed``,
            ``n_directions`` (see :func:`netdoctor.gradients.gradcheck`).

    Returns:
        the passing :class:`~netdoctor.gradients.GradcheckResult`.

    Raises:
        GradientMismatch: naming each disagreeing tensor, its worst coordinates and a hint.
        InvalidArgument: for an unknown option.
    """
    __tracebackhide__ = True
    from netdoctor.gradients.check import gradcheck

    return _finish(gradcheck(f, x, grad, **_check_options(opts)))


def assert_model_gradients(model: Any, X: Any, y: Any, **opts: Any) -> Any:
    """Assert that ``model.loss(X, y)`` returns the true gradient of its loss.

    ``model`` follows the model protocol (``params`` and ``loss``); every
    parameter is restored bit for bit afterwards. Options as in
    :func:`assert_gradients_match`.

    Raises:
        GradientMismatch: naming each disagreeing parameter, its worst coordinates and a hint.
    """
    __tracebackhide__ = True
    from netdoctor.gradients.check import check_gradients

    return _finish(check_gradients(model, X, y, **_check_options(opts)))


class GradientChecker:
    """The two assertions with preset options (what the pytest ``gradcheck`` fixture returns).

    ``checker(f, x, grad)`` asserts a function's gradient (``checker(f, x)`` for
    PyTorch code) and ``checker.model(model, X, y)`` a model's (an ``nn.Module``
    too); keyword arguments given to a call override the preset ones.
    """

    def __init__(self, **options: Any) -> None:
        self.options = _check_options(options)

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"GradientChecker({opts})"

    def __call__(self, f: Callable[..., Any], x: Any, grad: Any = None, **opts: Any) -> Any:
        __tracebackhide__ = True
        return assert_gradients_match(f, x, grad, **{**self.options, **opts})

    def model(self, model: Any, X: Any, y: Any, **opts: Any) -> Any:
        __tracebackhide__ = True
        return assert_model_gradients(model, X, y, **{**self.options, **opts})
