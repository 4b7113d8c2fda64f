"""Parameters in a module-level dict, stepped in place through a local (w -= lr * g), the best weights of an epoch
kept as copies in a second dict. Mini-batches of 25 rows,
tanh hidden layer, softmax output, mean cross-entropy; 5 epochs of 32 steps; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(27)
C, D, H, N = 3, 10, 8, 1000
centers = rng.normal(0, 1, (C, D)) * 0.8
labels = rng.integers(0, C, N)
inputs = centers[labels] + rng.normal(0, 1, (N, D))

params = {"W1": rng.normal(0, 1, (D, H)) / np.sqrt(D), "b1": np.zeros(H),
          "W2": rng.normal(0, 1, (H, C)) / np.sqrt(H), "b2": np.zeros(C)}


def predict(x):
    a = np.tanh(x @ params["W1"] + params["b1"])
    z = a @ params["W2"] + params["b2"]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return a, e / e.sum(axis=1, keepdims=True)


def grads_of(x, y):
    a, p = predict(x)
    d = p.copy()
    d[np.arange(len(y)), y] -= 1.0
    d /= len(y)
    da = (d @ params["W2"].T) * (1 - a ** 2)
    return {"W1": x.T @ da, "b1": da.sum(axis=0), "W2": a.T @ d, "b2": d.sum(axis=0)}


def sgd(g, lr):
    for name in params:
        w = params[name]
        w -= lr * g[name]


best, best_acc = None, -1.0
for epoch in range(5):
    order = rng.permutation(800)
    for start in range(0, 800, 25):
        rows = order[start:start + 25]
        sgd(grads_of(inputs[rows], labels[rows]), 0.3)
    acc = float(np.mean(predict(inputs[800:])[1].argmax(axis=1) == labels[800:]))
    print(f"epoch {epoch}: held-out accuracy {acc:.3f}")
    if acc > best_acc:
        best_acc, best = acc, {k: v.copy() for k, v in params.items()}
for k in params:
    params[k][...] = best[k]
