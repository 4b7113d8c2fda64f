"""A class whose ``accumulate(x, t)`` runs one sample forward and adds its gradients into buffers on the object, a
module-level loop handing it ``x = X[j:j+1]`` (a global) and a target smoothed toward the class prior, and calling
``apply()`` every 16 samples (the step, then the buffers emptied in place). Synthetic blobs."""
import numpy as np


class Net:
    def __init__(self, n_in, n_hidden, n_out, rng):
        self.W1 = rng.normal(0, 1 / np.sqrt(n_in), (n_in, n_hidden))
        self.b1 = np.zeros(n_hidden)
        self.W2 = rng.normal(0, 1 / np.sqrt(n_hidden), (n_hidden, n_out))
        self.b2 = np.zeros(n_out)
        self.grads = {k: np.zeros_like(v) for k, v in self.params().items()}
        self.count = 0

    def params(self):
        return {"W1": self.W1, "b1": self.b1, "W2": self.W2, "b2": self.b2}

    def predict(self, x):
        self.h = np.tanh(x @ self.W1 + self.b1)
        z = self.h @ self.W2 + self.b2
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def accumulate(self, x, t):
        p = self.predict(x)
        d = p - t
        dh = (d @ self.W2.T) * (1 - self.h ** 2)
        self.grads["W2"] += self.h.T @ d
        self.grads["b2"] += d.sum(axis=0)
        self.grads["W1"] += x.T @ dh
        self.grads["b1"] += dh.sum(axis=0)
        self.count += 1

    def apply(self, lr):
        for k, p in self.params().items():
            p -= lr * self.grads[k] / self.count
            self.grads[k][...] = 0.0
        self.count = 0


rng = np.random.default_rng(11)
C, D, N = 4, 20, 1600
centers = rng.normal(0, 1, (C, D)) * 2
labels = rng.integers(0, C, N + 400)
data = centers[labels] + rng.normal(0, 1.5, (N + 400, D))
X, y = data[:N], labels[:N]
prior = np.bincount(y, minlength=C) / N
T = 0.9 * np.eye(C)[y] + 0.1 * prior
net = Net(D, 16, C, np.random.default_rng(2))

for epoch in range(3):
    for i, j in enumerate(rng.permutation(N)):
        x = X[j:j + 1]
        net.accumulate(x, T[j:j + 1])
        if (i + 1) % 16 == 0:
            net.apply(0.1)
    print(f"epoch {epoch}: training accuracy {np.mean(net.predict(X).argmax(axis=1) == y):.3f}")

print(f"held-out accuracy {np.mean(net.predict(data[N:]).argmax(axis=1) == labels[N:]):.3f}")
