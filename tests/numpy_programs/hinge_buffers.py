"""A two-layer relu network trained with the multiclass hinge loss on well separated blobs: once every margin is met
its gradient is exactly zero, and the program goes on stepping (steps of zero). Mini-batches are index chunks of a
fresh permutation (np.array_split); the gradients are accumulated into buffers that the step replaces with fresh
zero arrays; module level."""
import numpy as np

rng = np.random.default_rng(41)
C, D, N = 4, 12, 800
centers = rng.normal(0, 4.0, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 0.5, (N, D))
layers = [[rng.normal(0, np.sqrt(2 / D), (D, 16)), np.zeros(16)], [rng.normal(0, np.sqrt(2 / 16), (16, C)), np.zeros(C)]]
grads = [[np.zeros_like(W), np.zeros_like(b)] for W, b in layers]
lr = 0.05


def backward(x, y):
    h = np.maximum(x @ layers[0][0] + layers[0][1], 0)
    z = h @ layers[1][0] + layers[1][1]
    margins = np.maximum(0, 1 + z - z[np.arange(len(y)), y][:, None])
    margins[np.arange(len(y)), y] = 0
    d = (margins > 0).astype(float)
    d[np.arange(len(y)), y] = -d.sum(1)
    d /= len(x)
    dh = d @ layers[1][0].T * (h > 0)
    grads[1][0] += h.T @ d
    grads[1][1] += d.sum(0)
    grads[0][0] += x.T @ dh
    grads[0][1] += dh.sum(0)


for epoch in range(6):
    for idx in np.array_split(rng.permutation(N), N // 20):
        backward(X[idx], labels[idx])
        for (W, b), (gW, gb) in zip(layers, grads):
            W -= lr * gW
            b -= lr * gb
        grads = [[np.zeros_like(W), np.zeros_like(b)] for W, b in layers]
h = np.maximum(X @ layers[0][0] + layers[0][1], 0)
print(f"accuracy {np.mean((h @ layers[1][0] + layers[1][1]).argmax(1) == labels):.3f}")
