"""What the training monitors cost: the same training with and without them.

Timed side by side in one process, interleaved (order alternated), medians of
several repeats of the process CPU time (wall time on this shared machine
swings with other work; CPU time of a one-thread run does much less):

* **plain**: ``train(model, X, y, X_test=..., y_test=...)`` (the loop
  evaluates the test set at every epoch end);
* **monitored**: ``train(model, X, y, callbacks=[TrainingMonitor(...)])`` with
  the test set handed to the monitor instead, which predicts it once per epoch
  end for accuracy *and* the confusion matrix; probes on a fixed 64-row batch
  (per-layer saturation, dead units, gradient norms, one update/weight ratio)
  at start, after the first step, at the end and whenever the adaptive budget
  (1% of training time) allows.

Both runs get a fresh model with the same seed and see the same batches. BLAS
is limited to one thread on both sides when threadpoolctl is installed (the
machine is shared; two-thread BLAS timings swing with other work).
``ratio`` is plain / monitored (bigger is better; 1.0 = free), the target is
monitoring <= 5% of the training time, i.e. ratio >= 1/1.05.

``python bench/bench_monitors.py [--small]`` prints the rows.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import limited_threads, row, shared_data  # noqa: E402
from netdoctor import MLP, train  # noqa: E402
from netdoctor.monitor.callback import TrainingMonitor  # noqa: E402

__all__ = ["run"]

SHARED = shared_data("mnist_5k.csv.gz").parent


def _data(small: bool):
    from netdoctor.data import load, load_sample

    if not small and (SHARED / "mnist_5k.csv.gz").exists() and (SHARED / "mnist_test.csv.gz").exists():
        tr, te = load(SHARED / "mnist_5k.csv.gz"), load(SHARED / "mnist_test.csv.gz")
        return tr.X, tr.y, te.X, te.y, "mnist_5k (5,000 rows) / MNIST test (10,000 rows)"
    tr, te = load_sample().split(0.25, seed=0)
    return tr.X, tr.y, te.X, te.y, f"bundled sample ({len(tr.y)} / {len(te.y)} rows)"


def _one(sizes, X, y, Xt, yt, *, epochs, batch_size, every, monitored):
    """CPU seconds of one training run (process time: less sensitive to other work on the machine)."""
    model = MLP(sizes, seed=0)
    if not monitored:
        t = time.process_time()
        train(model, X, y, epochs=epochs, lr=0.1, batch_size=batch_size, X_test=Xt, y_test=yt, seed=0)
        return time.process_time() - t, None
    probe = np.random.default_rng(0).choice(len(X), size=min(64, len(X)), replace=False)
    mon = TrainingMonitor(X[probe], y[probe], X_eval=Xt, y_eval=yt, eval_name="test data", every=every)
    t = time.process_time()
    train(model, X, y, epochs=epochs, lr=0.1, batch_size=batch_size, seed=0, callbacks=[mon])
    return time.process_time() - t, mon


def run(small: bool = False) -> list[dict]:
    """Rows for ``docs/benchmarks.md``: monitored vs plain training time."""
    X, y, Xt, yt, what_data = _data(small)
    if small:
        X, y, Xt, yt = X[:600], y[:600], Xt[:300], yt[:300]
    repeats, epochs = (2, 1) if small else (15, 3)
    rows = []
    cases = [((784, 64, 10), 32, None, "adaptive cadence, 1% budget"), ((784, 30, 10), 100, None, "adaptive cadence, 1% budget"),
             ((784, 64, 10), 32, 10, "probe every 10 steps (dense, for comparison)")]
    with limited_threads(1) as threads:
        for sizes, bs, every, how in cases:
            for flag in (False, True):  # warm-up
                _one(sizes, X[:200], y[:200], Xt[:100], yt[:100], epochs=1, batch_size=bs, every=every, monitored=flag)
            plains, mons, probes, shares = [], [], [], []
            for r in range(repeats):
                # Alternate which run goes first so neither always gets the warmer cache.
                for flag in ((False, True) if r % 2 == 0 else (True, False)):
                    sec, mon = _one(sizes, X, y, Xt, yt, epochs=epochs, batch_size=bs, every=every, monitored=flag)
                    if mon is None:
                        plains.append(sec)
                    else:
                        mons.append(sec)
                        probes.append(len(mon.probes))
                        shares.append(mon.overhead)
            p, m = statistics.median(plains), statistics.median(mons)
            arch = "-".join(map(str, sizes))
            rows.append(row(
                f"train {arch}, batch {bs}, {epochs} epoch(s), monitors on vs off ({how})",
                "the same training without monitors",
                "monitoring <= 5% of training time (ratio >= 0.952)" if every is None else "",
                ours=round(m, 4), peer=round(p, 4), ratio=round(p / m, 3), unit="s",
                met=(None if small or every is not None else p / m >= 1 / 1.05),
                note=(f"{what_data}; CPU-time medians of {repeats} interleaved runs (order alternated), {threads}; {statistics.median(probes):.0f} probes per run; "
                      f"monitor's own timing of its probes: {100 * statistics.median(shares):.1f}% of training"),
            ))
    return rows


if __name__ == "__main__":
    for r in run(small="--small" in sys.argv):
        print(r)
