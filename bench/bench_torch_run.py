"""What ``netdoctor run`` costs a PyTorch training loop: the same steps with and without the observer.

The loop is the one the target is stated for: a 784-512-512-10 relu MLP,
batch 128, ``optim.SGD`` (lr 0.01), ``nn.CrossEntropyLoss``, ``zero_grad`` /
``backward`` / ``step``, on MNIST rows (``mnist_5k`` when present, else the
bundled sample). Both sides get the same initial weights and batches; the
observed side runs with :class:`netdoctor.observe.torch_backend.TorchBackend`
installed (global module and optimizer hooks, loss wrappers, statistics on
sampled steps), as ``netdoctor run`` installs it. Runs alternate (plain,
observed, observed, plain, ...), one torch thread, process CPU time, medians
of the repeats. ``ratio`` is plain / observed (bigger is better; 1.0 =
free); the target is observation <= 10% of a step, i.e. ratio >= 1/1.1.
The losses of both sides are compared too: observation must not change them.

``python bench/bench_torch_run.py [--small]`` prints the rows.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import Background, optional_torch, row  # noqa: E402

__all__ = ["run"]

SHARED = Path("/work/shared/data")


def _data(torch, n: int):
    import numpy as np

    path = SHARED / "mnist_5k.csv.gz"
    if not path.exists():
        path = ROOT / "netdoctor" / "data" / "mnist_sample.csv.gz"
    rows = np.loadtxt(path, delimiter=",", dtype=np.float32)
    rows = rows[np.random.default_rng(0).permutation(len(rows))][:n]  # the file is not in random order
    return torch.from_numpy(rows[:, 1:] / 255.0), torch.from_numpy(rows[:, 0]).long(), path.name


def _train(torch, X, y, steps: int, batch: int, observed: bool) -> tuple[float, list[float], dict]:
    """CPU seconds of ``steps`` training steps, the losses, and the observer's context."""
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    backend = None
    if observed:
        from netdoctor.observe.torch_backend import TorchBackend

        backend = TorchBackend(__file__)
        backend.install()
    losses = []
    n = len(X)
    try:
        t0 = time.process_time()
        for s in range(steps):
            i = (s * batch) % (n - batch)
            opt.zero_grad()
            loss = loss_fn(model(X[i:i + batch]), y[i:i + batch])
            loss.backward()
            opt.step()
            losses.append(loss.item())
        t = time.process_time() - t0
    finally:
        if backend is not None:
            backend.uninstall()
    ctx = backend.context() if backend is not None else {}
    if backend is not None:
        ctx["codes"] = [f.code for f in backend.findings()]
    return t, losses, ctx


def run(small: bool = False) -> list[dict]:
    torch = optional_torch()
    what = "netdoctor run on a PyTorch loop: 784-512-512-10 relu MLP, batch 128, SGD"
    if torch is None:
        return [row(what, "the same loop without observation", ">= 1/1.1 (observation <= 10% of a step)",
                    note="skipped: torch is not installed (pip install 'netdoctor[torch]')")]
    steps, repeats = (40, 2) if small else (300, 5)
    X, y, source = _data(torch, 2000 if small else 5000)
    old_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    plain_t, obs_t = [], []
    same = True
    ctx: dict = {}
    try:
        _train(torch, X, y, 10, 128, False)  # warm-up
        with Background() as bg:
            for r in range(repeats):
                order = (False, True) if r % 2 == 0 else (True, False)
                losses = {}
                for observed in order:
                    t, ls, c = _train(torch, X, y, steps, 128, observed)
                    (obs_t if observed else plain_t).append(t)
                    losses[observed] = ls
                    if observed:
                        ctx = c
                same = same and losses[True] == losses[False]
    finally:
        torch.set_num_threads(old_threads)
    plain, obs = statistics.median(plain_t), statistics.median(obs_t)
    ratio = plain / obs
    share = f"{ctx.get('observer_share'):.1%}" if isinstance(ctx.get("observer_share"), float) else "?"
    note = (f"{steps} steps x {repeats} repeats, interleaved, process CPU time, 1 torch thread, data {source}; "
            f"per step {1000 * plain / steps:.2f} ms plain, {1000 * obs / steps:.2f} ms observed "
            f"({100 * (obs / plain - 1):+.1f}%); {ctx.get('sampled_steps')} of {ctx.get('optimizer_steps')} steps sampled, "
            f"the observer's own timing of its sampled work: {share} of the training time; losses identical with and without: {same}; "
            f"findings on this healthy loop: {ctx.get('codes') or 'none'}; other processes used "
            f"{'?' if bg.share is None else f'{100 * bg.share:.0f}%'} of the CPUs")
    return [row(what, "the same loop without observation", ">= 1/1.1 (observation <= 10% of a step)",
                ours=obs / steps, peer=plain / steps, ratio=ratio, unit="s/step", met=None if small else (ratio >= 1 / 1.1 and same),
                note=note)]


if __name__ == "__main__":
    for r in run(small="--small" in sys.argv):
        print(r)
