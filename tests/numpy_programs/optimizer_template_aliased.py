"""optimizer_template.py with the reset by assignment: `layer.gsum = self.start[i]` makes each layer's sum the
optimizer's template, so the next sums are added into the template and every reset hands back all earlier ones.
"""
import numpy as np

rng = np.random.default_rng(8)
C, D, N = 3, 16, 900
centers = rng.normal(0, 1.2, (C, D))
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1.0, (N, D))


class Layer:
    def __init__(self, n_in, n_out, squash):
        self.W = rng.normal(0, 1, (n_in, n_out)) / np.sqrt(n_in)
        self.gsum = np.zeros_like(self.W)
        self.squash = squash

    def forward(self, a):
        return np.tanh(a @ self.W) if self.squash else a @ self.W

    def backward(self, a_in, out, d):
        if self.squash:
            d = d * (1 - out ** 2)
        self.gsum += a_in.T @ d
        return d @ self.W.T


class Optimizer:
    def __init__(self, layers, lr):
        self.layers, self.lr = layers, lr
        self.start = [np.zeros_like(layer.W) for layer in layers]

    def step(self, n):
        for i, layer in enumerate(self.layers):
            layer.W -= self.lr * layer.gsum / n
            layer.gsum = self.start[i]  # BUG: aliased-buffers


layers = [Layer(D, 12, True), Layer(12, C, False)]
opt = Optimizer(layers, 0.1)
targets = np.eye(C)
for epoch in range(5):
    order = rng.permutation(800)
    for start in range(0, 800, 20):
        for block in range(start, start + 20, 5):
            rows = order[block:block + 5]
            outs = [X[rows]]
            for layer in layers:
                outs.append(layer.forward(outs[-1]))
            d = outs[-1] - targets[y[rows]]
            for i in reversed(range(len(layers))):
                d = layers[i].backward(outs[i], outs[i + 1], d)
        opt.step(20)
    a = X[800:]
    for layer in layers:
        a = layer.forward(a)
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(a, axis=1) == y[800:]):.3f}")
