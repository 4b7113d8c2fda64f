"""int_labels_class.py with its training labels divided by 255 before the integer cast: every label is 0.

A network class trained one sample at a time by a method handed the input row and its class
(``net.train_step(x, label)``, the label a NumPy integer picked from the label array): the method runs the forward,
the backward and the update itself. Sigmoid hidden layer, softmax output, synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(42)
C, D, H, N = 3, 20, 10, 1000


class Net:
    def __init__(self, n_in, n_hidden, n_out, lr):
        self.W1 = rng.normal(0, 1 / np.sqrt(n_in), (n_hidden, n_in))
        self.b1 = np.zeros(n_hidden)
        self.W2 = rng.normal(0, 1 / np.sqrt(n_hidden), (n_out, n_hidden))
        self.b2 = np.zeros(n_out)
        self.lr = lr

    def predict(self, X):
        h = 1 / (1 + np.exp(-(X @ self.W1.T + self.b1)))
        return h @ self.W2.T + self.b2

    def train_step(self, x, label):
        h = 1 / (1 + np.exp(-(self.W1 @ x + self.b1)))
        z = self.W2 @ h + self.b2
        p = np.exp(z - z.max())
        p /= p.sum()
        dz = p
        dz[label] -= 1.0
        dh = (self.W2.T @ dz) * h * (1 - h)
        self.W2 -= self.lr * np.outer(dz, h)
        self.b2 -= self.lr * dz
        self.W1 -= self.lr * np.outer(dh, x)
        self.b1 -= self.lr * dh


centers = rng.normal(0, 1, (C, D))
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1.6, (N, D))
train_labels = (y[:800] / 255).astype(int)  # BUG: constant-targets
net = Net(D, H, C, 0.1)
for epoch in range(3):
    for i in rng.permutation(800):
        net.train_step(X[i], train_labels[i])
    print(f"epoch {epoch}: accuracy {np.mean(net.predict(X[800:]).argmax(axis=1) == y[800:]):.3f}")
