"""Per-sample training on sparse inputs (each sample lights 5 of its 240 features, like the pixels of a
digit): module-level dicts of parameters, gradient buffers and velocities; ``backward`` adds each sample's gradients
into the buffers, a helper ``momentum(p, v, g, scale)`` steps each parameter with its velocity (``v *= mu; v -= scale
* g; p += v``), and the buffers are emptied in place (``grads[k][...] = 0.0``); weights stored (out, in) and applied to
one sample as a column; one sigmoid hidden layer, a linear output fitted to one-hot targets by squared error.
"""
import numpy as np

rng = np.random.default_rng(1953)
C, D, H, N = 4, 240, 24, 400
lit = [rng.choice(D, 30, replace=False) for _ in range(C)]  # the features each class may light
labels = rng.integers(0, C, N)
X = np.zeros((N, D))
for i, c in enumerate(labels):
    on = rng.choice(lit[c], 5, replace=False)
    X[i, on] = rng.uniform(0.5, 1.0, 5)

lr, mu = 0.01, 0.9
params = {
    "W1": rng.uniform(-1.0, 1.0, (H, D)) * np.sqrt(6.0 / (D + H)),
    "b1": np.zeros((H, 1)),
    "W2": rng.uniform(-1.0, 1.0, (C, H)) * np.sqrt(6.0 / (H + C)),
    "b2": np.zeros((C, 1)),
}
grads = {k: np.zeros_like(v) for k, v in params.items()}
vel = {k: np.zeros_like(v) for k, v in params.items()}


def momentum(p, v, g, scale):
    v *= mu
    v -= scale * g
    p += v


def forward(x):
    z1 = params["W1"] @ x + params["b1"]
    h = 1.0 / (1.0 + np.exp(-z1))
    out = params["W2"] @ h + params["b2"]
    return z1, h, out


def backward(x, t, z1, h, out):
    d2 = (t - out) / x.shape[1]  # BUG: gradient-mismatch
    dz1 = (params["W2"].T @ d2) * h * (1.0 - h)
    grads["W1"] += dz1 @ x.T
    grads["b1"] += dz1.sum(axis=1, keepdims=True)
    grads["W2"] += d2 @ h.T
    grads["b2"] += d2.sum(axis=1, keepdims=True)


for epoch in range(3):
    for i in rng.permutation(N):
        x = X[i].reshape(-1, 1)
        t = np.eye(C)[labels[i]].reshape(-1, 1)
        z1, h, out = forward(x)
        backward(x, t, z1, h, out)
        for k in params:
            momentum(params[k], vel[k], grads[k], lr)
        for k in grads:
            grads[k][...] = 0.0
    accuracy = np.mean(forward(X.T)[2].argmax(axis=0) == labels)
    print(f"epoch {epoch}: accuracy {accuracy:.3f}")
