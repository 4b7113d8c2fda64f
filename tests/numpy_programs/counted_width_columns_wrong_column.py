"""A closure over a list of Dense layer objects trained one sample at a time on column vectors, its output width
counted from the labels (``max(label) + 1``), squared error against ``np.eye(n_out)[t].T``, each layer stepping itself
inside its backward. The label is read from the table's second column (a pixel of a blank border, always 0) instead
of the first: every label is 0, the network has one output unit, and its target is np.eye(1)[0], the value 1.

Synthetic blobs in a table whose first column is the label (the pixels in 0..255), a blank first pixel.
"""
import numpy as np

rng = np.random.default_rng(5)
C, D, N = 3, 16, 600
centers = rng.uniform(40, 215, (C, D))
kinds = rng.integers(0, C, N)
pixels = np.clip(centers[kinds] + rng.normal(0, 60, (N, D)), 0, 255)
pixels[:, 0] = 0.0  # a blank border pixel
table = np.column_stack([kinds, pixels])
train_set = [([[v / 255.0] for v in row[1:]], int(row[1])) for row in table[:500]]  # BUG: constant-targets
n_out = max(label for _, label in train_set) + 1


class Dense:
    def __init__(self, n_in, n_out, relu, rng):
        self.W = rng.uniform(-1.0, 1.0, (n_out, n_in)) * np.sqrt(6.0 / n_in)
        self.b = np.zeros((n_out, 1))
        self.relu = relu

    def forward(self, x):
        self.x = x
        self.z = self.W @ x + self.b
        return np.maximum(self.z, 0.0) if self.relu else self.z

    def backward(self, d, lr):
        dz = d * (self.z > 0) if self.relu else d
        dx = self.W.T @ dz
        self.W -= lr * (dz @ self.x.T)
        self.b -= lr * dz.sum(axis=1, keepdims=True)
        return dx


def make_model(rng, lr):
    layers = [Dense(D, 12, True, rng), Dense(12, n_out, False, rng)]

    def forward(x):
        for layer in layers:
            x = layer.forward(x)
        return x

    def backward(t, out):
        T = np.eye(out.shape[0])[t].T
        d = (out - T) / len(t)
        for layer in reversed(layers):
            d = layer.backward(d, lr)

    def train(epochs):
        for _ in range(epochs):
            for j in rng.permutation(len(train_set)):
                x_list, label = train_set[j]
                t = np.array([label])
                backward(t, forward(np.array(x_list)))

    return forward, train


forward, train = make_model(np.random.default_rng(1), lr=0.01)
train(3)
X_test = table[500:, 1:].T / 255.0
print(f"held-out accuracy {np.mean(np.argmax(forward(X_test), axis=0) == table[500:, 0]):.3f}")
