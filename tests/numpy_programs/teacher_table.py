"""Soft targets from a fixed teacher: a table of one distribution per class (a softmax of a class-similarity matrix at
temperature 2), as a distillation from a teacher that answers by class would give. One (1, D) row per step, the
output handed to the gradient function beside the teacher's row; tanh hidden layer, softmax output, cross-entropy
against the soft row. Synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(13)
C, D, N = 6, 18, 1000
centers = rng.normal(0, 1.0, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 0.9, (N, D))
logits = 4.0 * np.eye(C) + rng.uniform(0, 1.5, (C, C))
TEACHER = np.exp(logits / 2.0) / np.exp(logits / 2.0).sum(axis=1, keepdims=True)

W1, b1 = rng.normal(0, 1, (D, 20)) / np.sqrt(D), np.zeros((1, 20))
W2 = rng.normal(0, 1, (20, C)) / np.sqrt(20)
b2 = np.zeros((1, C))


def forward(x):
    h = np.tanh(x @ W1 + b1)
    z = h @ W2 + b2
    e = np.exp(z - z.max())
    return h, e / e.sum()


def gradients(x, h, probs, soft):
    d = probs - soft
    dh = (d @ W2.T) * (1 - h ** 2)
    return x.T @ dh, dh, h.T @ d, d


for epoch in range(3):
    for i in rng.permutation(800):
        x = X[i:i + 1]
        h, probs = forward(x)
        gW1, gb1, gW2, gb2 = gradients(x, h, probs, TEACHER[labels[i]].reshape(1, -1))
        W1 -= 0.05 * gW1
        b1 -= 0.05 * gb1
        W2 -= 0.05 * gW2
        b2 -= 0.05 * gb2
    acc = np.mean([forward(X[j:j + 1])[1].argmax() == labels[j] for j in range(800, N)])
    print(f"epoch {epoch}: accuracy {acc:.3f}")
