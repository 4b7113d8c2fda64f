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

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["row", "ROW_KEYS", "Background", "optional_torch", "limited_threads", "shared_data"]

ROW_KEYS = ("what", "compared_with", "target", "ours", "peer", "ratio", "unit", "met", "note", "floor")


def row(what: str, compared_with: str = "", target: str = "", *, ours: Any = None, peer: Any = None,
        ratio: Any = None, unit: str = "", met: bool | None = None, note: str = "", floor: Any = None) -> dict:
    """One table row with all :data:`ROW_KEYS`."""
    return {"what": what, "compared_with": compared_with, "target": target, "ours": ours, "peer": peer,
            "ratio": ratio, "unit": unit, "met": met, "note": note, "floor": floor}


def shared_data(name: str) -> Path:
    """``shared/data/NAME`` beside the checkout (or beside any folder above it, for git worktrees).

    Returns the first candidate that exists, else the one beside the checkout
    (whose absence the suites report).
    """
    root = Path(__file__).resolve().parent.parent
    for folder in root.parents:
        candidate = folder / "shared" / "data" / name
        if candidate.exists():
            return candidate
    return root.parent / "shared" / "data" / name


def optional_torch():
    """The torch module, or None when it is not installed (peers are optional)."""
    try:
        import torch
    except ImportError:
        return None
    return torch


@contextlib.contextmanager
def limited_threads(n: int | None) -> Iterator[str]:
    """numpy's BLAS and an already imported torch limited to ``n`` threads for the block.

    ``None`` leaves both as they are. BLAS is limited through threadpoolctl
    when it is installed; the block is told what was set (for the notes).
    """
    if n is None:
        yield "default threads"
        return
    torch = sys.modules.get("torch")  # only a torch the suite already uses needs limiting
    old = torch.get_num_threads() if torch else None
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        limit, blas = contextlib.nullcontext(), "default BLAS threads (threadpoolctl not installed)"
    else:
        limit, blas = threadpool_limits(n, user_api="blas"), f"{n} BLAS thread{'s' if n != 1 else ''}"
    if torch:
        torch.set_num_threads(n)
    try:
        with limit:
            yield blas
    finally:
        if torch:
            torch.set_num_threads(old)


def _cpu_busy() -> float | None:
    """Seconds of CPU time all processes have used (from /proc/stat), or None."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    ticks = [int(f) for f in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class Background:
    """Share of the machine's CPUs used by *other* processes while the block ran.

    ``with Background() as bg: ...`` then ``bg.share`` (0..1, None where
    /proc/stat is missing): 0.5 on two cores means one core's worth of
    foreign work, enough to starve a two-thread BLAS.
    """

    def __enter__(self) -> Background:
        self.share = None
        self._t0, self._busy0, self._own0 = time.perf_counter(), _cpu_busy(), _own_cpu()
        return self

    def __exit__(self, *exc) -> None:
        wall = time.perf_counter() - self._t0
        busy1, own1 = _cpu_busy(), _own_cpu()
        if self._busy0 is not None and busy1 is not None and wall > 0:
            foreign = (busy1 - self._busy0) - (own1 - self._own0)
            self.share = max(0.0, foreign) / (wall * (os.cpu_count() or 1))
