"""A trainer made by a closure: the weights, the gradient sums and zero templates are lists in the enclosing function
(reached by the inner functions through closure cells); one backward pass per row, the sums applied after each
batch of 10 rows and started again from the templates; ReLU hidden layer, softmax output; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(13)
C, D, N = 5, 20, 1100
centers = rng.normal(0, 1, (C, D))
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 0.8, (N, D))


def make_trainer(lr):
    weights = [rng.normal(0, 1, (D, 24)) * np.sqrt(2.0 / D), rng.normal(0, 1, (24, C)) / np.sqrt(24)]
    acc = [np.zeros_like(w) for w in weights]
    fresh = [np.zeros_like(w) for w in weights]

    def predict(x):
        h = np.maximum(x @ weights[0], 0.0)
        z = h @ weights[1]
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return h, e / e.sum(axis=-1, keepdims=True)

    def gradient(x, label):
        h, p = predict(x)
        dz = p.copy()
        dz[label] -= 1.0
        dh = (weights[1] @ dz) * (h > 0)
        for a, g in zip(acc, (np.outer(x, dh), np.outer(h, dz))):
            a += g

    def train_batch(rows):
        nonlocal acc
        for j in rows:
            gradient(X[j], y[j])
        for w, a in zip(weights, acc):
            w -= lr * a / len(rows)
        acc = [f.copy() for f in fresh]

    return train_batch, predict


train_batch, predict = make_trainer(0.2)
for epoch in range(4):
    order = rng.permutation(900)
    for start in range(0, 900, 10):
        train_batch(order[start:start + 10])
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(predict(X[900:])[1], axis=1) == y[900:]):.3f}")
