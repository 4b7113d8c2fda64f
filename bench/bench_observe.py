"""What ``netdoctor run`` costs: plain ``python script.py`` against ``netdoctor run script.py``, side by side.

Each program runs as a subprocess, plainly and under ``netdoctor run --json
FILE``, alternating (the order flips at every repeat) so that both sides see
the same machine load. For each program the table gives the fastest wall
time and the CPU time (user + system of the child) of each side, their
ratios, the observed run's CPU / wall (above 1.0 means more than one core
was busy; it must stay at most 1.1, or 1.1x the plain run's for a program
whose own BLAS is threaded), and how many of the program's updates the observed run followed
(the report header's ``updates_observed``, or ``optimizer_steps`` of the
PyTorch observer, against the ``updates: N`` line
the program prints last). A run that followed fewer than half of the
program's updates did not really watch: its ratio does not count as cheap
and is flagged ``NOT WATCHED``.

The programs (``bench/programs/``, except the forum program):

* ``forum``: the program of the forum post (``shared/seed/train.py``, a
  per-sample loop with updates inline in ``train()``, 50 updates) on a
  shuffled copy of ``shared/data/mnist_5k.csv.gz``, tested on 1,000 test rows;
* ``per-sample class``: a class, column vectors, one update per sample;
* ``mini-batch 10``: per-sample backprop summed over batches of 10, re-bound weights;
* ``tiny batched``: 20-32-4, batch 30, functions and a parameter dict;
* ``784-64-10 batched``: a class, batch 32, two epochs;
* ``module-level loop``: globals and an inline per-sample loop, 20,000 updates;
* ``full batch 4000``: a notebook-style 784-32-10 in columns, gradient descent on the same 4,000 rows, 60 updates:
  every forward the observer runs again (the update check's finite differences) costs as much as a step;
* ``torch Dataset``: a PyTorch MLP fed by its own ``Dataset`` (skipped without torch);
* ``torch project``: the same in four files (``torch_project/``) whose entry script never imports torch;
* ``torch 784-512-512-10``: the MLP issue 25 states its per-step target for (batch 128, SGD, 96 steps); besides
  the process's times, the row gives the training loop's CPU seconds per step of each side (the program's own
  ``cpu seconds per step: C`` line, best of the repeats) and their ratio, judged against 1.1x (the wall-clock ratio
  beside it holds whatever else ran on the machine). Its 96 steps also pay the observer's one-offs inside the loop
  (the batch-leak probe, the first pass's fingerprints, the dense first sampled steps), so the row is also run for
  one epoch (32 steps) on each side, ``--against`` included, and the training loops' CPU seconds of the two lengths
  split into a line (``loop: per step ... one-offs ...``): its slope is what each further step costs, its
  intercept what the loop pays once; ``torch 784-512-512-10 x288`` is the same loop for nine epochs, split against
  the 96-step run: a slope past the first pass (its fingerprints end at step 48) and the sampler's dense start;
* ``import torch`` and ``one line``: fixed costs (the one-line script is
  judged by the seconds added, not by a ratio);
* ``generated NNNN``: healthy twins of the generated programs of
  ``tests/generated/`` (:data:`GENERATED` seeds: a thread over a dict with
  caches reading its data as lists, functions over globals per sample, a
  class over a dict with caches, a layer-object program with buffers), on
  the bundled MNIST sample. They train for well under a second, so their
  ratios are mostly the observer's fixed cost of finding the network.

MNIST rows come from ``shared/data/`` beside the repository (or above it,
for worktrees); without it the programs use synthetic digits and the forum
program is skipped. Both sides run with one BLAS thread
(``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` set to
1, as the header says): issue 25's CPU target is for single-threaded programs,
and a BLAS pool's threads spin while they wait for work, so on a loaded
machine they add CPU time the program's own work does not explain (the
784-64-10 row's plain run took 1.23 s of CPU in 0.65 s). The observer must not
add busy cores to such a program: its observed CPU / wall stays at most 1.1.
``--environment-blas`` leaves the environment's settings to both sides. The children
write bytecode caches into a folder of the bench's own
(``PYTHONPYCACHEPREFIX``; ``PYTHONDONTWRITEBYTECODE`` is dropped for them),
never beside the sources of netdoctor, the programs or the shared seed, and
one untimed observed run goes first: netdoctor's own modules then load as
they do from an installed package instead of being compiled at every run
(a shell that sets ``PYTHONDONTWRITEBYTECODE`` would otherwise add ~40 ms of
compiling to every observed run, and none to the plain ones).

    python bench/bench_observe.py [--repeat 3] [--only NAME] [--against FOLDER] [--no-short] [--environment-blas]

*What is fixed and what is per step.* Each program with a shorter variant
(:attr:`Case.short`: the same program with fewer epochs) is also run that
way, plainly and observed, in the same alternation. Time against updates is
then a line for each side: its slope is the cost of one more update and its
intercept the fixed cost (start-up, finding the network, the first deep
windows, the report). The columns after the headline ratios give, from the
CPU times: ``step`` the plain program's time per update (which target of
issue 25 applies: <= 1.2x for batched nets whose step takes >= 1 ms, <= 2x
for tiny ones), ``per step`` the observed slope over the plain one (what a
long run of the program would cost), and ``fixed`` the CPU seconds the
observer adds once (the observed intercept minus the plain one). The
headline ratios stay those of the whole run: they are what a user feels.
``--no-short`` skips the shorter runs.

``--against FOLDER`` adds a third side, the program under the ``netdoctor``
of another checkout (``FOLDER/netdoctor``, e.g. an export of an earlier
commit), in the same alternation: a change is measured before and after
side by side, under the same load, and the last column gives the CPU time
of this checkout's observed run over that one's (below 1.0: cheaper now).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import optional_torch, shared_data  # noqa: E402

__all__ = ["main", "Case", "cases"]

PROGRAMS = ROOT / "bench" / "programs"
GENERATED = (101, 107, 109, 102)
"""Seeds of the generated styles in the suite (their healthy twins)."""


@dataclass
class Case:
    """One program of the suite.

    Attributes:
        name: the row's label.
        argv: the script and its arguments.
        target: the largest acceptable observed/plain ratio (of wall and of CPU time).
        updates: the program's real number of updates (None: read from its ``updates: N`` line).
        added: judge the seconds added (<= ``target`` s) instead of the ratio.
        skip: why the case cannot run here ("" when it can).
        short: the same program with fewer updates, for the per-step cost: ``(old, new)``, a text replaced once in
            the script (``("range(5)", "range(2)")``), a script already written, or a list: the same script with
            these arguments instead; None: no shorter run.
        per_step: the program prints ``seconds per step: S`` and ``cpu seconds per step: C`` (its training loop's time
            per update): the row also gives the CPU ratio, judged against 1.1x (issue 25: observation <= 10% of a step).
    """

    name: str
    argv: list[str]
    target: float
    updates: int | None = None
    added: bool = False
    skip: str = ""
    short: tuple[str, str] | Path | list[str] | None = None
    per_step: bool = False
    plain: list[tuple[float, float]] = field(default_factory=list)
    observed: list[tuple[float, float]] = field(default_factory=list)
    seen: list[int] = field(default_factory=list)
    real: int | None = None
    against: list[tuple[float, float]] = field(default_factory=list)
    against_seen: list[int] = field(default_factory=list)
    short_argv: list[str] | None = None
    short_updates: int | None = None
    short_plain: list[tuple[float, float]] = field(default_factory=list)
    short_observed: list[tuple[float, float]] = field(default_factory=list)
    short_against: list[tuple[float, float]] = field(default_factory=list)
    steps: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    """Seconds per step printed by a ``per_step`` program, per side (plain, observed, against and the shorter run's
    short plain, short observed, short against): (wall, CPU)."""


def _prepare(tmp: Path) -> tuple[Path | None, Path | None, str]:
    """The data folder (``X.npy``, ``y.npy``) and the forum program's CSVs; why they are missing, if they are."""
    import numpy as np

    train_gz, test_gz = shared_data("mnist_5k.csv.gz"), shared_data("mnist_test.csv.gz")
    if not train_gz.exists() or not test_gz.exists():
        return None, None, f"no {train_gz} (shared data not found beside the repository)"
    with gzip.open(train_gz, "rt") as fh:
        rows = np.loadtxt(fh, delimiter=",", dtype=np.int64)
    rows = rows[np.random.default_rng(0).permutation(len(rows))]  # the file is sorted by label
    np.save(tmp / "X.npy", rows[:, 1:].astype(np.uint8))
    np.save(tmp / "y.npy", rows[:, 0].astype(np.uint8))
    np.savetxt(tmp / "train.csv", rows, fmt="%d", delimiter=",")
    with gzip.open(test_gz, "rt") as fh:
        head = [next(fh) for _ in range(1000)]
    (tmp / "test.csv").write_text("".join(head))
    return tmp, tmp / "train.csv", ""


def _generated(tmp: Path) -> list[Case]:
    """Healthy twins of a few generated programs, written into ``tmp`` with their data file."""
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from generated import numpy_programs
        from generated.harness import write_data
    finally:
        sys.path.remove(str(ROOT / "tests"))
    folder = tmp / "generated"
    folder.mkdir(exist_ok=True)
    data = write_data(folder, numpy_programs.N_TRAIN + numpy_programs.N_TEST)
    out = []
    for seed in GENERATED:
        style = numpy_programs.sample_style(seed)
        program = numpy_programs.write(style)
        script = folder / f"{program.name}.py"
        script.write_text(program.source)
        short = None
        if style.epochs > 1:  # the same program, one epoch
            brief = numpy_programs.write(numpy_programs.sample_style(seed, epochs=1))
            short = folder / f"{brief.name}_short.py"
            short.write_text(brief.source)
        out.append(Case(f"generated {seed}", [str(script), str(data)], 1.5, updates=program.updates, short=short))
    return out


def _selects(only: str, name: str, names: list[str]) -> bool:
    """``--only``: the programs whose name starts with ``only`` (``784`` is the NumPy 784-64-10 row, not the PyTorch
    784-512-512-10 one), or, when no name starts with it, those whose name contains it (``batch``)."""
    if any(n.startswith(only) for n in names):
        return name.startswith(only)
    return only in name


def _shorten(case: Case, tmp: Path) -> None:
    """Write the case's shorter variant (see :attr:`Case.short`) and set :attr:`Case.short_argv`."""
    if case.short is None or case.skip:
        return
    script = Path(case.argv[0])
    if isinstance(case.short, Path):
        case.short_argv = [str(case.short), *case.argv[1:]]
        return
    if isinstance(case.short, list):  # the same script, other arguments
        case.short_argv = [case.argv[0], *case.short]
        return
    old, new = case.short
    text = script.read_text()
    if text.count(old) != 1:
        raise SystemExit(f"{script}: the shorter variant replaces {old!r}, found {text.count(old)} times; expected once")
    folder = tmp / "short" / script.parent.name
    folder.mkdir(parents=True, exist_ok=True)
    for helper in script.parent.glob("_*.py"):  # the program's own helpers (``_data.py``) beside it
        shutil.copy(helper, folder / helper.name)
    short = folder / script.name
    short.write_text(text.replace(old, new))
    case.short_argv = [str(short), *case.argv[1:]]


def cases(data: Path | None, forum_train: Path | None, why: str) -> list[Case]:
    """The suite's programs, with their data arguments."""
    folder = str(data) if data is not None else "-"
    seed = shared_data("mnist_5k.csv.gz").parent.parent / "seed" / "train.py"
    forum = Case("forum", [str(seed), str(forum_train), str(forum_train.parent / "test.csv") if forum_train else "", "1"],
                 1.5, updates=50, skip="" if forum_train is not None and seed.exists() else why or f"no {seed}")
    torch_skip = "" if optional_torch() is not None else "torch is not installed"
    return [
        forum,
        Case("per-sample class", [str(PROGRAMS / "per_sample_class.py"), folder], 1.5, short=("range(3)", "range(1)")),
        Case("mini-batch 10", [str(PROGRAMS / "minibatch10.py"), folder], 1.5,
             short=("net.sgd(data, 3, 10, 3.0)", "net.sgd(data, 1, 10, 3.0)")),
        Case("tiny batched", [str(PROGRAMS / "tiny_batched.py")], 2.0,
             short=("train(params, 300, 30, 0.1)", "train(params, 100, 30, 0.1)")),
        Case("784-64-10 batched", [str(PROGRAMS / "mnist_batched.py"), folder], 1.2, short=("range(5)", "range(2)")),
        Case("module-level loop", [str(PROGRAMS / "module_loop.py")], 1.5, short=("range(40)", "range(10)")),
        Case("full batch 4000", [str(PROGRAMS / "full_batch.py"), folder], 1.2, short=("else 60", "else 20")),
        # the same program trained three times as long: its per step is the slope from 60 to 180 steps, past the update
        # check's last comparison (after update 40), which the row above's 20 -> 60 slope holds
        Case("full batch 4000 x180", [str(PROGRAMS / "full_batch.py"), folder, "180"], 1.2, short=[folder, "60"]),
        Case("torch Dataset", [str(PROGRAMS / "torch_dataset.py"), folder], 1.3, skip=torch_skip,
             short=("range(2)", "range(1)")),
        Case("torch project", [str(PROGRAMS / "torch_project" / "train.py"), folder], 1.3, skip=torch_skip),
        Case("torch 784-512-512-10", [str(PROGRAMS / "torch_mlp512.py"), folder], 1.2, skip=torch_skip, per_step=True,
             short=[folder, "1"]),
        # the same loop trained three times as long: its per step is the slope from 96 to 288 steps, past the first
        # pass's fingerprints (to step 48) and the dense start of the sampled steps, which the row above's 32 -> 96 holds
        Case("torch 784-512-512-10 x288", [str(PROGRAMS / "torch_mlp512.py"), folder, "9"], 1.2, skip=torch_skip,
             per_step=True, short=[folder, "3"]),
        Case("import torch", [str(PROGRAMS / "import_torch.py")], 1.1, updates=0, skip=torch_skip),
        Case("one line", [str(PROGRAMS / "one_line.py")], 0.3, updates=0, added=True),
    ]


PYCACHE: Path | None = None
"""Where the children write their bytecode caches (set by :func:`main`: a folder of the bench's temporary one)."""
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
"""The variables that give every child one BLAS thread, unless ``--environment-blas`` (:data:`ONE_BLAS_THREAD`)."""
ONE_BLAS_THREAD = True


def _env() -> dict[str, str]:
    env = dict(os.environ, NO_COLOR="1")
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # netdoctor's modules load from their caches, as when installed
    if ONE_BLAS_THREAD:
        env.update(dict.fromkeys(BLAS_THREADS, "1"))
    if PYCACHE is not None:
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)  # (the caches stay out of the source trees, the seed's included)
    return env


def _timed(argv: list[str], cwd: Path, root: Path | None = None) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system) and stdout of one child process (netdoctor from ``root`` if given)."""
    env = _env()
    if root is not None:
        env["PYTHONPATH"] = str(root)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1, 3):  # 3: `netdoctor run` saw nothing to judge (the fixed-cost programs)
        raise SystemExit(f"{' '.join(argv)} failed with {proc.returncode}:\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout


def _updates_line(stdout: str) -> int | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith("updates: "):
            return int(line.split()[1])
    return None


def _step_line(stdout: str) -> tuple[float, float] | None:
    """The ``seconds per step: S`` and ``cpu seconds per step: C`` lines a ``per_step`` program prints (the
    program's, so the observed run's too): (wall, CPU)."""
    found: dict[str, float] = {}
    for line in stdout.splitlines():
        for key in ("seconds per step: ", "cpu seconds per step: "):
            if line.startswith(key):
                found[key] = float(line.split()[-1])
    if len(found) < 2:
        return None
    return found["seconds per step: "], found["cpu seconds per step: "]


def measure(case: Case, repeat: int, tmp: Path, against: Path | None = None) -> None:
    """Run the case ``repeat`` times on each side, alternating which side goes first (the shorter variant's sides
    among them)."""
    report = tmp / "report.json"
    cwd = Path(case.argv[0]).parent
    for i in range(repeat):
        sides = ["plain", "observed"] + (["against"] if against is not None else [])
        sides += ["short plain", "short observed"] if case.short_argv is not None else []
        # a per-step row's loop split is compared before and after: its shorter run goes under the other checkout too
        sides += ["short against"] if case.short_argv is not None and case.per_step and against is not None else []
        for side in (sides if i % 2 == 0 else sides[::-1]):
            if side.startswith("short"):
                argv = case.short_argv or []
                if side == "short plain":
                    wall, cpu, out = _timed([sys.executable, *argv], Path(argv[0]).parent)
                    case.short_updates = _updates_line(out) or _short_updates(case)
                    case.short_plain.append((wall, cpu))
                else:
                    wall, cpu, out = _timed([sys.executable, "-m", "netdoctor.cli", "run", "--json", str(report), *argv],
                                            Path(argv[0]).parent, ROOT if side == "short observed" else against)
                    (case.short_observed if side == "short observed" else case.short_against).append((wall, cpu))
                if case.per_step and (step := _step_line(out)) is not None:
                    case.steps.setdefault(side, []).append(step)
                continue
            if side == "plain":
                wall, cpu, out = _timed([sys.executable, *case.argv], cwd)
                case.plain.append((wall, cpu))
                case.real = case.updates if case.updates is not None else _updates_line(out)
                if case.per_step and (step := _step_line(out)) is not None:
                    case.steps.setdefault(side, []).append(step)
                continue
            report.unlink(missing_ok=True)
            wall, cpu, out = _timed([sys.executable, "-m", "netdoctor.cli", "run", "--json", str(report), *case.argv], cwd,
                                    ROOT if side == "observed" else against)
            if case.per_step and (step := _step_line(out)) is not None:
                case.steps.setdefault(side, []).append(step)
            ctx = json.loads(report.read_text()).get("context", {}) if report.exists() else {}
            seen = max(int(ctx.get(k, 0) or 0) for k in ("updates_observed", "optimizer_steps"))
            (case.observed if side == "observed" else case.against).append((wall, cpu))
            (case.seen if side == "observed" else case.against_seen).append(seen)


def _short_updates(case: Case) -> int | None:
    """The updates of a generated program's shorter variant (it prints none): ``updates`` per epoch of the full one."""
    if not isinstance(case.short, Path) or case.updates is None:
        return None
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from generated import numpy_programs
    finally:
        sys.path.remove(str(ROOT / "tests"))
    seed = int(case.name.split()[-1])
    return numpy_programs.write(numpy_programs.sample_style(seed, epochs=1)).updates


def split(case: Case) -> str:
    """Fixed and per-step cost from the CPU times of the two lengths (see the module docstring), or "" without a
    shorter run."""
    u, s = case.real, case.short_updates
    if not (case.short_plain and case.short_observed and case.plain and case.observed and u and s and u > s):
        return ""
    pc, oc = min(c for _, c in case.plain), min(c for _, c in case.observed)
    spc, soc = min(c for _, c in case.short_plain), min(c for _, c in case.short_observed)
    plain_step, observed_step = (pc - spc) / (u - s), (oc - soc) / (u - s)
    fixed = (oc - observed_step * u) - (pc - plain_step * u)
    per = f"{observed_step / plain_step:5.2f}x" if plain_step > 0 else "    -"
    return f"   step {plain_step * 1e3:6.3f} ms ({s}/{u} updates), per step {per}, fixed {fixed:+.2f} s"


def loop_split(case: Case) -> str:
    """A ``per_step`` program's training loop split from its two lengths: per side, the loop's CPU seconds (the
    program's ``cpu seconds per step`` times its updates, best of the repeats) at the shorter and the full length
    give a line, whose slope is the loop's CPU per further step and whose intercept what the loop pays once (the
    observer's one-offs: the batch-leak probe, the first pass's fingerprints, the dense first sampled steps); ""
    without both lengths."""
    u, s = case.real, case.short_updates
    if not (u and s and u > s):
        return ""
    lines = {}
    for side in ("plain", "observed", "against"):
        if case.steps.get(side) and case.steps.get(f"short {side}"):
            full = min(c for _, c in case.steps[side]) * u
            short = min(c for _, c in case.steps[f"short {side}"]) * s
            slope = (full - short) / (u - s)
            lines[side] = (slope, full - slope * u)
    if "plain" not in lines or "observed" not in lines or lines["plain"][0] <= 0:
        return ""
    (ps, pf), (os_, of) = lines["plain"], lines["observed"]
    out = (f"   loop ({s}/{u} steps): per step {1000 * ps:.2f} ms plain, {1000 * os_:.2f} ms run ({os_ / ps:.3f}x), "
           f"one-offs {of - pf:+.3f} s")
    if "against" in lines:
        as_, af = lines["against"]
        out += f"; against {1000 * as_:.2f} ms ({as_ / ps:.3f}x), one-offs {af - pf:+.3f} s"
    return out


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def render(case: Case) -> str:
    """One table line: fastest wall and CPU of each side, ratios, CPU/wall of the observed run, updates followed."""
    if case.skip:
        return f"{case.name:18s} skipped: {case.skip}"
    pw, pc = min(w for w, _ in case.plain), min(c for _, c in case.plain)
    ow, oc = min(w for w, _ in case.observed), min(c for _, c in case.observed)
    busy = max(c / w for w, c in case.observed)
    seen = max(case.seen) if case.seen else 0
    real = case.real or 0
    updates = f"{seen}/{real}" if real else f"{seen}/-"
    watched = real == 0 or seen * 2 >= real
    if case.added:
        verdict = "ok" if ow - pw <= case.target else "over"
        return (f"{case.name:18s} {pw:7.2f} {ow:7.2f} {'+%.2f s' % (ow - pw):>8s} {pc:7.2f} {oc:7.2f} {'':>6s} {busy:5.2f} "
                f"{updates:>11s}  +{case.target:g} s {verdict}")
    rw, rc = ow / pw, oc / pc if pc > 0 else float("nan")
    # the observer must not add busy cores: CPU/wall at most 1.1, or 1.1x the plain run's (a threaded BLAS of its own)
    plain_busy = max(c / w for w, c in case.plain)
    verdict = "ok" if max(rw, rc) <= case.target and busy <= 1.1 * max(1.0, plain_busy) else "over"
    if not watched:
        verdict = "NOT WATCHED"
    line = (f"{case.name:18s} {pw:7.2f} {ow:7.2f} {rw:7.2f}x {pc:7.2f} {oc:7.2f} {rc:5.2f}x {busy:5.2f} "
            f"{updates:>11s}  {case.target:g}x {verdict}")
    line += split(case)
    if case.per_step and case.steps.get("plain") and case.steps.get("observed"):
        # judged on CPU time: the wall clock also holds the time other processes took the core
        (pw_, pc_), (ow_, oc_) = (tuple(map(min, zip(*case.steps[k]))) for k in ("plain", "observed"))
        line += (f"   per step CPU: {1000 * pc_:.1f} ms plain, {1000 * oc_:.1f} ms run ({oc_ / pc_:.3f}x, target 1.1x "
                 f"{'ok' if oc_ / pc_ <= 1.1 else 'over'}; wall {ow_ / pw_:.3f}x)")
        if case.steps.get("against"):
            line += f", {1000 * min(c for _, c in case.steps['against']):.1f} ms against"
        line += loop_split(case)
    if case.against:
        ac = min(c for _, c in case.against)
        line += f"   against: cpu {ac:.2f} ({ac / pc:.2f}x plain), {max(case.against_seen)} updates; now/then {oc / ac:.2f}"
    return line


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", action="append", default=[], help="run only the programs whose name starts with this (or contains it, when none does); repeatable")
    ap.add_argument("--against", type=Path, help="a folder holding another netdoctor/ to compare with, side by side")
    ap.add_argument("--no-short", action="store_true", help="skip the shorter runs that split fixed from per-step cost")
    ap.add_argument("--environment-blas", action="store_true",
                    help="leave the BLAS thread settings of the environment to both sides (default: one thread)")
    args = ap.parse_args(argv)
    if args.against is not None and not (args.against / "netdoctor" / "__init__.py").is_file():
        ap.error(f"--against {args.against}: no netdoctor/__init__.py there; give the folder that holds netdoctor/")
    global PYCACHE, ONE_BLAS_THREAD
    ONE_BLAS_THREAD = not args.environment_blas
    with tempfile.TemporaryDirectory(prefix="nd-bench-") as name:
        tmp = Path(name)
        PYCACHE = tmp / "pycache"
        data, forum_train, why = _prepare(tmp)
        every = cases(data, forum_train, why) + _generated(tmp)
        names = [c.name for c in every]
        todo = [c for c in every if not args.only or any(_selects(o, c.name, names) for o in args.only)]
        # untimed: the first run writes the bytecode caches of netdoctor's modules
        for root in (ROOT, args.against):
            if root is not None:
                subprocess.run([sys.executable, "-m", "netdoctor.cli", "run", "--json", str(tmp / "warm.json"),
                                str(PROGRAMS / "one_line.py")], env=dict(_env(), PYTHONPATH=str(root)),
                               capture_output=True, timeout=600)
        print(f"load average {_load()} (1/5/15 min) on {os.cpu_count()} cores; best of {args.repeat}, alternating")
        blas = (f"BLAS threads: 1 on both sides ({', '.join(BLAS_THREADS)} = 1; --environment-blas keeps the environment's)"
                if ONE_BLAS_THREAD else "BLAS threads: as the environment sets them ("
                + ", ".join(f"{v}={os.environ.get(v, 'unset')}" for v in BLAS_THREADS) + ")")
        print(blas)
        print(f"{'program':18s} {'plain':>7s} {'run':>7s} {'wall':>8s} {'cpu':>7s} {'run cpu':>7s} {'cpu':>6s} {'cpu/w':>5s} "
              f"{'updates':>11s}  target")
        for case in todo:
            if not args.no_short:
                _shorten(case, tmp)
            if not case.skip:
                measure(case, args.repeat, tmp, args.against)
            print(f"{render(case)}   load {_load()}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
