"""Weights and the forward's results kept in one object: the results in a dict that starts empty and that the first
forward fills (``self.saved['pre'] = ...``); the rows are read one by one at module level before the object trains
(many loop iterations before training starts); batches of 10 rows, ReLU, squared error on one-hot targets.
"""
import numpy as np

rng = np.random.default_rng(55)
C, D = 4, 14
centers = rng.normal(0, 1.0, (C, D))
rows, labels = [], []
for i in range(1200):
    k = int(rng.integers(0, C))
    rows.append(centers[k] + rng.normal(0, 0.8, D))
    labels.append(k)
X, y = np.array(rows), np.array(labels)


class Model:
    def __init__(self, hidden):
        self.w1 = rng.normal(0, 1, (D, hidden)) * np.sqrt(2.0 / D)
        self.w2 = rng.normal(0, 1, (hidden, C)) / np.sqrt(hidden)
        self.saved = {}

    def forward(self, x):
        self.saved["pre"] = x @ self.w1
        self.saved["act"] = np.maximum(self.saved["pre"], 0.0)
        self.saved["out"] = self.saved["act"] @ self.w2
        return self.saved["out"]

    def train_step(self, x, t, lr):
        out = self.forward(x)
        err = (out - t) / len(x)
        d_act = (err @ self.w2.T) * (self.saved["pre"] > 0)
        self.w2 -= lr * (self.saved["act"].T @ err)
        self.w1 -= lr * (x.T @ d_act)


model = Model(20)
targets = np.eye(C)[y]
for epoch in range(5):
    order = rng.permutation(1000)
    for start in range(0, 1000, 10):
        rows_ = order[start:start + 10]
        model.train_step(X[rows_], targets[rows_], 0.02)
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(model.forward(X[1000:]), axis=1) == y[1000:]):.3f}")
