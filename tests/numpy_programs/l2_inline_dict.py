"""A module-level loop over a parameter dict: the forward in a function, the backward inline, L2 weight decay added to
the weights' gradients in a dict of updates (grads["W1"] = ... + wd * params["W1"]; the biases not decayed), the step a
loop over the dict's keys. Tanh hidden layer, squared error on one-hot rows (mean over the batch); mini-batches of 25;
synthetic blobs.
"""
import numpy as np


def forward(params, x):
    h = np.tanh(x @ params["W1"] + params["b1"])
    return h, h @ params["W2"] + params["b2"]


rng = np.random.default_rng(23)
C, D, N = 4, 12, 1100
centers = rng.normal(0, 1, (C, D)) * 1.2
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1, (N, D))
T = np.eye(C)[y]
params = {"W1": rng.normal(0, 1, (D, 14)) / np.sqrt(D), "b1": np.zeros(14),
          "W2": rng.normal(0, 1, (14, C)) / np.sqrt(14), "b2": np.zeros(C)}
lr, wd = 0.1, 1e-3
for epoch in range(6):
    for i in range(0, 1000, 25):
        x, t = X[i:i + 25], T[i:i + 25]
        h, out = forward(params, x)
        delta = 2 * (out - t) / len(x)
        dh = (delta @ params["W2"].T) * (1 - h ** 2)
        grads = {"W2": h.T @ delta + wd * params["W2"], "b2": delta.sum(axis=0),
                 "W1": x.T @ dh + wd * params["W1"], "b1": dh.sum(axis=0)}
        for k in params:
            params[k] -= lr * grads[k]
    print(f"epoch {epoch}: accuracy {np.mean(forward(params, X[1000:])[1].argmax(axis=1) == y[1000:]):.3f}")
