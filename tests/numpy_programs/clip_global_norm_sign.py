"""A module-level loop over mini-batches of 16 rows, the parameters in a dict, the gradients a tuple returned by
gradients(), clipped by their global norm (g *= min(1, c / ||g||), with a bound most steps exceed) before the step.
Sigmoid hidden layer, softmax output, mean cross-entropy with class-index targets; synthetic blobs.
"""
import numpy as np


def predict(net, x):
    W1, b1, W2, b2 = net["W1"], net["b1"], net["W2"], net["b2"]
    h = 1 / (1 + np.exp(-(x @ W1 + b1)))
    return h, h @ W2 + b2


def gradients(net, x, labels):
    h, z = predict(net, x)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(x)), labels] -= 1
    dz = p / len(x)
    dh = -(dz @ net["W2"].T) * h * (1 - h)  # BUG: gradient-mismatch (the sign flipped)
    return x.T @ dh, dh.sum(axis=0), h.T @ dz, dz.sum(axis=0)


rng = np.random.default_rng(33)
C, D, N = 4, 12, 900
centers = rng.normal(0, 1, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1, (N, D))
net = {"W1": rng.normal(0, 1, (D, 10)) / np.sqrt(D), "b1": np.zeros(10),
       "W2": rng.normal(0, 1, (10, C)) / np.sqrt(10), "b2": np.zeros(C)}
clipped = 0
lr, bound = 0.5, 0.25
for epoch in range(6):
    for i in range(0, 800, 16):
        grads = gradients(net, X[i:i + 16], labels[i:i + 16])
        norm = np.sqrt(sum(np.sum(g * g) for g in grads))
        scale = min(1.0, bound / (norm + 1e-12))
        clipped += scale < 1
        for key, g in zip(("W1", "b1", "W2", "b2"), grads):
            net[key] -= lr * scale * g
    _, z = predict(net, X[800:])
    print(f"epoch {epoch}: accuracy {np.mean(z.argmax(axis=1) == labels[800:]):.3f}, {clipped} steps clipped so far")
