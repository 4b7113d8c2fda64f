"""A module-level loop whose learning rate grows until the weights are Inf and NaN: the program silences its own
floating-point warnings (np.errstate), so its stderr is empty; netdoctor's arithmetic on those weights afterwards
(norms that overflow, NaN differences) must print nothing there either."""
import numpy as np

rng = np.random.default_rng(0)
X = rng.normal(size=(256, 8))
T = np.eye(3)[rng.integers(0, 3, 256)]
W1, b1 = rng.normal(0, 0.3, (8, 16)), np.zeros(16)
W2, b2 = rng.normal(0, 0.3, (16, 3)), np.zeros(3)
with np.errstate(all="ignore"):
    for step in range(300):
        idx = rng.integers(0, 256, 32)
        x, t = X[idx], T[idx]
        h = np.tanh(x @ W1 + b1)
        z = h @ W2 + b2
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        d = (p - t) / 32
        dW2, db2 = h.T @ d, d.sum(0)
        dh = d @ W2.T * (1 - h ** 2)
        dW1, db1 = x.T @ dh, dh.sum(0)
        lr = 0.1 * np.float64(10.0) ** (max(0, step - 120) * 3)  # inf from step 224 on
        W1 -= lr * dW1
        b1 -= lr * db1
        W2 -= lr * dW2
        b2 -= lr * db2
print("weights finite:", bool(np.isfinite(W1).all()))
