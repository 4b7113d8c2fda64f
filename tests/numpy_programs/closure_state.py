"""A make_model() closure over an object of the program's class: forward(x) returns nothing and keeps its output on
it (net.out), backward(x, t) reads it; the module calls the returned train() and accuracy(). Mini-batches of 20 rows,
relu hidden layer, softmax output, cross-entropy; 5 epochs of 40 steps; synthetic blobs.
"""
import numpy as np

C, D, H = 4, 12, 10


class Holder:
    pass


def make_model(rng):
    net = Holder()
    net.W1 = rng.normal(0, 1, (D, H)) * np.sqrt(2 / D)
    net.b1 = np.zeros(H)
    net.W2 = rng.normal(0, 1, (H, C)) / np.sqrt(H)
    net.b2 = np.zeros(C)

    def forward(x):
        net.h = np.maximum(x @ net.W1 + net.b1, 0.0)
        z = net.h @ net.W2 + net.b2
        e = np.exp(z - z.max(axis=1, keepdims=True))
        net.out = e / e.sum(axis=1, keepdims=True)

    def backward(x, y):
        d = net.out.copy()
        d[np.arange(len(y)), y] -= 1.0
        d /= len(y)
        dh = (d @ net.W2.T) * (net.h > 0)
        for p, g in ((net.W2, net.h.T @ d), (net.b2, d.sum(axis=0)), (net.W1, x.T @ dh), (net.b1, dh.sum(axis=0))):
            p -= 0.2 * g

    def accuracy(x, y):
        forward(x)
        return float(np.mean(net.out.argmax(axis=1) == y))

    def train(inputs, labels):
        for epoch in range(5):
            order = rng.permutation(800)
            for start in range(0, 800, 20):
                rows = order[start:start + 20]
                forward(inputs[rows])
                backward(inputs[rows], labels[rows])
            print(f"epoch {epoch}: held-out accuracy {accuracy(inputs[800:], labels[800:]):.3f}")

    return train, accuracy


rng = np.random.default_rng(31)
centers = rng.normal(0, 1, (C, D)) * 0.8
labels = rng.integers(0, C, 1000)
inputs = centers[labels] + rng.normal(0, 1, (1000, D))
train, accuracy = make_model(rng)
train(inputs, labels)
