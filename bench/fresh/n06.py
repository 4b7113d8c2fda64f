# MNIST csv, module-level, ReLU hidden + softmax, mini-batch SGD with momentum by hand
import sys
import gzip
import numpy as np

data = np.loadtxt(gzip.open(sys.argv[1]), delimiter=",", max_rows=3000)
np.random.seed(42)
np.random.shuffle(data)
labels = data[:, 0].astype(int)
pixels = data[:, 1:] / 255.0
x_train, y_train = pixels[:2500], labels[:2500]
x_test, y_test = pixels[2500:], labels[2500:]

n_in, n_hid, n_out = 784, 64, 10
W1 = np.random.randn(n_in, n_hid) * np.sqrt(2 / n_in)
b1 = np.zeros(n_hid)
W2 = np.random.randn(n_hid, n_out) * np.sqrt(2 / n_hid)
b2 = np.zeros(n_out)
vW1, vb1, vW2, vb2 = [np.zeros_like(p) for p in (W1, b1, W2, b2)]
lr, mu, bs = 0.05, 0.9, 50

for epoch in range(8):
    idx = np.random.permutation(len(x_train))
    for start in range(0, len(x_train), bs):
        b = idx[start:start + bs]
        x, t = x_train[b], y_train[b]
        h = np.maximum(0, x @ W1 + b1)
        o = h @ W2 + b2
        o = np.exp(o - o.max(axis=1, keepdims=True))
        probs = o / o.sum(axis=1, keepdims=True)
        dout = probs
        dout[np.arange(len(t)), t] -= 1
        dout /= len(t)
        gW2 = h.T @ dout; gb2 = dout.sum(0)
        dh = dout @ W2.T
        dh[h <= 0] = 0
        gW1 = x.T @ dh; gb1 = dh.sum(0)
        vW1 = mu * vW1 - lr * gW1; W1 += vW1
        vb1 = mu * vb1 - lr * gb1; b1 += vb1
        vW2 = mu * vW2 - lr * gW2; W2 += vW2
        vb2 = mu * vb2 - lr * gb2; b2 += vb2
    h = np.maximum(0, x_train @ W1 + b1) @ W2 + b2
    print("epoch", epoch, "train acc", (h.argmax(1) == y_train).mean())

pred = (np.maximum(0, x_test @ W1 + b1) @ W2 + b2).argmax(1)
print("test accuracy", (pred == y_test).mean())
