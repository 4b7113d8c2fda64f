"""own_mean_loss with the output error not divided by the batch size: each step is 20x the gradient of the mean loss the program computes."""
import numpy as np

rng = np.random.default_rng(5)
C, D, N = 3, 10, 900
centers = rng.normal(0, 1.2, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1, (N, D))

params = {"W1": rng.normal(0, 1, (D, 16)) / np.sqrt(D), "b1": np.zeros(16),
          "W2": rng.normal(0, 1, (16, C)) / np.sqrt(16), "b2": np.zeros(C)}


def forward(p, x):
    h = np.tanh(x @ p["W1"] + p["b1"])
    return h, h @ p["W2"] + p["b2"]


def loss_of(out, y):
    T = np.eye(out.shape[1])[y]
    return 0.5 * np.sum((out - T) ** 2) / len(y)


def gradients(p, x, y, h, out):
    T = np.eye(out.shape[1])[y]
    d_out = out - T  # BUG: summed-gradient
    d_h = (d_out @ p["W2"].T) * (1 - h ** 2)
    return {"W2": h.T @ d_out, "b2": d_out.sum(axis=0), "W1": x.T @ d_h, "b1": d_h.sum(axis=0)}


def step(p, g, lr):
    for k in p:
        p[k] -= lr * g[k]


lr = 0.1
for epoch in range(8):
    order = rng.permutation(750)
    for s in range(0, 750, 20):
        idx = order[s:s + 20]
        h, out = forward(params, X[idx])
        loss = loss_of(out, labels[idx])
        step(params, gradients(params, X[idx], labels[idx], h, out), lr)
    acc = np.mean(forward(params, X[750:])[1].argmax(axis=1) == labels[750:])
    print(f"epoch {epoch}: loss {loss:.4f}, held-out accuracy {acc:.3f}")
