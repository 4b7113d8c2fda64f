"""Training at module level: the parameters, their gradient sums and zero arrays to start them from (`base`) are module-level lists, a function
adds one row's gradients into the sums, and the module's own loop applies them with `for p, g in zip(...)` after each
batch of 8 rows and starts the sums again from the templates; tanh hidden layer, linear output, squared error.
"""
import numpy as np

rng = np.random.default_rng(17)
C, D, N = 3, 12, 800
centers = rng.normal(0, 1.5, (C, D))
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1.0, (N, D))
T = np.eye(C)

params = [rng.normal(0, 1, (D, 10)) / np.sqrt(D), np.zeros(10), rng.normal(0, 1, (10, C)) / np.sqrt(10), np.zeros(C)]
grads = [np.zeros_like(p) for p in params]
base = [np.zeros_like(p) for p in params]


def add_gradient(x, t):
    h = np.tanh(x @ params[0] + params[1])
    out = h @ params[2] + params[3]
    d = out - t
    dh = (params[2] @ d) * (1 - h ** 2)
    for g, step in zip(grads, (np.outer(x, dh), dh, np.outer(h, d), d)):
        g += step


lr = 0.05
for epoch in range(5):
    order = rng.permutation(700)
    for start in range(0, 700, 8):
        for j in order[start:start + 8]:
            add_gradient(X[j], T[y[j]])
        for p, g in zip(params, grads):
            p -= lr * g / 8
        grads = [z.copy() for z in base]
    h = np.tanh(X[700:] @ params[0] + params[1])
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(h @ params[2] + params[3], axis=1) == y[700:]):.3f}")
