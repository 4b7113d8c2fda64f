"""sorted_samples_class without the shuffle: its batches are taken from the samples in their sorted order.

Per-sample gradients summed into buffers over mini-batches of 10 by a trainer class, from Python lists of
samples that come sorted by label, shuffled at every epoch (``random.shuffle`` of the pairs); one-hot target
vectors, sigmoid output, squared error; synthetic blobs.
"""
import random

import numpy as np

rng = np.random.default_rng(12)
random.seed(12)
C, D, N = 4, 16, 800
centers = rng.normal(0, 0.6, (C, D))
labels = np.sort(rng.integers(0, C, N))
samples = [(centers[k] + rng.normal(0, 1, D), np.eye(C)[k]) for k in labels]


class Trainer:
    def __init__(self, sizes, lr):
        self.W = [rng.normal(0, 1 / np.sqrt(a), (b, a)) for a, b in zip(sizes[:-1], sizes[1:])]
        self.b = [np.zeros(b) for b in sizes[1:]]
        self.lr = lr

    def forward(self, x):
        acts = [x]
        for W, b in zip(self.W, self.b):
            acts.append(1 / (1 + np.exp(-(W @ acts[-1] + b))))
        return acts

    def backprop(self, x, t):
        acts = self.forward(x)
        delta = (acts[-1] - t) * acts[-1] * (1 - acts[-1])
        gW, gb = [None, None], [None, None]
        for l in (1, 0):
            gW[l], gb[l] = np.outer(delta, acts[l]), delta
            if l:
                delta = (self.W[l].T @ delta) * acts[l] * (1 - acts[l])
        return gW, gb

    def fit(self, data, epochs, batch):
        for epoch in range(epochs):
            pass  # BUG: unshuffled-data (no random.shuffle(data))
            for i in range(0, len(data), batch):
                sW = [np.zeros_like(W) for W in self.W]
                sb = [np.zeros_like(b) for b in self.b]
                for x, t in data[i:i + batch]:
                    gW, gb = self.backprop(x, t)
                    for l in range(2):
                        sW[l] += gW[l]
                        sb[l] += gb[l]
                for l in range(2):
                    self.W[l] -= self.lr / batch * sW[l]
                    self.b[l] -= self.lr / batch * sb[l]
            right = sum(np.argmax(self.forward(x)[-1]) == np.argmax(t) for x, t in data)
            print("epoch", epoch, "accuracy", right / len(data))


Trainer([D, 12, C], 2.0).fit(samples, 4, 10)
