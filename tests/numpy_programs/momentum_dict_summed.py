"""momentum_dict.py with the batch's gradient summed, not averaged (the output error not divided by the rows): the
velocities (v = mu * v - lr * g; p += v, the learning rate inside the velocity) take in 25x the mean's step.
"""
import numpy as np


class Net:
    def __init__(self, rng, d, h, c):
        self.p = {"W1": rng.normal(0, 1, (d, h)) / np.sqrt(d), "b1": np.zeros(h),
                  "W2": rng.normal(0, 1, (h, c)) / np.sqrt(h), "b2": np.zeros(c)}
        self.vel = {k: np.zeros_like(v) for k, v in self.p.items()}

    def scores(self, x):
        return np.tanh(x @ self.p["W1"] + self.p["b1"]) @ self.p["W2"] + self.p["b2"]

    def gradients(self, x, t):
        h = np.tanh(x @ self.p["W1"] + self.p["b1"])
        z = h @ self.p["W2"] + self.p["b2"]
        q = np.exp(z - z.max(axis=1, keepdims=True))
        q /= q.sum(axis=1, keepdims=True)
        dz = q - t  # BUG: summed-gradient
        dh = (dz @ self.p["W2"].T) * (1 - h ** 2)
        return {"W1": x.T @ dh, "b1": dh.sum(axis=0), "W2": h.T @ dz, "b2": dz.sum(axis=0)}

    def step(self, grads, lr, mu):
        for k, g in grads.items():
            self.vel[k] = mu * self.vel[k] - lr * g
            self.p[k] += self.vel[k]


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
        net.step(net.gradients(X[rows], eye[y[rows]]), 0.1, 0.9)
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(net.scores(X[1000:]), axis=1) == y[1000:]):.3f}")
