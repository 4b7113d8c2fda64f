"""rmsprop_attrs_inplace.py dividing the whole table by 255, the label column with the pixels: every label is 0, so
the output width counted from the labels is one unit and every target is 1.

RMSprop by a helper that updates in place: the running mean square of each parameter is an attribute beside it on a
plain object (``net.vb2`` beside ``net.b2``; the output width counted from the labels), decayed and fed the squared gradient (``v *= rho; v += (1 - rho) * g *
g``) before the step divides by its root. The gradients of each sample are summed over a mini-batch of 20 by module
functions, then scaled by 1 / 20. Tanh hidden layer, linear output, squared error against one-hot rows. Synthetic blobs
in a table whose first column is the label (the pixels in 0..255).
"""
import numpy as np

rng = np.random.default_rng(17)
C, D, H, N = 4, 20, 14, 1000
centers = rng.uniform(40, 215, (C, D))
kinds = rng.integers(0, C, N)
table = np.column_stack([kinds, np.clip(centers[kinds] + rng.normal(0, 90, (N, D)), 0, 255)])
table = table / 255.0  # BUG: constant-targets
labels = table[:, 0].astype(int)
images = table[:, 1:]
n_out = int(labels.max()) + 1
rho, eps = 0.9, 1e-8


class Net:
    pass


def rmsprop(p, g, v, lr):
    v *= rho
    v += (1.0 - rho) * g * g
    p -= lr * g / (np.sqrt(v) + eps)


def forward(net, x):
    h = np.tanh(x @ net.W1 + net.b1)
    return h, h @ net.W2 + net.b2


def backward(net, x, t):
    h, out = forward(net, x)
    d2 = out - t
    dh = (d2 @ net.W2.T) * (1 - h ** 2)
    return np.outer(x, dh), dh, np.outer(h, d2), d2


net = Net()
net.W1 = rng.normal(0, 1 / np.sqrt(D), (D, H))
net.b1 = np.zeros(H)
net.W2 = rng.normal(0, 1 / np.sqrt(H), (H, n_out))
net.b2 = np.zeros(n_out)
net.vW1, net.vb1, net.vW2, net.vb2 = (np.zeros_like(a) for a in (net.W1, net.b1, net.W2, net.b2))

for epoch in range(5):
    order = rng.permutation(800)
    for s in range(0, 800, 20):
        sums = None
        for i in order[s:s + 20]:
            g = backward(net, images[i], np.eye(n_out)[labels[i]])
            sums = list(g) if sums is None else [a + b for a, b in zip(sums, g)]
        rmsprop(net.W1, sums[0] / 20, net.vW1, 0.005)
        rmsprop(net.b1, sums[1] / 20, net.vb1, 0.005)
        rmsprop(net.W2, sums[2] / 20, net.vW2, 0.005)
        rmsprop(net.b2, sums[3] / 20, net.vb2, 0.005)
    right = np.mean(np.argmax(forward(net, images[800:])[1], axis=1) == labels[800:])
    print(f"epoch {epoch}: test accuracy {right:.3f}")
