"""Early stopping on a validation split: the best weights are copied aside whenever the validation loss improves,
training stops after 3 epochs without improvement and the best copy is restored. The network is a dict of
arrays in a class; the gradients are computed by a method and the step is a dict comprehension of new arrays.
"""
import numpy as np

rng = np.random.default_rng(29)
C, D, N = 3, 10, 1500
centers = rng.normal(0, 0.8, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1.0, (N, D))
split = rng.permutation(N)
tr, va, te = split[:1000], split[1000:1250], split[1250:]


class Classifier:
    def __init__(self, lr):
        self.lr = lr
        self.p = {"W1": rng.normal(0, 1, (D, 16)) * np.sqrt(2 / D), "b1": np.zeros(16),
                  "W2": rng.normal(0, 1, (16, C)) * np.sqrt(2 / 16), "b2": np.zeros(C)}

    def probs(self, x):
        h = np.maximum(x @ self.p["W1"] + self.p["b1"], 0)
        z = h @ self.p["W2"] + self.p["b2"]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return h, e / e.sum(axis=1, keepdims=True)

    def loss(self, x, y):
        return -np.mean(np.log(self.probs(x)[1][np.arange(len(y)), y] + 1e-12))

    def gradients(self, x, y):
        h, p = self.probs(x)
        p[np.arange(len(y)), y] -= 1
        p /= len(y)
        dh = p @ self.p["W2"].T * (h > 0)
        return {"W1": x.T @ dh, "b1": dh.sum(0), "W2": h.T @ p, "b2": p.sum(0)}

    def fit(self, epochs=40, patience=3):
        best, best_loss, waited = None, np.inf, 0
        for epoch in range(epochs):
            order = rng.permutation(tr)
            for s in range(0, len(order), 50):
                b = order[s:s + 50]
                g = self.gradients(X[b], labels[b])
                self.p = {k: v - self.lr * g[k] for k, v in self.p.items()}
            val = self.loss(X[va], labels[va])
            if val < best_loss - 1e-4:
                best, best_loss, waited = {k: v.copy() for k, v in self.p.items()}, val, 0
            else:
                waited += 1
                if waited >= patience:
                    print(f"stopped after epoch {epoch}")
                    break
        self.p = best


model = Classifier(lr=0.2)
model.fit()
print(f"validation loss {model.loss(X[va], labels[va]):.3f}")
print(f"test accuracy {np.mean(model.probs(X[te])[1].argmax(1) == labels[te]):.3f}")
