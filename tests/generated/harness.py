"""Run generated programs with plain ``python`` and under ``netdoctor run``, and judge the report against the label.

A program is first proven to behave as its writer says *without netdoctor*
(:func:`behaves`: a healthy twin learns, a bug has its effect), so that a
writer's mistake is never blamed on the observer. Then :func:`judge` reads the
JSON report of ``netdoctor run --json FILE``:

* ``named``: the expected finding code is in the report (any severity);
* ``first``: it is the first finding (the verdict's root cause);
* ``quiet``: no finding of severity warning or error (what a healthy twin needs);
* ``coverage``: the header's observed update count against the program's
  real one; ``coverage_ok`` is False when fewer than half were observed and no
  note of the report says so.
"""

from __future__ import annotations

import atexit
import gzip
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "netdoctor" / "data" / "mnist_sample.csv.gz"
TIMEOUT = 600  # seconds per run: generous for a busy shared machine; a program takes ~1 s alone
LEARNS = 0.6
"""A healthy program ends at >= 60% test accuracy (chance: 10%)."""
STALLS = 0.3
"""A stalling program ends at <= 30%."""
WORSE = 0.1
"""A bug that makes learning worse ends >= 10 points below its healthy twin."""
SAYS_TOO_FEW = re.compile(r"not enough observed|too (?:few|little)|not followed|of [\d,]+ updates|updates? (?:were )?not",
                          re.IGNORECASE)
"""A note or verdict saying that not every update was observed ("Not enough observed to judge", "40 of 800 updates")."""
TIMED_OUT = -1
"""The return code of a run stopped at the time limit."""
_ACC = re.compile(r"final test accuracy ([\w.]+)")
_STOPPED = re.compile(r"stopped early after epoch (\d+)")


@dataclass
class Run:
    """One run of a program: plain (``report`` empty) or under ``netdoctor run``."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    report: dict = field(default_factory=dict)

    @property
    def accuracy(self) -> float | None:
        found = _ACC.findall(self.stdout)
        return float(found[-1]) if found else None


def updates_run(p, plain: Run) -> int:
    """The updates program ``p`` really applied in its plain run: ``p.updates``, or for a program that stops early
    (it prints ``stopped early after epoch N``) those of the N epochs it ran."""
    found = _STOPPED.findall(plain.stdout)
    epochs = getattr(p.style, "epochs", 0)
    if found and epochs:
        return p.updates // epochs * int(found[-1])
    return p.updates


def write_data(folder: Path, n_rows: int, seed: int = 0) -> Path:
    """``folder/data.csv``: ``n_rows`` rows of the bundled MNIST sample (label first, pixels 0-255), shuffled."""
    path = folder / "data.csv"
    if not path.exists():
        with gzip.open(SAMPLE, "rt") as f:
            rows = np.loadtxt(f, delimiter=",", dtype=np.int64)
        rows = rows[np.random.default_rng(seed).permutation(len(rows))][:n_rows]
        tmp = folder / "data.csv.part"
        np.savetxt(tmp, rows, fmt="%d", delimiter=",")
        tmp.replace(path)
    return path


def _env(observed: bool = False) -> dict[str, str]:
    # One BLAS thread: programs run two at a time on a shared machine; their numbers do not depend on it.
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONHASHSEED="0",
               NO_COLOR="1", COLUMNS="100")
    env.pop("PYTHONPATH", None)
    if observed:  # the netdoctor of this checkout (a sweep may run from a snapshot of it)
        env["PYTHONPATH"] = str(ROOT)
    return env


def place(p, folder: Path) -> Path:
    """Write program ``p`` (a writer's ``Program``) into ``folder``; the path of its entry script.

    A program with sibling modules (``p.place``: a multi-file project) goes into a folder of its own.
    """
    if hasattr(p, "place"):
        return p.place(folder)
    path = folder / f"{p.name}.py"
    path.write_text(p.source, encoding="utf-8")
    return path


def run_plain(script: Path, *args: str, timeout: float = TIMEOUT) -> Run:
    """``python SCRIPT ARGS`` in the script's folder."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, str(script), *args], cwd=script.parent, env=_env(), capture_output=True,
                          text=True, timeout=timeout)
    return Run(proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - started)


def run_observed(script: Path, *args: str, timeout: float = TIMEOUT) -> Run:
    """``netdoctor run --json FILE SCRIPT ARGS`` in the script's folder; the report read from FILE."""
    out = script.with_suffix(".report.json")
    out.unlink(missing_ok=True)
    started = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "netdoctor.cli", "run", "--json", str(out), str(script), *args],
                              cwd=script.parent, env=_env(observed=True), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Run(TIMED_OUT, "", f"netdoctor run: no end within {timeout:.0f} s", time.perf_counter() - started)
    seconds = time.perf_counter() - started
    report = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    return Run(proc.returncode, proc.stdout, proc.stderr, seconds, report)


def behaves(behaviour: str, run: Run, twin: Run | None) -> tuple[bool, str]:
    """Whether a plain run shows ``behaviour`` (learns, stalls, worse, differs); the reason when it does not."""
    acc = run.accuracy
    if run.returncode != 0 or "Traceback" in run.stderr:
        return False, f"exit {run.returncode}: {run.stderr.strip().splitlines()[-1:] or ''}"
    if acc is None:
        return False, "printed no final accuracy"
    twin_acc = twin.accuracy if twin is not None else None
    if behaviour == "learns":
        return acc >= LEARNS, f"accuracy {acc:.3f} < {LEARNS}"
    if behaviour == "stalls":
        return acc <= STALLS or math.isnan(acc), f"accuracy {acc:.3f} > {STALLS}"
    if twin_acc is None:
        return False, "no healthy twin to compare with"
    if behaviour == "worse":
        return math.isnan(acc) or acc <= twin_acc - WORSE, f"accuracy {acc:.3f}, twin {twin_acc:.3f}"
    if behaviour == "differs":
        return run.stdout != twin.stdout, "prints exactly what its twin prints"
    raise ValueError(f"unknown behaviour {behaviour!r}")


@dataclass(frozen=True)
class Judgement:
    """What ``netdoctor run`` said about one program, against its label."""

    expect: str | None
    codes: tuple[tuple[str, str], ...]
    """(code, severity) of every finding, in the report's order."""
    named: bool
    first: bool
    quiet: bool
    updates_real: int
    updates_observed: int | None
    updates_expected: int | None
    """The program's own update count as the header says it (read from its loops), None when not said."""
    coverage_ok: bool
    notes: tuple[str, ...]
    exit_code: int
    faithful: bool
    """The observed run's stdout starts with the plain run's (True when it timed out: nothing to compare)."""
    timed_out: bool
    """``netdoctor run`` did not end within the harness's time limit."""

    @property
    def ok(self) -> bool:
        """The label's demand: a bug named; a healthy program quiet at warning and error level."""
        return (self.named if self.expect else self.quiet) and self.coverage_ok


def judge(expect: str | None, updates: int, observed: Run, plain: Run) -> Judgement:
    """Compare the report of ``observed`` with the label (``expect``: the code a bug must bring, None: healthy)."""
    report = observed.report
    findings = report.get("findings", [])
    codes = tuple((f["code"], f["severity"]) for f in findings)
    context = report.get("context", {})
    notes = tuple(str(n) for n in (context.get("notes") or ()))
    # NumPy runs count updates; PyTorch runs count optimizer steps (the larger one is this run's count)
    counts = [context[k] for k in ("updates_observed", "optimizer_steps") if isinstance(context.get(k), int)]
    seen = max(counts) if counts else None
    said = bool(SAYS_TOO_FEW.search(" ".join((*notes, str(report.get("verdict", ""))))))
    coverage_ok = bool(report) and (said or (seen is not None and seen >= updates / 2))
    return Judgement(
        expect=expect, codes=codes,
        named=expect is not None and any(c == expect for c, _ in codes),
        first=expect is not None and bool(codes) and codes[0][0] == expect,
        quiet=bool(report) and not any(s in ("error", "warning") for _, s in codes),
        updates_real=updates, updates_observed=seen, coverage_ok=coverage_ok, notes=notes,
        updates_expected=context.get("updates_expected") if isinstance(context.get("updates_expected"), int) else None,
        exit_code=observed.returncode, timed_out=observed.returncode == TIMED_OUT,
        faithful=observed.returncode == TIMED_OUT or observed.stdout.startswith(plain.stdout))


class Sample:
    """Plain and observed runs of a fixed list of programs, each run once (two at a time) on first use.

    ``programs`` are the writers' ``Program`` objects (``name``, ``source``,
    ``style``, ``bug``); ``rows`` is how many data rows they read.
    """

    def __init__(self, programs: list, rows: int, prefix: str):
        self.programs, self.rows, self.prefix = programs, rows, prefix
        self._plain: dict[str, Run] = {}
        self._observed: dict[str, Run] = {}
        self._lock = threading.Lock()
        self._tmp: Path | None = None

    def _folder(self) -> Path:
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix=self.prefix))
            atexit.register(shutil.rmtree, self._tmp, ignore_errors=True)
            write_data(self._tmp, self.rows)
        return self._tmp

    def _script(self, p) -> Path:
        return place(p, self._folder())

    def plain(self, p) -> Run:
        """The program's plain run (the first call runs every program, two at a time)."""
        with self._lock:
            if not self._plain:
                data = str(self._folder() / "data.csv")
                with ThreadPoolExecutor(max_workers=2) as pool:
                    runs = pool.map(lambda q: run_plain(self._script(q), data), self.programs)
                    self._plain.update(zip((q.name for q in self.programs), runs))
        return self._plain[p.name]

    def observed(self, p) -> Run:
        """The program's run under ``netdoctor run --json FILE`` (the first call runs every program)."""
        self.plain(p)
        with self._lock:
            if not self._observed:
                data = str(self._folder() / "data.csv")
                with ThreadPoolExecutor(max_workers=2) as pool:
                    runs = pool.map(lambda q: run_observed(self._script(q), data), self.programs)
                    self._observed.update(zip((q.name for q in self.programs), runs))
        return self._observed[p.name]

    def twin(self, p) -> Run:
        """The plain run of ``p``'s healthy twin."""
        return self.plain(next(q for q in self.programs if q.style == p.style and q.bug is None))


def fingerprint(writer, n_styles: int, start: int) -> str:
    """A hash of every file of every program ``writer.plan(n_styles, start=start)`` writes."""
    h = hashlib.sha256()
    for p in writer.plan(n_styles, start=start):
        for text in (p.name, p.source, *(t for pair in getattr(p, "modules", ()) for t in pair)):
            h.update(text.encode("utf-8") + b"\0")
    return h.hexdigest()


def fingerprint_elsewhere(module: str, n_styles: int, start: int, hash_seed: str) -> str:
    """:func:`fingerprint` computed by a fresh interpreter with ``PYTHONHASHSEED=hash_seed`` (``module``: e.g.
    ``generated.numpy_programs``): a seed must write the same program in every process and on every machine."""
    code = (f"import importlib, sys; sys.path.insert(0, {str(ROOT / 'tests')!r}); from generated.harness import fingerprint; "
            f"print(fingerprint(importlib.import_module({module!r}), {n_styles}, {start}))")
    env = dict(_env(), PYTHONHASHSEED=hash_seed)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                          timeout=TIMEOUT).stdout.strip()


def detail(p, o: Run) -> str:
    """What a failing test shows: the program's label, the report's findings and header, its output, its source."""
    findings = [(f["code"], f["severity"], f["where"]) for f in o.report.get("findings", [])]
    return (f"{p.name} ({p.bug or 'healthy'}, {p.style.label}, lr {p.style.lr}, batch {p.style.batch_size}; "
            f"bug lines {p.bug_lines}): findings {findings}\ncontext {o.report.get('context')}\n"
            f"verdict {o.report.get('verdict')}\n{o.stdout[-1500:]}\n{o.stderr[-1500:]}\n--- program ---\n{p.source}"
            + "".join(f"--- {name} ---\n{text}" for name, text in getattr(p, "modules", ())))


def sample_tests(namespace: dict, writer, sample: dict[int, tuple[str, ...]], known: dict, known_coverage: dict,
                 prefix: str, extended: tuple[dict[int, tuple[str, ...]], dict, dict] | None = None,
                 tutorial: tuple[dict[int, tuple[str, ...]], dict, dict] | None = None,
                 wild: tuple[dict[int, tuple[str, ...]], dict, dict] | None = None) -> tuple[list, Sample]:
    """Define the five tests every fixed sample of generated programs runs, in the test module of ``namespace``.

    ``writer`` is the program writer's module (:mod:`generated.numpy_programs`,
    :mod:`generated.torch_programs`), ``sample`` maps a style seed to the bugs
    planted in it (each style also runs as its healthy twin), ``known`` and
    ``known_coverage`` map ``(style seed, bug or None)`` to what netdoctor
    says instead: those cells are ``xfail(strict=True)``, so a fix makes them
    XPASS and then their entry goes. ``extended`` is the same three for styles
    drawn with the writer's extended axes (``sample_style(seed, extended=True)``,
    ``EXTENDED_AXES``), whose values the sample must then show too; ``tutorial`` the same three for styles drawn
    with the NumPy writer's tutorial axes (``sample_style(seed, tutorial=True)``; the sample need not show every
    tutorial axis value: the writer's tests check them); ``wild`` the same for styles drawn with its wild axes
    (``sample_style(seed, wild=True)``). The tests, defined once here for both
    writers and collected in each module under their own names:

    * the sample plants every bug and shows every value of every style axis;
    * the writer's ``plan`` plants every bug and keeps a twin per style;
    * each program behaves as labelled under plain ``python``;
    * ``netdoctor run`` names each bug and stays quiet on each healthy twin,
      with the program's output unchanged;
    * the header counts at least half of the real updates or says it saw too few.

    Returns:
        ``(programs, runs)``: the sample's programs and their :class:`Sample`.
    """
    import pytest

    def drawn(seeds: dict[int, tuple[str, ...]], **how) -> list:
        return [p for seed, bugs in seeds.items() for style in (writer.sample_style(seed, **how),)
                for p in (writer.write(style), *(writer.write(style, b) for b in bugs))]

    ext_sample, ext_known, ext_coverage = extended or ({}, {}, {})
    tut_sample, tut_known, tut_coverage = tutorial or ({}, {}, {})
    wild_sample, wild_known, wild_coverage = wild or ({}, {}, {})
    programs = drawn(sample) + drawn(ext_sample, extended=True) + drawn(tut_sample, tutorial=True) + drawn(wild_sample, wild=True)
    runs = Sample(programs, writer.N_TRAIN + writer.N_TEST, prefix)

    def cell(p, coverage: bool):
        extended = getattr(p.style, "extended", False)
        marks = (ext_coverage if extended else known_coverage) if coverage else (ext_known if extended else known)
        if getattr(p.style, "tutorial", False):
            marks = tut_coverage if coverage else tut_known
        if getattr(p.style, "wild", False):
            marks = wild_coverage if coverage else wild_known
        reason = marks.get((p.style.seed, p.bug))
        return pytest.param(p, id=f"{p.name}-{p.style.label.replace('/', '-')}",
                            marks=[pytest.mark.xfail(strict=True, reason=reason)] if reason else [])

    def test_the_sample_covers_every_bug_and_every_axis_value():
        # bugs planted only in extended styles (the PyTorch writer's EXTENDED_BUGS) must be in the extended sample, those
        # planted only in hand-stepped styles (HAND_BUGS) in the sample
        assert {p.bug for p in programs if p.bug} == (set(writer.BUGS) | set(getattr(writer, "EXTENDED_BUGS", ()))
                                                    | set(getattr(writer, "HAND_BUGS", ())))
        for axis, values in writer.AXES.items():
            seen = {getattr(p.style, axis) for p in programs}
            assert seen == set(values), f"{axis}: {sorted(set(values) - seen)} not in the sample"
        if ext_sample:
            for axis, values in writer.EXTENDED_AXES.items():
                seen = {p.style.axes()[axis] for p in programs if p.style.extended and not getattr(p.style, "tutorial", False)}
                assert seen == set(values), f"{axis}: {sorted(set(values) - seen)} not in the extended sample"

    def test_the_plan_plants_every_bug_and_keeps_a_twin_per_style():
        planned = writer.plan(30)
        assert {p.bug for p in planned if p.bug} == set(writer.BUGS)
        assert sum(p.bug is None for p in planned) == 30

    @pytest.mark.parametrize("p", programs, ids=lambda p: p.name)
    def test_the_plain_run_behaves_as_labelled(p):
        run = runs.plain(p)
        ok, why = behaves(p.behaviour, run, runs.twin(p))
        assert ok, f"{p.name} should {p.behaviour}: {why}\n{run.stdout[-800:]}\n{run.stderr[-800:]}\n{p.source}"

    @pytest.mark.parametrize("p", [cell(p, coverage=False) for p in programs])
    def test_netdoctor_run_names_the_bug_or_stays_quiet(p):
        o = runs.observed(p)
        j = judge(p.expect, p.updates, o, runs.plain(p))
        assert o.report, detail(p, o)
        assert j.faithful, f"{p.name}: the program's output under netdoctor run differs from its plain output"
        if p.bug:
            assert j.named, detail(p, o)
        else:
            assert j.quiet, detail(p, o)

    @pytest.mark.parametrize("p", [cell(p, coverage=True) for p in programs])
    def test_the_header_counts_the_updates_or_says_it_saw_too_few(p):
        o = runs.observed(p)
        updates = updates_run(p, runs.plain(p))
        j = judge(p.expect, updates, o, runs.plain(p))
        assert j.coverage_ok, f"{p.name}: {j.updates_observed} of {updates} updates observed, notes {j.notes}\n" + detail(p, o)
        # the program's own count, read from its loops, is the real one whenever the header says it
        assert j.updates_expected in (None, updates), detail(p, o)

    for test in (test_the_sample_covers_every_bug_and_every_axis_value, test_the_plan_plants_every_bug_and_keeps_a_twin_per_style,
                 test_the_plain_run_behaves_as_labelled, test_netdoctor_run_names_the_bug_or_stays_quiet,
                 test_the_header_counts_the_updates_or_says_it_saw_too_few):
        namespace[test.__name__] = test
    return programs, runs
