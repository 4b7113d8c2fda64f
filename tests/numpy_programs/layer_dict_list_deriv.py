"""Layers as a list of dicts {"W", "b", "act"}; forward walks the list keeping each layer's input and output in it.

32 features and batches of 32 (the labels handed to backward(probs, labels) have the input width in their shape);
ReLU, softmax, cross-entropy, gradients kept in the layer dicts and applied by sgd(lr); synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(7)
C, D, N = 5, 32, 1500
centers = rng.normal(0, 1, (C, D)) * 0.9
y_all = rng.integers(0, C, N)
X_all = centers[y_all] + rng.normal(0, 1, (N, D))


def relu(z):
    return np.maximum(z, 0)


def make_layer(n_in, n_out, act):
    return {"W": rng.normal(0, np.sqrt(2 / n_in), (n_in, n_out)), "b": np.zeros(n_out), "act": act}


net = [make_layer(D, 48, "relu"), make_layer(48, 24, "relu"), make_layer(24, C, "softmax")]


def forward(x):
    for layer in net:
        layer["x"] = x
        z = x @ layer["W"] + layer["b"]
        if layer["act"] == "relu":
            x = relu(z)
        else:
            e = np.exp(z - z.max(1, keepdims=True))
            x = e / e.sum(1, keepdims=True)
        layer["out"] = x
    return x


def backward(probs, labels):
    g = probs.copy()
    g[np.arange(len(labels)), labels] -= 1
    g /= len(labels)
    for layer in reversed(net):
        if layer["act"] == "relu":
            g = g  # BUG: gradient-mismatch
        layer["dW"] = layer["x"].T @ g
        layer["db"] = g.sum(0)
        g = g @ layer["W"].T


def sgd(lr):
    for layer in net:
        layer["W"] -= lr * layer["dW"]
        layer["b"] -= lr * layer["db"]


Xtr, ytr, Xte, yte = X_all[:1300], y_all[:1300], X_all[1300:], y_all[1300:]
for epoch in range(12):
    perm = rng.permutation(len(Xtr))
    for i in range(0, len(perm), 32):
        b = perm[i:i + 32]
        probs = forward(Xtr[b])
        backward(probs, ytr[b])
        sgd(0.2)
    acc = (forward(Xte).argmax(1) == yte).mean()
    print(f"epoch {epoch}: test acc {acc:.3f}")
