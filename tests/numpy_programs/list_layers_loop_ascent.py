"""list_layers_loop with the output layer's step added instead of subtracted (the loop's first layer right, the
last climbing): written out apart for the last layer.

Weights and biases in two module-level lists, the gradients returned as two lists by a backprop function, and the
step written out per list entry by a loop over the layers at module level; tanh hidden layer, softmax output with
cross-entropy; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(22)
C, D, N = 3, 16, 900
centers = rng.normal(0, 1, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1, (N, D))
T = np.eye(C)[labels]
Ws = [rng.normal(0, 1 / np.sqrt(D), (D, 10)), rng.normal(0, 1 / np.sqrt(10), (10, C))]
bs = [np.zeros(10), np.zeros(C)]


def forward(x):
    h = np.tanh(x @ Ws[0] + bs[0])
    z = h @ Ws[1] + bs[1]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return h, e / e.sum(axis=1, keepdims=True)


def backprop(x, t):
    h, p = forward(x)
    d2 = (p - t) / len(x)
    d1 = (d2 @ Ws[1].T) * (1 - h ** 2)
    return [x.T @ d1, h.T @ d2], [d1.sum(axis=0), d2.sum(axis=0)]


lr = 0.5
for epoch in range(6):
    order = rng.permutation(N)
    for i in range(0, N, 30):
        idx = order[i:i + 30]
        gW, gb = backprop(X[idx], T[idx])
        Ws[0] -= lr * gW[0]
        bs[0] -= lr * gb[0]
        Ws[1] += lr * gW[1]  # BUG: gradient-mismatch
        bs[1] -= lr * gb[1]
    print("epoch", epoch, "accuracy", np.mean(forward(X)[1].argmax(1) == labels))
