"""The observer's own objects kept out of the cyclic garbage collector's way while the program runs.

A full collection (generation 2) walks every container object alive: its cost
is proportional to their number. Observing adds netdoctor's own (its modules,
functions, classes and tables: about 17,000 objects, beside the ~20,000 of the
interpreter and NumPy in the plain run) and the program pays for them
at each of its full collections: a per-sample program that builds a list of
lists per sample (the forum program: 785 small lists per row) makes one every
few hundred samples, 37 in one epoch of 5,000 rows, each 16 ms in the plain
run and 45 ms observed (1.7 s against 0.6 s, load 6).

:func:`set_aside` moves the objects alive when the observer starts into the
collector's permanent generation (``gc.freeze``): they are still freed by
reference counting, but no collection walks them; the objects the program makes
from then on are collected as under ``python`` (the generations' thresholds are
untouched: a collection of the youngest generation comes after the same number
of allocations). One difference: a full collection waits until the objects
that survived the younger generations since the last one exceed a quarter of
the oldest generation's, and the objects set aside no longer count there, so a
program with few long-lived objects of its own may have its full collections
sooner, each walking only its own objects (the forum program: 37 in both
runs). :func:`hand_back` puts them back (``gc.unfreeze``) when the observer
stops, so the report's work and the interpreter's last collection see every
object as ``python`` would.

Garbage is not set aside: a full collection runs first (``gc.collect``), so a
cycle the program left before NumPy was imported (the observer starts then) is
finalized there, as ``python`` would at one of the collections that importing
NumPy's tens of thousands of objects triggers, not kept until the program ends.
A program that turned the collector off is left as it is.
"""

from __future__ import annotations

import gc

__all__ = ["set_aside", "hand_back"]


def set_aside() -> bool:
    """Collect the garbage, then move every object alive out of the collector's generations (``gc.freeze``);
    whether it did (not when the collector is off: nothing to spare, and nothing of ours to change)."""
    if not gc.isenabled():
        return False
    gc.collect()
    gc.freeze()
    return True


def hand_back() -> None:
    """Return the objects :func:`set_aside` moved to the collector's oldest generation (``gc.unfreeze``)."""
    gc.unfreeze()
