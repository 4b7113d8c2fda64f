"""Training speed: netdoctor's reference MLP against PyTorch, a per-sample net and the BLAS floor.

What is timed (``run``), all on one synthesised 60,000-row MNIST-shaped set:

* ``netdoctor.nn.training.train(MLP(...), X, y, epochs=1, batch_size=100,
  lr=0.1)`` for tanh/MSE nets in float32 (lr 0.01 for 784-512-512-10, which
  saturates at 0.1): the public path with the seeded
  shuffle, the per-batch gather, per-step loss recording and the end-of-epoch
  training accuracy on 5,000 rows;
* the same network in PyTorch on the CPU: ``nn.Linear``/``nn.Tanh``,
  ``optim.SGD`` (plain, same lr), the same initial weights, the *same batches
  in the same order*, ``loss.item()`` per step and the same accuracy at the
  end; ``torch.set_num_threads`` equal to numpy's BLAS threads;
* a typical hand-written per-sample net (:mod:`bench.handwritten_per_sample`,
  float64) on a tenth of the epoch, extrapolated, against netdoctor float64.

The floor beside each result is ``FLOPs / BLAS rate``: the three GEMMs per
layer and step (forward ``a W``, ``a^T d``, ``d W^T``; no input gradient for
the first layer), each timed alone on warm arrays of the same shapes and
threads. Nothing built on that BLAS can train faster.
"""

from __future__ import annotations

import gzip
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import Background, limited_threads, optional_torch, row, shared_data  # noqa: E402
from bench.handwritten_per_sample import PerSampleNet  # noqa: E402
from netdoctor.nn.mlp import MLP  # noqa: E402
from netdoctor.nn.training import train  # noqa: E402

__all__ = ["run", "synth_mnist", "flops_per_sample", "blas_floor", "blas_threads"]

MNIST_5K = shared_data("mnist_5k.csv.gz")
BATCH, LR, ACC_ROWS = 100, 0.1, 5000
STARVED = 0.25
"""Foreign CPU share above which multi-threaded rows are not judged (a quarter of the machine)."""


def _log(msg: str) -> None:
    sys.stderr.write(f"  {time.strftime('%H:%M:%S')} {msg}\n")


def synth_mnist(n: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray, str]:
    """``n`` MNIST-shaped rows: uint8 pixels (n, 784), int64 labels (n,), and where they came from.

    The 5,000 real rows of ``mnist_5k.csv.gz`` are repeated, each copy in a
    seeded permutation with seeded pixel jitter (integers in [-8, 8], clipped
    to 0..255). Without that file: seeded random pixels and labels.
    """
    rng = np.random.default_rng(seed)
    if not MNIST_5K.exists():
        return (rng.integers(0, 256, (n, 784), dtype=np.uint8), rng.integers(0, 10, n),
                "seeded random pixels (mnist_5k.csv.gz not found)")
    with gzip.open(MNIST_5K, "rt") as fh:
        base = np.loadtxt(fh, delimiter=",", dtype=np.int16)
    labels, pixels = base[:, 0].astype(np.int64), base[:, 1:]
    X = np.empty((n, pixels.shape[1]), np.uint8)
    y = np.empty(n, np.int64)
    for start in range(0, n, len(base)):
        take = min(len(base), n - start)
        perm = rng.permutation(len(base))[:take]
        jitter = rng.integers(-8, 9, (take, pixels.shape[1]), dtype=np.int16)
        X[start : start + take] = np.clip(pixels[perm] + jitter, 0, 255)
        y[start : start + take] = labels[perm]
    return X, y, f"{len(base):,} real MNIST rows x{-(-n // len(base))}, seeded permutation and +-8 pixel jitter"


def flops_per_sample(sizes) -> int:
    """Multiply-adds x 2 of one training sample: 3 GEMMs per layer, none for the input gradient."""
    per_layer = [2 * a * b for a, b in zip(sizes[:-1], sizes[1:])]
    return 3 * sum(per_layer) - per_layer[0]


def blas_threads() -> int | None:
    """Threads of numpy's BLAS (threadpoolctl), or None when threadpoolctl is missing."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    return max(counts) if counts else None


def blas_floor(sizes, *, batch: int = BATCH, dtype=np.float32, repeats: int = 25) -> tuple[float, float]:
    """The fastest training the BLAS allows: ``(samples/s, GFLOP/s)`` of the step's GEMMs alone.

    Each GEMM of a step is timed on warm arrays of its shape in ``repeats``
    short blocks; the best block is kept (a floor, not a typical value, and
    short blocks let it find the quiet moments of a busy machine).
    """
    rng = np.random.default_rng(0)
    step = 0.0
    for l, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        X = rng.random((batch, a)).astype(dtype)
        W = rng.random((a, b)).astype(dtype)
        D = rng.random((batch, b)).astype(dtype)
        outs = (np.empty((batch, b), dtype), np.empty((a, b), dtype), np.empty((batch, a), dtype))
        calls = [lambda: np.matmul(X, W, out=outs[0]), lambda: np.matmul(X.T, D, out=outs[1])]
        if l > 0:
            calls.append(lambda: np.matmul(D, W.T, out=outs[2]))
        n = max(2, int(4e6 / (2 * batch * a * b)))  # ~4 MFLOP (~50 us) per block: well above clock resolution
        for fn in calls:
            fn()
            best = float("inf")
            for _ in range(repeats):
                t0 = time.perf_counter()
                for _ in range(n):
                    fn()
                best = min(best, (time.perf_counter() - t0) / n)
            step += best
    return batch / step, flops_per_sample(sizes) * batch / step / 1e9


def _ours_epoch(X, y, sizes, *, seed: int, dtype: str = "float32", lr: float = LR) -> tuple[float, float]:
    """(seconds, train accuracy) of one netdoctor epoch."""
    model = MLP(sizes, activation="tanh", loss="mse", dtype=dtype, seed=0)
    t0 = time.perf_counter()
    history = train(model, X, y, epochs=1, lr=lr, batch_size=BATCH, seed=seed, train_accuracy_sample=ACC_ROWS)
    return time.perf_counter() - t0, history.train_accuracy[-1]


def _torch_epoch(torch, X_t, y_t, sizes, *, seed: int, lr: float = LR) -> tuple[float, float]:
    """(seconds, train accuracy) of the same epoch in PyTorch: same init, batches and order."""
    init = MLP(sizes, activation="tanh", loss="mse", dtype="float32", seed=0)
    layers = []
    for l, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        lin = torch.nn.Linear(a, b)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(init.params[f"W{l}"].T)))
            lin.bias.copy_(torch.from_numpy(init.params[f"b{l}"]))
        layers += [lin, torch.nn.Tanh()]
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    table = 2 * torch.eye(sizes[-1]) - 1  # row k: the +-1 target of class k
    n = len(y_t)
    t0 = time.perf_counter()
    # The draws of netdoctor.nn.training.train: accuracy rows first, then the order.
    rng = np.random.default_rng(seed)
    acc_idx = torch.from_numpy(np.sort(rng.choice(n, size=min(n, ACC_ROWS), replace=False)))
    order = torch.from_numpy(rng.permutation(n))
    losses = []
    for i in range(0, n, BATCH):
        idx = order[i : i + BATCH]
        xb, tb = X_t[idx], table[y_t[idx]]
        out = net(xb)
        loss = 0.5 * ((out - tb) ** 2).sum() / len(idx)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with torch.no_grad():
        acc = (net(X_t[acc_idx]).argmax(1) == y_t[acc_idx]).double().mean().item()
    return time.perf_counter() - t0, acc


def _vs_torch(X, y, sizes, *, reps: int, threads: int | None, target: float, lr: float = LR) -> dict:
    torch = optional_torch()
    arch = "-".join(map(str, sizes))
    what = f"train {arch} tanh/MSE, float32, batch {BATCH}, lr {lr}, 1 epoch of {len(X):,}"
    tlabel = f"{threads} thread{'s' if threads != 1 else ''}" if threads else "default threads"
    with limited_threads(threads):
        floor, rate = blas_floor(sizes)
        if torch is None:
            secs = statistics.median(_ours_epoch(X, y, sizes, seed=r, lr=lr)[0] for r in range(reps))
            return row(what, "PyTorch (CPU)", f">= {target}x PyTorch", ours=len(X) / secs, unit="samples/s",
                       floor=floor, note="skipped: torch is not installed (pip install torch==2.13.0)")
        X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
        _ours_epoch(X, y, sizes, seed=0, lr=lr), _torch_epoch(torch, X_t, y_t, sizes, seed=0, lr=lr)  # warm-up
        ours, peer = [], []
        with Background() as bg:
            for r in range(reps):  # interleaved, alternating who goes first
                pair = [lambda: _ours_epoch(X, y, sizes, seed=r, lr=lr),
                        lambda: _torch_epoch(torch, X_t, y_t, sizes, seed=r, lr=lr)]
                if r % 2:
                    peer.append(pair[1]()), ours.append(pair[0]())
                else:
                    ours.append(pair[0]()), peer.append(pair[1]())
        threads_used = torch.get_num_threads()
        floor, rate = max((floor, rate), blas_floor(sizes))  # again after: the better of two tries
    o = len(X) / statistics.median(t for t, _ in ours)
    p = len(X) / statistics.median(t for t, _ in peer)
    ratio = o / p
    met, judged = ratio >= target, _judged(bg.share, threads)
    spread = (f"range ours {len(X) / max(t for t, _ in ours):,.0f}..{len(X) / min(t for t, _ in ours):,.0f}, "
              f"torch {len(X) / max(t for t, _ in peer):,.0f}..{len(X) / min(t for t, _ in peer):,.0f} samples/s")
    note = (f"{judged}medians of {reps} interleaved epochs ({spread}); numpy BLAS {tlabel}, "
            f"torch.set_num_threads({threads_used}); "
            f"train accuracy after the epoch: ours {ours[0][1]:.3f}, torch {peer[0][1]:.3f}; "
            f"floor = {flops_per_sample(sizes) / 1e3:.1f} kFLOP/sample / {rate:.0f} GFLOP/s measured on "
            f"the step's GEMM shapes; ours at {o / floor:.1%} of the floor{_disturbed(o, floor)}")
    return row(what, f"PyTorch {torch.__version__} CPU (nn.Linear + optim.SGD), {tlabel}", f">= {target}x PyTorch",
               ours=o, peer=p, ratio=ratio, unit="samples/s", met=None if judged else met, note=note, floor=floor)


def _disturbed(ours: float, floor: float) -> str:
    if ours <= floor:
        return ""
    return " (ours beats the floor: other processes disturbed both floor measurements, so it is too low)"


def _judged(share: float | None, threads: int | None) -> str:
    """Empty when the row can be judged, else why not (a starved multi-threaded BLAS)."""
    if share is None or share <= STARVED or threads == 1:
        return ""
    return (f"NOT JUDGED: other processes used {share:.0%} of the CPUs during these runs, which starves a "
            f"{threads or 'multi'}-thread BLAS (see the one-thread row); ")


def _vs_per_sample(X, y, sizes, *, reps: int, limit: int, threads: int | None) -> list[dict]:
    """The per-sample net against netdoctor float32 (the reference setup) and float64 (same precision)."""
    with limited_threads(threads):
        return _vs_per_sample_rows(X, y, sizes, reps=reps, limit=limit, threads=threads)


def _vs_per_sample_rows(X, y, sizes, *, reps, limit, threads) -> list[dict]:
    ours32, ours64, peer = [], [], []
    tlabel = f"{threads} BLAS thread{'s' if threads != 1 else ''}" if threads else "default BLAS threads"
    with Background() as bg:
        for r in range(reps):
            ours32.append(_ours_epoch(X, y, sizes, seed=r, dtype="float32")[0])
            ours64.append(_ours_epoch(X, y, sizes, seed=r, dtype="float64")[0])
            net = PerSampleNet.from_mlp(MLP(sizes, activation="tanh", loss="mse", dtype="float64", seed=0))
            t0 = time.perf_counter()
            done = net.train_epoch(X, y, lr=LR, batch_size=BATCH, seed=r, limit=limit)
            peer.append((time.perf_counter() - t0) / done)
    judged = _judged(bg.share, threads)
    p = 1.0 / statistics.median(peer)
    how = (f"per-sample net (column vectors, Python loops over samples and layers, float64) timed on "
           f"{limit:,} of the {len(X):,} samples and extrapolated; medians of {reps}; {tlabel}")
    rows = []
    arch = "-".join(map(str, sizes))
    for dtype, times, target in (("float32", ours32, ">= 100x"), ("float64", ours64, "(same precision, for context)")):
        o = len(X) / statistics.median(times)
        floor, rate = max(blas_floor(sizes, dtype=np.dtype(dtype).type), blas_floor(sizes, dtype=np.dtype(dtype).type))
        rows.append(row(
            f"train {arch} tanh/MSE, 1 epoch of {len(X):,}: netdoctor {dtype} vectorised vs per sample",
            f"hand-written per-sample net, float64 (bench/handwritten_per_sample.py), {tlabel}", target,
            ours=o, peer=p, ratio=o / p, unit="samples/s",
            met=(o / p >= 100) if dtype == "float32" and not judged else None,
            note=(f"{judged}{how}; {dtype} floor {rate:.0f} GFLOP/s, ours at {o / floor:.1%} of it"
                  f"{_disturbed(o, floor)}; the floor "
                  f"itself is {floor / p:.0f}x the per-sample net, the most any implementation on this BLAS "
                  f"could show"), floor=floor))
    return rows


def run(small: bool = False, full: bool = False) -> list[dict]:
    """All training rows; ``small`` uses 500 rows and narrow nets (for tests: seconds, no targets judged).

    Medians of 3 interleaved epochs per comparison (5 with ``full``).
    """
    n, reps, big = (500, 1, (784, 64, 64, 10)) if small else (60_000, 5 if full else 3, (784, 512, 512, 10))
    pixels, y, source = synth_mnist(n, seed=0)
    X = pixels.astype(np.float32) / np.float32(255)
    default = blas_threads()
    settings = [default] + ([1] if default and default > 1 else [])
    rows = []
    with Background() as bg:  # one second of the machine's load before choosing the settings
        time.sleep(1.0)
    if not full and not small and len(settings) > 1 and bg.share is not None and bg.share > STARVED:
        # A starved multi-threaded BLAS waits a scheduler slice per product: an epoch of 600 steps
        # takes minutes and measures the scheduler, and such rows are not judged anyway.
        settings = [1]
        rows.append(row(f"train: rows with {default} BLAS threads", note=(
            f"skipped: other processes used {bg.share:.0%} of the CPUs (above {STARVED:.0%}), so a {default}-thread "
            "BLAS would wait for its starved thread at every product; `python -m bench --full` runs them anyway")))
    # lr 0.01 for the wide net: at 0.1 its tanh outputs saturate at -1 within a few
    # steps (accuracy ~10%); the timing is the same, but a healthy run is the fairer picture.
    for sizes, target, lr in (((784, 30, 10), 1.5, LR), (big, 0.8, 0.01)):
        for threads in settings:
            _log(f"train: {'-'.join(map(str, sizes))} vs PyTorch, threads={threads}")
            rows.append(_vs_torch(X, y, sizes, reps=reps, threads=threads, target=target, lr=lr))
    for threads in settings:
        _log(f"train: per-sample net, threads={threads}")
        rows.extend(_vs_per_sample(X, y, (784, 30, 10), reps=min(reps, 3), limit=50 if small else n // 10,
                                   threads=threads))
    for r in rows:
        r["note"] = f"{r['note']}; data: {source}"
        if small:
            r["met"] = None  # tiny sizes say nothing about the targets
    if default is None:
        rows[0]["note"] += "; threadpoolctl missing: BLAS threads unknown, torch left at its default"
    return rows
