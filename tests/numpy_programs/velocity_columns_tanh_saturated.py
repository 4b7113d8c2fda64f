"""A network class trained one sample at a time on columns (``x`` is ``(784, 1)``), float32: two tanh hidden layers and
a linear output on squared error against one-hot targets smoothed toward the class prior; ``backward`` sums each
tensor's gradient into a buffer (``self.gW1 += dW1``) and the loop steps each tensor with momentum (``v *= mu; v -=
lr * g; p += v``) and empties the buffers; a ``while`` loop over a shuffled order; synthetic "pixel" blobs in [0, 1].
"""
import numpy as np

lr = 0.00625
mu = 0.5
rng = np.random.default_rng(1678)
C, D, N = 6, 784, 1100
templates = rng.uniform(0, 1, (C, D)) * (rng.uniform(0, 1, (C, D)) < 0.25)
labels = rng.integers(0, C, N)
X = np.clip(templates[labels] + rng.normal(0, 0.15, (N, D)), 0, 1).astype(np.float32)
PRIOR = np.bincount(labels[:1000], minlength=C) / 1000
EYE = np.eye(C, dtype=np.float32)


class Network:
    def __init__(self, hidden=48, hidden2=32):
        self.W1 = (rng.uniform(-1.0, 1.0, (hidden, D)) * np.sqrt(6.0)).astype(np.float32)  # BUG: saturated-activations
        self.b1 = np.zeros((hidden, 1), dtype=np.float32)
        self.W2 = (rng.uniform(-1.0, 1.0, (hidden2, hidden)) * np.sqrt(6.0 / (hidden + hidden2))).astype(np.float32)
        self.b2 = np.zeros((hidden2, 1), dtype=np.float32)
        self.W3 = (rng.uniform(-1.0, 1.0, (C, hidden2)) * np.sqrt(6.0 / (hidden2 + C))).astype(np.float32)
        self.b3 = np.zeros((C, 1), dtype=np.float32)
        self.params = [self.W1, self.b1, self.W2, self.b2, self.W3, self.b3]
        self.vel = [np.zeros_like(p) for p in self.params]
        self.grads = [np.zeros_like(p) for p in self.params]

    def forward(self, x):
        z1 = self.W1 @ x + self.b1
        h1 = np.tanh(z1)
        z2 = self.W2 @ h1 + self.b2
        h2 = np.tanh(z2)
        return h1, h2, self.W3 @ h2 + self.b3

    def backward(self, x, t, h1, h2, out):
        d3 = out - t
        dz2 = (self.W3.T @ d3) * (1.0 - h2 ** 2)
        dz1 = (self.W2.T @ dz2) * (1.0 - h1 ** 2)
        for g, d in zip(self.grads, (dz1 @ x.T, dz1, dz2 @ h1.T, dz2, d3 @ h2.T, d3)):
            g += d

    def step(self):
        for p, v, g in zip(self.params, self.vel, self.grads):
            v *= mu
            v -= lr * g
            p += v
            g[...] = 0.0


net = Network()
for epoch in range(3):
    order = rng.permutation(1000)
    i = 0
    while i < 1000:
        j = order[i]
        x = X[j].reshape(-1, 1)
        t = (EYE[labels[j]] * 0.9 + 0.1 * PRIOR).reshape(-1, 1).astype(np.float32)
        h1, h2, out = net.forward(x)
        net.backward(x, t, h1, h2, out)
        net.step()
        i += 1
    acc = float(np.mean(net.forward(X[1000:].T)[2].argmax(axis=0) == labels[1000:]))
    print(f"epoch {epoch + 1}: test accuracy {acc:.3f}")
