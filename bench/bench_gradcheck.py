"""Gradient-check speed and sensitivity: netdoctor against ``torch.autograd.gradcheck``.

What is timed (``run``), side by side in one process, interleaved, medians of
several repeats, one BLAS / torch thread on both sides (the machine is shared):

* netdoctor ``check_gradients(model, X, y, method="central", max_coords=None)``:
  every one of the 23,860 entries of a 784-30-10 tanh/MSE MLP (float64, 100
  real MNIST samples scaled to [0, 1]), central differences (batched path,
  h = 1e-7); and the same on dense random inputs (no zero pixels to skip);
* ``torch.autograd.gradcheck`` (default mode) on the same function of
  ``(W1, b1, W2, b2)`` in float64: one central difference per entry plus
  the backward Jacobian;
* netdoctor ``method="directional"`` (3 random directions) against
  ``gradcheck(fast_mode=True)`` (one random direction pair), and whether each
  catches a planted wrong tanh derivative (``tanh(z)`` for ``1 - tanh(z)^2``).

Two floors. The naive one of a per-entry check: two loss evaluations per
entry, ``2 x entries x (one forward pass)``, with the forward pass timed alone.
netdoctor goes far below it because a weight entry only moves one unit's
pre-activation: it evaluates one *item* per (entry row, sample with a nonzero
input, unit, sign) instead of a forward pass. The floor of that structured
method (the **floor** column) is one arithmetic pass over all its items: one
float64 multiply per item, timed in blocks of the size the check uses. No
check that evaluates every item can beat it; the note says how many such
passes ours costs.

torch's gradcheck is timed on the dense inputs; its cost does not depend on
the values of the inputs (dense float64 products either way), so the
real-MNIST row is compared with the same measurement. ``rounds`` interleaved
rounds (2 by default: one gradcheck takes 15-30 s here), ours three times per
round; the fastest of each is compared.

``python bench/bench_gradcheck.py`` prints the rows; without torch the peer
columns are skipped with a message. Install the CPU build with
``pip install torch==2.13.0``.
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

from bench import limited_threads, optional_torch, row, shared_data  # noqa: E402
from netdoctor.gradients import check_gradients  # noqa: E402
from netdoctor.nn.activations import ACTIVATIONS, Activation  # noqa: E402
from netdoctor.nn.mlp import MLP  # noqa: E402

__all__ = ["run", "load_batch", "BrokenTanhMLP"]

MNIST_5K = shared_data("mnist_5k.csv.gz")


def load_batch(n: int, d: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray, str]:
    """``n`` seeded MNIST rows (pixels / 255, labels); random pixels when the file is absent or d != 784."""
    rng = np.random.default_rng(seed)
    if d == 784 and MNIST_5K.exists():
        with gzip.open(MNIST_5K, "rt") as fh:
            rows = np.loadtxt(fh, delimiter=",", dtype=np.float64)
        pick = rng.choice(len(rows), n, replace=False)
        return rows[pick, 1:] / 255.0, rows[pick, 0].astype(np.intp), "real MNIST rows"
    return rng.random((n, d)), rng.integers(0, 10, n), "random pixels"


def _bad_tanh_backward(da, z, a):
    return da * np.tanh(z)  # the planted bug: tanh(z) instead of 1 - tanh(z)^2


class BrokenTanhMLP(MLP):
    """The reference MLP with a wrong hidden tanh derivative (forward untouched)."""

    def layer_activation(self, l):
        act = super().layer_activation(l)
        if l < self.n_layers and act.name == "tanh":
            t = ACTIVATIONS["tanh"]
            return Activation("tanh", t.forward, _bad_tanh_backward, t.low, t.high, t.has_kink, t.analytic)
        return act


def _torch_function(torch, model: MLP, X: np.ndarray, y: np.ndarray, *, broken: bool = False):
    """The same mean half squared error of the same tanh net, as a function of (W1, b1, W2, b2)."""
    Xt = torch.tensor(X, dtype=torch.float64)
    t = -torch.ones(len(y), model.n_classes, dtype=torch.float64)
    t[torch.arange(len(y)), torch.tensor(y)] = 1.0

    class BadTanh(torch.autograd.Function):
        @staticmethod
        def forward(ctx, z):
            ctx.save_for_backward(z)
            return torch.tanh(z)

        @staticmethod
        def backward(ctx, g):
            (z,) = ctx.saved_tensors
            return g * torch.tanh(z)

    hidden = BadTanh.apply if broken else torch.tanh

    def f(W1, b1, W2, b2):
        a = torch.tanh(hidden(Xt @ W1 + b1) @ W2 + b2)
        return 0.5 * ((a - t) ** 2).sum() / len(Xt)

    inputs = tuple(torch.tensor(model.params[k], dtype=torch.float64, requires_grad=True)
                   for k in ("W1", "b1", "W2", "b2"))
    return f, inputs


def structured_floor(model: MLP, X: np.ndarray, *, repeats: int = 5) -> tuple[float, int]:
    """``(seconds, items)``: one float64 multiply per item of a full central check, the structured method's floor.

    Items are ``2 signs x (input rows incl. the bias) x samples with a nonzero
    input x units``, summed over layers, as :mod:`netdoctor.gradients.mlp_fast`
    evaluates them.
    """
    from netdoctor.gradients.mlp_fast import _CHUNK, mlp_forward_loss

    _, _, acts, _ = mlp_forward_loss(model, X, np.zeros(len(X), dtype=np.intp), model.params)
    items = 0
    for l in range(1, model.n_layers + 1):
        a_in = np.concatenate([acts[l - 1], np.ones((len(X), 1))], axis=1)
        items += 2 * int(np.count_nonzero(a_in)) * model.params[f"W{l}"].shape[1]
    rng = np.random.default_rng(0)
    a, b, out = rng.random(_CHUNK), rng.random(_CHUNK), np.empty(_CHUNK)
    blocks = -(-items // _CHUNK)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(blocks):
            np.multiply(a, b, out=out)
        best = min(best, time.perf_counter() - t0)
    return best, items


def run(small: bool = False, full: bool = False, rounds: int | None = None) -> list[dict]:
    """Time the checks and return benchmark rows (see :mod:`bench`); ``full`` runs 4 rounds."""
    sizes = (20, 8, 4) if small else (784, 30, 10)
    n = 10 if small else 100
    rounds = rounds or (1 if small else (4 if full else 2))
    X, y, source = load_batch(n, sizes[0])
    y = y % sizes[-1]
    Xd = np.random.default_rng(1).random(X.shape)
    model = MLP(sizes, activation="tanh", loss="mse", seed=0)
    broken = BrokenTanhMLP(sizes, activation="tanh", loss="mse", seed=0)
    n_params = sum(p.size for p in model.params.values())
    torch = optional_torch()
    rows: list[dict] = []
    arch = "-".join(map(str, sizes))
    with limited_threads(1):
        check_gradients(model, X, y, method="central", max_coords=None)  # warm up
        floor_real, items_real = structured_floor(model, X)
        floor_dense, items_dense = structured_floor(model, Xd)
        t0 = time.perf_counter()
        for _ in range(20):
            model.loss_value(X, y)
        t_fwd = (time.perf_counter() - t0) / 20
        naive = 2 * n_params * t_fwd
        ours = {
            "ours": lambda: check_gradients(model, X, y, method="central", max_coords=None),
            "dense": lambda: check_gradients(model, Xd, y, method="central", max_coords=None),
            "complex": lambda: check_gradients(model, X, y, method="complex", max_coords=None),
            "dir": lambda: check_gradients(model, X, y, method="directional"),
        }
        peers = {}
        if torch is not None:
            f, inputs = _torch_function(torch, model, Xd, y)
            gc = torch.autograd.gradcheck
            peers["peer"] = lambda: gc(f, inputs, raise_exception=False)
            peers["peer_fast"] = lambda: gc(f, inputs, fast_mode=True, raise_exception=False)
        times: dict[str, list[float]] = {k: [] for k in [*ours, *peers]}
        outs: dict[str, object] = {}
        for r in range(rounds):  # interleaved, so a change of machine load hits both sides
            jobs = [(k, fn) for k, fn in ours.items() for _ in range(3)] + list(peers.items())
            for k, fn in (jobs if r % 2 == 0 else jobs[::-1]):
                t0 = time.perf_counter()
                outs[k] = fn()
                times[k].append(time.perf_counter() - t0)
        floor_after, _ = structured_floor(model, Xd)
        best = {k: min(v) for k, v in times.items()}
        ours_t, res = best["ours"], outs["ours"]
        dense_t, dense = best["dense"], outs["dense"]
        cx_t, cx = best["complex"], outs["complex"]
        dir_t, ours_dir = best["dir"], outs["dir"]
        ours_bug = check_gradients(broken, X, y, method="directional")
        peer_t, peer_ok = best.get("peer"), outs.get("peer")
        peer_fast_t, peer_fast_ok = best.get("peer_fast"), outs.get("peer_fast")
        peer_bug_caught = None
        if torch is not None:
            fb, inputs_b = _torch_function(torch, model, X, y, broken=True)
            peer_bug_caught = not gc(fb, inputs_b, fast_mode=True, raise_exception=False)
    peer_name = f"torch.autograd.gradcheck (PyTorch {torch.__version__}, 1 thread)" if torch else "torch (absent)"
    skip = "" if torch else " PyTorch is not installed (pip install torch==2.13.0): peer skipped."
    peer_runs = (f"; torch {len(times['peer'])} run(s): " + ", ".join(f"{t:.1f}" for t in times["peer"]) + " s") if torch else ""

    def runs(k):
        return f"fastest of {len(times[k])}: {best[k]:.3g} s, median {statistics.median(times[k]):.3g} s"

    floor_note = (f"structured floor {floor_dense * 1e3:.1f} ms before / {floor_after * 1e3:.1f} ms after = one float64 "
                  f"multiply per item ({items_dense:,} items: 2 signs x input rows x samples x units)")
    rows.append(row(
        f"full central check {arch} tanh/MSE, {n} dense random inputs ({n_params:,} entries, float64)",
        peer_name + " default mode", ">= 50x faster", ours=dense_t, peer=peer_t,
        ratio=(peer_t / dense_t) if peer_t else None, unit="s",
        met=(peer_t / dense_t >= 50) if (peer_t and not small) else None, floor=floor_dense,
        note=(f"ours ok={dense.ok}, {runs('dense')}{peer_runs}; peer ok={peer_ok}; every (entry, sample) pair is "
              f"evaluated (no zero input to skip); {floor_note}: ours costs {dense_t / floor_dense:.0f} such passes; "
              f"a naive per-entry check (2 x {n_params:,} x one forward pass of {t_fwd * 1e3:.3f} ms) would take "
              f"{naive:.2f} s.{skip}"),
    ))
    rows.append(row(
        f"full central check {arch} tanh/MSE, {n} {source}", peer_name + " default mode (same measurement)",
        ">= 50x faster", ours=ours_t, peer=peer_t, ratio=(peer_t / ours_t) if peer_t else None, unit="s",
        met=(peer_t / ours_t >= 50) if (peer_t and not small) else None, floor=floor_real,
        note=(f"ours ok={res.ok}, worst rel_error {res.worst_rel_error:.1e}, {runs('ours')}; zero pixels have no "
              f"items ({items_real:,} items, floor {floor_real * 1e3:.1f} ms); torch's cost does not depend on the "
              f"input values, so its dense-input time is used.{skip}"),
    ))
    rows.append(row(
        f"full complex-step check {arch}, {n} {source}", peer_name + " default mode (same measurement)", "",
        ours=cx_t, peer=peer_t, ratio=(peer_t / cx_t) if peer_t else None, unit="s",
        note=f"ours ok={cx.ok}, worst rel_error {cx.worst_rel_error:.1e} (exact to rounding), {runs('complex')}.{skip}",
    ))
    rows.append(row(
        f"directional check (3 directions) {arch}", peer_name + " fast_mode=True", "report", ours=dir_t,
        peer=peer_fast_t, ratio=(peer_fast_t / dir_t) if peer_fast_t else None, unit="s",
        note=f"ours ok={ours_dir.ok}, peer ok={peer_fast_ok}, {runs('dir')}.{skip}",
    ))
    rows.append(row(
        "planted wrong tanh derivative (tanh(z) for 1 - tanh(z)^2) detected", peer_name + " fast_mode=True",
        "detected", ours=not ours_bug.ok, peer=peer_bug_caught, unit="bool", met=not ours_bug.ok,
        note=("ours localised it to " + ", ".join(t.name for t in ours_bug.failed)) if not ours_bug.ok else "missed",
    ))
    return rows


if __name__ == "__main__":
    for r in run(small="--small" in sys.argv):
        print(" | ".join(f"{k}={r[k]:.4g}" if isinstance(r[k], float) else f"{k}={r[k]}" for k in r))
