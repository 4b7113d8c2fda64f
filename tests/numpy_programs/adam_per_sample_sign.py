"""adam_per_sample.py with the output error's sign flipped: the per-sample gradients are -1x the derivative and the
Adam step subtracts their mean; the check sees one sample's gradient, then watches the next batch's step against the
sum of the returns (its cosine with them is positive: subtracted, so the update climbs).
"""
import numpy as np


class Adam:
    def __init__(self, params, lr=0.01, b1=0.9, b2=0.999, eps=1e-8):
        self.params, self.lr, self.b1, self.b2, self.eps = params, lr, b1, b2, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def update(self, grads):
        self.t += 1
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            m_hat = m / (1 - self.b1 ** self.t)
            v_hat = v / (1 - self.b2 ** self.t)
            p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


def forward(params, x):
    W1, b1, W2, b2 = params
    h = np.maximum(x @ W1 + b1, 0.0)
    return h, h @ W2 + b2


def backward(params, x, t):
    W1, b1, W2, b2 = params
    h, z = forward(params, x)
    q = np.exp(z - z.max(axis=1, keepdims=True))
    q /= q.sum(axis=1, keepdims=True)
    dz = (t - q) / len(x)  # BUG: gradient-mismatch
    dh = (dz @ W2.T) * (h > 0)
    return x.T @ dh, dh.sum(axis=0), h.T @ dz, dz.sum(axis=0)


rng = np.random.default_rng(5)
C, D, N = 5, 30, 1400
centers = rng.normal(0, 1, (C, D)) * 0.5
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1, (N, D))
eye = np.eye(C)
params = [rng.normal(0, 1, (D, 16)) * np.sqrt(2 / D), np.zeros(16), rng.normal(0, 1, (16, C)) / 4, np.zeros(C)]
opt = Adam(params, lr=0.005)
for epoch in range(6):
    order = rng.permutation(1200)
    for i in range(0, 1200, 32):
        rows = order[i:i + 32]
        total = [np.zeros_like(p) for p in params]
        for r in rows:
            for acc, g in zip(total, backward(params, X[r:r + 1], eye[y[r:r + 1]])):
                acc += g
        opt.update([g / len(rows) for g in total])
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(forward(params, X[1200:])[1], axis=1) == y[1200:]):.3f}")
