"""per_sample_momentum.py with the sum of the batch's 20 per-sample gradients applied at the learning rate, not their
mean: each step is 20x what lr says and the weights overflow within a few updates."""
import numpy as np

lr, mu, wd = 0.03, 0.5, 0.0005
rng = np.random.default_rng(11)
C, D, N = 6, 196, 1300
centers = rng.uniform(0.0, 1.0, (C, D))
labels = rng.integers(0, C, N)
X = np.clip(centers[labels] + rng.normal(0, 0.3, (N, D)), 0.0, 1.0).astype(np.float32)
T = np.eye(C, dtype=np.float32)[labels]


def momentum(p, v, g, scale):
    v *= mu
    v -= scale * g
    p += v


class Dense:
    def __init__(self, n_in, n_out, hidden):
        self.W = (rng.uniform(-1.0, 1.0, (n_in, n_out)) * np.sqrt(6.0 / (n_in + n_out))).astype(np.float32)
        self.b = np.zeros(n_out, dtype=np.float32)
        self.vW, self.vb = np.zeros_like(self.W), np.zeros_like(self.b)
        self.hidden = hidden

    def forward(self, x):
        self.x = x
        self.z = x @ self.W + self.b
        return np.where(self.z > 0, self.z, 0.01 * self.z) if self.hidden else self.z

    def backward(self, d):
        dz = d * np.where(self.z > 0, 1.0, 0.01) if self.hidden else d
        return dz @ self.W.T, self.x.T @ dz + wd * self.W, dz.sum(axis=0)


class Network:
    def __init__(self):
        self.layers = [Dense(D, 96, True), Dense(96, C, False)]

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, out, t):
        d = out - t
        grads = []
        for layer in reversed(self.layers):
            d, dW, db = layer.backward(d)
            grads = [dW, db] + grads
        return grads

    def train(self, epochs):
        for epoch in range(epochs):
            order = rng.permutation(1200)
            for start in range(0, 1200, 20):
                rows = order[start:start + 20]
                sums = None
                for k in rows:
                    g = self.backward(self.forward(X[k:k + 1]), T[k:k + 1])
                    sums = g if sums is None else [a + b for a, b in zip(sums, g)]
                scale = lr  # BUG: summed-gradient
                for layer, (gW, gb) in zip(self.layers, zip(sums[0::2], sums[1::2])):
                    momentum(layer.W, layer.vW, gW, scale)
                    momentum(layer.b, layer.vb, gb, scale)
            acc = np.mean(self.forward(X[1200:]).argmax(axis=1) == labels[1200:])
            print(f"epoch {epoch + 1}: held-out accuracy {acc:.3f}")


Network().train(4)
