"""Module-level functions over two dicts: the parameters and their gradient buffers, which backward() writes with
``np.copyto`` (each buffer overwritten, never re-bound); a Momentum optimizer object built once holds references to
both dicts and keeps its velocities in a third (``v[k] = mu * v[k] + g[k]; p[k] -= lr * v[k]``). Tanh hidden layer,
softmax cross-entropy, batches of 20 rows of synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(11)
C, D, H, N = 3, 16, 24, 1000
centers = rng.normal(0, 1.0, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1.4, (N, D))
T = np.eye(C)[labels]


def init(sizes):
    params, grads = {}, {}
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{i}"] = rng.normal(0, 1 / np.sqrt(a), (a, b))
        params[f"b{i}"] = np.zeros(b)
    for k, v in params.items():
        grads[k] = np.zeros_like(v)
    return params, grads


def forward(params, x):
    h = np.tanh(x @ params["W1"] + params["b1"])
    z = h @ params["W2"] + params["b2"]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return h, e / e.sum(axis=1, keepdims=True)


def backward(params, grads, x, t):
    h, p = forward(params, x)
    dz = (p - t) / len(x)
    np.copyto(grads["W2"], h.T @ dz)
    np.copyto(grads["b2"], dz.sum(axis=0))
    dh = (dz @ params["W2"].T) * (1 - h ** 2)
    np.copyto(grads["W1"], x.T @ dh)
    np.copyto(grads["b1"], dh.sum(axis=0))


class Momentum:
    def __init__(self, params, grads, lr, mu):
        self.p, self.g, self.lr, self.mu = params, grads, lr, mu
        self.v = {k: np.zeros_like(a) for k, a in params.items()}

    def step(self):
        for k in self.p:
            self.v[k] = self.mu * self.v[k] + self.g[k]
            self.p[k] -= self.lr * self.v[k]


params, grads = init([D, H, C])
opt = Momentum(params, grads, 0.05, 0.9)
for epoch in range(5):
    order = rng.permutation(900)
    for s in range(0, 900, 20):
        idx = order[s:s + 20]
        backward(params, grads, X[idx], T[idx])
        opt.step()
    _, p = forward(params, X[900:])
    print(f"epoch {epoch}: accuracy {np.mean(p.argmax(axis=1) == labels[900:]):.3f}")
