"""Run every benchmark side by side and write ``docs/benchmarks.md``.

``python -m bench`` runs the suites in one process (each comparison
interleaves ours and the peer, several repetitions, medians), prints the
table and writes the report; ``--small`` runs tiny sizes (a smoke test: no
target is judged and nothing is written unless ``--out`` is given);
``--only NAME`` (repeatable) picks suites.

Suites: ``train`` (:mod:`bench.bench_train`), ``load``, ``gradcheck``,
``torch_gradcheck`` (PyTorch code against ``torch.autograd.gradcheck``),
``monitors``, ``torch_run`` (``bench/bench_<name>.py``, each ``run(small=False) -> rows``;
a missing module gives a "skipped: not available" row) and ``check``
(``netdoctor check`` end to end on a 60,000-row CSV, in a subprocess).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib
import inspect
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import ROW_KEYS, Background, row  # noqa: E402

__all__ = ["main", "run_suites", "normalise", "render_markdown", "machine_info", "SUITES"]

SUITES = ("train", "load", "gradcheck", "torch_gradcheck", "monitors", "torch_run", "check")
DATA_DIR = Path(__file__).resolve().parent / "_data"
DOC = ROOT / "docs" / "benchmarks.md"

INTRO = """\
# Benchmarks

`python -m bench` regenerates this page (`--only train` for one suite,
`--small` for a smoke run that judges nothing, `--full` for more repetitions).
Each comparison runs ours and the peer in the same process (or, for `netdoctor
check`, in subprocesses), interleaved (alternating who goes first), after an
untimed warm-up. The training and monitor rows show medians; the loading,
gradient-check and `check` rows compare the fastest run of each side (the
least disturbed one on a shared machine) and give the medians in the notes.
Ratios are written so that bigger is better, except the busy-core slowdown.

The training set is synthesised: the 5,000 real rows of `mnist_5k.csv.gz`
repeated twelve times, each copy in a seeded permutation with seeded +-8
pixel jitter, scaled to [0, 1] float32 (60,000 x 784). The PyTorch side gets
the same initial weights, the same batches in the same order, plain
`optim.SGD` with the same learning rate, the same loss (half the squared
error against +-1 targets, batch mean), records `loss.item()` per step and
computes the same training accuracy at the end, with
`torch.set_num_threads` equal to numpy's BLAS threads; the two accuracies
after the epoch are in the notes and agree, so both did the same work. The
loading rows read that set written as a 110 MB CSV (label first, as
`mnist_train.csv`), and a 168 MB CSV of seeded uniform 0..255 pixels (mostly
three-digit fields, the parser's worst case).

What `netdoctor run` costs a program (plain `python script.py` against
`netdoctor run script.py`, wall and CPU time side by side, with the updates
the observer followed) is a suite of its own, `python
bench/bench_observe.py`, because each of its rows is a pair of whole
processes; its latest figures, with the load they were taken at, are in
[run.md](run.md#overhead).

## Physical floors

Training a dense network is, to first order, three matrix products per layer
and step: the forward `a W`, the weight gradient `a^T d` and the input
gradient `d W^T` (not needed for the first layer). One sample of 784-30-10
costs 3 x 2 x (784x30 + 30x10) - 2 x 784x30 = 95.9 kFLOP; of 784-512-512-10,
3.2 MFLOP. No program that uses the same BLAS can train faster than
*FLOPs / BLAS rate*, so beside each training result the **floor** column
gives that limit in samples/s, the rate measured here by timing each product
of a step alone on warm arrays of exactly those shapes (batch 100) and
threads (best of 25 short blocks). For 784-512-512-10 the products dominate and netdoctor
and PyTorch both run near the floor. For 784-30-10 each product is small (the
largest is 4.7 MFLOP, tens of microseconds), so three fixed costs are a
visible share of a step: about 35 NumPy calls at roughly 1 us each, reading
each freshly gathered batch (313 kB of float32 rows picked at random from a
188 MB array; the gather alone is about 25 ms per epoch) and PyTorch's
autograd bookkeeping, which is why netdoctor is faster there. A per-sample
loop cannot approach the floor at all: it replaces each product by 100
matrix-vector products and outer products, each a Python-level call, and
accumulates a full 784 x 30 gradient per sample.

Loading a CSV cannot beat reading its bytes once: the floor of the loading
rows is a plain `read()` of the file, timed before and after every round.
netdoctor's parser makes about a dozen vectorised passes over those bytes in
cache-sized chunks (each field of 1-3 digits is `x[p-1] + 10 x[p-2] + 100
x[p-3]` before its separator `p`, formed for all bytes with shifted slices),
then writes the 188 MB float32 array, whose fresh pages the kernel has to
supply (on this machine that alone costs 0.05-0.5 s, more when other
processes are allocating). A cached reload maps the uint8 table and converts
it to float32 block by block. The cache key is the files' identity, size,
mtime and ctime plus 18 sampled 4 KiB blocks, and files younger than 2 s
(the coarsest timestamp resolution) are not cached, so a same-size rewrite
is never served stale (the argument is in `netdoctor/data/cache.py`).

A full central-difference check of 784-30-10 on 100 dense rows evaluates
one *item* per (weight row, sample, unit, sign): 4.77 million of them. The
floor of that structured method is one arithmetic pass over all items (one
float64 multiply each, in blocks of the check's size); the naive floor of a
per-entry check, two forward passes per entry, is given in the notes.
`torch.autograd.gradcheck` does the naive thing in its default mode.

The peak memory of `netdoctor check` cannot go below the data set itself plus
the interpreter with NumPy and rich (about 60 MB).

## Reading the numbers on a shared machine

This machine has two cores shared with other work. Multi-threaded BLAS
suffers most from that: a product split over two threads waits for the
slower thread, and when the other core is busy that wait is a scheduler time
slice, so OpenBLAS with two threads can lose an order of magnitude while one
thread is barely affected. netdoctor therefore runs its own products on one
BLAS thread whenever every product of a training step is below 2^28
multiply-adds (`netdoctor.nn.threads`; the caller's setting is restored
afterwards), and the `check` rows measure it alone and beside a process that
keeps one core busy. Every training comparison is run both with numpy's
default BLAS threads and with one thread on both sides; the note of each row
gives the share of the CPUs other processes used during its suite, and the
load average before and after is recorded below, with a sentence saying
under which load the figures were taken. The one-thread rows are the most
trustworthy here.

## The training hot path

`MLP.train_step` was measured before any change (median of 15 interleaved
runs, one thread): about 38 us of fixed cost per step at 8-4-3 (pure call
overhead) and within about 1.5x of the GEMM floor at 784-30-10. A variant
with preallocated per-batch-size buffers, `out=` products, in-place
activation derivatives and a cached target table (bit-for-bit identical
results on 480 configurations) was *slower* at small sizes (44 us per step:
NumPy's small-array allocation is cached and `out=` keyword handling costs
about as much) and equal within noise at 784-30-10 and 784-512-512-10, so
it was not kept; the step stays as simple as the maths it implements.
## Loading a CSV: where the time goes

The first load of a CSV that writes the cache entry (parse, check, scale to
float32, write the entry: what a new user waits for) was measured on
2026-12-05 with `bench/bench_load.py` and side by side in fresh processes
(the old checkout, the NumPy parser of now, the compiled scan of now and
`np.loadtxt(path, delimiter=",")` in turn, 2-5 rounds, fastest of 5 calls
each, 2 for `np.loadtxt`), CPU time (user + system), load average 14-19 on 2
cores:

| file | `np.loadtxt` | before (main a27e72e) | NumPy parser now | compiled scan now |
|---|---|---|---|---|
| 60,000 rows, real digits with jitter (110 MB), 5 rounds | 1.54-1.68 s | 0.37-0.40 s (3.8-4.5x) | 0.37-0.45 s | 0.18-0.27 s (5.8-8.7x, median 7.9x) |
| the same, the bench | 1.60 s | - | 0.39 s (4.1x) | 0.19 s (8.4x; 8.6x in wall time) |
| 60,000 rows, uniform 0..255 (168 MB), 2 rounds | 1.89-1.90 s | 0.47-0.49 s (3.9-4.0x) | 0.48-0.50 s | 0.23 s (8.1-8.2x) |
| the same, the bench | 1.88 s | - | 0.47 s (4.0x) | 0.21 s (8.9x; 10.1x in wall time) |
| the 10,000 MNIST test images (18 MB), 2 rounds | 0.23 s | 0.051-0.055 s (4.3-4.6x) | 0.052-0.060 s | 0.025-0.033 s (7.0-9.4x) |
| the same, the bench | 0.23 s | - | 0.053 s (4.4x) | 0.021 s (10.9x; 10.6x in wall time) |
| the bundled sample, decompressed (2,000 rows), the bench | 0.038 s | - | 0.011 s (3.5x) | 0.0042 s (9.0x; 12.7x in wall time) |
| the sample and the test set gzip-compressed, the bench | 0.047 s, 0.26 s | - | 2.9x, 3.3x | 4.7x, 5.4x |

The bench rows are `bench/bench_load.py` on main 48d4f66 (fastest of 3
interleaved rounds, load average 14-16); the rounds were taken just before.
Both time loads after the first of their process. The very first load of a
fresh process (what `netdoctor check --data` does) pays more system time:
six fresh processes on the 110 MB file took 0.23-0.32 s of CPU against
`np.loadtxt`'s 1.61-1.84 s in fresh processes beside them (5.4-7.4x, load
average 15.5-16.3), with the same user time (0.07-0.08 s) and 0.13-0.32 s of
system time.

Where the compiled scan's time goes for the 110 MB file (six loads in one
process, `getrusage` around each stage, load average 18.4): user time is
steady, system time (page faults, copies from and to the page cache) varies
threefold on this shared VM and makes the spread above.

| part | user | system | what it is |
|---|---|---|---|
| parse | 0.029-0.044 s | 0.025-0.096 s | `readinto` of 128 KB blocks into one reused buffer; one pass over each, 32 bytes at a time, straight into the uint8 table (the scan alone: 1.8 GB/s) |
| `X`, 60,000 x 784 float32 | 0.020-0.042 s | 0.067-0.189 s | 46,000 faults on 188 MB of fresh pages; converting and dividing in one ufunc pass per block of 1,024 rows |
| cache entry | 0.000-0.015 s | 0.006-0.103 s | the uint8 table, 47 MB, written 256 KB at a time |
| the whole load | 0.055-0.085 s | 0.126-0.317 s | |

So 8x holds with the compiled scan when the machine's page faults are
cheap, and not in every round on this VM: `X`'s fresh pages alone take a
third to a whole of the 0.19 s that 8x leaves. Tried and not kept:
`madvise(MADV_POPULATE_WRITE)` on `X` (the call itself costs the faults it
saves), huge pages for `X` (0.03-0.34 s in fresh processes, median worse
than small pages: see `loader._small_pages`), 1 MB blocks (no change), a
special case for runs of `0,` (slower on data with noise). Gzip-compressed files stay near 5x: zlib alone takes 0.038 s of the
test set's 0.25 s in `np.loadtxt`, a ceiling of 6.6x.

The compiled scan is `netdoctor/data/_csvscan.c`, an optional extension
that `pip install` builds where a C compiler exists. For each block it forms,
in byte lanes, the value of the field that ends at every byte
(`100 x3 + 10 x2 + x1`, the digits of the field before a separator, a short
field's missing digits masked out; the hundreds clamped so nothing crosses a
lane) and compresses the values at the separators into the table with
`pshufb`, 32 bytes at a time with AVX2, 16 with SSSE3, byte by byte
elsewhere (chosen at import from the CPU). It declines exactly what the
NumPy parser declines (a 4-digit field, a value over 255, an empty field,
any other byte, lines of unequal length), and `read_csv` then reads the
numbers or names the bad cell. The NumPy parser stays the fallback where
nothing was compiled, or with `NETDOCTOR_PURE_CSV=1`; the tests run every
oracle (the `csv` module, `np.loadtxt`, one bad field at every offset of a
group, the ten kinds of bad cell named by file, line and column) on the NumPy
parser and on the compiled scan at each width.

Why the NumPy parser cannot reach 8x on this machine: 8x (0.20 s) leaves
about 0.07 s for the parse, 0.6 ns a byte. In NumPy each pass over a block
costs about 0.035 ns a byte (4-6 us per 128 KB, the block in the L2 cache),
and gathering the fields cannot be a SIMD pass: `np.flatnonzero` writes one
index per element it scans (about 0.7 ns each), boolean indexing copies run
by run and `np.repeat`, `np.compress` and a scatter with `cumsum` are no
faster. The NumPy parser scans byte *pairs* (a field takes at least two
bytes, so an aligned pair holds at most one separator) and gathers each
pair's value as one uint16; the passes left are classifying the bytes (7),
the field-width checks (5), the values and the check that they are <= 255
(12): 0.25 s for the 110 MB file. `np.fromstring(text, sep=",")` parses
9.7 ns a field; per-field gathers of three digits cost 4 ns a field.
"""


# -- running the suites ------------------------------------------------------
def _call_run(fn, small: bool, full: bool = False):
    """Call a suite's ``run`` with the knobs it has: ``small=`` (and ``full=``) or else ``size=``/``repeats=``."""
    params = inspect.signature(fn).parameters
    if "small" in params:
        return fn(small=small, **({"full": full} if "full" in params else {}))
    kwargs = {}
    if small and "size" in params:
        kwargs["size"] = 1000
    if small and "repeats" in params:
        kwargs["repeats"] = 1
    return fn(**kwargs)


def _suite_rows(name: str, small: bool, full: bool = False) -> list[dict]:
    if name == "check":
        return check_rows(small=small, full=full) + thread_rows(small=small)
    modname = f"bench.bench_{name}"
    try:
        module = importlib.import_module(modname)
    except ModuleNotFoundError as exc:
        if exc.name in (modname, f"bench_{name}"):
            return [row(f"{name} benchmarks", note=f"skipped: not available ({modname} does not exist yet)")]
        return [row(f"{name} benchmarks", note=f"skipped: {exc}")]
    try:
        raw = _call_run(module.run, small, full)
    except Exception as exc:  # a broken suite must not hide the others
        return [row(f"{name} benchmarks", note=f"failed: {type(exc).__name__}: {exc}")]
    return normalise(raw, name)


def run_suites(names, *, small: bool = False, full: bool = False, log=None) -> list[dict]:
    """Rows of the named suites, in order, each tagged with ``suite`` and ``background``.

    ``background`` is the share of the machine's CPUs that *other* processes
    used while the suite ran: contention that slows multi-threaded BLAS.
    """
    rows = []
    for name in names:
        t0 = time.perf_counter()
        with Background() as bg:
            got = _suite_rows(name, small, full)
        wall, background = time.perf_counter() - t0, bg.share
        for r in got:
            r["suite"] = name
            r["background"] = background
        rows.extend(got)
        if log:
            bg = f", other processes used {background:.0%} of the CPUs" if background is not None else ""
            log(f"[{name}] {len(got)} row(s) in {wall:.1f} s{bg}\n")
    return rows


def normalise(rows, suite: str) -> list[dict]:
    """Rows from a suite in the shared format (see :mod:`bench`), whatever shape they came in."""
    out = []
    rows = list(rows or [])
    base_s = next((r["median_s"] for r in rows if r.get("method") == "np.loadtxt" and "median_s" in r), None)
    for r in rows:
        r = dict(r)
        if "what" in r:
            base = row(r.get("what", suite))
            base.update({k: r[k] for k in ROW_KEYS if k in r})
            extra = {k: v for k, v in r.items() if k not in ROW_KEYS and k != "suite"}
            if extra:
                base["note"] = "; ".join(filter(None, [str(base["note"] or ""), _kv(extra)]))
            out.append(base)
        elif "method" in r and "median_s" in r:  # bench_load's own shape
            speed = r.get("speedup")
            note = [f"{r.get('rows', '?'):,} rows" if isinstance(r.get("rows"), int) else ""]
            if "file_mb" in r:
                note.append(f"{r['file_mb']:.0f} MB CSV")
            if "peak_mb" in r:
                note.append(f"peak traced memory {r['peak_mb']:.0f} MB = {r.get('peak_over_array', 0):.2f}x the arrays")
            out.append(row(f"load CSV: {r['method']}", "np.loadtxt", "", ours=r["median_s"], peer=base_s,
                           ratio=speed, unit="s", note="; ".join(filter(None, note))))
        else:
            out.append(row(f"{suite}: row", note=_kv(r)))
    return out


def _kv(d: dict) -> str:
    return ", ".join(f"{k}={_fmt(v)}" for k, v in d.items())


# -- netdoctor check end to end ----------------------------------------------
# Runs the command and prints "exit_code wall_s maxrss_kb cpu_s". It exists because a
# child's ru_maxrss starts at the RSS of the process it was forked from (Linux
# records the old image's high-water mark at exec): measured straight from this
# process (NumPy, PyTorch, a 60,000-row set in memory) the child would inherit
# our own footprint. A small launcher gives its child a small starting point.
_LAUNCHER = """
import os, subprocess, sys, time
t0 = time.perf_counter()
with open(sys.argv[1], "wb") as err:
    proc = subprocess.Popen(sys.argv[3:], stdout=subprocess.DEVNULL, stderr=err)
    deadline = t0 + float(sys.argv[2])
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            code = os.waitstatus_to_exitcode(status)
            break
        if time.perf_counter() > deadline:
            proc.kill()
            _, _, usage = os.wait4(proc.pid, 0)
            code = "timeout"
            break
        time.sleep(0.01)
    proc.returncode = -1
print(code, time.perf_counter() - t0, usage.ru_maxrss, usage.ru_utime + usage.ru_stime)
"""


def _measure_child(cmd, *, timeout: float, env_extra: dict | None = None) -> dict:
    """One command in a subprocess: ``code`` (None on timeout), ``wall`` s, ``rss`` MiB, ``cpu`` s, ``tail``.

    The peak is ``os.wait4``'s ``ru_maxrss`` of exactly that process (what
    ``getrusage(RUSAGE_CHILDREN)`` accumulates), taken in a small launcher;
    ``cpu`` is its user + system time.
    """
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               NO_COLOR="1", **(env_extra or {}))
    with tempfile.NamedTemporaryFile(suffix=".stderr") as err:
        done = subprocess.run([sys.executable, "-c", _LAUNCHER, err.name, str(timeout), *cmd], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        tail = Path(err.name).read_text(errors="replace").strip().splitlines()[-1:] or [""]
    try:
        code, wall, maxrss, cpu = done.stdout.split()[-4:]
    except ValueError:
        return {"code": None, "wall": float("nan"), "rss": float("nan"), "cpu": float("nan"),
                "tail": (done.stderr.strip().splitlines()[-1:] or [""])[0][:200]}
    return {"code": None if code == "timeout" else int(code), "wall": float(wall), "rss": int(maxrss) / 1024,
            "cpu": float(cpu), "tail": tail[0][:200]}


BUSY_LOOP = "while True: pass"
"""The background load: a Python loop that keeps one core busy (nothing to share, no I/O)."""


@contextlib.contextmanager
def busy_core(n: int = 1):
    """``n`` background processes, each spinning on one core for the block (started and ended here, by their pids).

    Each runs in a session of its own, as another program (a browser) would:
    with Linux's autogroup scheduling, processes of one session share one
    group's CPU time, so a loop in our own session would halve the share of
    the run it sits beside even on an idle core, and measure that instead.
    """
    procs = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP], start_new_session=True) for _ in range(n)]
    try:
        time.sleep(0.2)  # let them start spinning
        yield [p.pid for p in procs]
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait()


def _product_time(m: int, k: int, n: int, threads: int, *, budget: float) -> float:
    """Fastest of short blocks of ``(m, k) @ (k, n)`` float32 products on ``threads`` BLAS threads (s per product)."""
    import numpy as np

    from bench import limited_threads

    rng = np.random.default_rng(0)
    A, B = rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32)
    out = np.empty((m, n), np.float32)
    reps = max(1, int(2e7 / (m * k * n)))  # ~20 M multiply-adds per block
    best = float("inf")
    with limited_threads(threads):
        np.matmul(A, B, out=out)
        deadline = time.perf_counter() + budget
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            for _ in range(reps):
                np.matmul(A, B, out=out)
            best = min(best, (time.perf_counter() - t0) / reps)
    return best


def thread_rows(*, small: bool = False) -> list[dict]:
    """Does a second BLAS thread pay? One product alone and beside :func:`busy_core`, 1 vs 2 threads.

    The shapes: the largest product of a 784-64-10 training step at batch 100
    (5 M multiply-adds) and one of 2^28 multiply-adds, netdoctor's threshold
    for going beyond one thread (:mod:`netdoctor.nn.threads`).
    """
    budget = 0.3 if small else 1.5
    rows = []
    for (m, k, n), label in (((100, 784, 64), "a 784-64 training product at batch 100 (5 M multiply-adds)"),
                             ((1024, 1024, 256), "a product of 2^28 multiply-adds (netdoctor's threshold)")):
        t = {}
        for where in ("alone", "busy"):
            with busy_core() if where == "busy" else contextlib.nullcontext():
                for threads in (1, 2):
                    t[where, threads] = _product_time(m, k, n, threads, budget=budget)
        for where in ("alone", "busy"):
            rows.append(row(
                f"BLAS 2 threads vs 1 on {label}, {'alone' if where == 'alone' else 'beside one busy core'}",
                "the same product on 1 thread", "(context: does a 2nd thread pay?)", ours=t[where, 2],
                peer=t[where, 1], ratio=t[where, 1] / t[where, 2], unit="s",
                note=(f"float32 ({m}, {k}) @ ({k}, {n}), fastest of short blocks over {budget} s per setting; ratio = "
                      f"speed-up from the second thread (above 1 it pays, below 1 it costs)")))
    return rows


def check_rows(*, small: bool = False, full: bool = False) -> list[dict]:
    """``netdoctor check FILE --epochs 1`` on a 60,000-row CSV: time and memory, quiet and beside a busy core.

    In subprocesses: a first run on an empty parse cache (what a new user
    waits for; judged: <= 15 s, peak memory <= 3x the data set as float32),
    then rounds of a warm-cache run alone, beside one and beside two
    :func:`busy_core` processes (the order rotates). Judged: the fastest busy
    run at most 1.3x the fastest quiet run, i.e. netdoctor does not collapse
    when other programs hold the cores (a multi-threaded BLAS waiting for a
    starved thread did, 10x). The notes give the CPU time busy / alone (above
    1: threads that wait or spin) and the fair-share floor: beside two busy
    processes on two cores each of three gets 2/3 of a core, so a run that
    computes on one core all the time takes at least 1.5x its quiet time.
    """
    from bench.bench_load import make_csv

    n = 1000 if small else 60_000
    rounds = 1 if small else (5 if full else 3)
    path, how = make_csv(n, "real")
    data_mb = n * 784 * 4 / 2**20  # MiB, like ru_maxrss / 1024
    cmd = [sys.executable, "-m", "netdoctor.cli", "check", str(path), "--epochs", "1"]
    shown = f"`python -m netdoctor.cli check {path.name} --epochs 1`"
    what = f"netdoctor check, {n:,}-row CSV, --epochs 1"
    timeout = 120 if small else 600
    rows = []
    with tempfile.TemporaryDirectory(prefix="netdoctor-bench-cache-") as cache:
        env = {"NETDOCTOR_CACHE_DIR": cache}
        first = _measure_child(cmd, timeout=timeout, env_extra=env)
        ok = first["code"] in (0, 1)
        judged = ok and not small
        how_first = f"{shown} in a subprocess, empty cache, exit code {first['code']}, CPU {first['cpu']:.1f} s"
        if not ok:
            how_first += f" (not a finished check: {first['tail']!r})"
        rows.append(row(f"{what}: wall time, first run, empty cache", "target", "<= 15 s", ours=first["wall"], unit="s",
                        met=(first["wall"] <= 15) if judged else None, note=how_first))
        rows.append(row(
            f"{what}: peak RSS, first run, empty cache", "3x the data set as float32", f"<= 3x {data_mb:.0f} MB",
            ours=first["rss"], peer=3 * data_mb, ratio=3 * data_mb / first["rss"] if first["rss"] else None, unit="MB",
            met=(first["rss"] <= 3 * data_mb) if judged else None,
            note=f"peak resident memory of the child (os.wait4 rusage); data set {data_mb:.0f} MB as float32; {how}"))
        modes = {"quiet": 0, "busy": 1, "busy2": 2}  # background processes beside the run
        runs: dict[str, list[dict]] = {m: [] for m in modes}
        for r in range(rounds):
            order = list(modes)[r % 3:] + list(modes)[:r % 3]  # who goes first rotates
            for mode in order:
                with busy_core(modes[mode]) if modes[mode] else contextlib.nullcontext():
                    runs[mode].append(_measure_child(cmd, timeout=timeout, env_extra=env))
    finished = all(m["code"] in (0, 1) for ms in runs.values() for m in ms)
    quiet = min(m["wall"] for m in runs["quiet"])
    quiet_cpu = min(m["cpu"] for m in runs["quiet"])
    cores = os.cpu_count() or 1

    def walls(mode):
        return ", ".join(f"{m['wall']:.2f}" for m in runs[mode])

    def cpus(mode):
        return ", ".join(f"{m['cpu']:.2f}" for m in runs[mode])

    for mode, label in (("busy", "one busy core (a Python loop)"), ("busy2", "two busy processes (Python loops)")):
        k = modes[mode]
        busy = min(m["wall"] for m in runs[mode])
        slowdown = busy / quiet
        # A fair scheduler gives each of k + 1 runnable single-threaded processes cores / (k + 1) of a core once
        # they outnumber the cores: a run that needs one core's time T then takes at least T (k + 1) / cores.
        share = min(1.0, cores / (k + 1))
        cpu_ratio = min(m["cpu"] for m in runs[mode]) / quiet_cpu
        rows.append(row(
            f"{what}: warm cache, beside {label} vs alone", "the same run alone",
            "busy <= 1.3x alone", ours=busy, peer=quiet, ratio=slowdown, unit="s", floor=quiet / share,
            met=(slowdown <= 1.3) if (finished and not small) else None,
            note=(f"{shown} in subprocesses, {rounds} rounds, alone, beside one and beside two `python -c '{BUSY_LOOP}'`, "
                  f"each in a session of its own (the order rotates every round); the ratio is the slowdown busy / alone "
                  f"of the fastest runs (smaller is better); wall s alone {walls('quiet')}, busy {walls(mode)}; CPU s "
                  f"alone {cpus('quiet')}, busy {cpus(mode)}: CPU time busy / alone {cpu_ratio:.2f} (above 1: time lost "
                  f"to threads that wait or spin, not to sharing); fair-share floor: {k + 1} single-threaded processes on "
                  f"{cores} cores get {share:.2f} of a core each, so a run that computes on one core all the time "
                  f"cannot beat {1 / share:.2f}x alone"
                  + ("" if finished else "; NOT JUDGED: a run did not finish"))))
    return rows


# -- the report ----------------------------------------------------------------
def machine_info() -> dict[str, str]:
    """CPU, cores, library versions, BLAS and environment knobs, for the report header."""
    import numpy as np

    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"CPU": cpu, "cores": str(os.cpu_count()), "Python": platform.python_version(),
            "numpy": np.__version__}
    try:
        from threadpoolctl import threadpool_info

        blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        info["numpy BLAS"] = "; ".join(
            f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture')} kernels, {p.get('num_threads')} threads)"
            for p in blas) or "unknown"
    except ImportError:
        cfg = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
        info["numpy BLAS"] = f"{cfg.get('name', '?')} {cfg.get('version', '')} (threadpoolctl missing: threads unknown)"
    try:
        import torch

        info["torch"] = f"{torch.__version__} (MKL: {torch.backends.mkl.is_available()}, default {torch.get_num_threads()} threads)"
    except ImportError:
        info["torch"] = "not installed: PyTorch comparisons skipped"
    for knob in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        info[knob] = os.environ.get(knob, "unset")
    return info


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.3g}" if abs(v) < 10 else f"{v:.1f}"
    return str(v)


def _load_sentence(loads: tuple, shares: list[float], cores: str | None) -> str:
    """Under which load the figures were taken, in words."""
    before, after = (float(x.split()[0]) for x in loads)
    text = (f"These figures were taken with a 1-minute load average of {before:.2f} before and {after:.2f} after "
            f"the run on {cores or '?'} CPUs")
    if shares:
        text += (f"; other processes used {min(shares):.0%} to {max(shares):.0%} of the CPUs while the suites "
                 "ran (per suite in the notes)")
    busy = max(before, after) >= 1.0
    return text + (". The machine was busy: absolute times are slower than on an idle machine, and ratios of "
                   "single-threaded work are the figures to trust." if busy else ". The machine was quiet.")


def render_markdown(rows, info: dict[str, str], *, started: str, loads: tuple, elapsed: float) -> str:
    """The benchmarks page: intro, machine, the table, then one note per row."""
    lines = [INTRO, "## Machine and run", "", "| | |", "|---|---|"]
    for k, v in info.items():
        lines.append(f"| {k} | {v} |")
    lines.append(f"| date (UTC) | {started} |")
    lines.append(f"| load average before / after | {loads[0]} / {loads[1]} |")
    lines.append(f"| run time | {elapsed:.0f} s |")
    shares = [r["background"] for r in rows if r.get("background") is not None]
    lines += ["", _load_sentence(loads, shares, info.get("cores"))]
    lines += ["", "## Results", "",
              "| # | what | compared with | target | ours | peer | ratio | floor | unit | met? |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for i, r in enumerate(rows, 1):
        met = {True: "**yes**", False: "**no**", None: "-"}[r.get("met")]
        ratio = f"{r['ratio']:.2f}x" if isinstance(r.get("ratio"), (int, float)) else "-"
        cells = [str(i), r["what"], r.get("compared_with") or "-", r.get("target") or "-", _fmt(r.get("ours")),
                 _fmt(r.get("peer")), ratio, _fmt(r.get("floor")), r.get("unit") or "-", met]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    lines += ["", "## Notes", ""]
    for i, r in enumerate(rows, 1):
        bg = r.get("background")
        bg = f" (suite `{r.get('suite')}`: other processes used {bg:.0%} of the CPUs meanwhile)" if bg is not None else ""
        lines.append(f"{i}. {r.get('note') or '-'}{bg}")
    return "\n".join(lines) + "\n"


def _verdict(met) -> str:
    return {True: "PASS", False: "FAIL", None: "-"}[met]


def _text_table(rows) -> str:
    """One line per row: what, ours, peer, ratio, target and PASS / FAIL (``-`` when nothing is judged)."""
    out = [f"{'what':<86} {'ours':>10} {'peer':>10} {'ratio':>8}  {'target':<24} verdict", "-" * 150]
    for r in rows:
        ratio = f"{r['ratio']:.2f}x" if isinstance(r.get("ratio"), (int, float)) else "-"
        out.append(f"{r['what'][:86]:<86} {_fmt(r.get('ours')):>10} {_fmt(r.get('peer')):>10} {ratio:>8}  "
                   f"{(r.get('target') or '-')[:24]:<24} {_verdict(r.get('met'))}")
    judged = [r for r in rows if r.get("met") is not None]
    out.append(f"{sum(r['met'] for r in judged)} of {len(judged)} judged targets met")
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Run netdoctor's benchmarks.")
    parser.add_argument("--small", action="store_true", help="tiny sizes: a smoke test, no targets judged")
    parser.add_argument("--full", action="store_true", help="more repetitions per comparison (several minutes more)")
    parser.add_argument("--only", action="append", choices=SUITES, metavar="NAME",
                        help=f"run only this suite (repeatable): {', '.join(SUITES)}")
    parser.add_argument("--out", type=Path, help="write the report here (default docs/benchmarks.md; --small writes only with --out)")
    args = parser.parse_args(argv)
    names = args.only or list(SUITES)
    started = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
    load_before = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    t0 = time.perf_counter()
    rows = run_suites(names, small=args.small, full=args.full, log=sys.stderr.write)
    elapsed = time.perf_counter() - t0
    load_after = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    sys.stdout.write(_text_table(rows) + "\n")
    sys.stdout.write(f"load average (1, 5, 15 min) before: {load_before}; after: {load_after}; "
                     f"{os.cpu_count()} CPUs; run time {elapsed:.0f} s\n")
    out = args.out or (None if args.small else DOC)
    if out is not None:
        text = render_markdown(rows, machine_info(), started=started, loads=(load_before, load_after), elapsed=elapsed)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        sys.stderr.write(f"wrote {out}\n")
    return 0
