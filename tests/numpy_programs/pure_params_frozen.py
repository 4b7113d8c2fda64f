"""pure_params.py with the step's result dropped: step() builds the new tuple and returns the old one.

Parameters as a tuple passed through pure functions: loss_and_grads(params, x, t) returns a tuple of gradients
and step(params, grads, lr) returns a new tuple (params = step(params, grads, lr)); nothing is changed in place.
"""
import numpy as np

rng = np.random.default_rng(25)
C, D, N = 3, 8, 900
centers = rng.normal(0, 1.5, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1.0, (N, D))
T = np.eye(C)[labels]


def init(rng, sizes):
    out = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        out += [rng.normal(0, 1, (n_in, n_out)) / np.sqrt(n_in), np.zeros(n_out)]
    return tuple(out)


def apply(params, x):
    W1, b1, W2, b2 = params
    h = 1 / (1 + np.exp(-(x @ W1 + b1)))
    return h, h @ W2 + b2


def loss_and_grads(params, x, t):
    W1, b1, W2, b2 = params
    h, out = apply(params, x)
    d = 2 * (out - t) / len(x)
    dh = d @ W2.T * h * (1 - h)
    return np.mean(np.sum((out - t) ** 2, axis=1)), (x.T @ dh, dh.sum(0), h.T @ d, d.sum(0))


def step(params, grads, lr):
    new = tuple(p - lr * g for p, g in zip(params, grads))  # BUG: frozen-parameters
    return params  # BUG: frozen-parameters


def main():
    params = init(np.random.default_rng(0), [D, 12, C])
    for epoch in range(10):
        order = rng.permutation(800)
        for s in range(0, 800, 20):
            idx = order[s:s + 20]
            loss, grads = loss_and_grads(params, X[idx], T[idx])
            params = step(params, grads, 0.5)
        acc = np.mean(apply(params, X[800:])[1].argmax(1) == labels[800:])
        print(f"epoch {epoch}: loss {loss:.3f} accuracy {acc:.3f}")


main()
