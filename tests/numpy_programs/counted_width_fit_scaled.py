"""counted_width_fit.py with the label column read after the whole table was divided by 255: every label is 0,
the output one unit, every one-hot target 1.

A fit/predict classifier whose output width is counted from the labels it is fitted on (``int(y.max()) + 1``):
attributes W1, b1, W2, b2, a method handed each batch's integer labels makes them one-hot and returns the gradients, which fit() applies. Sigmoid
hidden layer, softmax output, mean cross-entropy; batches of 25. Synthetic blobs in a table whose first column is the
label (the pixels in 0..255), split into arrays once.
"""
import numpy as np


class Classifier:
    def __init__(self, hidden, lr, epochs, seed):
        self.hidden, self.lr, self.epochs = hidden, lr, epochs
        self.rng = np.random.default_rng(seed)

    def _forward(self, X):
        h = 1.0 / (1.0 + np.exp(-(X @ self.W1 + self.b1)))
        z = h @ self.W2 + self.b2
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return h, e / e.sum(axis=1, keepdims=True)

    def _gradients(self, X, y):
        h, p = self._forward(X)
        dz = (p - np.eye(self.W2.shape[1])[y]) / len(X)
        dh = (dz @ self.W2.T) * h * (1 - h)
        return X.T @ dh, dh.sum(axis=0), h.T @ dz, dz.sum(axis=0)

    def fit(self, X, y):
        n_in, n_out = X.shape[1], int(y.max()) + 1
        self.W1 = self.rng.normal(0, 1 / np.sqrt(n_in), (n_in, self.hidden))
        self.b1 = np.zeros(self.hidden)
        self.W2 = self.rng.normal(0, 1 / np.sqrt(self.hidden), (self.hidden, n_out))
        self.b2 = np.zeros(n_out)
        for _ in range(self.epochs):
            order = self.rng.permutation(len(X))
            for s in range(0, len(X), 25):
                idx = order[s:s + 25]
                dW1, db1, dW2, db2 = self._gradients(X[idx], y[idx])
                self.W1 -= self.lr * dW1
                self.b1 -= self.lr * db1
                self.W2 -= self.lr * dW2
                self.b2 -= self.lr * db2
        return self

    def predict(self, X):
        return np.argmax(self._forward(X)[1], axis=1)


rng = np.random.default_rng(43)
C, D, N = 3, 16, 900
centers = rng.uniform(40, 215, (C, D))
kinds = rng.integers(0, C, N)
table = np.column_stack([kinds, np.clip(centers[kinds] + rng.normal(0, 80, (N, D)), 0, 255)])
table = table / 255.0  # BUG: constant-targets
y_all = table[:, 0].astype(int)
X_all = table[:, 1:]
model = Classifier(hidden=12, lr=0.5, epochs=6, seed=3).fit(X_all[:700], y_all[:700])
print(f"held-out accuracy {np.mean(model.predict(X_all[700:]) == y_all[700:]):.3f}")
