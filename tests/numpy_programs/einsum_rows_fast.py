"""einsum_rows.py with a learning rate 300x too large.

Row-major batches through np.einsum (forward and backward spelled as index expressions), a parameter dict
built by a comprehension, softmax with the row maximum subtracted, and an Xavier-uniform initialisation.
"""
import numpy as np

rng = np.random.default_rng(26)
C, D, H, N = 4, 20, 24, 1400
centers = rng.normal(0, 0.6, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1.0, (N, D))
onehot = np.eye(C)[labels]


def xavier(n_in, n_out):
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, (n_in, n_out))


P = {name: arr for name, arr in (("w_in", xavier(D, H)), ("c_in", np.zeros(H)), ("w_out", xavier(H, C)),
                                 ("c_out", np.zeros(C)))}


def forward(x):
    h = np.tanh(np.einsum("nd,dh->nh", x, P["w_in"]) + P["c_in"])
    z = np.einsum("nh,hc->nc", h, P["w_out"]) + P["c_out"]
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return h, p / p.sum(axis=1, keepdims=True)


def grads(x, t):
    h, p = forward(x)
    dz = (p - t) / x.shape[0]
    dh = np.einsum("nc,hc->nh", dz, P["w_out"]) * (1 - h * h)
    return {"w_out": np.einsum("nh,nc->hc", h, dz), "c_out": dz.sum(0),
            "w_in": np.einsum("nd,nh->dh", x, dh), "c_in": dh.sum(0)}


lr = 90.0  # BUG: learning-rate-too-high
for epoch in range(6):
    perm = rng.permutation(1200)
    for i in range(0, 1200, 32):
        b = perm[i:i + 32]
        for k, g in grads(X[b], onehot[b]).items():
            P[k] -= lr * g
    _, p = forward(X[1200:])
    print(f"epoch {epoch}: accuracy {np.mean(p.argmax(1) == labels[1200:]):.3f}")
