"""copied_zeros_module.py with each batch's buffers a shallow copy, `dict(zero_grads)`: the arrays inside are the
zero arrays themselves, so every `+=` adds into them and each batch starts from the sums of all earlier ones.

Module level: the parameters in a dict, per-sample gradients summed by a function into a dict of buffers that each
batch starts as a fresh copy of a dict of zero arrays (``grads = {k: z.copy() for k, z in zero_grads.items()}``),
the mean step applied every 10 samples; tanh hidden layer, softmax output; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(44)
C, D, H, N = 3, 18, 14, 1000
centers = rng.normal(0, 1, (C, D))
labels = rng.integers(0, C, N)
data = centers[labels] + rng.normal(0, 1.1, (N, D))
params = {"Wh": rng.normal(0, 1 / np.sqrt(D), (D, H)), "bh": np.zeros(H),
          "Wo": rng.normal(0, 1 / np.sqrt(H), (H, C)), "bo": np.zeros(C)}
zero_grads = {k: np.zeros_like(v) for k, v in params.items()}
lr, batch = 0.3, 10


def accumulate(sums, x, label):
    """Add one sample's gradients into the dict of sums."""
    h = np.tanh(x @ params["Wh"] + params["bh"])
    z = h @ params["Wo"] + params["bo"]
    p = np.exp(z - z.max())
    p /= p.sum()
    p[label] -= 1.0
    dh = (params["Wo"] @ p) * (1 - h ** 2)
    sums["Wo"] += np.outer(h, p)
    sums["bo"] += p
    sums["Wh"] += np.outer(x, dh)
    sums["bh"] += dh

for epoch in range(4):
    order = rng.permutation(800)
    for start in range(0, 800, batch):
        grads = dict(zero_grads)  # BUG: aliased-buffers
        for j in order[start:start + batch]:
            accumulate(grads, data[j], labels[j])
        for k in params:
            params[k] -= lr * grads[k] / batch
    out = np.tanh(data[800:] @ params["Wh"] + params["bh"]) @ params["Wo"] + params["bo"]
    print(f"epoch {epoch}: accuracy {np.mean(out.argmax(axis=1) == labels[800:]):.3f}")
