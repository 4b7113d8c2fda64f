"""Images and labels in two files, as many data sets ship them: the program writes its data set once (pixels
0-255 in images.npy, labels in labels.txt), loads both back, and trains a sigmoid network per sample on rows.
"""
import os
import tempfile

import numpy as np

rng = np.random.default_rng(32)
C, D, N = 3, 25, 1200
centers = rng.uniform(30, 225, (C, D))
y_all = rng.integers(0, C, N)
folder = tempfile.mkdtemp()
np.save(os.path.join(folder, "images.npy"), np.clip(centers[y_all] + rng.normal(0, 70, (N, D)), 0, 255).astype(np.uint8))
np.savetxt(os.path.join(folder, "labels.txt"), y_all, fmt="%d")


def load(folder):
    images = np.load(os.path.join(folder, "images.npy")).astype(float)
    labels = np.loadtxt(os.path.join(folder, "labels.txt"))
    images = images / 255.0
    return images, labels.astype(int)


X, y = load(folder)
W1 = rng.normal(0, 1 / np.sqrt(D), (D, 12))
b1 = np.zeros(12)
W2 = rng.normal(0, 1 / np.sqrt(12), (12, C))
b2 = np.zeros(C)


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


for epoch in range(4):
    for i in rng.permutation(1000):
        x = X[i]
        t = np.zeros(C)
        t[y[i]] = 1.0
        h = sigmoid(x @ W1 + b1)
        o = sigmoid(h @ W2 + b2)
        do = (o - t) * o * (1 - o)
        dh = (W2 @ do) * h * (1 - h)
        W2 -= 0.5 * np.outer(h, do)
        b2 -= 0.5 * do
        W1 -= 0.5 * np.outer(x, dh)
        b1 -= 0.5 * dh
    out = sigmoid(sigmoid(X[1000:] @ W1 + b1) @ W2 + b2)
    print(f"epoch {epoch}: accuracy {np.mean(out.argmax(axis=1) == y[1000:]):.3f}")
for name in ("images.npy", "labels.txt"):
    os.remove(os.path.join(folder, name))
os.rmdir(folder)
