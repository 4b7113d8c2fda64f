"""Label smoothing toward the class prior (eps = 0.2): each target row is 0.8 one-hot + 0.2 the training labels'
class frequencies, a distribution with as many distinct values as classes. The class indices stay in their own array;
the targets of a batch are rows of the smoothed table picked by those indices. Mini-batches of 25 rows, a tanh hidden
layer, softmax output; the gradient function runs the forward itself. Synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(5)
C, D, N = 5, 20, 1300
centers = rng.normal(0, 1.0, (C, D))
labels = rng.choice(C, N, p=[0.35, 0.25, 0.2, 0.12, 0.08])
X = centers[labels] + rng.normal(0, 1.0, (N, D))
eps = 0.2
prior = np.bincount(labels[:1000], minlength=C) / 1000
smooth = (1 - eps) * np.eye(C) + eps * prior


def init():
    return {"W1": rng.normal(0, 1, (D, 24)) * np.sqrt(1 / D), "b1": np.full(24, 40.0),  # BUG: saturated-activations
            "W2": rng.normal(0, 1, (24, C)) * np.sqrt(1 / 24), "b2": np.zeros(C)}


def forward(params, xb):
    h = np.tanh(xb @ params["W1"] + params["b1"])
    z = h @ params["W2"] + params["b2"]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return h, e / e.sum(axis=1, keepdims=True)


def gradients(params, xb, tb):
    h, p = forward(params, xb)
    d = (p - tb) / len(xb)
    dh = (d @ params["W2"].T) * (1 - h ** 2)
    return {"W1": xb.T @ dh, "b1": dh.sum(axis=0), "W2": h.T @ d, "b2": d.sum(axis=0)}


params = init()
for epoch in range(8):
    order = rng.permutation(1000)
    for s in range(0, 1000, 25):
        rows = order[s:s + 25]
        grads = gradients(params, X[rows], smooth[labels[rows]])
        for k in params:
            params[k] -= 0.2 * grads[k]
    acc = np.mean(forward(params, X[1000:])[1].argmax(axis=1) == labels[1000:])
    print(f"epoch {epoch}: accuracy {acc:.3f}")
