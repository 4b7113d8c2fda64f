"""Weights in a dict, gradient sums in a list of arrays in the dict's order, one backward pass per row summed into them
and applied every 8 rows by a function that then empties them in place (``np.multiply(g, 0.0, out=g)``); the learning
rate follows a schedule whose second epoch is 0 (the weights held while the sums go on being made and emptied: 100
steps of zero among 400). Tanh hidden layer, softmax cross-entropy, synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(57)
C, D, N = 4, 12, 900
centers = rng.normal(0, 1.0, (C, D))
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1.2, (N, D))
T = np.eye(C)[y]
KEYS = ("W1", "b1", "W2", "b2")
params = {"W1": rng.normal(0, 1, (D, 16)) / np.sqrt(D), "b1": np.zeros(16),
          "W2": rng.normal(0, 1, (16, C)) / np.sqrt(16), "b2": np.zeros(C)}
sums = [np.zeros_like(params[k]) for k in KEYS]


def predict(x):
    h = np.tanh(x @ params["W1"] + params["b1"])
    z = h @ params["W2"] + params["b2"]
    e = np.exp(z - z.max())
    return h, e / e.sum()


def accumulate(x, t):
    h, p = predict(x)
    err = p - t
    dh = (params["W2"] @ err) * (1.0 - h * h)
    for g, part in zip(sums, (np.outer(x, dh), dh, np.outer(h, err), err)):
        g += part


def step(rate, n):
    for k, g in zip(KEYS, sums):
        params[k] -= (rate / n) * g
        np.multiply(g, 0.0, out=g)


updates = 0
for epoch, rate in enumerate((0.2, 0.0, 0.2, 0.1)):
    order = rng.permutation(800)
    for start in range(0, 800, 8):
        for j in order[start:start + 8]:
            accumulate(X[j], T[j])
        step(rate, 8)
        updates += 1
    right = sum(np.argmax(predict(X[j])[1]) == y[j] for j in range(800, N))
    print(f"epoch {epoch}: accuracy {right / (N - 800):.3f}")
print(f"updates: {updates}")
