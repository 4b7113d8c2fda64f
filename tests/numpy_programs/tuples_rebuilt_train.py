"""Per-layer (W, b) tuples in a list that a training function is handed and rebuilds at every step with a
comprehension (``layers = [(W - lr * dW, b - lr * db) ...]``), called from ``main()``; samples as columns, weights
(out, in); the gradients come from ``loss_and_grads(layers, x, t)``, which calls the forward and the backward; leaky
ReLU hidden layer; mini-batches of 25; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(128)
C, D, H, N = 4, 20, 16, 800
centers = rng.normal(0, 1, (C, D))
labels = rng.integers(0, C, N)
X = (centers[labels] + rng.normal(0, 1, (N, D))).T


def forward(layers, x):
    z1 = layers[0][0] @ x + layers[0][1]
    h = np.where(z1 > 0, z1, 0.01 * z1)
    z2 = layers[1][0] @ h + layers[1][1]
    e = np.exp(z2 - z2.max(axis=0, keepdims=True))
    return z1, h, e / e.sum(axis=0, keepdims=True)


def backward(layers, x, t, z1, h, out):
    d2 = (out - np.eye(C)[:, t]) / x.shape[1]
    d1 = (layers[1][0].T @ d2) * np.where(z1 > 0, 1.0, 0.01)
    return d1 @ x.T, d1.sum(axis=1, keepdims=True), d2 @ h.T, d2.sum(axis=1, keepdims=True)


def loss_and_grads(layers, x, t):
    z1, h, out = forward(layers, x)
    loss = -np.mean(np.log(out[t, np.arange(len(t))] + 1e-12))
    return loss, backward(layers, x, t, z1, h, out)


def train(layers, X, y, lr, epochs):
    for epoch in range(epochs):
        order = rng.permutation(N)
        losses = []
        for start in range(0, N, 25):
            idx = order[start:start + 25]
            x, t = X[:, idx], y[idx]
            loss, grads = loss_and_grads(layers, x, t)
            losses.append(loss)
            layers = [(W - lr * dW, b - lr * db) for (W, b), dW, db in zip(layers, grads[0::2], grads[1::2])]
        accuracy = np.mean(forward(layers, X)[2].argmax(axis=0) == y)
        print(f"epoch {epoch}: loss {np.mean(losses):.4f} accuracy {accuracy:.3f}")
    return layers


def main():
    layers = [(rng.normal(0, 1, (H, D)) * np.sqrt(2.0 / D), np.zeros((H, 1))),
              (rng.normal(0, 1, (C, H)) * np.sqrt(1.0 / H), np.zeros((C, 1)))]
    train(layers, X, labels, 0.2, 6)


main()
