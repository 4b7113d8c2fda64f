"""The parameter dict lists the output layer first; gradients come back in a dict of their own."""
import numpy as np

rng = np.random.default_rng(3)
C, D = 3, 12
centers = rng.normal(0, 1, (C, D))
y = rng.integers(0, C, 700)
X = centers[y] + rng.normal(0, 0.8, (700, D))
net = {"W_out": rng.normal(0, 1, (9, C)) / 3.0, "b_out": np.zeros(C),
       "W_in": rng.normal(0, 1, (D, 9)) / np.sqrt(D), "b_in": np.zeros(9)}


def forward(x):
    h = np.tanh(x @ net["W_in"] + net["b_in"])
    z = h @ net["W_out"] + net["b_out"]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return h, e / e.sum(axis=1, keepdims=True)


def backward(x, labels):
    h, p = forward(x)
    dz = (p - np.eye(C)[labels]) / len(x)
    dh = (dz @ net["W_out"].T) * (1 - h ** 2)
    return {"W_out": h.T @ dz, "b_out": dz.sum(axis=0), "W_in": x.T @ dh, "b_in": dh.sum(axis=0)}


for epoch in range(5):
    order = rng.permutation(600)
    for i in range(0, 600, 20):
        rows = order[i:i + 20]
        g = backward(X[rows], y[rows])
        for k in net:
            net[k] -= 0.5 * g[k]
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(forward(X[600:])[1], axis=1) == y[600:]):.3f}")
