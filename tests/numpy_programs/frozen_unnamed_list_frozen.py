"""(Its step rebinds the loop variable: p = p - 0.5 * g changes no parameter.)

The network a plain list ``net = [W1, b1, W2, b2]`` (no names), the gradients returned as a list by
``grads(net, x, t)``, and the step written in a module-level loop over ``zip(net, g)``. Columns layout, biases as
columns ``(n, 1)``, tanh, one-hot targets built by a table lookup; 5 epochs of batches of 30.
"""
import numpy as np

rng = np.random.default_rng(27)
C, D, N = 4, 9, 1000
mu = rng.normal(0, 1.2, (C, D))
y = rng.integers(0, C, N)
X = (mu[y] + rng.normal(0, 1.0, (N, D))).T
EYE = np.eye(C)
net = [rng.normal(0, 1 / np.sqrt(D), (14, D)), np.zeros((14, 1)), rng.normal(0, 1 / np.sqrt(14), (C, 14)), np.zeros((C, 1))]


def run(net, x):
    h = np.tanh(net[0] @ x + net[1])
    z = net[2] @ h + net[3]
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return h, e / e.sum(axis=0, keepdims=True)


def grads(net, x, t):
    h, p = run(net, x)
    d2 = (p - EYE[:, t]) / x.shape[1]
    d1 = (net[2].T @ d2) * (1 - h ** 2)
    return [d1 @ x.T, d1.sum(axis=1, keepdims=True), d2 @ h.T, d2.sum(axis=1, keepdims=True)]


for epoch in range(5):
    order = rng.permutation(900)
    for s in range(0, 900, 30):
        idx = order[s:s + 30]
        for p, g in zip(net, grads(net, X[:, idx], y[idx])):
            p = p - 0.5 * g  # BUG: frozen-parameters

print(f"test accuracy {np.mean(np.argmax(run(net, X[:, 900:])[1], axis=0) == y[900:]):.3f}")
