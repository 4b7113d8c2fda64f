"""Module-level training of a list of [W, b] layers with Nesterov momentum in its other spelling (the velocity kept
before the step, then p += -mu * v_prev + (1 + mu) * v), the gradients a list returned by backward(); one hidden
sigmoid layer, a sigmoid output and squared error against one-hot rows, mini-batches of 20; synthetic blobs.
"""
import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def forward(layers, x):
    h = sigmoid(x @ layers[0][0] + layers[0][1])
    return h, sigmoid(h @ layers[1][0] + layers[1][1])


def backward(layers, x, t):
    h, out = forward(layers, x)
    d2 = (t - out) * out * (1 - out) / len(x)  # BUG: gradient-mismatch (the sign flipped)
    d1 = (d2 @ layers[1][0].T) * h * (1 - h)
    return [[x.T @ d1, d1.sum(axis=0)], [h.T @ d2, d2.sum(axis=0)]]


rng = np.random.default_rng(5)
C, D, N = 3, 16, 900
centers = rng.normal(0, 1, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1, (N, D))
T = np.eye(C)[labels]
layers = [[rng.normal(0, 1, (D, 10)) / 4, np.zeros(10)], [rng.normal(0, 1, (10, C)) / 3, np.zeros(C)]]
velocity = [[np.zeros_like(p) for p in layer] for layer in layers]
lr, mu = 0.5, 0.9
for epoch in range(5):
    for start in range(0, 800, 20):
        grads = backward(layers, X[start:start + 20], T[start:start + 20])
        for layer, vel, grad in zip(layers, velocity, grads):
            for k in range(2):
                v_prev = vel[k].copy()
                vel[k] = mu * vel[k] - lr * grad[k]
                layer[k] += -mu * v_prev + (1 + mu) * vel[k]
    _, out = forward(layers, X[800:])
    print(f"epoch {epoch}: accuracy {np.mean(out.argmax(axis=1) == labels[800:]):.3f}")
