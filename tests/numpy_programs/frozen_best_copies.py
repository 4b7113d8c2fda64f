"""A closure over a parameters dict (``make_model()`` returning ``train`` and ``accuracy``), an ``SGD`` object over the
list of the four arrays, and the best weights kept aside as copies in ``train()``'s locals (``best = [p.copy() ...]``)
and put back at the end. Columns layout (weights ``(out, in)``), ReLU, mini-batches of 25.
"""
import numpy as np

rng = np.random.default_rng(17)
C, D, N = 3, 12, 900
mu = rng.normal(0, 1.0, (C, D))
y = rng.integers(0, C, N)
X = (mu[y] + rng.normal(0, 1.0, (N, D))).T


class SGD:
    def __init__(self, params, lr):
        self.params = params
        self.lr = lr

    def step(self, grads):
        for p, g in zip(self.params, grads):
            p -= self.lr * g


def make_model():
    params = {"W1": rng.normal(0, np.sqrt(2 / D), (16, D)), "b1": np.zeros((16, 1)),
              "W2": rng.normal(0, np.sqrt(1 / 16), (C, 16)), "b2": np.zeros((C, 1))}

    def forward(x):
        h = np.maximum(params["W1"] @ x + params["b1"], 0)
        z = params["W2"] @ h + params["b2"]
        e = np.exp(z - z.max(axis=0, keepdims=True))
        return h, e / e.sum(axis=0, keepdims=True)

    def backward(x, t):
        h, p = forward(x)
        d2 = (p - np.eye(C)[t].T) / x.shape[1]
        d1 = (params["W2"].T @ d2) * (h > 0)
        return d1 @ x.T, d1.sum(axis=1, keepdims=True), d2 @ h.T, d2.sum(axis=1, keepdims=True)

    def accuracy(x, t):
        return float(np.mean(np.argmax(forward(x)[1], axis=0) == t))

    def train(epochs, lr):
        opt = SGD([params["W1"], params["b1"], params["W2"], params["b2"]], lr)
        best_acc, best = -1.0, None
        for epoch in range(epochs):
            order = rng.permutation(700)
            for s in range(0, 700, 25):
                idx = order[s:s + 25]
                opt.step(backward(X[:, idx], y[idx]))
            acc = accuracy(X[:, 700:800], y[700:800])
            if acc > best_acc:
                best_acc, best = acc, [params[k].copy() for k in ("W1", "b1", "W2", "b2")]
        for p, saved in zip((params["W1"], params["b1"], params["W2"], params["b2"]), best):
            p[...] = saved

    return train, accuracy


train, accuracy = make_model()
train(6, 0.3)
print(f"test accuracy {accuracy(X[:, 800:], y[800:]):.3f}")
