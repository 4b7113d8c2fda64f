"""Samples as columns (``X`` is (features, samples)), module-level arrays, a softmax output trained by cross-entropy,
integer labels made one-hot columns inside the backward pass, gradient buffers it adds into (with L2 decay) and the
loop empties in place after an optimizer object's step, batches of 20. The output error is ``(P - Y) / m``, the mean over the batch's columns; summed instead (``P - Y``), every step is
20 times the mean's at a rate chosen for the mean.
"""
import numpy as np

rng = np.random.default_rng(11)
K, D, N = 4, 30, 800
means = rng.normal(0, 1.0, (K, D))
cls = rng.integers(0, K, N)
X = (means[cls] + rng.normal(0, 1.0, (N, D))).T
X_fit, y_fit, X_eval, y_eval = X[:, :600], cls[:600], X[:, 600:], cls[600:]

H, decay = 20, 5e-4
Wa = rng.normal(0, 1, (H, D)) * np.sqrt(2.0 / D)
ba = np.zeros((H, 1))
Wb = rng.normal(0, 1, (K, H)) * np.sqrt(1.0 / H)
bb = np.zeros((K, 1))
acc = {"Wa": np.zeros_like(Wa), "ba": np.zeros_like(ba), "Wb": np.zeros_like(Wb), "bb": np.zeros_like(bb)}


def predict(cols):
    pre = Wa @ cols + ba
    hid = np.maximum(pre, 0.0)
    s = Wb @ hid + bb
    s = s - s.max(axis=0, keepdims=True)
    P = np.exp(s) / np.exp(s).sum(axis=0, keepdims=True)
    return pre, hid, P


def accumulate(cols, labels, pre, hid, P):
    m = cols.shape[1]
    Ycols = np.eye(K)[labels].T
    E = P - Ycols  # BUG: summed-gradient
    acc["Wb"] += E @ hid.T + decay * Wb
    acc["bb"] += E.sum(axis=1, keepdims=True)
    back = (Wb.T @ E) * (pre > 0)
    acc["Wa"] += back @ cols.T + decay * Wa
    acc["ba"] += back.sum(axis=1, keepdims=True)


class Descent:
    def __init__(self, arrays, rate):
        self.arrays, self.rate = arrays, rate

    def apply(self, grads):
        for a, g in zip(self.arrays, grads):
            a -= self.rate * g


opt = Descent([Wa, ba, Wb, bb], 0.3)
for sweep in range(8):
    perm = rng.permutation(600)
    for k in range(0, 600, 20):
        cols = perm[k:k + 20]
        pre, hid, P = predict(X_fit[:, cols])
        accumulate(X_fit[:, cols], y_fit[cols], pre, hid, P)
        opt.apply([acc["Wa"], acc["ba"], acc["Wb"], acc["bb"]])
        for g in acc.values():
            g[...] = 0.0
print(f"held-out accuracy {np.mean(predict(X_eval)[2].argmax(axis=0) == y_eval):.3f}")
