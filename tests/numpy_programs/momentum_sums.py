"""Module level, no functions of its own but one gradient: each sample's gradient is added into buffers in a dict, and
after a batch of 20 samples the velocities (another dict) take in their mean (v = mu * v - lr * g / n; p += v); the
buffers are emptied in place. A sigmoid hidden layer, a linear output with squared error; synthetic blobs.
"""
import numpy as np


def gradients(P, x, t):
    h = 1.0 / (1.0 + np.exp(-(x @ P["W1"] + P["b1"])))
    e = h @ P["W2"] + P["b2"] - t
    dh = (e @ P["W2"].T) * h * (1.0 - h)
    return {"W1": x.T @ dh, "b1": dh.sum(axis=0), "W2": h.T @ e, "b2": e.sum(axis=0)}


rng = np.random.default_rng(8)
C, D, N, B = 3, 12, 700, 20
centers = rng.normal(0, 1.2, (C, D))
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1, (N, D))
T = np.eye(C)[y]
P = {"W1": rng.normal(0, 1, (D, 16)) / np.sqrt(D), "b1": np.zeros(16),
     "W2": rng.normal(0, 1, (16, C)) / 4.0, "b2": np.zeros(C)}
G = {k: np.zeros_like(v) for k, v in P.items()}
V = {k: np.zeros_like(v) for k, v in P.items()}
lr, mu = 0.05, 0.8
for epoch in range(5):
    order = rng.permutation(600)
    for start in range(0, 600, B):
        for j in order[start:start + B]:
            for k, g in gradients(P, X[j:j + 1], T[j:j + 1]).items():
                G[k] += g
        for k in P:
            V[k] = mu * V[k] - lr * G[k] / B
            P[k] += V[k]
            G[k][...] = 0.0
    h = 1.0 / (1.0 + np.exp(-(X[600:] @ P["W1"] + P["b1"])))
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(h @ P['W2'] + P['b2'], axis=1) == y[600:]):.3f}")
