"""Module-level weights handed to an optimizer object (SGD(params).step(grads), the arrays updated in place), the
forward's caches kept on a state object, and the best weights of an epoch kept as copies in a list (restored at the
end). Mini-batches of 20 rows, sigmoid hidden layer, linear output, squared error on one-hot targets; 5 epochs of 40
steps; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(15)
C, D, H, N = 4, 12, 10, 1000
centers = rng.normal(0, 1, (C, D)) * 0.8
labels = rng.integers(0, C, N)
inputs = centers[labels] + rng.normal(0, 1, (N, D))
EYE = np.eye(C)


class SGD:
    def __init__(self, params, lr):
        self.params = params
        self.lr = lr

    def step(self, grads):
        for p, g in zip(self.params, grads):
            p = p - self.lr * g  # BUG: frozen-parameters


class State:
    pass


state = State()
W1 = rng.normal(0, 1, (D, H)) / np.sqrt(D)
b1 = np.zeros(H)
W2 = rng.normal(0, 1, (H, C)) / np.sqrt(H)
b2 = np.zeros(C)


def forward(x):
    state.h = 1.0 / (1.0 + np.exp(-(x @ W1 + b1)))
    state.out = state.h @ W2 + b2


def backward(x, t):
    d = (state.out - t) / len(x)
    dh = (d @ W2.T) * state.h * (1 - state.h)
    return x.T @ dh, dh.sum(axis=0), state.h.T @ d, d.sum(axis=0)


def accuracy(x, y):
    forward(x)
    return float(np.mean(state.out.argmax(axis=1) == y))


opt = SGD([W1, b1, W2, b2], 0.5)
best_acc, best = -1.0, None
for epoch in range(5):
    order = rng.permutation(800)
    for start in range(0, 800, 20):
        rows = order[start:start + 20]
        x = inputs[rows]
        forward(x)
        opt.step(backward(x, EYE[labels[rows]]))
    acc = accuracy(inputs[800:], labels[800:])
    print(f"epoch {epoch}: held-out accuracy {acc:.3f}")
    if acc > best_acc:
        best_acc, best = acc, [W1.copy(), b1.copy(), W2.copy(), b2.copy()]
for p, kept in zip((W1, b1, W2, b2), best):
    p[...] = kept
print(f"final accuracy {accuracy(inputs[800:], labels[800:]):.3f}")
