"""Benchmark: loading an MNIST-sized CSV with np.loadtxt vs netdoctor.data.load.

Synthesises a ``size`` x 785 CSV (label first, integers 0..255, the layout of
the classic ``mnist_train.csv``; 60,000 rows is about 110 MB) from real rows of
``mnist_5k.csv.gz``, repeated and permuted with a fixed seed, under
``bench/_data/`` (git-ignored). Then times, in one run and on the same file:

* ``np.loadtxt(path, delimiter=",")``: the baseline;
* ``netdoctor.data.load(path, cache=False)``: the first load (parse);
* ``netdoctor.data.load(path)`` with a warm cache: the second load.

Each is repeated ``repeats`` times; the table shows the median, the speed-up
over np.loadtxt, and the peak memory traced by ``tracemalloc`` (a separate,
untimed call) relative to the size of the returned arrays.

Usage::

    python3 bench/bench_load.py [--size 60000] [--repeats 3]

``run(size=..., repeats=...)`` returns the rows as dicts for an aggregator.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import shared_data  # noqa: E402
from netdoctor.data import loader as nd_data  # noqa: E402

SOURCE = shared_data("mnist_5k.csv.gz")
DATA_DIR = Path(__file__).resolve().parent / "_data"


def make_csv(size: int, *, directory: Path = DATA_DIR, seed: int = 0) -> Path:
    """Write (once) a ``size``-row MNIST CSV built from real rows; return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"mnist_{size}x785_seed{seed}.csv"
    if path.exists():
        return path
    src = SOURCE if SOURCE.exists() else nd_data.sample_path()
    with gzip.open(src, "rb") as fh:
        lines = fh.read().splitlines()
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(lines), size=size)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as out:
        for start in range(0, size, 5000):
            out.write(b"\n".join(lines[i] for i in picks[start:start + 5000]) + b"\n")
    os.replace(tmp, path)
    return path


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run(size: int = 60_000, repeats: int = 3, *, directory: Path | None = None) -> list[dict]:
    """Time the three loaders on a synthesised ``size``-row CSV.

    Returns:
        One dict per method: ``method``, ``rows``, ``file_mb``, ``median_s``,
        ``speedup`` (np.loadtxt median / this median), ``peak_mb``,
        ``array_mb`` (X + y as returned) and ``peak_over_array``.
    """
    path = make_csv(size, directory=directory or DATA_DIR)
    with tempfile.TemporaryDirectory(prefix="netdoctor-bench-cache-") as cache_dir:
        ds = nd_data.load(path, cache=True, cache_dir=cache_dir)  # warms the cache
        arrays = ds.X.nbytes + ds.y.nbytes
        methods = {
            "np.loadtxt": lambda: np.loadtxt(path, delimiter=","),
            "netdoctor first load": lambda: nd_data.load(path, cache=False),
            "netdoctor cached load": lambda: nd_data.load(path, cache_dir=cache_dir),
        }
        rows = []
        for name, fn in methods.items():
            rows.append({"method": name, "rows": size, "file_mb": path.stat().st_size / 1e6,
                         "median_s": _median_time(fn, repeats),
                         "peak_mb": _peak_bytes(fn) / 1e6, "array_mb": arrays / 1e6})
    base = rows[0]["median_s"]
    for row in rows:
        row["speedup"] = base / row["median_s"]
        row["peak_over_array"] = row["peak_mb"] / row["array_mb"]
    return rows


def format_table(rows: list[dict]) -> str:
    """Rows as a fixed-width text table."""
    head = f"{'method':<24}{'median s':>10}{'speed-up':>10}{'peak MB':>10}{'peak/array':>12}"
    lines = [f"{rows[0]['rows']:,} rows, {rows[0]['file_mb']:.1f} MB CSV; "
             f"returned arrays {rows[0]['array_mb']:.1f} MB", head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['method']:<24}{r['median_s']:>10.3f}{r['speedup']:>9.1f}x"
                     f"{r['peak_mb']:>10.1f}{r['peak_over_array']:>11.2f}x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=60_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    sys.stdout.write(format_table(run(size=args.size, repeats=args.repeats)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
