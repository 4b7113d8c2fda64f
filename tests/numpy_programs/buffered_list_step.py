"""Parameters in a list, gradient buffers in a second list of zeros of the same shapes: a function sums the batch's
gradient into the buffers (grads[0] += ...), the module-level loop steps each parameter by its buffer and empties it
(g[...] = 0). The one-hot code table EYE (4, 4) has the shape of the second layer's weights. Mini-batches of 25 rows,
tanh hidden layer, softmax output, mean cross-entropy; 6 epochs of 32 steps; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(5)
C, D, H, N = 4, 16, 4, 1000
centers = rng.normal(0, 1, (C, D)) * 0.8
labels = rng.integers(0, C, N)
inputs = centers[labels] + rng.normal(0, 1, (N, D))
EYE = np.eye(C)

params = [rng.normal(0, 1, (D, H)) / np.sqrt(D), np.zeros(H), rng.normal(0, 1, (H, C)) / np.sqrt(H), np.zeros(C)]
grads = [np.zeros_like(p) for p in params]


def forward(x):
    a = np.tanh(x @ params[0] + params[1])
    z = a @ params[2] + params[3]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return a, e / e.sum(axis=1, keepdims=True)


def accumulate(x, y):
    a, p = forward(x)
    d = (p - EYE[y]) / len(y)
    grads[2] += a.T @ d
    grads[3] += d.sum(axis=0)
    da = (d @ params[2].T) * (1 - a ** 2)
    grads[0] += x.T @ da
    grads[1] += da.sum(axis=0)


rate = 0.3
for epoch in range(6):
    order = rng.permutation(800)
    for start in range(0, 800, 25):
        rows = order[start:start + 25]
        accumulate(inputs[rows], labels[rows])
        for p, g in zip(params, grads):
            p -= rate * g
            g[...] = 0.0
    right = np.mean(forward(inputs[800:])[1].argmax(axis=1) == labels[800:])
    print(f"epoch {epoch}: held-out accuracy {right:.3f}")
