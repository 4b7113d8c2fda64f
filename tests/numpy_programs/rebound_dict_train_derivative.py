"""A train() function whose parameters are a dict rebuilt at every step by a comprehension
(params = {name: params[name] - lr * grads[name] for name in params}); gradients() returns a dict of the same keys.
Mini-batches of 20 rows, tanh hidden layer, softmax output, mean cross-entropy; 6 epochs of 40 steps; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(3)
C, D, H, N = 4, 12, 10, 1000
centers = rng.normal(0, 1, (C, D)) * 0.8
labels = rng.integers(0, C, N)
inputs = centers[labels] + rng.normal(0, 1, (N, D))


def forward(params, x):
    a = np.tanh(x @ params["W1"] + params["b1"])
    z = a @ params["W2"] + params["b2"]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return a, e / e.sum(axis=1, keepdims=True)


def gradients(params, x, y):
    a, p = forward(params, x)
    d = p.copy()
    d[np.arange(len(y)), y] -= 1.0
    d /= len(y)
    da = d @ params["W2"].T  # BUG: gradient-mismatch
    return {"W1": x.T @ da, "b1": da.sum(axis=0), "W2": a.T @ d, "b2": d.sum(axis=0)}


def train(epochs, lr):
    params = {"W1": rng.normal(0, 1, (D, H)) / np.sqrt(D), "b1": np.zeros(H),
              "W2": rng.normal(0, 1, (H, C)) / np.sqrt(H), "b2": np.zeros(C)}
    for epoch in range(epochs):
        order = rng.permutation(800)
        for start in range(0, 800, 20):
            rows = order[start:start + 20]
            grads = gradients(params, inputs[rows], labels[rows])
            params = {name: params[name] - lr * grads[name] for name in params}
        right = np.mean(forward(params, inputs[800:])[1].argmax(axis=1) == labels[800:])
        print(f"epoch {epoch}: held-out accuracy {right:.3f}")
    return params


train(6, 0.3)
