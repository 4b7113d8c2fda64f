"""Benchmark: loading a 60,000 x 785 MNIST CSV, netdoctor against np.loadtxt, pandas and pyarrow.

Two files of the layout of the classic ``mnist_train.csv`` (label first,
integers 0..255, one image per line), written once under ``bench/_data/``
(git-ignored):

* ``real``: the 5,000 real rows of ``mnist_5k.csv.gz`` repeated twelve times,
  each copy permuted with seeded +-8 pixel jitter (:func:`bench.bench_train.synth_mnist`;
  about 110 MB, mostly one-digit fields);
* ``random``: seeded uniform 0..255 pixels (about 168 MB, mostly three-digit
  fields: the parser's worst case).

and the real files a user has: the bundled ``mnist_sample.csv.gz`` (2,000
rows) and ``shared/data/mnist_test.csv.gz`` (the 10,000 MNIST test images, when
that folder is beside the checkout), each as it is (gzip: netdoctor and
``np.loadtxt`` both decompress it) and decompressed under ``bench/_data/``.

Timed in one process, on the same file, in interleaved rounds (the order
rotates every round, so a change of machine load hits every method):

* the floors, at the start and at the end of every round: a plain
  ``open(path, "rb").read()`` of the file (nothing that parses the bytes can be
  faster), and writing a new float32 array of the result's shape (nothing
  that returns fresh float32 rows, a cached reload included, can be faster);
* ``np.loadtxt(path, delimiter=",")``: the baseline;
* ``netdoctor.data.load(path, cache=False)``: the first load (parse, check, scale);
* ``netdoctor.data.load(path)`` into an empty cache directory: the first load a
  new user waits for, writing the cache entry too (judged: >= 8x ``np.loadtxt``);
* ``netdoctor.data.load(path)`` with a warm cache: the second load;
* where the compiled scan is built (``netdoctor/data/_csvscan.c``), the first
  load writing the cache once more with the NumPy parser
  (``NETDOCTOR_PURE_CSV=1``): what a user without a C compiler waits for;
* ``pandas.read_csv(path, header=None)`` and ``pyarrow.csv.read_csv`` as
  optional peers (skipped when not installed; pyarrow parses on all cores).

Ratios compare the fastest round of each method (the least disturbed one on a
shared machine); the notes give the medians, the same ratio in CPU time (the
process's user + system time of each call: what other processes on the
machine change least) and the load average. Peak memory is traced with
``tracemalloc`` in a separate untimed call.

``--fresh`` times the very first load of a process instead (what
``netdoctor check --data FILE`` waits for): each call runs in a new Python
process that has imported numpy and ``netdoctor.data`` and loads the file
once, ``np.loadtxt`` and netdoctor's first load writing its cache entry into
an empty directory taking turns, and the child reports the call's wall and
CPU time (user + system) and its page faults. A fresh process pays for every
page of ``X`` (188 MB of float32 for 60,000 rows) and of the parse table
anew, which a load after the first in one process may find free already.

Usage::

    python bench/bench_load.py [--small] [--fresh [--rounds N]]

``run(small=...)`` returns benchmark rows (see :mod:`bench`).
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import row, shared_data  # noqa: E402
from netdoctor.data import cache as datacache  # noqa: E402
from netdoctor.data import csvparse  # noqa: E402
from netdoctor.data import loader as nd_data  # noqa: E402

DATA_DIR = Path(__file__).resolve().parent / "_data"
__all__ = ["run", "make_csv", "write_table"]


def write_table(path: Path, labels: np.ndarray, pixels: np.ndarray) -> Path:
    """Write ``label,p0,...,p783`` lines (atomically: a temporary file, then a rename)."""
    lut = [str(i) for i in range(256)]
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as fh:
        for label, px in zip(labels.tolist(), pixels.tolist()):
            fh.write(f"{label},{','.join([lut[v] for v in px])}\n")
    os.replace(tmp, path)
    return path


def make_csv(n: int, kind: str, *, directory: Path = DATA_DIR, settle: bool = True) -> tuple[Path, str]:
    """The ``n``-row CSV of ``kind`` ("real" or "random"), written once; ``(path, how it was made)``.

    ``settle`` waits until the file is old enough for the parse cache (2 s after writing).
    """
    from bench.bench_train import MNIST_5K, synth_mnist

    directory.mkdir(parents=True, exist_ok=True)
    if kind == "real":
        path = directory / f"synth_mnist_{n}x785_seed0.csv"
        if not path.exists():
            pixels, labels, _ = synth_mnist(n, seed=0)
            write_table(path, labels, pixels)
        how = (f"the 5,000 real rows of mnist_5k.csv.gz x{-(-n // 5000)}, seeded permutation and +-8 pixel jitter"
               if MNIST_5K.exists() else "seeded random pixels (mnist_5k.csv.gz not found)")
    else:
        path = directory / f"random_{n}x785_seed0.csv"
        if not path.exists():
            rng = np.random.default_rng(0)
            write_table(path, rng.integers(0, 10, n), rng.integers(0, 256, (n, 784)))
        how = "seeded uniform random pixels 0..255"
    # The cache stores only files older than their timestamps' resolution (netdoctor.data.cache).
    wait = path.stat().st_mtime_ns + datacache.SETTLE_NS - time.time_ns()
    if settle and wait > 0:
        time.sleep(wait / 1e9 + 0.1)
    return path, how


def _peak_mb(fn) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def _read(path: Path) -> int:
    with open(path, "rb") as fh:
        return len(fh.read())


def _peers(path: Path) -> dict:
    """Optional peers that are installed: name -> callable."""
    out = {}
    try:
        import pandas as pd
    except ImportError:
        pass
    else:
        out[f"pandas.read_csv (pandas {pd.__version__}, C engine)"] = lambda: pd.read_csv(path, header=None)
    try:
        import pyarrow
        from pyarrow import csv as pacsv
    except ImportError:
        pass
    else:
        opts = pacsv.ReadOptions(autogenerate_column_names=True)
        out[f"pyarrow.csv.read_csv (pyarrow {pyarrow.__version__}, all cores)"] = \
            lambda: pacsv.read_csv(path, read_options=opts)
    return out


@contextlib.contextmanager
def _numpy_parser() -> Iterator[None]:
    """The NumPy parser for the block's loads, as where the compiled scan was not built."""
    was = os.environ.get("NETDOCTOR_PURE_CSV")
    os.environ["NETDOCTOR_PURE_CSV"] = "1"
    try:
        yield
    finally:
        if was is None:
            del os.environ["NETDOCTOR_PURE_CSV"]
        else:
            os.environ["NETDOCTOR_PURE_CSV"] = was


def _compare(kind: str, path: Path, how: str, n: int, repeats: int, judged: bool) -> list[dict]:
    rows = []
    compiled = csvparse.compiled_scan() is not None
    with tempfile.TemporaryDirectory(prefix="netdoctor-bench-cache-") as cache_dir:
        first = nd_data.load(path, cache_dir=cache_dir)  # warms the page cache and the parse cache
        cached_entry = any(Path(cache_dir).glob("*.npy"))
        arrays_mb = (first.X.nbytes + first.y.nbytes) / 1e6
        shape = first.X.shape
        del first

        def fresh_float32():  # the reload's floor: a new float32 array the size of X, written once
            X = np.empty(shape, np.float32)
            X.fill(1.0)
            return X

        fresh = iter(range(1 << 30))

        def first_writing():  # a first load that writes its entry, into an empty cache directory each time
            return nd_data.load(path, cache_dir=Path(cache_dir) / f"fresh-{next(fresh)}")

        def first_writing_numpy():  # the same with the NumPy parser, the fallback where the compiled scan is not built
            with _numpy_parser():
                return nd_data.load(path, cache_dir=Path(cache_dir) / f"numpy-{next(fresh)}")

        methods = {
            "np.loadtxt": lambda: np.loadtxt(path, delimiter=","),
            "first": lambda: nd_data.load(path, cache=False),
            "first+write": first_writing,
            "cached": lambda: nd_data.load(path, cache_dir=cache_dir),
            **({"first+write, NumPy parser": first_writing_numpy} if compiled else {}),
        }
        peers = _peers(path)
        methods.update(peers)
        floors = {"read": lambda: _read(path), "alloc": fresh_float32}
        times: dict[str, list[float]] = {k: [] for k in [*floors, *methods]}
        cpu: dict[str, list[float]] = {k: [] for k in [*floors, *methods]}
        names = list(methods)
        load_before = os.getloadavg()[0]
        for r in range(repeats):
            order = names[r % len(names):] + names[:r % len(names)]
            for name in [*floors, *order, *floors]:  # the floors before and after each round
                fn = methods.get(name) or floors[name]
                c0, t0 = time.process_time(), time.perf_counter()
                out = fn()
                times[name].append(time.perf_counter() - t0)
                cpu[name].append(time.process_time() - c0)
                del out
        load = f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
        peaks = {k: _peak_mb(methods[k]) for k in ("first", "first+write", "cached")}
        written = sorted(Path(cache_dir).glob("fresh-*/*.npy"))
        wrote_each = len(written) == len(times["first+write"]) + 1  # every timed call and the traced one
    best = {k: min(v) for k, v in times.items()}
    med = {k: statistics.median(v) for k, v in times.items()}
    size_mb = path.stat().st_size / 1e6
    base = best["np.loadtxt"]
    file_is = f"{n:,} x 785 CSV, {size_mb:.3g} MB, {how}"
    where = f"{file_is}; parser: " + ("the compiled scan" if compiled else "NumPy (the compiled scan is not built here)")

    def spread(k):
        return f"fastest of {len(times[k])} {min(times[k]):.3g} s, median {med[k]:.3g} s"

    def in_cpu(k):
        return f"in CPU time {min(cpu['np.loadtxt']) / min(cpu[k]):.1f}x ({min(cpu[k]):.3g} s against {min(cpu['np.loadtxt']):.3g} s)"

    rows.append(row(f"load CSV ({kind}): read() of the file, the floor", "-", "(floor)", ours=best["read"], unit="s",
                    note=f"{where}; plain open().read(), timed before and after every round: {spread('read')}"))
    ratio = base / best["first"]
    rows.append(row(
        f"load CSV ({kind}): netdoctor first load (parse, check, scale to float32)", "np.loadtxt(path, delimiter=',')",
        ">= 4x np.loadtxt", ours=best["first"], peer=base, ratio=ratio, unit="s", floor=best["read"],
        met=(ratio >= 4) if judged else None,
        note=(f"{where}; ours {spread('first')}; np.loadtxt {spread('np.loadtxt')}; {in_cpu('first')}; {load}; "
              f"ours at {best['first'] / best['read']:.1f}x the read() floor; peak traced memory {peaks['first']:.0f} MB "
              f"= {peaks['first'] / arrays_mb:.2f}x the returned arrays")))
    ratio = base / best["first+write"]
    rows.append(row(
        f"load CSV ({kind}): netdoctor first load writing the cache (parse, check, scale, write the entry)",
        "np.loadtxt(path, delimiter=',')", ">= 8x np.loadtxt", ours=best["first+write"], peer=base, ratio=ratio,
        unit="s", floor=best["read"], met=(ratio >= 8) if (judged and wrote_each) else None,
        note=(f"{where}; each call into an empty cache directory; ours {spread('first+write')}; "
              f"{in_cpu('first+write')}; {load}; "
              f"the entry costs {best['first+write'] / best['first'] - 1:+.0%} over the first load without cache "
              f"(fastest rounds); peak traced memory {peaks['first+write']:.0f} MB"
              + ("" if wrote_each else "; NOT JUDGED: not every call wrote its entry"))))
    ratio = base / best["cached"]
    rows.append(row(
        f"load CSV ({kind}): netdoctor cached reload", "np.loadtxt(path, delimiter=',')", ">= 50x np.loadtxt",
        ours=best["cached"], peer=base, ratio=ratio, unit="s", floor=best["alloc"],
        met=(ratio >= 50) if (judged and cached_entry) else None,
        note=(f"{where}; ours {spread('cached')}; {in_cpu('cached')}; {load}"
              + ("" if cached_entry else "; NOT JUDGED: no cache entry was written")
              + f"; a memory-mapped uint8 table converted to float32 block by block; floor: a new float32 array of "
              f"X's shape {shape} written once ({spread('alloc')}), ours at {best['cached'] / best['alloc']:.1f}x "
              f"it; peak traced memory {peaks['cached']:.0f} MB")))
    if compiled:
        rows.append(row(
            f"load CSV ({kind}): the same first load with the NumPy parser (the fallback where no compiler was found)",
            "np.loadtxt(path, delimiter=',')", "(fallback, for context)", ours=best["first+write, NumPy parser"],
            peer=base, ratio=base / best["first+write, NumPy parser"], unit="s", floor=best["read"],
            note=(f"{file_is}; parser: NumPy (NETDOCTOR_PURE_CSV=1); each call into an empty cache directory; "
                  f"{spread('first+write, NumPy parser')}; {in_cpu('first+write, NumPy parser')}; {load}")))
    for name in peers:
        rows.append(row(
            f"load CSV ({kind}): netdoctor first load vs {name.split(' (')[0]}", name, "(peer, for context)",
            ours=best["first"], peer=best[name], ratio=best[name] / best["first"], unit="s", floor=best["read"],
            note=f"{where}; peer {spread(name)}; ours {spread('first')}"))
    if not peers:
        rows.append(row(f"load CSV ({kind}): pandas / pyarrow peers", note="skipped: neither pandas nor pyarrow is installed"))
    return rows


def real_files(directory: Path = DATA_DIR) -> list[tuple[str, Path, str, int]]:
    """The real MNIST files: ``(kind, path, how, rows)``, each gzip file as it is and decompressed (once) beside the others."""
    from netdoctor.data.loader import sample_path

    found = [("sample", sample_path(), "the bundled sample: 2,000 real MNIST images, 200 per digit", 2000)]
    test = shared_data("mnist_test.csv.gz")
    if test.exists():
        found.append(("mnist_test", test, "shared/data: the 10,000 MNIST test images", 10_000))
    out = []
    for kind, gz, how, n in found:
        plain = directory / gz.name.removesuffix(".gz")
        if not plain.exists():
            directory.mkdir(parents=True, exist_ok=True)
            tmp = plain.with_suffix(".tmp")
            with gzip.open(gz, "rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.replace(tmp, plain)
        out += [(f"{kind}.csv.gz", gz, f"{how}, gzip-compressed as shipped", n), (f"{kind}.csv", plain, f"{how}, decompressed", n)]
    return out


def run(small: bool = False, full: bool = False) -> list[dict]:
    """Rows for the real-digit and the random CSV (1,000 rows and one round with ``small``; 5 rounds with ``full``),
    then for the real MNIST files (the bundled sample, and the test set where ``shared/data`` is found)."""
    n = 1000 if small else 60_000
    repeats = 1 if small else (5 if full else 3)
    rows = []
    for kind in ("real", "random"):
        path, how = make_csv(n, kind)
        rows += _compare(kind, path, how, n, repeats, judged=not small)
    if not small:
        for kind, path, how, rows_in in real_files():
            wait = path.stat().st_mtime_ns + datacache.SETTLE_NS - time.time_ns()
            if wait > 0:  # a file just decompressed: the cache takes it once it has settled
                time.sleep(wait / 1e9 + 0.1)
            rows += _compare(kind, path, how, rows_in, repeats, judged=True)
    return rows


_CHILD = """
import os, resource, sys, tempfile, time
import numpy as np
from netdoctor.data import loader
how, path = sys.argv[1], sys.argv[2]
r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
if how == "np.loadtxt":
    np.loadtxt(path, delimiter=",")
else:
    loader.load(path, cache_dir=tempfile.mkdtemp(prefix="netdoctor-bench-fresh-"))
t, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF)
print(t, r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime, r1.ru_minflt - r0.ru_minflt)
"""


def fresh(small: bool = False, rounds: int = 5) -> list[dict]:
    """The very first load of a process: ``np.loadtxt`` and netdoctor's first load writing the cache, each call in a
    new process, taking turns (see the module docstring); rows judged like the in-process ones (>= 8x, best round)."""
    import subprocess

    n = 1000 if small else 60_000
    files = [(kind, *make_csv(n, kind)) for kind in ("real", "random")]
    if not small:
        files += [(kind, path, how) for kind, path, how, _ in real_files()]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    rows = []
    for kind, path, how in files:
        got: dict[str, list[tuple[float, float, int]]] = {"np.loadtxt": [], "netdoctor": []}
        load_before = os.getloadavg()[0]
        with tempfile.TemporaryDirectory(prefix="netdoctor-bench-fresh-") as cache_root:
            for r in range(rounds):
                for method in (["np.loadtxt", "netdoctor"] if r % 2 == 0 else ["netdoctor", "np.loadtxt"]):
                    out = subprocess.run([sys.executable, "-c", _CHILD, method, str(path)], capture_output=True, text=True,
                                         env=dict(env, TMPDIR=cache_root), check=True, timeout=600).stdout.split()
                    got[method].append((float(out[0]), float(out[1]), int(out[2])))
        base, ours = got["np.loadtxt"], got["netdoctor"]
        wall, cpu = min(w for w, _, _ in base) / min(w for w, _, _ in ours), min(c for _, c, _ in base) / min(c for _, c, _ in ours)
        rows.append(row(
            f"load CSV ({kind}): netdoctor's first load in a fresh process writing the cache", "np.loadtxt, fresh process",
            ">= 8x np.loadtxt", ours=min(w for w, _, _ in ours), peer=min(w for w, _, _ in base), ratio=wall, unit="s",
            met=wall >= 8 if not small else None,
            note=(f"{how}; {rounds} rounds, each call in a new process; ours {sorted(round(w, 3) for w, _, _ in ours)} s, "
                  f"np.loadtxt {sorted(round(w, 3) for w, _, _ in base)} s (wall); in CPU time {cpu:.1f}x "
                  f"({min(c for _, c, _ in ours):.3g} s against {min(c for _, c, _ in base):.3g} s); page faults "
                  f"{min(f for _, _, f in ours):,} against {min(f for _, _, f in base):,}; load average "
                  f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after")))
    return rows


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    small = "--small" in args
    if "--fresh" in args:
        rounds = int(args[args.index("--rounds") + 1]) if "--rounds" in args else 5
        for r in fresh(small=small, rounds=rounds):
            sys.stdout.write(f"{r['what']:<80} {r['ours']:>10.4g} {r['ratio']:>7.2f}x {r['target']:<18} {r['met']}\n")
            sys.stdout.write("    " + r["note"] + "\n")
        return 0
    sys.stdout.write(f"load average (1, 5, 15 min) before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    for r in run(small=small):
        ratio = f"{r['ratio']:.2f}x" if r["ratio"] else "-"
        ours = f"{r['ours']:.4g}" if isinstance(r["ours"], float) else "-"
        sys.stdout.write(f"{r['what']:<80} {ours:>10} {ratio:>8} {r['target']:<18} {r['met']}\n")
        if "CPU time" in r["note"]:
            sys.stdout.write("    " + "; ".join(p for p in r["note"].split("; ") if "CPU time" in p or "load average" in p) + "\n")
    sys.stdout.write(f"load average (1, 5, 15 min) after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
