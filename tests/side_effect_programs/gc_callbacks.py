"""A program that listens to the garbage collector: ``gc.callbacks`` gets a function of the program's, called at every
collection wherever the program (or anyone in its process) happens to allocate, and a weakref finalizer on each
epoch's scratch object. The collector may run while netdoctor is between two of its own steps, the user's callback
then runs in the middle of netdoctor's work. What the callback records is printed as a yes/no only (how many
collections run depends on every allocation in the process). Healthy: module-level code, per-sample updates, a tanh
layer and a softmax.
"""
import gc
import weakref

import numpy as np

phases = {"start": 0, "stop": 0}
finalized = []


def on_collect(phase, info):
    phases[phase] += 1
    _ = [info.get("generation", 0)] * 3  # the callback allocates and calls Python code


gc.callbacks.append(on_collect)

rng = np.random.default_rng(3)
C, D, H = 3, 8, 12
centers = rng.normal(0, 1.5, (C, D))
y = rng.integers(0, C, 600)
X = centers[y] + rng.normal(0, 0.7, (600, D))
W1 = rng.normal(0, 1, (D, H)) / np.sqrt(D)
b1 = np.zeros(H)
W2 = rng.normal(0, 1, (H, C)) / np.sqrt(H)
b2 = np.zeros(C)


class Scratch:
    pass


for epoch in range(4):
    scratch = Scratch()
    scratch.cycle = scratch  # garbage only the collector frees
    weakref.finalize(scratch, finalized.append, epoch)
    del scratch
    for i in rng.permutation(500):
        x, t = X[i], y[i]
        h = np.tanh(x @ W1 + b1)
        z = h @ W2 + b2
        p = np.exp(z - z.max())
        p /= p.sum()
        e = p.copy()
        e[t] -= 1.0
        dh = (W2 @ e) * (1.0 - h ** 2)
        W2 -= 0.05 * np.outer(h, e)
        b2 -= 0.05 * e
        W1 -= 0.05 * np.outer(x, dh)
        b1 -= 0.05 * dh
        junk = [[k] for k in range(50)]  # keeps the collector busy
    gc.collect()
    h = np.tanh(X[500:] @ W1 + b1)
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(h @ W2 + b2, axis=1) == y[500:]):.3f}")
print("collections seen:", phases["start"] > 0 and phases["start"] == phases["stop"], "finalized:", finalized)
