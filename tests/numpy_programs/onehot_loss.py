"""Mini-batches handed as (rows, integer labels); the loss makes the one-hot inside (np.eye(C)[labels]) and
returns its gradient with respect to the logits. A Model class with forward/backward, the step a method.
"""
import numpy as np

rng = np.random.default_rng(22)
C, D, N = 5, 16, 2600
centers = rng.normal(0, 1.0, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1.0, (N, D))
X_train, y_train, X_test, y_test = X[:2400], labels[:2400], X[2400:], labels[2400:]


def softmax_cross_entropy(logits, y):
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    onehot = np.eye(logits.shape[1])[y]
    loss = -np.mean(np.sum(onehot * np.log(p + 1e-12), axis=1))
    return loss, (p - onehot) / len(y)


class Model:
    def __init__(self, d, h, c):
        self.W1 = rng.normal(0, np.sqrt(2.0 / d), (d, h))
        self.b1 = np.zeros(h)
        self.W2 = rng.normal(0, np.sqrt(2.0 / h), (h, c))
        self.b2 = np.zeros(c)

    def forward(self, x):
        self.x = x
        self.a = x @ self.W1 + self.b1
        self.h = np.maximum(self.a, 0)
        return self.h @ self.W2 + self.b2

    def backward(self, dlogits):
        self.dW2 = self.h.T @ dlogits
        self.db2 = dlogits.sum(axis=0)
        dh = dlogits @ self.W2.T * (self.a > 0)
        self.dW1 = self.x.T @ dh
        self.db1 = dh.sum(axis=0)

    def step(self, lr):
        self.W1 -= lr * self.dW1
        self.b1 -= lr * self.db1
        self.W2 -= lr * self.dW2
        self.b2 -= lr * self.db2


model = Model(D, 48, C)
for epoch in range(6):
    perm = rng.permutation(len(X_train))
    total = 0.0
    for i in range(0, len(perm), 40):
        xb, yb = X_train[perm[i:i + 40]], y_train[perm[i:i + 40]]
        loss, dlogits = softmax_cross_entropy(model.forward(xb), yb)
        model.backward(dlogits)
        model.step(0.2)
        total += loss
    acc = np.mean(model.forward(X_test).argmax(axis=1) == y_test)
    print(f"epoch {epoch}: loss {total / 60:.3f} accuracy {acc:.3f}")
