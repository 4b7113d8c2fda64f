"""Dense layer objects in a list, samples as rows: each layer keeps its input and accumulates its gradients in
``backward(delta)``, which is handed only the delta; ``Model.backprop(labels)`` turns the integer labels into one-hot
rows itself (``np.eye(k)[labels]``) and walks the layers backwards. A linear output fitted by squared error to those rows, Adam
(its moments kept on each layer beside its weights), mini-batches of 25, the output sized from the labels
(``n_out = labels.max() + 1``). Labels read from a column of zeros make the output one unit, whose weights and Adam
moments are (1, 16) and (1, 1) arrays, trained towards a target of 1 for every sample.
"""
import numpy as np

rng = np.random.default_rng(7)
K, D, N = 3, 12, 600
centers = rng.normal(0, 1.5, (K, D))
kind = rng.integers(0, K, N)
samples = np.column_stack([kind, np.zeros(N), centers[kind] + rng.normal(0, 1.0, (N, D))])
features, labels = samples[:, 2:], samples[:, 0].astype(int)
n_out = int(labels.max()) + 1


class Dense:
    def __init__(self, n_in, n_units, relu):
        self.W = rng.normal(0, 1, (n_in, n_units)) * np.sqrt(2.0 / n_in)
        self.b = np.zeros((1, n_units))
        self.relu = relu
        self.gW, self.gb = np.zeros_like(self.W), np.zeros_like(self.b)
        self.mom_W, self.mom_b = np.zeros_like(self.W), np.zeros_like(self.b)
        self.sq_W, self.sq_b = np.zeros_like(self.W), np.zeros_like(self.b)

    def forward(self, inputs):
        self.inputs = inputs
        self.pre = inputs @ self.W + self.b
        return np.maximum(self.pre, 0.0) if self.relu else self.pre

    def backward(self, delta):
        if self.relu:
            delta = delta * (self.pre > 0)
        self.gW += self.inputs.T @ delta
        self.gb += delta.sum(axis=0, keepdims=True)
        return delta @ self.W.T


class Model:
    def __init__(self, sizes):
        self.layers = [Dense(a, b, i < len(sizes) - 2) for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))]
        self.t = 0

    def predict(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        self.scores = x

    def backprop(self, y):
        onehot = np.eye(self.scores.shape[1])[y]
        delta = 2.0 * (self.scores - onehot) / len(y)
        for layer in reversed(self.layers):
            delta = layer.backward(delta)

    def adam_step(self, lr, b1=0.9, b2=0.999):
        self.t += 1
        for layer in self.layers:
            for p, g, m, s in ((layer.W, layer.gW, layer.mom_W, layer.sq_W), (layer.b, layer.gb, layer.mom_b, layer.sq_b)):
                m[...] = b1 * m + (1 - b1) * g
                s[...] = b2 * s + (1 - b2) * g * g
                p -= lr * (m / (1 - b1 ** self.t)) / (np.sqrt(s / (1 - b2 ** self.t)) + 1e-8)
                g.fill(0.0)


model = Model([D, 16, n_out])
train, test = slice(0, 500), slice(500, N)
for epoch in range(6):
    order = rng.permutation(500)
    for start in range(0, 500, 25):
        rows = order[start:start + 25]
        model.predict(features[train][rows])
        model.backprop(labels[train][rows])
        model.adam_step(0.01)
model.predict(features[test])
print(f"test accuracy {np.mean(model.scores.argmax(axis=1) == samples[test, 0]):.3f}")
