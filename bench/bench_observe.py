"""What ``netdoctor run`` costs: plain ``python script.py`` against ``netdoctor run script.py``, side by side.

Two programs of the user-script corpus, each run as a subprocess from the
repository root, alternating plain and observed runs so that both see the
same machine load:

* per-sample: ``examples/stalling_mnist/mnist_network_fixed.py`` (a Python
  loop over samples, column vectors, buffers applied every 100 samples), on
  the bundled sample, one epoch (target: observed <= 2x plain);
* batched: ``tests/user_scripts/row_dict.py`` (row-major mini-batches of 32,
  parameters in a dict) (target: observed <= 1.2x plain).

Wall time includes the interpreter start, the imports and reading the data,
as a user sees it. The ratio of the fastest of ``--repeat`` runs is printed
with the load average before and after. One BLAS thread, as on a shared
machine.

    python bench/bench_observe.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = "netdoctor/data/mnist_sample.csv.gz"
CASES = [
    ("per-sample loop", ["examples/stalling_mnist/mnist_network_fixed.py", "--train", SAMPLE, "--test", SAMPLE, "--epochs", "1"], 2.0),
    ("batched", ["tests/user_scripts/row_dict.py"], 1.2),
]


def _wall(argv: list[str]) -> float:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", NO_COLOR="1")
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    elapsed = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed with {proc.returncode}:\n{proc.stderr[-2000:]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    print(f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'program':18s} {'plain s':>8s} {'run s':>8s} {'ratio':>6s} {'target':>6s}")
    for name, script, target in CASES:
        plain, observed = [], []
        for _ in range(args.repeat):
            plain.append(_wall([sys.executable, *script]))
            observed.append(_wall([sys.executable, "-m", "netdoctor.cli", "run", "--json", os.devnull, *script]))
        ratio = min(observed) / min(plain)
        print(f"{name:18s} {min(plain):8.2f} {min(observed):8.2f} {ratio:6.2f} {target:6.1f}")
    print(f"load average after:  {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
