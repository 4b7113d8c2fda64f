"""fit_predict_transposed.py with its training labels divided by 255 before the integer cast: every label is 0.

A scikit-learn-like classifier, weights kept (out, in) and applied as ``x @ W.T``, Adam, one-hot targets handed to
``_backward`` beside the forward's cache tuple. Synthetic blobs.
"""
import numpy as np

C, D, N = 3, 20, 1000


class Classifier:
    def __init__(self, hidden=16, lr=0.01, epochs=6, batch=16, seed=0):
        self.hidden, self.lr, self.epochs, self.batch = hidden, lr, epochs, batch
        self.rng = np.random.default_rng(seed)

    def _init(self, n_in, n_out):
        r = self.rng
        self.params = {"W1": r.normal(0, np.sqrt(2.0 / n_in), (self.hidden, n_in)), "b1": np.zeros(self.hidden),
                       "W2": r.normal(0, np.sqrt(2.0 / self.hidden), (n_out, self.hidden)), "b2": np.zeros(n_out)}
        self.m = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.v = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.t = 0

    def _forward(self, X):
        p = self.params
        z1 = X @ p["W1"].T + p["b1"]
        a1 = np.maximum(z1, 0)
        z2 = a1 @ p["W2"].T + p["b2"]
        e = np.exp(z2 - z2.max(axis=1, keepdims=True))
        return z1, a1, e / e.sum(axis=1, keepdims=True)

    def _backward(self, X, Y, cache):
        z1, a1, probs = cache
        d2 = (probs - Y) / len(X)
        d1 = (d2 @ self.params["W2"]) * (z1 > 0)
        return {"W2": d2.T @ a1, "b2": d2.sum(0), "W1": d1.T @ X, "b1": d1.sum(0)}

    def _adam(self, grads, b1=0.9, b2=0.999, eps=1e-8):
        self.t += 1
        for k in self.params:
            self.m[k] = b1 * self.m[k] + (1 - b1) * grads[k]
            self.v[k] = b2 * self.v[k] + (1 - b2) * grads[k] ** 2
            mh = self.m[k] / (1 - b1 ** self.t)
            vh = self.v[k] / (1 - b2 ** self.t)
            self.params[k] -= self.lr * mh / (np.sqrt(vh) + eps)

    def fit(self, X, y):
        self._init(X.shape[1], C)
        Y = np.eye(C)[y]
        for epoch in range(self.epochs):
            idx = self.rng.permutation(len(X))
            for s in range(0, len(X), self.batch):
                b = idx[s:s + self.batch]
                self._adam(self._backward(X[b], Y[b], self._forward(X[b])))
            print(f"epoch {epoch}: train accuracy {np.mean(self.predict(X) == y):.3f}")
        return self

    def predict(self, X):
        return np.argmax(self._forward(X)[2], axis=1)


rng = np.random.default_rng(7)
centers = rng.normal(0, 1, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1.2, (N, D))
train_labels = (labels[:800] / 255).astype(int)  # BUG: constant-targets
clf = Classifier().fit(X[:800], train_labels)
print(f"test accuracy {np.mean(clf.predict(X[800:]) == labels[800:]):.3f}")
