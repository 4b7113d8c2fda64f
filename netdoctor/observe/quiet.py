"""Warnings of netdoctor's own work kept off the program's stderr, the program's warning state left as it was.

Standard library only: the report of a run that never imported NumPy must not import it to quiet itself.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

__all__ = ["warnings_ignored"]


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
