"""A network class holding its layers' arrays in lists and a trainer function handed ``(net, x, label)``, one sample
at a time: the function builds ``p - onehot(label)`` itself and hands ``net.apply_error(delta, lr)`` only that error;
the network keeps each layer's output in ``self.outputs`` (a list rewritten at every forward). Three classes, ReLU
hidden layer.
"""
import numpy as np

rng = np.random.default_rng(31)
K, D, N = 3, 10, 1100
centres = rng.normal(0, 1.2, (K, D))
y = rng.integers(0, K, N)
X = centres[y] + rng.normal(0, 1.0, (N, D))


class Net:
    def __init__(self, sizes):
        self.Ws = [rng.normal(0, np.sqrt(2 / a), (a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
        self.bs = [np.zeros(b) for b in sizes[1:]]

    def run(self, x):
        self.outputs = [x]
        for k, (W, b) in enumerate(zip(self.Ws, self.bs)):
            z = self.outputs[-1] @ W + b
            self.outputs.append(np.maximum(z, 0) if k < len(self.Ws) - 1 else z)
        return self.outputs[-1]

    def apply_error(self, delta, lr):
        for k in range(len(self.Ws) - 1, -1, -1):
            back = self.Ws[k] @ delta
            self.Ws[k] -= lr * np.outer(self.outputs[k], delta)
            self.bs[k] -= lr * delta
            delta = back * (self.outputs[k] > 0)


def train_sample(net, x, label, lr):
    z = net.run(x)
    p = np.exp(z - z.max())
    p /= p.sum()
    delta = p.copy()
    delta[label] -= 1.0
    net.apply_error(delta, lr)


net = Net([D, 14, K])
labels = [int(v) for v in y]
for epoch in range(2):
    for i in rng.permutation(900):
        train_sample(net, X[i], labels[i], 0.02)

hits = sum(int(np.argmax(net.run(X[i])) == y[i]) for i in range(900, N))
print(f"held-out accuracy {hits / (N - 900):.3f}")
