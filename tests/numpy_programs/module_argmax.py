"""A class-based net trained by its own train() method (batches of 10 rows, sigmoid layers, squared error, a step of
3.0); the evaluation is module-level code: np.argmax(net.forward(X_test), 1) over the 400 held-out rows. Its
collapsed twin steps 8.0: the sigmoids saturate and every held-out row gets one class."""
import numpy as np

rng = np.random.default_rng(7)
C, D, H, N = 10, 784, 30, 2400
centres = rng.random((C, D))
labels = rng.integers(0, C, N)
X = np.clip(centres[labels] + 0.3 * rng.standard_normal((N, D)), 0, 1)
T = np.eye(C)[labels]
ETA = 3.0


class Net:
    def __init__(self):
        self.W1 = rng.standard_normal((D, H)) / np.sqrt(D)
        self.b1 = rng.standard_normal(H)
        self.W2 = rng.standard_normal((H, C)) / np.sqrt(H)
        self.b2 = rng.standard_normal(C)

    def forward(self, x):
        self.h = 1.0 / (1.0 + np.exp(-(x @ self.W1 + self.b1)))
        return 1.0 / (1.0 + np.exp(-(self.h @ self.W2 + self.b2)))

    def train(self, epochs, size):
        for _ in range(epochs):
            order = rng.permutation(2000)
            for k in range(0, 2000, size):
                idx = order[k:k + size]
                x, t = X[idx], T[idx]
                out = self.forward(x)
                d2 = (out - t) * out * (1 - out)
                d1 = (d2 @ self.W2.T) * self.h * (1 - self.h)
                self.W2 -= ETA / size * self.h.T @ d2
                self.b2 -= ETA / size * d2.sum(axis=0)
                self.W1 -= ETA / size * x.T @ d1
                self.b1 -= ETA / size * d1.sum(axis=0)


net = Net()
net.train(2, 10)
X_test, y_test = X[2000:], labels[2000:]
pred = np.argmax(net.forward(X_test), 1)
print(f"accuracy {np.mean(pred == y_test):.3f}")
