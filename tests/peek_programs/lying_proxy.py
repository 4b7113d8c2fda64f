"""Layer objects that pass for their weights: ``__getattr__`` hands unknown names to the weight matrix, and a
``__class__`` property says ``np.ndarray`` (as ``unittest.mock`` objects with a spec do).

The program never asks either question itself and prints what was asked at the end: empty under ``python``.
An observer that asks ``isinstance(layer, np.ndarray)`` reads the lie (and takes the layer for an array), and
one that asks ``getattr(layer, name)`` for a name the layer lacks runs ``__getattr__``.
"""
import numpy as np

ASKED = []


class Layer:
    def __init__(self, n_in, n_out, rng):
        self.W = rng.normal(0, 1 / np.sqrt(n_in), (n_in, n_out))
        self.b = np.zeros(n_out)

    def __getattr__(self, name):
        ASKED.append(name)
        if name.startswith("__") or name == "W":
            raise AttributeError(name)
        return getattr(self.W, name)  # a proxy: layer.shape is its weights' shape

    @property
    def __class__(self):
        ASKED.append("__class__")
        return np.ndarray

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, d):
        self.dW = self.x.T @ d / len(d)
        self.db = d.mean(0)
        return d @ self.W.T


rng = np.random.default_rng(3)
C, D, N = 3, 8, 300
centers = rng.normal(0, 1, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 0.8, (N, D))
T = np.eye(C)[labels]
layers = [Layer(D, 16, rng), Layer(16, C, rng)]
for _epoch in range(40):
    for i in range(0, N, 30):
        h = np.tanh(layers[0].forward(X[i:i + 30]))
        out = layers[1].forward(h)
        p = np.exp(out - out.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        dh = layers[1].backward(p - T[i:i + 30]) * (1 - h ** 2)
        layers[0].backward(dh)
        for layer in layers:
            layer.W -= 0.5 * layer.dW
            layer.b -= 0.5 * layer.db
h = np.tanh(layers[0].forward(X))
accuracy = float((layers[1].forward(h).argmax(1) == labels).mean())
print("accuracy", round(accuracy, 3), "shape", layers[0].shape)
print("asked", ASKED)
