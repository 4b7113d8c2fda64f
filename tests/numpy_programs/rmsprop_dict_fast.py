"""rmsprop_dict.py at a learning rate 1000 times too large: RMSprop's step per entry is about the learning rate
whatever the gradient's scale, so every weight moves by ~3 at the first step (an adaptive rule: its step per entry is
what the finding gives).
"""
import numpy as np


class Net:
    def __init__(self, rng, d, h, c):
        self.p = {"W1": rng.normal(0, 1, (d, h)) / np.sqrt(d), "b1": np.zeros(h),
                  "W2": rng.normal(0, 1, (h, c)) / np.sqrt(h), "b2": np.zeros(c)}
        self.sq = {k: np.zeros_like(v) for k, v in self.p.items()}

    def scores(self, x):
        return np.tanh(x @ self.p["W1"] + self.p["b1"]) @ self.p["W2"] + self.p["b2"]

    def gradients(self, x, t):
        h = np.tanh(x @ self.p["W1"] + self.p["b1"])
        z = h @ self.p["W2"] + self.p["b2"]
        q = np.exp(z - z.max(axis=1, keepdims=True))
        q /= q.sum(axis=1, keepdims=True)
        dz = (q - t) / len(x)
        dh = (dz @ self.p["W2"].T) * (1 - h ** 2)
        return {"W1": x.T @ dh, "b1": dh.sum(axis=0), "W2": h.T @ dz, "b2": dz.sum(axis=0)}

    def step(self, grads, lr, rho):
        for k, g in grads.items():
            self.sq[k] = rho * self.sq[k] + (1 - rho) * g * g
            self.p[k] -= lr * g / (np.sqrt(self.sq[k]) + 1e-8)  # BUG: learning-rate-too-high (where the rate is applied)


rng = np.random.default_rng(21)
C, D, N = 4, 20, 1100
centers = rng.normal(0, 1, (C, D)) * 0.7
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1, (N, D))
eye = np.eye(C)
net = Net(rng, D, 12, C)
for epoch in range(6):
    order = rng.permutation(1000)
    for i in range(0, 1000, 25):
        rows = order[i:i + 25]
        net.step(net.gradients(X[rows], eye[y[rows]]), 3.0, 0.9)  # BUG: learning-rate-too-high
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(net.scores(X[1000:]), axis=1) == y[1000:]):.3f}")
