"""Benchmarks of netdoctor against its peers: ``python -m bench``.

Every suite module exposes ``run(small=False) -> list[dict]``; each dict is
one row of the table in ``docs/benchmarks.md``:

``what``            what was measured ("train 784-30-10, 1 epoch");
``compared_with``   the peer ("PyTorch 2.13 CPU, 2 threads");
``target``          the goal in words (">= 1.5x the peer");
``ours``, ``peer``  the measured medians (numbers, or None);
``ratio``           ours / peer in the direction where bigger is better;
``unit``            unit of ``ours`` and ``peer`` ("samples/s", "s", "MB");
``met``             True / False against the target, None when there is none
                    or the comparison was skipped;
``note``            how it was measured, what was skipped and why;
``floor``           (optional) the physical limit in ``unit``, e.g. the
                    samples/s the BLAS alone allows.

:func:`row` builds one with every key present.
"""

from __future__ import annotations

from typing import Any

__all__ = ["row", "ROW_KEYS"]

ROW_KEYS = ("what", "compared_with", "target", "ours", "peer", "ratio", "unit", "met", "note", "floor")


def row(what: str, compared_with: str = "", target: str = "", *, ours: Any = None, peer: Any = None,
        ratio: Any = None, unit: str = "", met: bool | None = None, note: str = "", floor: Any = None) -> dict:
    """One table row with all :data:`ROW_KEYS`."""
    return {"what": what, "compared_with": compared_with, "target": target, "ours": ours, "peer": peer,
            "ratio": ratio, "unit": unit, "met": met, "note": note, "floor": floor}
