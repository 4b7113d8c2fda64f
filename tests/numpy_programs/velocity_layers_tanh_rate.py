"""Layer objects that step themselves inside ``backward(d, scale)`` with momentum (``self.vW = mu * self.vW - scale
* dW; self.W += self.vW``), weights stored (out, in) and applied as ``x @ W.T``, float32, two tanh hidden layers and a
softmax; the loop is a ``while`` over shuffled index batches of 32 that prints the program's own loss
``-sum(T * log(out + 1e-12)) / n``, the rate halved every 3 epochs; synthetic blobs.
"""
import numpy as np

lr = 2.5  # BUG: learning-rate-too-high
mu = 0.9
rng = np.random.default_rng(1070)
C, D, N = 5, 24, 1100
centers = rng.normal(0, 1.0, (C, D))
labels = rng.integers(0, C, N)
X = (centers[labels] + rng.normal(0, 1.0, (N, D))).astype(np.float32)


def loss_of(out, t):
    T = np.eye(out.shape[1], dtype=out.dtype)[t]
    return float(-np.sum(T * np.log(out + 1e-12)) / out.shape[0])


class Dense:
    def __init__(self, n_in, n_out, activation):
        self.W = (rng.normal(0.0, 1.0, (n_out, n_in)) / np.sqrt(n_in)).astype(np.float32)
        self.b = np.zeros(n_out, dtype=np.float32)
        self.activation = activation
        self.vW = np.zeros_like(self.W)
        self.vb = np.zeros_like(self.b)

    def forward(self, x):
        self.x = x
        self.z = x @ self.W.T + self.b
        self.a = np.tanh(self.z) if self.activation else self.z
        return self.a

    def backward(self, d, scale):
        dz = d * (1.0 - self.a ** 2) if self.activation else d
        dW = dz.T @ self.x
        db = dz.sum(axis=0)
        dx = dz @ self.W
        self.vW = mu * self.vW - scale * dW
        self.W += self.vW
        self.vb = mu * self.vb - scale * db
        self.b += self.vb
        return dx


class Network:
    def __init__(self):
        self.layers = [Dense(D, 32, True), Dense(32, 16, True), Dense(16, C, False)]

    def forward(self, x):
        a = x
        for layer in self.layers:
            a = layer.forward(a)
        e = np.exp(a - a.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def backward(self, t, out, scale):
        T = np.eye(out.shape[1], dtype=out.dtype)[t]
        d = (out - T) / len(t)
        for layer in reversed(self.layers):
            d = layer.backward(d, scale)


model = Network()
for epoch in range(6):
    rate = lr * 0.5 ** (epoch // 3)
    order = rng.permutation(1000)
    losses = []
    start = 0
    while start < 1000:
        idx = order[start:start + 32]
        out = model.forward(X[idx])
        losses.append(loss_of(out, labels[idx]))
        model.backward(labels[idx], out, rate)
        start += 32
    print(f"epoch {epoch + 1}: loss {np.mean(losses):.4f}")
acc = float(np.mean(model.forward(X[1000:]).argmax(axis=1) == labels[1000:]))
print(f"test accuracy {acc:.3f}")
