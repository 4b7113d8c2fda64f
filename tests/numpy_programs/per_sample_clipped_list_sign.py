"""One sample per step, the parameters a flat list ``[W1, b1, W2, b2]``; backprop() returns a list of gradients that
clip_by_global_norm() replaces, when their global norm is over the bound, with a new list of scaled copies (the name
``grads`` rebound to it before sgd() applies it). Tanh hidden layer, softmax output, cross-entropy on integer labels;
four classes of blobs in 10 dimensions, 500 training rows seen twice.
"""
import numpy as np


def forward(params, x):
    W1, b1, W2, b2 = params
    h = np.tanh(x @ W1 + b1)
    z = h @ W2 + b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return h, e / e.sum(axis=1, keepdims=True)


def cross_entropy(p, y):
    return float(-np.mean(np.log(p[np.arange(len(y)), y] + 1e-12)))


def backprop(params, x, y):
    W1, b1, W2, b2 = params
    h, p = forward(params, x)
    onehot = np.zeros_like(p)
    onehot[np.arange(len(y)), y] = 1.0
    dz = (onehot - p) / len(x)  # BUG: gradient-mismatch (the sign flipped: every step climbs the loss)
    dh = (dz @ W2.T) * (1.0 - h ** 2)
    return [x.T @ dh, dh.sum(axis=0), h.T @ dz, dz.sum(axis=0)]


def clip_by_global_norm(grads, bound):
    total = np.sqrt(sum(float(np.sum(g * g)) for g in grads))
    if total <= bound:
        return grads
    return [g * (bound / total) for g in grads]


def sgd(params, grads, lr):
    for p, g in zip(params, grads):
        p -= lr * g


rng = np.random.default_rng(2107)
K, D, H = 4, 10, 16
means = rng.normal(0.0, 1.2, (K, D))
y_all = rng.integers(0, K, 700)
X_all = means[y_all] + rng.normal(0.0, 1.0, (700, D))
X_train, y_train, X_test, y_test = X_all[:500], y_all[:500], X_all[500:], y_all[500:]
params = [rng.normal(0.0, 1.0, (D, H)) / np.sqrt(D), np.zeros(H),
          rng.normal(0.0, 1.0, (H, K)) / np.sqrt(H), np.zeros(K)]
lr, bound = 0.05, 2.0
for epoch in range(2):
    clipped = 0
    for i in rng.permutation(len(X_train)):
        grads = backprop(params, X_train[i:i + 1], y_train[i:i + 1])
        before = grads
        grads = clip_by_global_norm(grads, bound)
        clipped += grads is not before
        sgd(params, grads, lr)
    _, p = forward(params, X_test)
    print(f"epoch {epoch + 1}: test loss {cross_entropy(p, y_test):.3f}, accuracy "
          f"{np.mean(p.argmax(axis=1) == y_test):.3f}, {clipped} of {len(X_train)} steps clipped")
