"""Parameters in a dict, trained at module level one sample per step: the loop binds ``y = labels[i]`` (a NumPy
int64) and hands it to ``backprop(params, x, y)``, which returns the gradients in a dict under the parameters' keys.
ReLU hidden layer, softmax output, synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(43)
C, D, H, N = 5, 14, 16, 1200
centers = rng.normal(0, 1.2, (C, D))
all_labels = rng.integers(0, C, N)
inputs = centers[all_labels] + rng.normal(0, 1.0, (N, D))
labels = all_labels[:1000]

params = {"W1": rng.normal(0, np.sqrt(2 / D), (D, H)), "b1": np.zeros(H),
          "W2": rng.normal(0, np.sqrt(1 / H), (H, C)), "b2": np.zeros(C)}


def backprop(params, x, y):
    a = np.maximum(x @ params["W1"] + params["b1"], 0)
    z = a @ params["W2"] + params["b2"]
    p = np.exp(z - z.max())
    p /= p.sum()
    p[y] -= 1.0
    da = (params["W2"] @ p) * (a > 0)
    return {"W1": np.outer(x, da), "b1": da, "W2": np.outer(a, p), "b2": p}


for epoch in range(3):
    for i in rng.permutation(1000):
        x = inputs[i]
        y = labels[i]
        g = backprop(params, x, y)
        for k in params:
            params[k] -= 0.02 * g[k]
    z = np.maximum(inputs[1000:] @ params["W1"] + params["b1"], 0) @ params["W2"] + params["b2"]
    print(f"epoch {epoch}: accuracy {np.mean(z.argmax(axis=1) == all_labels[1000:]):.3f}")
