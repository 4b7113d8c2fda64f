"""fit_predict_width.py dividing the table by 255, the label column with the pixels: every label is 0, so the
classifier sized from them has one output unit (a softmax over it is 1: nothing ever moves).

A scikit-learn-like classifier sized from its labels (``n_out = int(y.max()) + 1``): weights kept (out, in) in a
dict and applied as ``x @ W.T``, ReLU, softmax, Adam with its moments in dicts keyed like the parameters, mini-batches
of 32, inputs standardised. Synthetic blobs in a table whose first column is the label (the pixels in 0..255).
"""
import numpy as np


class Classifier:
    def __init__(self, hidden=24, lr=0.005, epochs=6, batch=32, seed=0):
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
        n_out = int(y.max()) + 1
        self._init(X.shape[1], n_out)
        Y = np.eye(n_out)[y]
        for epoch in range(self.epochs):
            idx = self.rng.permutation(len(X))
            total = 0.0
            for s in range(0, len(X), self.batch):
                b = idx[s:s + self.batch]
                cache = self._forward(X[b])
                total += -np.sum(Y[b] * np.log(cache[2] + 1e-12))
                self._adam(self._backward(X[b], Y[b], cache))
            print(f"epoch {epoch + 1}: loss {total / len(X):.4f}")
        return self

    def predict(self, X):
        return np.argmax(self._forward(X)[2], axis=1)


rng = np.random.default_rng(23)
C, D, N = 4, 30, 1200
centers = rng.uniform(40, 215, (C, D))
labels = rng.integers(0, C, N)
data = np.column_stack([labels, np.clip(centers[labels] + rng.normal(0, 110, (N, D)), 0, 255)])
data = data / 255.0  # BUG: constant-targets
y = data[:, 0].astype(int)
X = data[:, 1:]
mu, sd = X[:960].mean(0), X[:960].std(0) + 1e-8
X = (X - mu) / sd
clf = Classifier().fit(X[:960], y[:960])
print("test accuracy", np.mean(clf.predict(X[960:]) == y[960:]))
