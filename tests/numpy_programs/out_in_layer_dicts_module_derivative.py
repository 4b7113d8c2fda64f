"""The twin of out_in_layer_dicts_module.py whose backward leaves out the tanh derivative (1 - a ** 2).
Per-layer dicts in a module-level list, each holding its weights, stored (out, in) and applied to batches of rows as
``x @ W.T``, beside what the forward computed through it (``layer["z"]``, ``layer["a"]``); the training loop, the
backward and the steps all at module level; two tanh hidden layers; mini-batches of 20; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(325)
C, D, N = 3, 12, 600
centers = rng.normal(0, 0.6, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1, (N, D))

sizes = [D, 16, 10, C]
layers = []
for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
    layers.append({"W": rng.normal(0, 1, (fan_out, fan_in)) / np.sqrt(fan_in), "b": np.zeros(fan_out)})


def forward(x):
    a = x
    for k, layer in enumerate(layers):
        z = a @ layer["W"].T + layer["b"]
        if k < len(layers) - 1:
            a = np.tanh(z)
        else:
            e = np.exp(z - z.max(axis=1, keepdims=True))
            a = e / e.sum(axis=1, keepdims=True)
        layer["z"] = z
        layer["a"] = a
    return a


lr = 0.1
for epoch in range(10):
    order = rng.permutation(N)
    for start in range(0, N, 20):
        idx = order[start:start + 20]
        x, t = X[idx], labels[idx]
        out = forward(x)
        delta = (out - np.eye(C)[t]) / len(t)
        for k in range(len(layers) - 1, -1, -1):
            below = layers[k - 1]["a"] if k > 0 else x
            dW = delta.T @ below
            db = delta.sum(axis=0)
            if k > 0:
                delta = delta @ layers[k]["W"]  # BUG: gradient-mismatch
            layers[k]["W"] -= lr * dW
            layers[k]["b"] -= lr * db
    accuracy = np.mean(forward(X).argmax(axis=1) == labels)
    print(f"epoch {epoch}: accuracy {accuracy:.3f}")
