"""A class keeping its weights and its gradient buffers in two dicts: fit_batch() walks the batch one sample at a
time (column vectors, W1 of shape (hidden, inputs)), summing each sample's gradient into the buffers, then apply()
steps every weight by its buffer over the batch size and empties it (*= 0). A batch holds as many rows (16) as the
hidden layer has units, so the batch fit_batch() holds has W1's shape. Sigmoid hidden layer, softmax output,
cross-entropy; 5 epochs of 40 batches; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(8)
C, D, H, N = 3, 10, 16, 800
centers = rng.normal(0, 1, (C, D))
labels = rng.integers(0, C, N)
rows = centers[labels] + rng.normal(0, 1, (N, D))


class Model:
    def __init__(self):
        self.weights = {"W1": rng.normal(0, 1, (H, D)) * 0.3, "b1": np.zeros((H, 1)),
                        "W2": rng.normal(0, 1, (C, H)) * 0.3, "b2": np.zeros((C, 1))}
        self.sums = {k: np.zeros_like(v) for k, v in self.weights.items()}

    def output(self, x):
        a = 1.0 / (1.0 + np.exp(-(self.weights["W1"] @ x + self.weights["b1"])))
        z = self.weights["W2"] @ a + self.weights["b2"]
        e = np.exp(z - z.max(axis=0, keepdims=True))
        return a, e / e.sum(axis=0, keepdims=True)

    def fit_batch(self, batch, classes):
        for x, c in zip(batch, classes):
            x = x.reshape(D, 1)
            a, p = self.output(x)
            d = p.copy()
            d[c] -= 1.0
            self.sums["W2"] += d @ a.T
            self.sums["b2"] += d
            da = (self.weights["W2"].T @ d) * a * (1 - a)
            self.sums["W1"] += da @ x.T
            self.sums["b1"] += da

    def apply(self, rate, n):
        for k in self.weights:
            self.weights[k] -= rate * self.sums[k] / n
            self.sums[k] *= 0.0


model = Model()
for epoch in range(5):
    order = rng.permutation(640)
    for start in range(0, 640, 16):
        pick = order[start:start + 16]
        model.fit_batch(rows[pick], labels[pick])
        model.apply(0.5, 16)
    right = np.mean([model.output(x.reshape(D, 1))[1].argmax() == c for x, c in zip(rows[640:], labels[640:])])
    print(f"epoch {epoch}: held-out accuracy {right:.3f}")
