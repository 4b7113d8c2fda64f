"""template_dict.py with the reset a shallow copy: `dict(self.zeros)` is a new dict holding the templates' own
arrays, so the in-place `+=` of the next batch adds into the templates and each reset hands back the sums of all
earlier batches.

A class keeping its gradient sums in a dict and a dict of zero templates beside it; one sample at a time, the sums
applied (divided by the batch size) every 16 samples, then the dict is reset from the templates; sigmoid hidden layer,
softmax output, cross-entropy; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(5)
C, D, N = 4, 24, 1000
centers = rng.normal(0, 1, (C, D))
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 0.9, (N, D))


class Model:
    def __init__(self, hidden=16):
        self.params = {"W1": rng.normal(0, 1, (D, hidden)) / np.sqrt(D), "b1": np.zeros(hidden),
                       "W2": rng.normal(0, 1, (hidden, C)) / np.sqrt(hidden), "b2": np.zeros(C)}
        self.zeros = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.sums = {k: np.zeros_like(v) for k, v in self.params.items()}

    def probabilities(self, x):
        h = 1.0 / (1.0 + np.exp(-(x @ self.params["W1"] + self.params["b1"])))
        z = h @ self.params["W2"] + self.params["b2"]
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return h, e / e.sum(axis=-1, keepdims=True)

    def add_gradient(self, x, label):
        h, p = self.probabilities(x)
        dz = p - np.eye(C)[label]
        dh = (self.params["W2"] @ dz) * h * (1 - h)
        self.sums["W2"] += np.outer(h, dz)
        self.sums["b2"] += dz
        self.sums["W1"] += np.outer(x, dh)
        self.sums["b1"] += dh

    def apply(self, lr, n):
        for k in self.params:
            self.params[k] -= lr * self.sums[k] / n
        self.sums = dict(self.zeros)  # BUG: aliased-buffers


model = Model()
for epoch in range(4):
    for i, j in enumerate(rng.permutation(800)):
        model.add_gradient(X[j], y[j])
        if (i + 1) % 16 == 0:
            model.apply(0.5, 16)
    accuracy = np.mean(np.argmax(model.probabilities(X[800:])[1], axis=1) == y[800:])
    print(f"epoch {epoch}: accuracy {accuracy:.3f}")
