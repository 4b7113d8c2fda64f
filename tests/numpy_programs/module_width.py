"""Module-level functions over a list of parameters [W1, b1, W2, b2], one sample per step, the output width read from
the labels (``n_classes = int(labels.max()) + 1``), the target of each sample a row of ``np.eye(n_classes)`` built by
the loop and handed to the gradient function. Sigmoid hidden layer, softmax output. Synthetic blobs, the label the
table's first column (the pixels in 0..255).
"""
import numpy as np

rng = np.random.default_rng(31)
C, D, H, N = 3, 16, 10, 1000
centers = rng.uniform(40, 215, (C, D))
kinds = rng.integers(0, C, N)
table = np.column_stack([kinds, np.clip(centers[kinds] + rng.normal(0, 100, (N, D)), 0, 255)])
labels = table[:, 0].astype(int)
images = table[:, 1:] / 255.0
n_classes = int(labels.max()) + 1
params = [rng.normal(0, 1 / np.sqrt(D), (D, H)), np.zeros(H), rng.normal(0, 1 / np.sqrt(H), (H, n_classes)),
          np.zeros(n_classes)]


def forward(params, x):
    W1, b1, W2, b2 = params
    h = 1 / (1 + np.exp(-(x @ W1 + b1)))
    z = h @ W2 + b2
    e = np.exp(z - z.max())
    return h, e / e.sum()


def gradients(params, x, t):
    h, p = forward(params, x)
    d2 = p - t
    d1 = (params[2] @ d2) * h * (1 - h)
    return [np.outer(x, d1), d1, np.outer(h, d2), d2]


for epoch in range(3):
    for i in rng.permutation(800):
        target = np.eye(n_classes)[labels[i]]
        for p, g in zip(params, gradients(params, images[i], target)):
            p -= 0.2 * g
    right = sum(int(np.argmax(forward(params, images[j])[1]) == labels[j]) for j in range(800, N))
    print(f"epoch {epoch}: {right} / {N - 800} right")
