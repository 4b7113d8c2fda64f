"""A relu network in module globals trained in a thread: the step applies each gradient inline through a helper
(`sgd(W1, dW1, lr)`), the forward keeps its caches on a module-level object and returns nothing; column layout,
mini-batches of 16. Its gradients have a hidden layer's width (`dW1` is (16, 100), its first 70 columns exact zeros:
the inputs of the blank border): they are not its activations, and its units are not dead.
"""
import threading

import numpy as np

rng = np.random.default_rng(11)
C, D, H, N = 4, 100, 16, 1200
centers = rng.normal(0, 1, (C, D))
labels = rng.integers(0, C, N)
X = np.maximum(centers[labels] + rng.normal(0, 0.8, (N, D)), 0.0).T  # (D, N): non-negative features
X[:70] = 0.0  # a blank border: the first 70 features are 0 in every sample, as an image's edge pixels are
Y = np.eye(C)[labels].T

W1 = rng.normal(0, 1, (H, D)) * np.sqrt(2.0 / D)
b1 = np.zeros((H, 1))
W2 = rng.normal(0, 1, (C, H)) * np.sqrt(1.0 / H)
b2 = np.zeros((C, 1))


class State:
    pass


state = State()


def forward(x):
    z1 = W1 @ x + b1
    h = np.maximum(z1, 0.0)
    state.z1, state.h, state.out = z1, h, W2 @ h + b2


def sgd(p, g, scale):
    p -= scale * g


def backward(x, t, scale):
    d2 = (state.out - t) / x.shape[1]
    dW2 = d2 @ state.h.T
    db2 = d2.sum(axis=1, keepdims=True)
    dz1 = (W2.T @ d2) * (state.z1 > 0)
    dW1 = dz1 @ x.T
    db1 = dz1.sum(axis=1, keepdims=True)
    sgd(W1, dW1, scale)
    sgd(b1, db1, scale)
    sgd(W2, dW2, scale)
    sgd(b2, db2, scale)


def train():
    for epoch in range(4):
        order = rng.permutation(1000)
        for start in range(0, 1000, 16):
            idx = order[start:start + 16]
            x = X[:, idx]
            forward(x)
            backward(x, Y[:, idx], 0.1)
        forward(X[:, 1000:])
        print(f"epoch {epoch}: accuracy {np.mean(np.argmax(state.out, axis=0) == labels[1000:]):.3f}", flush=True)


worker = threading.Thread(target=train)
worker.start()
worker.join()
