"""Layer objects that keep a copy of what they were handed (``self.a_in = np.array(x, dtype=float)``: a matrix
rewritten by every forward, evaluation included, named like nothing) for their backward pass; batches of 4 rows,
each layer's gradient summed on the layer and applied by the layer; tanh between the two layers, softmax
cross-entropy; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(44)
C, D, N = 3, 10, 900
centers = rng.normal(0, 1.5, (C, D))
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 0.8, (N, D))


class Linear:
    def __init__(self, n_in, n_out):
        self.w = rng.normal(0, 1, (n_in, n_out)) / np.sqrt(n_in)
        self.c = np.zeros((1, n_out))
        self.gw = np.zeros_like(self.w)
        self.gc = np.zeros_like(self.c)

    def forward(self, x):
        self.a_in = np.array(x, dtype=float)
        return self.a_in @ self.w + self.c

    def backward(self, d):
        self.gw += self.a_in.T @ d
        self.gc += d.sum(axis=0, keepdims=True)
        return d @ self.w.T

    def step(self, lr, n):
        self.w -= lr * self.gw / n
        self.c -= lr * self.gc / n
        self.gw[...] = 0.0
        self.gc[...] = 0.0


first, second = Linear(D, 14), Linear(14, C)


def probabilities(x):
    h = np.tanh(first.forward(x))
    z = second.forward(h)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return h, e / e.sum(axis=1, keepdims=True)


def learn(x, labels):
    h, p = probabilities(x)
    d = p.copy()
    d[np.arange(len(labels)), labels] -= 1.0
    first.backward(second.backward(d) * (1.0 - h ** 2))


for epoch in range(4):
    order = rng.permutation(800)
    for start in range(0, 800, 4):
        rows = order[start:start + 4]
        learn(X[rows], y[rows])
        first.step(0.3, 4)
        second.step(0.3, 4)
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(probabilities(X[800:])[1], axis=1) == y[800:]):.3f}")
