"""What ``netdoctor run`` costs a PyTorch training loop: the same steps with and without the observer.

The loop is the one the target is stated for: a 784-512-512-10 relu MLP,
batch 128, ``optim.SGD`` (lr 0.01), ``nn.CrossEntropyLoss``, ``zero_grad`` /
``backward`` / ``step``, on MNIST rows (``mnist_5k`` when present, else the
bundled sample). Both sides get the same initial weights and batches; the
observed sides run inside :class:`netdoctor.observe.session.Observation`,
as ``netdoctor run`` installs backends, in two configurations (one row
each): the PyTorch observer alone (global module and optimizer hooks, loss
wrappers, statistics on sampled steps: the target is about this one), and
every backend that applies to the file, as ``netdoctor run`` does today
(the NumPy observer's call tracer too, a ``sys.settrace`` function that
slows all Python code a little while it is set). Runs rotate (plain, torch,
all; torch, all, plain; ...), one torch thread, process CPU time, medians of
the repeats. ``ratio`` is plain / observed (bigger is better; 1.0 = free);
the target is observation <= 10% of a step, i.e. ratio >= 1/1.1.
The losses of both sides are compared too: observation must not change them.

The rows give CPU and wall ratios, how many optimizer steps the report
header says were observed (and measured in depth), and the load average.

``python bench/bench_torch_run.py [--small] [--repeat N]`` prints these rows,
then the whole-run rows of PyTorch programs from
:mod:`bench.bench_observe` (``import torch``, a custom ``Dataset``, a
project whose entry script never imports torch), each plainly and under
``netdoctor run``, alternating: every PyTorch figure of the run-overhead
suite from one command.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import Background, optional_torch, row, shared_data  # noqa: E402

__all__ = ["run"]

def _data(torch, n: int):
    import numpy as np

    path = shared_data("mnist_5k.csv.gz")
    if not path.exists():
        path = ROOT / "netdoctor" / "data" / "mnist_sample.csv.gz"
    rows = np.loadtxt(path, delimiter=",", dtype=np.float32)
    rows = rows[np.random.default_rng(0).permutation(len(rows))][:n]  # the file is not in random order
    return torch.from_numpy(rows[:, 1:] / 255.0), torch.from_numpy(rows[:, 0]).long(), path.name


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _train(torch, X, y, steps: int, batch: int, observed: list[str] | None | bool) -> tuple[tuple[float, float], list[float], dict]:
    """(CPU, wall) seconds of ``steps`` training steps, the losses, and the observer's context.

    ``observed``: False for the plain loop, None for every backend that applies, or a list of backend names.
    """
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    obs = None
    if observed is not False:
        from netdoctor.observe.options import ObserveOptions
        from netdoctor.observe.session import Observation

        obs = Observation(ObserveOptions(script=__file__), script=__file__, source=Path(__file__).read_text(), backends=observed)
        obs.start()
    losses = []
    n = len(X)
    try:
        t0, w0 = time.process_time(), time.perf_counter()
        for s in range(steps):
            i = (s * batch) % (n - batch)
            opt.zero_grad()
            loss = loss_fn(model(X[i:i + batch]), y[i:i + batch])
            loss.backward()
            opt.step()
            losses.append(loss.item())
        t = (time.process_time() - t0, time.perf_counter() - w0)
    finally:
        if obs is not None:
            obs.stop()
    ctx: dict = {}
    if obs is not None:
        ctx = dict(obs.report.context)
        ctx["codes"] = obs.report.codes()
        ctx["backends"] = [b.name for b in obs.backends]
    return t, losses, ctx


def run(small: bool = False) -> list[dict]:
    torch = optional_torch()
    configs = (("torch", ["torch"], "the PyTorch observer"), ("all", None, "netdoctor run as today (every backend that applies)"))
    whats = {k: f"{label} on a PyTorch loop: 784-512-512-10 relu MLP, batch 128, SGD" for k, _, label in configs}
    target = ">= 1/1.1 (observation <= 10% of a step)"
    if torch is None:
        return [row(whats[k], "the same loop without observation", target,
                    note="skipped: torch is not installed (pip install 'netdoctor[torch]')") for k, _, _ in configs]
    steps, repeats = (40, 2) if small else (300, 7)
    X, y, source = _data(torch, 2000 if small else 5000)
    old_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    times: dict[str, list[tuple[float, float]]] = {"plain": [], "torch": [], "all": []}
    same = {"torch": True, "all": True}
    ctx: dict[str, dict] = {}
    sides = [("plain", False), *((k, b) for k, b, _ in configs)]
    try:
        _train(torch, X, y, 10, 128, False)  # warm-up
        with Background() as bg:
            for r in range(repeats):
                losses = {}
                for k, backends in sides[r % 3:] + sides[:r % 3]:  # rotate who goes first
                    t, ls, c = _train(torch, X, y, steps, 128, backends)
                    times[k].append(t)
                    losses[k] = ls
                    if k != "plain":
                        ctx[k] = c
                for k in same:
                    same[k] = same[k] and losses[k] == losses["plain"]
    finally:
        torch.set_num_threads(old_threads)
    plain = statistics.median(t for t, _ in times["plain"])
    plain_wall = statistics.median(w for _, w in times["plain"])
    rows = []
    for k, _, _ in configs:
        obs, c = statistics.median(t for t, _ in times[k]), ctx[k]
        wall = statistics.median(w for _, w in times[k])
        ratio = plain / obs
        share = f"{c.get('observer_share'):.1%}" if isinstance(c.get("observer_share"), float) else "?"
        stood = next((n for n in c.get("notes", []) if "stood down" in n), "")
        note = (f"{steps} steps x {repeats} repeats, rotated, medians, 1 torch thread, data {source}; "
                f"per step {1000 * plain / steps:.2f} ms CPU plain, {1000 * obs / steps:.2f} ms observed "
                f"({100 * (obs / plain - 1):+.1f}%; wall {wall / plain_wall:.3f}x); observed {c.get('optimizer_steps')} of "
                f"{steps} optimizer steps, {c.get('sampled_steps')} of them measured in depth; backends installed: "
                f"{', '.join(c.get('backends') or [])}; {'the NumPy observer stood down at the first step; ' if 'first PyTorch' in stood else ''}"
                f"the PyTorch observer's own timing of its sampled work: {share} of the training time; losses identical "
                f"with and without: {same[k]}; findings on this healthy loop: {c.get('codes') or 'none'}; load average "
                f"{_load()}, other processes used {'?' if bg.share is None else f'{100 * bg.share:.0f}%'} of the CPUs")
        rows.append(row(whats[k], "the same loop without observation", target, ours=obs / steps, peer=plain / steps, ratio=ratio,
                        unit="s/step", met=None if small else (ratio >= 1 / 1.1 and same[k]), note=note))
    return rows


def main(argv: list[str] | None = None) -> int:
    """Print the per-step rows, then the whole-run rows of the PyTorch programs of :mod:`bench.bench_observe`."""
    import argparse

    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--small", action="store_true", help="a quick check: 40 steps x 2 repeats, one repeat of each program")
    ap.add_argument("--repeat", type=int, default=3, help="repeats of each whole program, alternating (default 3)")
    args = ap.parse_args(argv)
    print(f"load average {_load()} (1/5/15 min) on {os.cpu_count()} cores")
    for r in run(small=args.small):
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.3f}"
        print(f"{r['what']}\n  plain/observed CPU per step {ratio}, met {r['met']}: {r['note']}", flush=True)
    if optional_torch() is None:
        return 0
    from bench import bench_observe

    print("\nwhole programs, plain against `netdoctor run`:")
    return bench_observe.main(["--only", "torch", "--repeat", str(1 if args.small else args.repeat)])


if __name__ == "__main__":
    raise SystemExit(main())
