"""The twin of out_in_global_params_momentum.py whose output error has its sign flipped (the steps climb the loss).
Module-level dicts: ``params`` holds the weights, stored (out, in) and applied to batches of rows as ``x @ W.T``, and
what the forward computed (``params["Z1"]`` ... ``params["A3"]``); ``grads`` is summed into by ``backward`` and emptied
by the loop, which steps each tensor with momentum (``vel``); two tanh hidden layers; mini-batches of 20; synthetic
blobs.
"""
import numpy as np

rng = np.random.default_rng(1028)
C, D, H1, H2, N = 4, 20, 16, 12, 800
centers = rng.normal(0, 0.8, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1, (N, D))

params = {
    "W1": rng.normal(0, 1, (H1, D)) / np.sqrt(D), "b1": np.zeros(H1),
    "W2": rng.normal(0, 1, (H2, H1)) / np.sqrt(H1), "b2": np.zeros(H2),
    "W3": rng.normal(0, 1, (C, H2)) / np.sqrt(H2), "b3": np.zeros(C),
}
grads = {k: np.zeros_like(v) for k, v in params.items()}
vel = {k: np.zeros_like(v) for k, v in params.items()}


def forward(x):
    z1 = x @ params["W1"].T + params["b1"]
    h1 = np.tanh(z1)
    z2 = h1 @ params["W2"].T + params["b2"]
    h2 = np.tanh(z2)
    z3 = h2 @ params["W3"].T + params["b3"]
    e = np.exp(z3 - z3.max(axis=1, keepdims=True))
    out = e / e.sum(axis=1, keepdims=True)
    params["Z1"], params["A1"], params["Z2"], params["A2"], params["A3"] = z1, h1, z2, h2, out
    return out


def backward(x, t):
    h1, h2, out = params["A1"], params["A2"], params["A3"]
    d3 = (np.eye(C)[t] - out) / len(t)  # BUG: gradient-mismatch
    d2 = (d3 @ params["W3"]) * (1.0 - h2 ** 2)
    d1 = (d2 @ params["W2"]) * (1.0 - h1 ** 2)
    grads["W3"] += d3.T @ h2
    grads["b3"] += d3.sum(axis=0)
    grads["W2"] += d2.T @ h1
    grads["b2"] += d2.sum(axis=0)
    grads["W1"] += d1.T @ x
    grads["b1"] += d1.sum(axis=0)


lr, mu = 0.05, 0.9
for epoch in range(8):
    for idx in np.array_split(rng.permutation(N), N // 20):
        x, t = X[idx], labels[idx]
        forward(x)
        backward(x, t)
        for k in ("W1", "b1", "W2", "b2", "W3", "b3"):
            vel[k] = mu * vel[k] - lr * grads[k]
            params[k] += vel[k]
            grads[k] = np.zeros_like(params[k])
    accuracy = np.mean(forward(X).argmax(axis=1) == labels)
    print(f"epoch {epoch}: accuracy {accuracy:.3f}")
