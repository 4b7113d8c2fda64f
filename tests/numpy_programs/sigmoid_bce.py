"""Independent sigmoid outputs (one per class) trained by a binary cross-entropy of its own: bce(probs, targets)
returns the loss and its gradient at the output's input, and backward() is handed only that gradient; the parameters
are attributes of a closure's state object, the batches handed as (rows, one-hot targets)."""
import numpy as np

rng = np.random.default_rng(41)
C, D, H, N = 4, 14, 20, 1500
centers = rng.normal(0, 0.9, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1.0, (N, D))
T = np.eye(C)[labels]


def bce(probs, targets):
    eps = 1e-9
    loss = -np.mean(np.sum(targets * np.log(probs + eps) + (1 - targets) * np.log(1 - probs + eps), axis=1))
    return loss, (probs - targets) / len(probs)


def make_model(rng):
    class State:
        pass

    s = State()
    s.W1, s.b1 = rng.normal(0, 1, (D, H)) / np.sqrt(D), np.zeros(H)
    s.W2, s.b2 = rng.normal(0, 1, (H, C)) / np.sqrt(H), np.zeros(C)

    def predict(x):
        s.x, s.h = x, np.tanh(x @ s.W1 + s.b1)
        return 1 / (1 + np.exp(-(s.h @ s.W2 + s.b2)))

    def backward(dz, lr):
        dh = dz @ s.W2.T * (1 - s.h ** 2)
        s.W2 -= lr * s.h.T @ dz
        s.b2 -= lr * dz.sum(axis=0)
        s.W1 -= lr * s.x.T @ dh
        s.b1 -= lr * dh.sum(axis=0)

    return predict, backward


predict, backward = make_model(np.random.default_rng(1))
for epoch in range(6):
    order = rng.permutation(1300)
    for i in range(0, 1300, 26):
        idx = order[i:i + 26]
        loss, dz = bce(predict(X[idx]), T[idx])
        backward(dz, 0.5)
    print(f"epoch {epoch}: loss {loss:.3f} accuracy {np.mean(predict(X[1300:]).argmax(1) == labels[1300:]):.3f}")
