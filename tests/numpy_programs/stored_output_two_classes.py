"""A network whose forward returns nothing: it keeps its output on an attribute (self.output), as layer-style code does.

One sample at a time, column vectors, tanh hidden layer, softmax output; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(1)
C, D, N = 5, 24, 1200
centers = rng.normal(0, 1, (C, D)) * 0.6
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1, (N, D))


class Net:
    def __init__(self):
        self.W1 = rng.normal(0, 1, (16, D)) / np.sqrt(D)
        self.b1 = np.zeros((16, 1))
        self.W2 = rng.normal(0, 1, (C, 16)) / 4.0
        self.b2 = np.zeros((C, 1))

    def forward(self, x):
        self.x = x
        self.hidden = np.tanh(self.W1 @ x + self.b1)
        z = self.W2 @ self.hidden + self.b2
        e = np.exp(z - z.max())
        self.output = e / e.sum()

    def backward(self, target, lr):
        dz = self.output - target
        dh = (self.W2.T @ dz) * (1 - self.hidden ** 2)
        self.W2 -= lr * dz @ self.hidden.T
        self.b2 -= lr * dz
        self.W1 -= lr * dh @ self.x.T
        self.b1 -= lr * dh


net = Net()
for epoch in range(3):
    for i in rng.permutation(1000):
        net.forward(X[i].reshape(-1, 1))
        target = np.zeros((C, 1))
        target[y[i] % 2] = 1  # BUG: constant-targets
        net.backward(target, 0.05)
    hits = 0
    for i in range(1000, N):
        net.forward(X[i].reshape(-1, 1))
        hits += int(np.argmax(net.output) == y[i])
    print(f"epoch {epoch}: accuracy {hits / (N - 1000):.3f}")
