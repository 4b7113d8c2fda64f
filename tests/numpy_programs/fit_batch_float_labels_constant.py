"""(Its labels divided by the number of classes: every label is 0.)

A model class whose ``fit_batch(xb, yb)`` runs the forward and makes the labels one-hot itself
(``np.eye(C)[yb.astype(int)]``); the labels are the first column of a table of floats (as ``np.genfromtxt`` reads a
CSV file), handed over as floats. Rows are samples, ReLU hidden layer, softmax with cross-entropy, batches of 20.
"""
import numpy as np

rng = np.random.default_rng(5)
K, D, N = 4, 16, 1200
centres = rng.normal(0, 1.5, (K, D))
classes = rng.integers(0, K, N)
table = np.column_stack([classes, centres[classes] + rng.normal(0, 1.0, (N, D))])  # label, features
X, y = table[:, 1:], table[:, 0] // K  # BUG: constant-targets


class MLP:
    def __init__(self, n_in, n_hidden, n_out, lr):
        self.W1 = rng.normal(0, np.sqrt(2 / n_in), (n_in, n_hidden))
        self.b1 = np.zeros(n_hidden)
        self.W2 = rng.normal(0, np.sqrt(1 / n_hidden), (n_hidden, n_out))
        self.b2 = np.zeros(n_out)
        self.lr = lr
        self.n_out = n_out

    def predict_proba(self, xb):
        h = np.maximum(xb @ self.W1 + self.b1, 0.0)
        s = h @ self.W2 + self.b2
        e = np.exp(s - s.max(axis=1, keepdims=True))
        return h, e / e.sum(axis=1, keepdims=True)

    def fit_batch(self, xb, yb):
        h, p = self.predict_proba(xb)
        onehot = np.eye(self.n_out)[yb.astype(int)]
        d2 = (p - onehot) / len(yb)
        d1 = (d2 @ self.W2.T) * (h > 0)
        self.W2 -= self.lr * (h.T @ d2)
        self.b2 -= self.lr * d2.sum(axis=0)
        self.W1 -= self.lr * (xb.T @ d1)
        self.b1 -= self.lr * d1.sum(axis=0)
        return float(-np.mean(np.log(np.sum(p * onehot, axis=1) + 1e-12)))


model = MLP(D, 24, K, 0.3)
for epoch in range(5):
    order = rng.permutation(1000)
    for i in range(0, 1000, 20):
        idx = order[i:i + 20]
        loss = model.fit_batch(X[idx], y[idx])
    _, p = model.predict_proba(X[1000:])
    print("epoch", epoch + 1, "loss", round(loss, 4), "held-out accuracy", float(np.mean(p.argmax(axis=1) == classes[1000:])))
