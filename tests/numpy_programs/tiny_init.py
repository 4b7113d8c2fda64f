"""A healthy program from a tiny initialisation (0.01 x N(0, 1)): the first steps are many times the weights' own
size, then the weights grow into the steps and the steps settle at a few percent of them."""
import numpy as np

rng = np.random.default_rng(3)
C, D, N = 4, 20, 1200
centers = rng.normal(0, 1.0, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 0.8, (N, D))
T = np.eye(C)[labels]

net = {"W1": 0.01 * rng.standard_normal((D, 16)), "b1": np.zeros(16),
       "W2": 0.01 * rng.standard_normal((16, C)), "b2": np.zeros(C)}


def forward(x):
    h = np.tanh(x @ net["W1"] + net["b1"])
    z = h @ net["W2"] + net["b2"]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return h, e / e.sum(axis=1, keepdims=True)


def sgd_step(x, t, lr):
    h, p = forward(x)
    d = (p - t) / len(x)
    dh = d @ net["W2"].T * (1 - h ** 2)
    net["W2"] -= lr * h.T @ d
    net["b2"] -= lr * d.sum(axis=0)
    net["W1"] -= lr * x.T @ dh
    net["b1"] -= lr * dh.sum(axis=0)


for epoch in range(6):
    order = rng.permutation(1000)
    for s in range(0, 1000, 25):
        idx = order[s:s + 25]
        sgd_step(X[idx], T[idx], 0.2)
    acc = np.mean(forward(X[1000:])[1].argmax(axis=1) == labels[1000:])
    print(f"epoch {epoch}: accuracy {acc:.3f}")
