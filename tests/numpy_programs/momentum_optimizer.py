"""An optimizer object keeping one velocity per parameter in a list, in the spelling that takes the gradient in as it
is and applies the learning rate to the velocity (v = mu * v + g; p -= lr * v); one sample (a row) per update, a relu hidden
layer over [W, b] pairs in a list, softmax output; synthetic blobs.
"""
import numpy as np


class Momentum:
    def __init__(self, params, lr, mu):
        self.params, self.lr, self.mu = params, lr, mu
        self.velocities = [np.zeros_like(p) for p in params]

    def apply(self, grads):
        for p, v, g in zip(self.params, self.velocities, grads):
            v *= self.mu
            v += g
            p -= self.lr * v


def forward(layers, x):
    (W1, b1), (W2, b2) = layers
    z = x @ W1 + b1
    h = np.maximum(z, 0.0)
    return z, h, h @ W2 + b2


def backward(layers, x, t):
    (W1, b1), (W2, b2) = layers
    z, h, out = forward(layers, x)
    q = np.exp(out - out.max(axis=1, keepdims=True))
    q /= q.sum(axis=1, keepdims=True)
    dout = q - t
    dh = dout @ W2.T
    dz = dh * (z > 0)
    return [x.T @ dz, dz.sum(axis=0), h.T @ dout, dout.sum(axis=0)]


rng = np.random.default_rng(5)
C, D, N = 3, 16, 700
centers = rng.normal(0, 1, (C, D))
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1, (N, D)) * 0.8
eye = np.eye(C)
layers = [[rng.normal(0, 1, (D, 10)) * np.sqrt(2.0 / D), np.zeros(10)],
          [rng.normal(0, 1, (10, C)) / np.sqrt(10), np.zeros(C)]]
opt = Momentum([a for pair in layers for a in pair], lr=0.002, mu=0.9)
for epoch in range(3):
    for j in rng.permutation(600):
        opt.apply(backward(layers, X[j:j + 1], eye[y[j:j + 1]]))
    pred = np.argmax(forward(layers, X[600:])[2], axis=1)
    print(f"epoch {epoch}: accuracy {np.mean(pred == y[600:]):.3f}")
