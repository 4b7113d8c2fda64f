"""momentum_average.py with the batch's gradient summed, not averaged: the moving averages (mu = 0.8) take in
(1 - mu) x 20 = 4x the mean gradient, 20x what a moving average of the mean takes in.
"""
import numpy as np


class Layer:
    def __init__(self, rng, n_in, n_out):
        self.W = rng.normal(0, 1, (n_in, n_out)) * np.sqrt(2.0 / n_in)
        self.b = np.zeros(n_out)
        self.mW = np.zeros_like(self.W)
        self.mb = np.zeros_like(self.b)

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, d):
        self.gW, self.gb = self.x.T @ d, d.sum(axis=0)
        return d @ self.W.T

    def update(self, lr, mu):
        self.mW = mu * self.mW + (1 - mu) * self.gW
        self.mb = mu * self.mb + (1 - mu) * self.gb
        self.W -= lr * self.mW
        self.b -= lr * self.mb


def predict(layers, x):
    h = np.maximum(layers[0].forward(x), 0.0)
    return layers[1].forward(h)


def train_batch(layers, x, t, lr, mu):
    z = predict(layers, x)
    q = np.exp(z - z.max(axis=1, keepdims=True))
    q /= q.sum(axis=1, keepdims=True)
    d = q - t  # BUG: summed-gradient
    dh = layers[1].backward(d) * (layers[0].x @ layers[0].W + layers[0].b > 0)
    layers[0].backward(dh)
    for layer in layers:
        layer.update(lr, mu)


rng = np.random.default_rng(13)
C, D, N = 4, 16, 1000
centers = rng.normal(0, 0.9, (C, D))
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1, (N, D))
T = np.eye(C)[y]
layers = [Layer(rng, D, 20), Layer(rng, 20, C)]
for epoch in range(6):
    order = rng.permutation(900)
    for i in range(0, 900, 20):
        rows = order[i:i + 20]
        train_batch(layers, X[rows], T[rows], 0.2, 0.8)
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(predict(layers, X[900:]), axis=1) == y[900:]):.3f}")
