"""A trainer made by a closure whose parameters are a list in a closure cell, replaced by a new list at every step
(``params = [p - lr * g ...]``, functional style): the gradients are returned as a list by a function of their own;
tanh hidden layer, softmax output, batches of 16 rows; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(21)
C, D, N = 4, 16, 1100
centers = rng.normal(0, 1, (C, D))
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 0.8, (N, D))


def make_model(lr):
    params = [rng.normal(0, 1, (D, 20)) / np.sqrt(D), np.zeros(20), rng.normal(0, 1, (20, C)) / np.sqrt(20), np.zeros(C)]

    def forward(x):
        h = np.tanh(x @ params[0] + params[1])
        z = h @ params[2] + params[3]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return h, e / e.sum(axis=1, keepdims=True)

    def gradients(x, labels):
        h, p = forward(x)
        dz = p.copy()
        dz[np.arange(len(labels)), labels] -= 1.0
        dz /= len(labels)
        dh = (dz @ params[2].T) * (1.0 - h ** 2)
        return [x.T @ dh, dh.sum(axis=0), h.T @ dz, dz.sum(axis=0)]

    def step(x, labels):
        nonlocal params
        grads = gradients(x, labels)
        params = [p - lr * g for p, g in zip(params, grads)]

    def predict(x):
        return np.argmax(forward(x)[1], axis=1)

    return step, predict


step, predict = make_model(0.5)
for epoch in range(5):
    order = rng.permutation(900)
    for start in range(0, 896, 16):
        rows = order[start:start + 16]
        step(X[rows], y[rows])
    print(f"epoch {epoch}: accuracy {np.mean(predict(X[900:]) == y[900:]):.3f}")
