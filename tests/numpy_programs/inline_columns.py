"""A module-level loop, one sample at a time as a (D, 1) column, forward and backward written inline over lists of
weights: each layer's weights are updated as soon as its gradient is known, before the delta of the layer below is
computed (sigmoid hidden layer, softmax output, cross-entropy). Synthetic blobs with features in [0, 1].
"""
import numpy as np

rng = np.random.default_rng(11)
C, D, H, N = 8, 196, 32, 1100
centers = rng.random((C, D))
labels = rng.integers(0, C, N)
X = np.clip(centers[labels] + rng.normal(0, 0.9, (N, D)), 0.0, 1.0)

weights = [rng.normal(0, 1, (H, D)) / np.sqrt(D), rng.normal(0, 1, (C, H)) / np.sqrt(H)]
biases = [np.zeros((H, 1)), np.zeros((C, 1))]
lr = 0.1
for epoch in range(3):
    for i in rng.permutation(1000):
        x = X[i].reshape(D, 1)
        acts = [x]
        for W, b in zip(weights[:-1], biases[:-1]):
            acts.append(1.0 / (1.0 + np.exp(-(W @ acts[-1] + b))))
        z = weights[-1] @ acts[-1] + biases[-1]
        p = np.exp(z - z.max())
        p /= p.sum()
        delta = p.copy()
        delta[labels[i]] -= 1.0
        for k in range(len(weights) - 1, -1, -1):
            below = weights[k].T @ delta
            weights[k] -= lr * delta @ acts[k].T
            biases[k] -= lr * delta
            if k:
                delta = below * acts[k] * (1.0 - acts[k])
    hits = 0
    for i in range(1000, N):
        a = X[i].reshape(D, 1)
        for W, b in zip(weights[:-1], biases[:-1]):
            a = 1.0 / (1.0 + np.exp(-(W @ a + b)))
        hits += int(np.argmax(weights[-1] @ a + biases[-1]) == labels[i])
    print(f"epoch {epoch}: accuracy {hits / (N - 1000):.3f}")
