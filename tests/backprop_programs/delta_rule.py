"""A per-sample "delta rule" script: the backward returns the error as t - out (the gradient's negative), the
training function sums it over a mini-batch in a local and *adds* it (W += lr * g); the forward keeps its
output on a global cache object and returns nothing; soft targets (0.91 / 0.01) under a softmax output.
usage: delta_rule.py [VARIANT]

VARIANT: "" (healthy), ascent (the summed t - out subtracted: every step climbs the loss).
"""
import sys

import numpy as np

VARIANT = sys.argv[1] if len(sys.argv) > 1 else ""
rng = np.random.default_rng(7)
data = rng.normal(size=(300, 12))
labels = (data @ rng.normal(size=(12, 5))).argmax(axis=1)
W1 = rng.normal(size=(12, 16)) * 0.3
W2 = rng.normal(size=(16, 5)) * 0.3


class Cache:
    pass


cache = Cache()


def forward(x):
    cache.h = np.tanh(x @ W1)
    z = cache.h @ W2
    e = np.exp(z - z.max())
    cache.p = e / e.sum()


def soft_target(label):
    t = np.full(5, 0.01)
    t[label] = 0.96
    return t


def errors(x, t):
    """The per-sample 'gradients' as the delta rule writes them: of minus the cross-entropy."""
    d2 = t - cache.p
    d1 = (W2 @ d2) * (1 - cache.h ** 2)
    return np.outer(x, d1), np.outer(cache.h, d2)


def train(lr=0.05, batch=10):
    global W1, W2
    for epoch in range(4):
        for start in range(0, len(data), batch):
            g1, g2 = np.zeros_like(W1), np.zeros_like(W2)
            for i in range(start, start + batch):
                forward(data[i])
                e1, e2 = errors(data[i], soft_target(labels[i]))
                g1 += e1
                g2 += e2
            if VARIANT == "ascent":
                W1 -= lr * g1  # BUG: gradient-mismatch (t - out subtracted: gradient ascent)
                W2 -= lr * g2
            else:
                W1 += lr * g1
                W2 += lr * g2
        hits = 0
        for i in range(len(data)):
            forward(data[i])
            hits += int(cache.p.argmax() == labels[i])
        print(f"epoch {epoch + 1}: accuracy {hits / len(data):.3f}")


train()
