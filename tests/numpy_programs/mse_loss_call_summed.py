"""A linear output (raw scores, no softmax) fitted to one-hot targets by a squared error, the loss and its gradient
with respect to the output returned by a function of their own, ``mse_grad(out, y) -> (loss, dout)``, and the
parameters' gradients by ``backward(p, x, h, dout)``: the targets are read where the output is compared with them,
and the output error the backward propagates is ``dout``, a multiple of ``out - y``. Parameters in a dict, a tanh
hidden layer, mini-batches of 32 from a permutation, synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(3)
C, D, N = 4, 20, 1200
centers = rng.normal(0, 1, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 0.7, (N, D))
Y = np.eye(C)[labels]


def forward(p, x):
    h = np.tanh(x @ p["W1"] + p["b1"])
    return h @ p["W2"] + p["b2"], h


def mse_grad(out, y):
    diff = out - y
    loss = float((diff ** 2).mean())
    dout = 2 * diff  # BUG: summed-gradient
    return loss, dout


def backward(p, x, h, dout):
    dh = (dout @ p["W2"].T) * (1 - h ** 2)
    return {"W2": h.T @ dout, "b2": dout.sum(0), "W1": x.T @ dh, "b1": dh.sum(0)}


p = {"W1": rng.normal(0, 1 / np.sqrt(D), (D, 16)), "b1": np.zeros(16),
     "W2": rng.normal(0, 1 / 4, (16, C)), "b2": np.zeros(C)}
lr, bs = 0.05, 32
for epoch in range(5):
    order = rng.permutation(N)
    for s in range(0, N, bs):
        idx = order[s:s + bs]
        out, h = forward(p, X[idx])
        loss, dout = mse_grad(out, Y[idx])
        g = backward(p, X[idx], h, dout)
        for k in p:
            p[k] -= lr * g[k]
    out, _ = forward(p, X)
    print(f"epoch {epoch}: loss {loss:.4f} accuracy {(out.argmax(1) == labels).mean():.3f}")
