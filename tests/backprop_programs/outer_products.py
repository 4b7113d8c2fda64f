"""One sample at a time as a 1-D vector: each weight gradient an outer product, added into a gradient dict; the
dict is applied once per mini-batch of 16 and zeroed (rows, sigmoid hidden layer, softmax output, cross-entropy).
usage: outer_products.py [VARIANT]

VARIANT: "" (healthy: the sum divided by the batch size), summed (the sum applied as it is: each step 16x what the
learning rate says), ascent (the step added).
"""
import sys

import numpy as np

VARIANT = sys.argv[1] if len(sys.argv) > 1 else ""
rng = np.random.default_rng(11)
centres = rng.normal(size=(4, 12))
labels = rng.integers(0, 4, size=320)
X = (centres[labels] + rng.normal(size=(320, 12))) * 0.5
params = {"W1": rng.normal(size=(12, 10)) * 0.3, "b1": np.zeros(10), "W2": rng.normal(size=(10, 4)) * 0.3,
          "b2": np.zeros(4)}
grads = {k: np.zeros_like(v) for k, v in params.items()}


def predict(x):
    h = 1.0 / (1.0 + np.exp(-(x @ params["W1"] + params["b1"])))
    z = h @ params["W2"] + params["b2"]
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return h, e / e.sum(axis=-1, keepdims=True)


def accumulate(x, label):
    h, p = predict(x)
    d2 = p - np.eye(4)[label]
    d1 = (params["W2"] @ d2) * h * (1 - h)
    grads["W2"] += np.outer(h, d2)
    grads["b2"] += d2
    grads["W1"] += np.outer(x, d1)
    grads["b1"] += d1


lr = 0.5
for epoch in range(3):
    for start in range(0, len(X), 16):
        for x, label in zip(X[start:start + 16], labels[start:start + 16]):
            accumulate(x, label)
        scale = lr if VARIANT == "summed" else lr / 16
        for k in params:
            if VARIANT == "ascent":
                params[k] += scale * grads[k]
            else:
                params[k] -= scale * grads[k]
            grads[k][...] = 0.0
    print(f"epoch {epoch}: accuracy {np.mean(predict(X)[1].argmax(axis=1) == labels):.3f}")
