"""Layer objects (Linear, Sigmoid) with forward/backward; an optimizer object is handed the list of layers and
steps every layer that has parameters; zero_grad() empties the gradient sums the layers accumulate into.
"""
import numpy as np

rng = np.random.default_rng(23)
C, D, N = 3, 10, 1000
centers = rng.normal(0, 1.4, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1.0, (N, D))
T = np.eye(C)[labels]


class Linear:
    def __init__(self, n_in, n_out):
        self.W = rng.normal(0, 1, (n_in, n_out)) * np.sqrt(1.0 / n_in)
        self.b = np.zeros(n_out)
        self.gW = np.zeros_like(self.W)
        self.gb = np.zeros_like(self.b)

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, d):
        self.gW += self.x.T @ d
        self.gb += d.sum(axis=0)
        return d @ self.W.T


class Sigmoid:
    def forward(self, x):
        self.y = 1 / (1 + np.exp(-x))
        return self.y

    def backward(self, d):
        return d * self.y * (1 - self.y)


class SGD:
    def __init__(self, layers, lr):
        self.layers = [layer for layer in layers if hasattr(layer, "W")]
        self.lr = lr

    def zero_grad(self):
        for layer in self.layers:
            layer.gW.fill(0)
            layer.gb.fill(0)

    def step(self):
        for layer in self.layers:
            layer.W -= self.lr * layer.gW
            layer.b -= self.lr * layer.gb


net = [Linear(D, 16), Sigmoid(), Linear(16, C)]
opt = SGD(net, lr=0.3)


def run(x):
    for layer in net:
        x = layer.forward(x)
    return x


for epoch in range(6):
    order = rng.permutation(900)
    for s in range(0, 900, 30):
        idx = order[s:s + 30]
        opt.zero_grad()
        out = run(X[idx])
        d = (out - T[idx]) / len(idx)
        for layer in reversed(net):
            d = layer.backward(d)
        opt.step()
    print(f"epoch {epoch}: accuracy {np.mean(run(X[900:]).argmax(axis=1) == labels[900:]):.3f}")
