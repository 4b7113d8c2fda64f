"""Parameters as a nested dict, in the style of JAX tutorials written in NumPy: ``params = {"dense0": {"w": ..., "b":
...}, ...}``, a pure ``loss_and_grads(params, x, y)`` returning the loss, a gradient tree of the same shape and the
logits, and a ``tree_map`` that rebuilds the whole tree at every step (``params = tree_map(lambda p, g: p - lr * g,
params, grads)``: no array is ever written in place). ReLU, log-softmax cross-entropy, integer labels, He
initialisation, mini-batches of 32 drawn from a permutation. Synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(11)
C, D, N = 5, 40, 1600
centers = rng.normal(0, 1, (C, D))
y_all = rng.integers(0, C, N)
x_all = centers[y_all] + rng.normal(0, 1, (N, D))


def tree_map(f, *trees):
    if isinstance(trees[0], dict):
        return {k: tree_map(f, *[t[k] for t in trees]) for k in trees[0]}
    return f(*trees)


def init(seed, sizes):
    r = np.random.default_rng(seed)
    return {f"dense{i}": {"w": r.normal(0, np.sqrt(2 / m), (m, n)), "b": np.zeros(n)}
            for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:]))}


def log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def loss_and_grads(params, x, y):
    names = sorted(params)
    acts, h = [x], x
    for name in names[:-1]:
        h = np.maximum(h @ params[name]["w"] + params[name]["b"], 0)
        acts.append(h)
    logits = h @ params[names[-1]]["w"] + params[names[-1]]["b"]
    lp = log_softmax(logits)
    rows = np.arange(len(y))
    loss = -lp[rows, y].mean()
    d = np.exp(lp)
    d[rows, y] -= 1
    d /= len(y)
    grads = {}
    for i in range(len(names) - 1, -1, -1):
        grads[names[i]] = {"w": acts[i].T @ d, "b": d.sum(0)}
        if i:
            d = (d @ params[names[i]]["w"].T) * (acts[i] > 0)
    return loss, grads, logits


def main(epochs=3, lr=0.1, bs=32):
    labels = y_all
    x_train, y_train = x_all[:1280], labels[:1280]
    x_test, y_test = x_all[1280:], labels[1280:]
    params = init(0, [D, 32, 16, C])
    order = np.random.default_rng(1)
    for epoch in range(epochs):
        perm = order.permutation(len(x_train))
        for s in range(0, len(x_train), bs):
            idx = perm[s:s + bs]
            loss, grads, _ = loss_and_grads(params, x_train[idx], y_train[idx])
            params = tree_map(lambda p, g: p - lr * g, params, grads)
        _, _, logits = loss_and_grads(params, x_test, y_test)
        print(f"epoch {epoch}: loss {loss:.3f}, test accuracy {(logits.argmax(1) == y_test).mean():.3f}")


main()
