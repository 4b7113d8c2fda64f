"""RMSprop written inline at module level over lists of weights, biases and running squares (one list each, the step
``W -= lr * g / (np.sqrt(s) + eps)`` applied in a loop over the layers); 196 inputs in [0, 1], a sigmoid hidden layer,
softmax output, mini-batches of 20; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(453)
C, D, H, N = 8, 196, 32, 1000
centers = rng.random((C, D))
labels = rng.integers(0, C, N)
X = np.clip(centers[labels] + rng.normal(0, 0.9, (N, D)), 0.0, 1.0)
T = np.eye(C)[labels]

weights = [rng.uniform(-1, 1, (D, H)) * np.sqrt(6.0 / (D + H)), rng.uniform(-1, 1, (H, C)) * np.sqrt(6.0 / (H + C))]
biases = [np.zeros(H), np.zeros(C)]
squares = [np.zeros_like(p) for p in weights + biases]
lr, rho = 0.01, 0.9
for epoch in range(5):
    order = rng.permutation(N)
    hits = 0
    for start in range(0, N, 20):
        idx = order[start:start + 20]
        x, t = X[idx], T[idx]
        h = 1.0 / (1.0 + np.exp(-(x @ weights[0] + biases[0])))
        z = h @ weights[1] + biases[1]
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        hits += int(np.sum(p.argmax(axis=1) == labels[idx]))
        d2 = (p - t) / len(idx)
        d1 = (d2 @ weights[1].T) * h * (1.0 - h)
        grads = [x.T @ d1, h.T @ d2, d1.sum(axis=0), d2.sum(axis=0)]
        for param, g, s in zip(weights + biases, grads, squares):
            s *= rho
            s += (1.0 - rho) * g * g
            param -= lr * g / (np.sqrt(s) + 1e-8)
    print(f"epoch {epoch}: training accuracy {hits / N:.3f}")
