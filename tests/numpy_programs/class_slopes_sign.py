"""A class whose gradients live in a second dict on the object, rebuilt at every batch under the weights' keys.

``self.weights`` holds the layers (``W1``, ``b1``, ``W2``, ``b2``); ``slopes()`` returns a
new dict of gradients that the training loop keeps on the object (``net.slopes``) before ``apply()`` reads it. Batches
of 20 rows, sigmoid hidden layer, softmax output with cross-entropy; a held-out forward after every epoch.
"""
import numpy as np

rng = np.random.default_rng(5)
C, D = 4, 18
centers = rng.normal(0, 1, (C, D)) * 0.8
y = rng.integers(0, C, 1000)
X = centers[y] + rng.normal(0, 1, (1000, D))


class Net:
    def __init__(self):
        self.weights = {"W1": rng.normal(0, 1, (D, 14)) / np.sqrt(D), "b1": np.zeros(14),
                        "W2": rng.normal(0, 1, (14, C)) / np.sqrt(14), "b2": np.zeros(C)}
        self.slopes = {}

    def predict(self, x):
        h = 1 / (1 + np.exp(-(x @ self.weights["W1"] + self.weights["b1"])))
        z = h @ self.weights["W2"] + self.weights["b2"]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return h, e / e.sum(axis=1, keepdims=True)

    def gradients(self, x, labels):
        h, p = self.predict(x)
        dz = (p - np.eye(C)[labels]) / len(x)
        dh = -(dz @ self.weights["W2"].T) * h * (1 - h)  # BUG: gradient-mismatch
        return {"W1": x.T @ dh, "b1": dh.sum(axis=0), "W2": h.T @ dz, "b2": dz.sum(axis=0)}

    def apply(self, lr):
        for k, w in self.weights.items():
            w -= lr * self.slopes[k]


net = Net()
for epoch in range(6):
    order = rng.permutation(800)
    for i in range(0, 800, 20):
        rows = order[i:i + 20]
        net.slopes = net.gradients(X[rows], y[rows])
        net.apply(0.8)
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(net.predict(X[800:])[1], axis=1) == y[800:]):.3f}")
