"""Mini-batches from a generator handed the whole data set, yielding (inputs, targets) pairs; the targets smoothed
toward the class prior (eps 0.1) per class. The model a closure over a dict; its forward returns the probabilities.
Relu hidden layer, softmax output, cross-entropy. Synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(23)
C, D, N = 6, 20, 1400
centers = rng.normal(0, 1.0, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1.0, (N, D))
prior = np.bincount(labels[:1200], minlength=C) / 1200
T = 0.9 * np.eye(C)[labels] + 0.1 * prior


def shuffled(X, T, size):
    order = rng.permutation(len(X))
    for s in range(0, len(X), size):
        idx = order[s:s + size]
        yield X[idx], T[idx]


def make_model():
    p = {"W1": rng.normal(0, 1, (D, 32)) * np.sqrt(2 / D), "b1": np.zeros(32),
         "W2": rng.normal(0, 1, (32, C)) * np.sqrt(1 / 32), "b2": np.zeros(C)}

    def forward(x):
        h = np.maximum(x @ p["W1"] + p["b1"], 0)
        z = h @ p["W2"] + p["b2"]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return h, e / e.sum(axis=1, keepdims=True)

    def train_step(x, t, lr):
        h, probs = forward(x)
        d = (probs - t) / len(x)
        dh = (d @ p["W2"].T) * (h > 0)
        for k, g in (("W2", h.T @ d), ("b2", d.sum(axis=0)), ("W1", x.T @ dh), ("b1", dh.sum(axis=0))):
            p[k] -= lr * g

    return forward, train_step


forward, train_step = make_model()
for epoch in range(6):
    for xb, tb in shuffled(X[:1200], T[:1200], 40):
        train_step(xb, tb, 0.3)
    acc = np.mean(forward(X[1200:])[1].argmax(axis=1) == labels[1200:])
    print(f"epoch {epoch}: accuracy {acc:.3f}")
