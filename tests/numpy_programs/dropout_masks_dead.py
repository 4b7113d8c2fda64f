"""dropout_masks.py with the hidden biases started at -8: no relu unit ever fires, nothing but the output bias learns.

Inverted dropout on the hidden layer while training (a fresh mask per batch from a default_rng, none at
evaluation); the gradients are summed per sample into buffers that a reset function refills from zero templates.
"""
import numpy as np

rng = np.random.default_rng(30)
C, D, N = 4, 16, 1400
centers = rng.normal(0, 0.9, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1.0, (N, D))
T = np.eye(C)[labels]
KEEP = 0.8

net = {"W1": rng.normal(0, np.sqrt(2 / D), (D, 64)), "b1": np.full(64, -8.0),  # BUG: dead-units
       "W2": rng.normal(0, np.sqrt(2 / 64), (64, C)), "b2": np.zeros(C)}
zeros = {k: np.zeros_like(v) for k, v in net.items()}
acc = {k: np.zeros_like(v) for k, v in net.items()}


def reset():
    for k in acc:
        acc[k][...] = zeros[k]


def forward(x, mask=None):
    a = x @ net["W1"] + net["b1"]
    h = np.maximum(a, 0)
    if mask is not None:
        h = h * mask
    z = h @ net["W2"] + net["b2"]
    e = np.exp(z - z.max())
    return a, h, e / e.sum()


def accumulate(x, t):
    mask = (rng.random(64) < KEEP) / KEEP
    a, h, p = forward(x, mask)
    dz = p - t
    dh = (net["W2"] @ dz) * (a > 0) * mask
    acc["W2"] += np.outer(h, dz)
    acc["b2"] += dz
    acc["W1"] += np.outer(x, dh)
    acc["b1"] += dh


for epoch in range(5):
    order = rng.permutation(1200)
    for s in range(0, 1200, 16):
        reset()
        for i in order[s:s + 16]:
            accumulate(X[i], T[i])
        for k in net:
            net[k] -= 0.05 * acc[k] / 16
    pred = [np.argmax(forward(x)[2]) for x in X[1200:]]
    print(f"epoch {epoch}: accuracy {np.mean(np.array(pred) == labels[1200:]):.3f}")
