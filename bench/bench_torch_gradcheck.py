"""Gradient checks of PyTorch code: netdoctor against ``torch.autograd.gradcheck`` on the same function.

What is timed (``run``), side by side in one process, interleaved, medians,
torch and BLAS limited to one thread on both sides (the machine is shared):

* **full check**: every one of the 23,860 parameters of a 784-30-10 tanh
  ``nn.Module`` (float32, as people build it) under cross-entropy on 100 real
  MNIST rows. Ours: ``check_gradients(module, X, y, max_coords=None)`` (float64
  copy, vmap-batched central differences, ``nn.Linear`` output changes). The
  peer: ``gradcheck`` (default mode) of the same loss as a function of float64
  copies of the four parameters (``torch.func.functional_call``), which is how
  parameters are checked with it: one pair of forward passes per entry.
* **failing check**: the same module with a planted bug in a custom
  ``autograd.Function`` (the hidden tanh's backward returns ``g tanh(z)``
  instead of ``g (1 - tanh(z)^2)``). Ours localises it (tensor, coordinate,
  hint) with the default sample of 200 entries per tensor; the peer is
  ``gradcheck(fast_mode=True)``, which on failure recomputes the slow-mode
  Jacobians for its message (and names no coordinate).
* **float32 without false alarms**: whether each side passes the correct
  float32 module (ours checks a float64 copy; the peer checks what it is given).

``python bench/bench_torch_gradcheck.py [--small]`` prints the rows; without
torch every row says so. ``python -m bench --only torch_gradcheck`` runs it
with the others' conventions.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import limited_threads, optional_torch, row  # noqa: E402
from bench.bench_gradcheck import load_batch  # noqa: E402
from netdoctor.gradients import check_gradients  # noqa: E402

__all__ = ["run", "build"]


def build(torch, sizes, *, broken: bool = False, seed: int = 0):
    """A tanh MLP module; ``broken`` routes the hidden tanh through a Function with a wrong backward."""
    nn = torch.nn

    class BadTanh(torch.autograd.Function):
        @staticmethod
        def forward(ctx, z):
            ctx.save_for_backward(z)
            return torch.tanh(z)

        @staticmethod
        def backward(ctx, g):
            (z,) = ctx.saved_tensors
            return g * torch.tanh(z)  # the planted bug: tanh(z) for 1 - tanh(z)^2

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(sizes[0], sizes[1]), nn.Linear(sizes[1], sizes[2])

        def forward(self, x):
            z = self.fc1(x)
            return self.fc2(BadTanh.apply(z) if broken else torch.tanh(z))

    torch.manual_seed(seed)
    return Net()


def _peer_function(torch, module, X, y):
    """The same mean cross-entropy as a function of float64 copies of the parameters (gradcheck's inputs)."""
    m64 = type(module)()
    m64.load_state_dict(module.state_dict())
    m64 = m64.double()
    names = [n for n, _ in m64.named_parameters()]
    Xt, yt = torch.tensor(X, dtype=torch.float64), torch.tensor(y)

    def f(*params):
        out = torch.func.functional_call(m64, dict(zip(names, params)), (Xt,))
        return torch.nn.functional.cross_entropy(out, yt)

    return f, tuple(p.detach().clone().requires_grad_(True) for p in m64.parameters())


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run(small: bool = False) -> list[dict]:
    """Time both sides and return benchmark rows (see :mod:`bench`)."""
    torch = optional_torch()
    sizes = (20, 8, 4) if small else (784, 30, 10)
    n = 10 if small else 100
    repeats = 1 if small else 3
    arch = "-".join(map(str, sizes))
    if torch is None:
        why = "PyTorch is not installed (pip install 'netdoctor[torch]'): nothing to compare."
        return [row(f"torch gradient check {arch}", "torch.autograd.gradcheck", note=why)]
    X, y, source = load_batch(n, sizes[0])
    X, y = X.astype("float32"), y % sizes[-1]
    good, bad = build(torch, sizes), build(torch, sizes, broken=True)
    n_params = sum(p.numel() for p in good.parameters())
    gc = torch.autograd.gradcheck
    peer_name = f"torch.autograd.gradcheck (PyTorch {torch.__version__.split('+')[0]}, 1 thread)"
    rows: list[dict] = []
    with limited_threads(1):
        f, params = _peer_function(torch, good, X, y)
        fb, params_b = _peer_function(torch, bad, X, y)
        check_gradients(good, X[:4], y[:4])  # warm up vmap and the import of the torch path
        jobs = {
            "full": lambda: check_gradients(good, X, y, max_coords=None),
            "peer_full": lambda: gc(f, params, raise_exception=False),
            "bug": lambda: check_gradients(bad, X, y),
            "bug_full": lambda: check_gradients(bad, X, y, max_coords=None),
            "peer_bug_fast": lambda: _peer_fails(gc, fb, params_b),
        }
        times: dict[str, list[float]] = {k: [] for k in jobs}
        outs: dict[str, object] = {}
        for r in range(repeats):  # interleaved, alternating who goes first: load changes hit both sides
            order = list(jobs) if r % 2 == 0 else list(reversed(jobs))
            for k in order:
                t, outs[k] = _timed(jobs[k])
                times[k].append(t)
        med = {k: statistics.median(v) for k, v in times.items()}
        f32_peer = _peer_float32_ok(torch, gc, good, X, y)
    full, bug, bug_full = outs["full"], outs["bug"], outs["bug_full"]
    peer_ok, (peer_caught, peer_msg) = outs["peer_full"], outs["peer_bug_fast"]
    ratio = med["peer_full"] / med["full"]
    rows.append(row(
        f"full per-coordinate check of a {arch} nn.Module, cross-entropy, {n} {source} ({n_params:,} parameters)",
        peer_name + " default mode, same loss in float64", ">= 10x faster", ours=med["full"], peer=med["peer_full"],
        ratio=ratio, unit="s", met=(ratio >= 10) if not small else None,
        note=(f"ours ok={full.ok}, {full.n_checked:,} entries, worst rel_error {full.worst_rel_error:.1e}, path "
              f"{full.context.get('path')}; peer ok={peer_ok}."),
    ))
    where = bug.findings[0].where if bug.findings else "nothing"
    ratio_b = med["peer_bug_fast"] / med["bug"]
    rows.append(row(
        f"failing check: planted wrong backward in a custom autograd.Function ({arch}), localised",
        peer_name + " fast_mode=True, until it fails", "faster than the peer fails", ours=med["bug"],
        peer=med["peer_bug_fast"], ratio=ratio_b, unit="s", met=(ratio_b > 1) if not small else None,
        note=(f"ours (200 entries per tensor) names {where}: {bug.failed[0].hint if bug.failed else ''}; every "
              f"entry: {med['bug_full']:.2f} s ({bug_full.n_checked:,} entries, "
              f"{sum(t.n_failed for t in bug_full.tensors):,} failing). Peer caught={peer_caught}: {peer_msg}"),
    ))
    rows.append(row(
        f"correct float32 {arch} module passes (no false alarm)", peer_name + " on float32 inputs", "ours passes",
        ours=bool(full.ok), peer=f32_peer, unit="bool", met=bool(full.ok),
        note="ours checks a float64 copy and says so in its notes; gradcheck judges float32 finite differences "
             "with float64 tolerances.",
    ))
    return rows


def _peer_fails(gc, f, params) -> tuple[bool, str]:
    try:
        ok = gc(f, params, fast_mode=True)
    except Exception as exc:  # gradcheck raises GradcheckError on a mismatch
        return True, str(exc).strip().splitlines()[0][:120]
    return not ok, "passed"


def _peer_float32_ok(torch, gc, module, X, y) -> bool:
    names = [n for n, _ in module.named_parameters()]
    Xt, yt = torch.tensor(X[:10]), torch.tensor(y[:10])

    def f(*params):
        return torch.nn.functional.cross_entropy(torch.func.functional_call(module, dict(zip(names, params)), (Xt,)), yt)

    params = tuple(p.detach().clone().requires_grad_(True) for p in module.parameters())
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # gradcheck warns that float32 inputs are not double precision
            return bool(gc(f, params, fast_mode=True, raise_exception=False))
    except Exception:  # noqa: BLE001
        return False


if __name__ == "__main__":
    for r in run(small="--small" in sys.argv):
        print(f"{r['what']}: ours {r['ours']}, peer {r['peer']}, ratio {r['ratio']}, met {r['met']}\n    {r['note']}")
