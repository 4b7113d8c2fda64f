"""A closure over a list of layer dicts: make_model() returns step() and predict(), which reach the layers only
through their closure cells (no global, no argument, no self); the gradients sit in the same dicts (layer["dW"]),
accumulated and emptied inside step().

Mini-batches of 25 rows, tanh hidden layer, softmax output, mean cross-entropy; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(5)
C, D, N = 5, 24, 1200
centers = rng.normal(0, 1, (C, D)) * 0.6
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1, (N, D))


def make_model(sizes, lr):
    layers = [{"W": rng.normal(0, 1, (m, n)) / np.sqrt(m), "b": np.zeros(n)} for m, n in zip(sizes, sizes[1:])]
    for layer in layers:
        layer["dW"], layer["db"] = np.zeros_like(layer["W"]), np.zeros_like(layer["b"])

    def predict(x):
        acts = [x]
        for i, layer in enumerate(layers):
            z = acts[-1] @ layer["W"] + layer["b"]
            acts.append(np.tanh(z) if i < len(layers) - 1 else z)
        e = np.exp(acts[-1] - acts[-1].max(axis=1, keepdims=True))
        return acts, e / e.sum(axis=1, keepdims=True)

    def step(x, labels):
        acts, p = predict(x)
        delta = (p - np.eye(C)[labels]) / len(x)
        for i in reversed(range(len(layers))):
            layer = layers[i]
            layer["dW"] += acts[i].T @ delta
            layer["db"] += delta.sum(axis=0)
            if i:
                delta = (delta @ layer["W"].T) * (1 - acts[i] ** 2)
        for layer in layers:
            W, b = layer["W"], layer["b"]
            W -= lr * layer["dW"]
            b -= lr * layer["db"]
            layer["dW"][...] = 0.0
            layer["db"][...] = 0.0

    return step, predict


step, predict = make_model([D, 16, C], 0.5)
for epoch in range(8):
    order = rng.permutation(1000)
    for i in range(0, 1000, 25):
        rows = order[i:i + 25]
        step(X[rows], y[rows])
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(predict(X[1000:])[1], axis=1) == y[1000:]):.3f}")
