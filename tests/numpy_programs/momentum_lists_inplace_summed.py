"""momentum_lists_inplace.py with the batch's gradient summed, not averaged: the velocities (v *= mu; v += g;
p -= lr * v) take in 16x the mean gradient.
"""
import numpy as np


def forward(Ws, bs, x):
    h = 1.0 / (1.0 + np.exp(-(x @ Ws[0] + bs[0])))
    return h, h @ Ws[1] + bs[1]


def backward(Ws, x, h, out, t):
    d = out - t  # BUG: summed-gradient
    dh = (d @ Ws[1].T) * h * (1.0 - h)
    return [x.T @ dh, h.T @ d], [dh.sum(axis=0), d.sum(axis=0)]


rng = np.random.default_rng(5)
C, D, N = 3, 10, 900
centers = rng.normal(0, 1.3, (C, D))
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1, (N, D))
T = np.eye(C)[y]
Ws = [rng.normal(0, 1, (D, 14)) / np.sqrt(D), rng.normal(0, 1, (14, C)) / np.sqrt(14)]
bs = [np.zeros(14), np.zeros(C)]
vWs = [np.zeros_like(W) for W in Ws]
vbs = [np.zeros_like(b) for b in bs]
lr, mu = 0.1, 0.8
for epoch in range(6):
    order = rng.permutation(800)
    for i in range(0, 800, 16):
        rows = order[i:i + 16]
        h, out = forward(Ws, bs, X[rows])
        gWs, gbs = backward(Ws, X[rows], h, out, T[rows])
        for W, vW, gW, b, vb, gb in zip(Ws, vWs, gWs, bs, vbs, gbs):
            vW *= mu
            vW += gW
            W -= lr * vW
            vb *= mu
            vb += gb
            b -= lr * vb
    _, out = forward(Ws, bs, X[800:])
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(out, axis=1) == y[800:]):.3f}")
