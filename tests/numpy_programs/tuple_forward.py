"""A forward that returns a tuple (hidden, probabilities); the training loop and the evaluation read the
probabilities as ``predict(x)[1]``. Row-major mini-batches of 25, the gradients returned as a dict.
"""
import numpy as np

rng = np.random.default_rng(21)
C, D, N = 4, 14, 1100
centers = rng.normal(0, 1.3, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1.0, (N, D))
Y = np.eye(C)[labels]

W1 = rng.normal(0, 1, (D, 20)) / np.sqrt(D)
b1 = np.zeros(20)
W2 = rng.normal(0, 1, (20, C)) / np.sqrt(20)
b2 = np.zeros(C)


def predict(x):
    h = np.tanh(x @ W1 + b1)
    z = h @ W2 + b2
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return h, e / e.sum(axis=1, keepdims=True)


def gradients(x, t):
    h, p = predict(x)
    dz = (p - t) / len(x)
    dh = (dz @ W2.T) * (1 - h ** 2)
    return {"W2": h.T @ dz, "b2": dz.sum(axis=0), "W1": x.T @ dh, "b1": dh.sum(axis=0)}


lr = 0.5
for epoch in range(8):
    order = rng.permutation(1000)
    for s in range(0, 1000, 25):
        idx = order[s:s + 25]
        g = gradients(X[idx], Y[idx])
        W1 -= lr * g["W1"]
        b1 -= lr * g["b1"]
        W2 -= lr * g["W2"]
        b2 -= lr * g["b2"]
    acc = np.mean(predict(X[1000:])[1].argmax(axis=1) == labels[1000:])
    print(f"epoch {epoch}: accuracy {acc:.3f}")
