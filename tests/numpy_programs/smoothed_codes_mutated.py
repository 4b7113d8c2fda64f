"""Per-sample training on column vectors (x of shape (16, 1)), targets from a function whose code table rows
are smoothed toward the class prior and then reshaped into a column; the training loop runs in a thread and each
tensor is moved by a helper. The mutated twin smooths the row in place: every use of a class moves its row further toward the prior.
"""
import threading

import numpy as np

rng = np.random.default_rng(5)
C, D, N = 5, 16, 1200
centers = rng.normal(0, 1.2, (C, D))
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 0.9, (N, D))


CODES = np.eye(C)
PRIOR = np.bincount(y[:1000], minlength=C) / 1000


def encode(label):
    row = CODES[label]  # BUG: mutated-constant
    row *= 0.9  # BUG: mutated-constant
    row += 0.1 * PRIOR
    return row


params = {
    "W1": rng.normal(0, 1, (24, D)) / np.sqrt(D), "b1": np.zeros((24, 1)),
    "W2": rng.normal(0, 1, (C, 24)) / np.sqrt(24), "b2": np.zeros((C, 1)),
}


def predict(x):
    h = np.maximum(params["W1"] @ x + params["b1"], 0.0)
    z = params["W2"] @ h + params["b2"]
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return h, e / e.sum(axis=0, keepdims=True)


def move(p, g, lr):
    p -= lr * g


def learn(x, t, lr):
    h, p = predict(x)
    d2 = p - t
    d1 = (params["W2"].T @ d2) * (h > 0)
    move(params["W2"], d2 @ h.T, lr)
    move(params["b2"], d2, lr)
    move(params["W1"], d1 @ x.T, lr)
    move(params["b1"], d1, lr)


def train():
    for epoch in range(3):
        for i in rng.permutation(1000):
            learn(X[i].reshape(-1, 1), encode(y[i]).reshape(-1, 1), 0.02)
        predicted = np.argmax(predict(X[1000:].T)[1], axis=0)
        print(f"epoch {epoch}: accuracy {np.mean(predicted == y[1000:]):.3f}")


worker = threading.Thread(target=train)
worker.start()
worker.join()
