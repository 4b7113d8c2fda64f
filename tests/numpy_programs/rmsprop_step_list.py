"""RMSProp by hand over a list of parameters ``[W1, b1, W2, b2]`` (rows layout, sigmoid hidden layer, 8 classes of
14x14 "images" whose pixels are mostly exactly 0): each mini-batch of 32 sums the per-sample gradients of
``backprop(x, t)`` in a list, averages them in a comprehension, moves each running square ``ms`` in place and applies
a step computed into a temporary (``step = lr * g / (sqrt(sq) + eps); p -= step``), the loop over the parameters
done before any scan: the gradient a step divides is then seen nowhere (only the last parameter's ``g`` and ``step``
are left in the locals). A weight of a pixel that is 0 in every image of a batch gets no gradient and no step.
"""
import numpy as np

rng = np.random.default_rng(7)
C, side, N, H = 8, 28, 1400, 24
D = side * side
base = rng.random(D) < 0.3
templates = (base | (rng.random((C, D)) < 0.04)) * rng.uniform(0.5, 1.0, (C, D))
labels = rng.integers(0, C, N)
keep = rng.random((N, D)) < 0.5
X = np.clip(templates[labels] * keep + (rng.random((N, D)) < 0.005) * rng.random((N, D)), 0.0, 1.0)
lr, decay, eps = 0.002, 0.9, 1e-8

params = [rng.uniform(-1, 1, (D, H)) * np.sqrt(6 / (D + H)), np.zeros(H),
          rng.uniform(-1, 1, (H, C)) * np.sqrt(6 / (H + C)), np.zeros(C)]
ms = [np.zeros_like(p) for p in params]


def predict(x):
    W1, b1, W2, b2 = params
    h = 1 / (1 + np.exp(-(x @ W1 + b1)))
    z = h @ W2 + b2
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return h, e / e.sum(axis=-1, keepdims=True)


def backprop(x, t):
    h, p = predict(x)
    dz = p - np.eye(C)[t]
    dh = (params[2] @ dz) * h * (1 - h)
    return np.outer(x, dh), dh, np.outer(h, dz), dz


for epoch in range(4):
    order = rng.permutation(1200)
    for s in range(0, 1200, 32):
        sums = [np.zeros_like(p) for p in params]
        batch = order[s:s + 32]
        for i in batch:
            for total, g in zip(sums, backprop(X[i], labels[i])):
                total += g
        grads = [total / len(batch) for total in sums]
        for p, g, sq in zip(params, grads, ms):
            sq *= decay
            sq += (1 - decay) * g * g
            step = lr * g / (np.sqrt(sq) + eps)
            p -= step
    right = np.mean(np.argmax(predict(X[:1200])[1], axis=1) == labels[:1200])
    print(f"epoch {epoch + 1}: training accuracy {right:.3f}")

acc = np.mean(np.argmax(predict(X[1200:])[1], axis=1) == labels[1200:])
print(f"held-out accuracy {acc:.3f}")
