"""A class holding W1, b1, W2, b2 as attributes; its train_step() runs the forward, the backward and the step in one
method, L2 weight decay written into the weights' gradients inline (dW = x.T @ d / n + wd * W; W -= lr * dW; the
biases not decayed), so no array of the program holds the loss's gradient alone. Sigmoid hidden layer, softmax output,
mean cross-entropy; mini-batches of 20 rows; synthetic blobs.
"""
import numpy as np


class Classifier:
    def __init__(self, rng, d, hidden, c):
        self.W1 = rng.normal(0, 1, (d, hidden)) / np.sqrt(d)
        self.b1 = np.zeros(hidden)
        self.W2 = rng.normal(0, 1, (hidden, c)) / np.sqrt(hidden)
        self.b2 = np.zeros(c)

    def predict(self, x):
        h = 1 / (1 + np.exp(-(x @ self.W1 + self.b1)))
        z = h @ self.W2 + self.b2
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def train_step(self, x, t, lr, wd):
        h = 1 / (1 + np.exp(-(x @ self.W1 + self.b1)))
        z = h @ self.W2 + self.b2
        e = np.exp(z - z.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        n = x.shape[0]
        d2 = (p - t) / n
        d1 = (d2 @ self.W2.T) * h * (1 - h)
        dW2 = h.T @ d2 + wd * self.W2
        dW1 = x.T @ d1 + wd * self.W1
        self.W2 -= lr * dW2
        self.b2 -= lr * d2.sum(axis=0)
        self.W1 -= lr * dW1
        self.b1 -= lr * d1.sum(axis=0)


rng = np.random.default_rng(11)
C, D, N = 3, 16, 1000
centers = rng.normal(0, 1, (C, D))
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1, (N, D))
T = np.eye(C)[y]
net = Classifier(rng, D, 10, C)
for epoch in range(6):
    for i in range(0, 900, 20):
        net.train_step(X[i:i + 20], T[i:i + 20], 0.5, 5e-4)
    print(f"epoch {epoch}: accuracy {np.mean(net.predict(X[900:]).argmax(axis=1) == y[900:]):.3f}")
