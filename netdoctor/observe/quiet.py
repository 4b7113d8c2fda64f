"""Warnings of netdoctor's own work kept off the program's stderr, the program's warning state left as it was.

Standard library only: the report of a run that never imported NumPy must not import it to quiet itself
(:func:`float_errors_ignored` asks for NumPy only where it is loaded already).
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Iterator
from typing import Any

__all__ = ["float_errors_ignored", "warnings_ignored"]


@contextlib.contextmanager
def warnings_ignored(category: type[Warning] = Warning) -> Iterator[None]:
    """Every warning of ``category`` ignored while it lasts.

    The filter is put in front of the list in place and taken out again, not through ``warnings.catch_warnings()``:
    that bumps the filters' version on the way out, which forgets every "shown once" of the program (its warnings
    would show again). An ignored warning is not marked as shown.
    """
    ignored = ("ignore", None, category, None, 0)
    filters: list[Any] = warnings.filters  # type: ignore[assignment]  # typeshed: a Sequence; it is the list
    filters.insert(0, ignored)
    try:
        yield
    finally:
        for k, f in enumerate(filters):
            if f is ignored:
                del filters[k]
                break



class _SetErr:
    """NumPy 1.x's form of the context variable :func:`float_errors_ignored` returns: ``set`` through ``np.seterr``,
    returning the state it replaced, which ``reset`` puts back."""

    __slots__ = ("_np",)

    def __init__(self, np: Any) -> None:
        self._np = np

    def set(self, state: dict[str, str]) -> dict[str, str]:
        return self._np.seterr(**state)

    def reset(self, token: dict[str, str]) -> None:
        self._np.seterr(**token)


def float_errors_ignored() -> tuple[Any, Any] | None:
    """``(var, ignore)``: ``token = var.set(ignore)`` ... ``var.reset(token)`` does what ``with
    np.errstate(all="ignore")`` does, for the NumPy loaded in this process; None when none is (nothing to quiet).

    NumPy >= 2 keeps the floating-point error state in a context variable: setting it to a state made once costs a
    fifth of building an ``errstate`` (a handler of the observer runs it at every event it hears). Without it (NumPy
    1.x) ``var`` goes through ``np.seterr``. The program finds its own state again after ``reset`` (its
    ``np.seterr(all="raise")``, an ``errstate`` it is inside).
    """
    np = sys.modules.get("numpy")
    if np is None or not hasattr(np, "errstate"):
        return None
    var = getattr(getattr(getattr(np, "_core", None), "_ufunc_config", None), "_extobj_contextvar", None)
    if var is None:
        return _SetErr(np), {"all": "ignore"}
    with np.errstate(all="ignore"):
        return var, var.get()
