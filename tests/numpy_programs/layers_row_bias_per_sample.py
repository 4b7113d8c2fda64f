"""Dense layer objects with a ``(1, n)`` row bias in a list on a network object, trained one sample at a time: the
step computes the softmax output error inline (``delta = p - t``) and hands each layer's ``backward`` only the delta
from above, which the layer adds into its gradient buffers (``self.db += delta``); each layer's ``update`` applies and
empties them. Three classes, so one output error row ``p - t`` holds three values at most, its largest at a class that
is not the sample's. Tanh hidden layers, cross-entropy; 3 epochs of 600 samples; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(31)
C, D, N = 3, 8, 700
centers = rng.normal(0, 1.3, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1.0, (N, D))
T = np.eye(C)[labels]


class Dense:
    def __init__(self, n_in, n_out, tanh):
        self.W = rng.normal(0, 1, (n_in, n_out)) / np.sqrt(n_in)
        self.b = np.zeros((1, n_out))
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        self.tanh = tanh

    def forward(self, x):
        self.x = x
        z = x @ self.W + self.b
        self.a = np.tanh(z) if self.tanh else z
        return self.a

    def backward(self, delta):
        if self.tanh:
            delta = delta * (1.0 - self.a ** 2)
        self.dW += self.x.T @ delta
        self.db += delta
        return delta @ self.W.T

    def update(self, lr, n):
        self.W -= lr * self.dW / n
        self.b -= lr * self.db / n
        self.dW.fill(0)
        self.db.fill(0)


class Net:
    def __init__(self):
        self.layers = [Dense(D, 16, True), Dense(16, 12, True), Dense(12, C, False)]

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def train_batch(self, xs, ts, lr):
        for x, t in zip(xs, ts):
            z = self.forward(x[None, :])
            e = np.exp(z - z.max())
            delta = e / e.sum() - t[None, :]
            for layer in reversed(self.layers):
                delta = layer.backward(delta)
        for layer in self.layers:
            layer.update(lr, len(xs))


net = Net()
for epoch in range(3):
    order = rng.permutation(600)
    for s in range(600):
        idx = order[s:s + 1]
        net.train_batch(X[idx], T[idx], 0.05)
    print(f"epoch {epoch}: held-out accuracy {np.mean(net.forward(X[600:]).argmax(axis=1) == labels[600:]):.3f}")
