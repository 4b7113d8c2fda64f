"""A network object held in a module global, its forward and backward its own methods; a module constant of the
output bias's shape (CLASS_WEIGHT, each class's share of the labels inverted and normalised) weights each sample's
error in a helper of its own, which the gradient of the output layer then carries. The step is a helper that takes
each (array, gradient) pair; the frozen twin rebinds its loop variable instead. Mini-batches of 20 rows, tanh hidden layer, softmax output. Synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(5)
C, D = 4, 12
centers = rng.normal(0, 1, (C, D))
y = rng.choice(C, 1100, p=[0.4, 0.3, 0.2, 0.1])
X = centers[y] + rng.normal(0, 0.7, (1100, D))
CLASS_WEIGHT = 1.0 / np.bincount(y[:900], minlength=C)
CLASS_WEIGHT = CLASS_WEIGHT / CLASS_WEIGHT.mean()


def weighted_error(probs, labels):
    """The softmax's error on each row, weighted by the row's class weight."""
    e = probs.copy()
    e[np.arange(len(labels)), labels] -= 1.0
    return e * CLASS_WEIGHT[labels][:, None] / len(labels)


class Net:
    def __init__(self, hidden):
        self.W1 = rng.normal(0, 1, (D, hidden)) / np.sqrt(D)
        self.b1 = np.zeros(hidden)
        self.W2 = rng.normal(0, 1, (hidden, C)) / np.sqrt(hidden)
        self.b2 = np.zeros(C)

    def forward(self, x):
        h = np.tanh(x @ self.W1 + self.b1)
        z = h @ self.W2 + self.b2
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return h, e / e.sum(axis=1, keepdims=True)

    def backward(self, x, labels):
        h, probs = self.forward(x)
        e = weighted_error(probs, labels)
        dh = (e @ self.W2.T) * (1.0 - h ** 2)
        return [(self.W1, x.T @ dh), (self.b1, dh.sum(axis=0)), (self.W2, h.T @ e), (self.b2, e.sum(axis=0))]


def apply(pairs, rate):
    for p, g in pairs:
        p = p - rate * g  # BUG: frozen-parameters


net = Net(10)
for epoch in range(6):
    order = rng.permutation(900)
    for i in range(0, 900, 20):
        rows = order[i:i + 20]
        apply(net.backward(X[rows], y[rows]), 0.5)
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(net.forward(X[900:])[1], axis=1) == y[900:]):.3f}")
