"""The step computes its forward inline and the forward function is called only after training: ``gradients(params,
x, t)`` runs one sample's tanh hidden layer and softmax output itself and returns the four gradients, which
``train_epoch()`` sums over mini-batches of 8 in a dict and applies (``params[k] -= lr * g[k] / 8``); ``predict()``
is called once, on the held-out rows, when training has ended. The update check waits for that call to replay the
steps it kept (one per boundary), and the step runs untraced between deep windows meanwhile.

Cross-entropy on softmax, synthetic blobs, 5 epochs of 640 rows (400 updates).

The derivative twin: the hidden layer's tanh derivative is dropped.
"""
import numpy as np

rng = np.random.default_rng(21)
C, D, H, N = 3, 12, 10, 800
centers = rng.normal(0, 1, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + 0.8 * rng.normal(0, 1, (N, D))
params = {"W1": rng.normal(0, 1, (D, H)) / np.sqrt(D), "b1": np.zeros(H),
          "W2": rng.normal(0, 1, (H, C)) / np.sqrt(H), "b2": np.zeros(C)}


def predict(p, rows):
    h = np.tanh(rows @ p["W1"] + p["b1"])
    return h @ p["W2"] + p["b2"]


def gradients(p, x, t):
    h = np.tanh(x @ p["W1"] + p["b1"])
    z = h @ p["W2"] + p["b2"]
    e = np.exp(z - z.max())
    dz = e / e.sum() - np.eye(C)[t]
    dh = p["W2"] @ dz
    dpre = dh  # BUG: gradient-mismatch
    return {"W1": np.outer(x, dpre), "b1": dpre, "W2": np.outer(h, dz), "b2": dz}


def train_epoch(p, order, lr):
    for start in range(0, len(order), 8):
        total = {k: np.zeros_like(v) for k, v in p.items()}
        for i in order[start:start + 8]:
            g = gradients(p, X[i], labels[i])
            for k in total:
                total[k] += g[k]
        for k in p:
            p[k] -= lr * total[k] / 8


for epoch in range(5):
    train_epoch(params, rng.permutation(640), 0.2)
print(f"accuracy {np.mean(np.argmax(predict(params, X[640:]), axis=1) == labels[640:]):.3f}")
