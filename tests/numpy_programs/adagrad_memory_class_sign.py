"""(Its step climbs the gradient: params[k] += ...)

An MLP class with Adagrad by hand, its parameters and their memories in two dicts of one object: ``step(x, t)``
computes the mini-batch's gradients and, for each key, ``self.mem[k] += g * g; self.params[k] -= lr * g /
sqrt(self.mem[k])``. The memories of the biases are vectors as wide as the layers that move at every step, never read
by the forward. Sigmoid hidden layer, one-hot targets, batches of 20.
"""
import numpy as np

rng = np.random.default_rng(12)
C, D, N = 3, 10, 1100
mu = rng.normal(0, 1.0, (C, D))
y = rng.integers(0, C, N)
X = mu[y] + rng.normal(0, 1.0, (N, D))
T = np.eye(C)[y]


class MLP:
    def __init__(self, d, h, c, lr):
        self.params = {"W1": rng.normal(0, 1 / np.sqrt(d), (d, h)), "b1": np.zeros(h),
                       "W2": rng.normal(0, 1 / np.sqrt(h), (h, c)), "b2": np.zeros(c)}
        self.mem = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.lr = lr

    def forward(self, x):
        P = self.params
        h = 1 / (1 + np.exp(-(x @ P["W1"] + P["b1"])))
        z = h @ P["W2"] + P["b2"]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return h, e / e.sum(axis=1, keepdims=True)

    def step(self, x, t):
        h, p = self.forward(x)
        dz = (p - t) / len(x)
        dh = dz @ self.params["W2"].T * h * (1 - h)
        grads = {"W2": h.T @ dz, "b2": dz.sum(axis=0), "W1": x.T @ dh, "b1": dh.sum(axis=0)}
        for k, g in grads.items():
            self.mem[k] += g * g
            self.params[k] += self.lr * g / np.sqrt(self.mem[k] + 1e-8)  # BUG: gradient-mismatch


net = MLP(D, 16, C, 0.05)
for epoch in range(5):
    order = rng.permutation(1000)
    for s in range(0, 1000, 20):
        idx = order[s:s + 20]
        net.step(X[idx], T[idx])
print("held-out accuracy", float(np.mean(np.argmax(net.forward(X[1000:])[1], axis=1) == y[1000:])))
