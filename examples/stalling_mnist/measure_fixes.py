"""What each fix does to the stalling network's test accuracy, measured.

mnist_network.py has four bugs. Each fix below is a literal edit of its source
(the same edits turn it into mnist_network_fixed.py). This script applies every
subset of the fixes, trains each variant exactly as ``mnist_network.py``'s own
``main()`` does (same seed, same calls, same data), and prints a Markdown table
of the test accuracy per epoch and the digit the network predicts most often.

    python examples/stalling_mnist/measure_fixes.py                # 16 variants, seed 0
    python examples/stalling_mnist/measure_fixes.py --seeds 0 1 2 --epochs 3
    python examples/stalling_mnist/measure_fixes.py --write label,mean variant.py
                                                                   # the program with those fixes

Reading the CSV files is the slow part of each variant, so ``np.loadtxt`` is
answered from a cache (a fresh copy of the same array every time): the
variants see exactly the data they would read themselves.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "mnist_network.py")

FIXES: dict[str, list[tuple[str, str]]] = {
    # 1. the label went through the pixel scaling: label/255 < 1, int() of it is 0, every target is digit 0's
    "label": [(
        """            row = list(row / 255)                  # pixels from 0..255 to 0..1
            label = row.pop(0)
            input = np.array(row).reshape(len(row), 1)""",
        """            label = row[0]
            input = (row[1:] / 255).reshape(-1, 1)  # pixels from 0..255 to 0..1, the label stays""",
    )],
    # 2. "resetting" by assigning the zero templates re-binds the names to the arrays that hold the old sums
    "reset": [(
        """        noWeightChange = [np.zeros(w.shape) for w in self.weights]
        noBiasChange = [np.zeros(b.shape) for b in self.biases]
        self.weight_updates = noWeightChange
        self.bias_updates = noBiasChange
""",
        """        self.weight_updates = [np.zeros(w.shape) for w in self.weights]
        self.bias_updates = [np.zeros(b.shape) for b in self.biases]
""",
    ), (
        """                # start the next batch from zero
                self.weight_updates = noWeightChange
                self.bias_updates = noBiasChange""",
        """                # start the next batch from new zeros
                self.weight_updates = [np.zeros(w.shape) for w in self.weights]
                self.bias_updates = [np.zeros(b.shape) for b in self.biases]""",
    )],
    # 3. the batch gradient is the sum of 100 per-sample gradients: a step 100 x lr
    "mean": [(
        """                    self.weights[i] -= learnRate * self.weight_updates[i]
                    self.biases[i] -= learnRate * self.bias_updates[i]""",
        """                    # the mean gradient of the batch, not the sum
                    self.weights[i] -= learnRate / batchSize * self.weight_updates[i]
                    self.biases[i] -= learnRate / batchSize * self.bias_updates[i]""",
    )],
    # 4. N(0, 1) weights: w @ x has std ~8 on MNIST pixels, every tanh unit starts saturated
    "init": [(
        """            self.weights.append(np.random.randn(layerSizes[i], layerSizes[i - 1]))
            self.biases.append(np.random.randn(layerSizes[i], 1))""",
        """            # std 1/sqrt(fan_in) keeps w @ x of order 1: tanh starts in its linear range
            self.weights.append(np.random.randn(layerSizes[i], layerSizes[i - 1]) / np.sqrt(layerSizes[i - 1]))
            self.biases.append(np.zeros((layerSizes[i], 1)))""",
    )],
}
LABELS = {"label": "label not scaled", "reset": "buffers really reset", "mean": "gradient averaged",
          "init": "Xavier-style init"}
"""What each fix does, as the table says it."""
BUGS = {"label": "label scaled", "reset": "aliased reset", "mean": "summed gradient", "init": "N(0, 1) init"}
"""The bug each fix removes."""


def patched_source(fixes: tuple[str, ...] | list[str], source: str | None = None) -> str:
    """mnist_network.py with the named fixes applied (each edit must match exactly once)."""
    if source is None:
        with open(SOURCE, encoding="utf-8") as f:
            source = f.read()
    text = source
    for name in fixes:
        for old, new in FIXES[name]:
            if text.count(old) != 1:
                raise SystemExit(f"{SOURCE}: fix {name!r} expects this text exactly once, found {text.count(old)}:\n{old}")
            text = text.replace(old, new)
    return text


class _CachedLoadtxt:
    """numpy with ``loadtxt`` answered from a cache (a fresh copy each call)."""

    def __init__(self):
        self._cache: dict = {}

    def __getattr__(self, name):
        return getattr(np, name)

    def loadtxt(self, path, **kwargs):
        key = (os.path.abspath(path), tuple(sorted(kwargs.items())))
        if key not in self._cache:
            self._cache[key] = np.loadtxt(path, **kwargs)
        return self._cache[key].copy()


def run_variant(fixes, *, train, test, epochs, seed, lr=0.1, limit=None, numpy=None):
    """Train one variant as its main() would.

    Returns:
        ([(correct, most common answer, its share, share of images whose top outputs tie), ...] per epoch,
         number of test images)
    """
    namespace = {"__name__": "variant_" + "_".join(fixes or ["none"]), "__file__": SOURCE}
    exec(compile(patched_source(fixes), SOURCE, "exec"), namespace)
    if numpy is not None:
        namespace["np"] = numpy
    np.random.seed(seed)
    net = namespace["Network"]([784, 30, 10])
    testData = namespace["np"].loadtxt(test, delimiter=",")
    columns = testData[:, 1:].T / 255
    results = []
    for _ in range(epochs):
        net.train(train, lr, limit=limit)
        correct = net.evaluate(testData)
        # the same per-image argmax as evaluate(), done for all columns at once to count the answers
        outputs = net.feedforward(columns)
        answers = np.argmax(outputs, axis=0)
        counts = np.bincount(answers, minlength=10)
        # a tie at the maximum (saturated outputs all exactly -1.0, say) makes argmax answer the first index, 0
        tied = np.mean((outputs == outputs.max(axis=0)).sum(axis=0) > 1)
        results.append((correct, int(counts.argmax()), float(counts.max() / len(answers)), float(tied)))
    return results, len(testData)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", default="/work/shared/data/mnist_5k.csv.gz")
    parser.add_argument("--test", default="/work/shared/data/mnist_test.csv.gz")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--only", default=None, help="comma-separated fixes: measure this one variant")
    parser.add_argument("--write", nargs=2, metavar=("FIXES", "FILE"),
                        help="write mnist_network.py with FIXES (comma-separated, or 'none') applied to FILE and stop")
    args = parser.parse_args(argv)

    if args.write:
        names = [] if args.write[0] == "none" else args.write[0].split(",")
        with open(args.write[1], "w", encoding="utf-8") as f:
            f.write(patched_source(names))
        return 0

    if args.only is not None:
        variants = [tuple(n for n in args.only.split(",") if n and n != "none")]
    else:
        variants = [combo for k in range(len(FIXES) + 1) for combo in itertools.combinations(FIXES, k)]
    cached = _CachedLoadtxt()
    first, others = args.seeds[0], args.seeds[1:]
    print(f"train {args.train}, test {args.test}, {args.epochs} epochs, lr 0.1, batch 100")
    print()
    head = " | ".join(f"epoch {e}" for e in range(1, args.epochs + 1))
    more = f" epoch {args.epochs}, seed {' / '.join(map(str, others))} |" if others else ""
    print(f"| fixes applied | bugs left | seed {first}: {head} | most common answer (share, tied maxima) |{more}")
    print("|---|---|" + "---:|" * args.epochs + "---|" + ("---:|" if others else ""))
    start = time.perf_counter()
    for combo in variants:
        row = []
        for seed in args.seeds:
            results, n = run_variant(combo, train=args.train, test=args.test, epochs=args.epochs, seed=seed,
                                     numpy=cached)
            row.append((results, n))
        (results, n), rest = row[0], row[1:]
        accs = " | ".join(f"{100 * r[0] / n:.2f}%" for r in results)
        _, digit, share, tied = results[-1]
        fixed = "all four" if len(combo) == len(FIXES) else " + ".join(LABELS[c] for c in combo) or "none (the program as written)"
        left = ", ".join(BUGS[c] for c in FIXES if c not in combo) or "none"
        tail = " " + " / ".join(f"{100 * r[-1][0] / m:.2f}%" for r, m in rest) + " |" if rest else ""
        print(f"| {fixed} | {left} | {accs} | {digit} ({share:.1%}){f', {tied:.1%} tied' if tied else ''} |{tail}", flush=True)
    sys.stderr.write(f"{time.perf_counter() - start:.0f} s\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
