"""Where the CPU time of ``netdoctor run`` goes, for one program: its phases and the observer's handlers.

``bench_observe.py`` says how much more an observed run costs; this says where that time goes, in CPU seconds of
the process (``time.thread_time`` of the main thread, and the children's ``user + system`` for the whole runs),
never in wall time: on a machine shared with other work, wall time stretches with the load (the handlers' wall
time the report's header gives as ``observer_seconds`` was 2-4x their CPU time at load 7-15), and a sampling
profiler that stops the process to read its stack (py-spy) over-counts the lines that enter the kernel
(``time.process_time`` in the update check's clock took 3% of the samples and 0.1 ms of CPU).

The program runs plainly once, then under ``netdoctor run`` in a child that wraps, before anything runs:

* the observer's start (importing its NumPy modules, when the program imports NumPy) and the report's build and
  rendering;
* the NumPy observer's handlers of calls, returns and loop heads, split into those delivered while discovery looked
  for the network and those after (``watch``), each with its count and CPU per event;
* the update check: its CPU (as its recorder counts it) and the forwards it replayed.

What is left (``rest``) is the observed run's CPU minus the plain run's and minus all of the above: the tracer's trace
functions (Python and compiled) that the interpreter calls at every call, line and return event before any handler is
reached, and ``python -m netdoctor``'s start.
The wrapping adds about a microsecond per event (the forum program's 67,000 events: ~0.07 s).

    python bench/cost_breakdown.py [--repeat N] script.py [args...]

Run from the folder the program expects; the best (least CPU) of ``--repeat`` runs of each side is shown, after one
untimed observed run that writes the bytecode caches (into a folder of the tool's own).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

__all__ = ["main", "breakdown_lines"]

PHASES = ("start", "discover", "watch call", "watch return", "watch tick", "report", "render")
"""The rows of the breakdown, in the order a run meets them (the update check is shown inside the handlers' rows, where
its windows close)."""


def _env(pycache: Path) -> dict[str, str]:
    """The children's environment: one BLAS thread and bytecode cached in ``pycache`` (as ``bench_observe.py``: modules
    load from their caches, as when installed, and no cache is written beside a source), this checkout's netdoctor
    first."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPYCACHEPREFIX=str(pycache))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return env


def _cpu(argv: list[str], env: dict[str, str]) -> float:
    """The CPU seconds (user + system) of a child running ``argv``, its output dropped."""
    child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(child.pid, 0)
    return usage.ru_utime + usage.ru_stime


def _timed(owner: Any, name: str, into: Callable[[Any], str | None], spent: dict[str, list[float]]) -> None:
    """Wrap ``owner.name`` so that its CPU time (main thread) and calls are added to ``spent[into(self)]`` (a
    nested call of a wrapped function is counted in its caller's row only)."""
    original = getattr(owner, name)
    depth = [0]

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        row = into(args[0] if args else None) if depth[0] == 0 else None
        if row is None:
            return original(*args, **kwargs)
        depth[0] += 1
        t0 = time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            depth[0] -= 1
            cell = spent.setdefault(row, [0.0, 0])
            cell[0] += time.thread_time() - t0
            cell[1] += 1

    setattr(owner, name, wrapper)


def _phase(row: str) -> Callable[[Any], str]:
    """The row of a NumPy observer's handler: ``discover`` while it looks for the network (the event that finds it
    included), else ``row``."""
    return lambda backend: "discover" if backend.phase == "discover" else row


def _child(out: str, argv: list[str]) -> int:
    """``netdoctor run argv`` with the phases wrapped (see the module docstring); the breakdown goes to ``out``."""
    import numpy  # noqa: F401 - the program's own import, paid by the plain run too: not the observer's start

    t0 = time.thread_time()
    from netdoctor.cli import app
    from netdoctor.cli import run as cli_run
    from netdoctor.observe import session
    from netdoctor.observe.numpy import backend, replay
    from netdoctor.observe.numpy.update_recorder import UpdateCheckRecorder

    # (imported here to be wrapped: in a plain ``netdoctor run`` the observer's modules load when the program imports
    # NumPy, which is the start's row)
    spent: dict[str, list[float]] = {"start": [time.thread_time() - t0, 0]}
    seen: list[UpdateCheckRecorder] = []
    _timed(session._WhenImported, "_start", lambda _: "start", spent)
    for handler, row in (("_on_call", "watch call"), ("_on_return", "watch return"), ("_on_tick", "watch tick")):
        _timed(backend.NumpyBackend, handler, _phase(row), spent)
    _timed(replay.Replay, "call", lambda _: "forwards replayed", spent)
    _timed(replay.Chain, "call", lambda _: "forwards replayed", spent)
    _timed(session.Observation, "build_report", lambda _: "report", spent)
    _timed(cli_run, "_report", lambda _: "render", spent)
    made = UpdateCheckRecorder.__init__

    def init(self: UpdateCheckRecorder, *args: Any, **kwargs: Any) -> None:
        made(self, *args, **kwargs)
        seen.append(self)

    UpdateCheckRecorder.__init__ = init  # type: ignore[method-assign]
    sys.argv = ["netdoctor", "run", *argv]
    try:
        code = app.main()
    finally:
        spent["update check"] = [sum(r.seconds for r in seen), sum(len(r.checks) for r in seen)]
        Path(out).write_text(json.dumps(spent))
    return int(code or 0)


def breakdown_lines(plain: float, observed: float, spent: dict[str, list[float]]) -> list[str]:
    """The table: each phase's CPU seconds, events and microseconds per event, then what is left; the update check
    (counted in the handler that closed its window, or in the report's build for a window the run's end closed) on a
    line of its own, not added again."""
    lines = [f"plain {plain:.3f} s CPU, observed {observed:.3f} s ({observed / plain:.2f}x): +{observed - plain:.3f} s"]
    accounted = 0.0
    for row in PHASES:
        seconds, count = spent.get(row, [0.0, 0])
        per = f"{count:8,d} events {1e6 * seconds / count:7.1f} us each" if count else ""
        lines.append(f"  {row:14s} {seconds:7.3f} s  {per}")
        accounted += seconds
    check, checks = spent.get("update check", [0.0, 0])
    seconds, forwards = spent.get("forwards replayed", [0.0, 0])
    lines.append(f"  {'(update check':14s} {check:7.3f} s  {checks} check(s), {forwards} forwards replayed in "
                 f"{seconds:.3f} s: inside the rows above)")
    lines.append(f"  {'rest':14s} {observed - plain - accounted:7.3f} s  the tracer's trace functions (Python and C) "
                 "at every event, python -m netdoctor's start")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("script", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    if args.child:
        return _child(args.child, args.script)
    if not args.script:
        ap.error("name the program to run")
    best: tuple[float, dict[str, list[float]]] | None = None
    with tempfile.TemporaryDirectory() as tmp:
        env, out = _env(Path(tmp) / "pycache"), str(Path(tmp) / "spent.json")
        child = [sys.executable, str(Path(__file__).resolve()), "--child", out, *args.script]
        _cpu(child, env)  # untimed: the caches written
        plain = min(_cpu([sys.executable, *args.script], env) for _ in range(args.repeat))
        for _ in range(args.repeat):
            cpu = _cpu(child, env)
            if best is None or cpu < best[0]:
                best = (cpu, json.loads(Path(out).read_text()))
    assert best is not None
    print("\n".join(breakdown_lines(plain, best[0], best[1])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
