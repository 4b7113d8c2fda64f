"""One sample per step, samples as columns ``(D, 1)``; the parameters, their gradient buffers and Adam's two moments
in four module-level dicts. backward() adds each gradient into its buffer; the loop hands each parameter, its buffer
and its moments to adam_update(), which moves the parameter in place and then empties the buffer it read
(``g[...] = 0``). Sigmoid hidden layer, linear output fitted by squared error to one-hot columns made from the class
index inside backward(); four classes of blobs in 12 dimensions, 400 training samples seen twice.
"""
import numpy as np

rng = np.random.default_rng(2141)
C, D, H = 4, 12, 10
centres = rng.normal(0.0, 1.0, (C, D))
classes = rng.integers(0, C, 560)
X = (centres[classes] + rng.normal(0.0, 0.9, (560, D))).T
onehot = np.eye(C)[:, classes]

params = {"W1": rng.normal(0.0, 1.0, (H, D)) / np.sqrt(D), "b1": np.zeros((H, 1)),
          "W2": rng.normal(0.0, 1.0, (C, H)) / np.sqrt(H), "b2": np.zeros((C, 1))}
grads = {k: np.zeros_like(v) for k, v in params.items()}
first = {k: np.zeros_like(v) for k, v in params.items()}
second = {k: np.zeros_like(v) for k, v in params.items()}


def forward(x):
    h = 1.0 / (1.0 + np.exp(-(params["W1"] @ x + params["b1"])))
    return h, params["W2"] @ h + params["b2"]


def backward(x, label, h, y):
    e = y - np.eye(C)[:, label]
    grads["W2"] += e @ h.T
    grads["b2"] += e
    dz = (params["W2"].T @ e) * h * (1.0 - h)
    grads["W1"] += dz @ x.T
    grads["b1"] += dz


def adam_update(p, g, m, v, step, lr=0.005, beta1=0.9, beta2=0.999):
    m *= beta1
    m += (1.0 - beta1) * g
    v *= beta2
    v += (1.0 - beta2) * g * g
    p = p - lr * (m / (1.0 - beta1 ** step)) / (np.sqrt(v / (1.0 - beta2 ** step)) + 1e-8)  # BUG: frozen-parameters (a new array bound to the local name)
    g[...] = 0.0


step = 0
for epoch in range(2):
    for j in rng.permutation(400):
        x = X[:, j:j + 1]
        h, y = forward(x)
        backward(x, classes[j:j + 1], h, y)
        step += 1
        for k in params:
            adam_update(params[k], grads[k], first[k], second[k], step)
    _, y = forward(X[:, 400:])
    print(f"epoch {epoch + 1}: held-out squared error {np.mean((y - onehot[:, 400:]) ** 2):.4f}, "
          f"accuracy {np.mean(y.argmax(axis=0) == classes[400:]):.3f}")
