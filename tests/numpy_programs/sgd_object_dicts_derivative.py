"""Functions over a parameter dict and a dict of gradient buffers, both handed around as arguments (train(params,
grads), backward(params, grads, x, t)); an SGD object built from a list of the parameters (SGD(params)) whose
step(grads) is handed a new list of the buffers at every step, after which the buffers are replaced by fresh zeros.
The names params and grads each stand for a dict in some functions and a list in others. Mini-batches of 20 rows,
leaky-ReLU hidden layer, linear output, squared error on one-hot targets; 5 epochs of 40 steps; synthetic blobs.
"""
import numpy as np

C, D, H = 4, 12, 16


class SGD:
    def __init__(self, params, lr):
        self.params = params
        self.lr = lr

    def step(self, grads):
        for p, g in zip(self.params, grads):
            p -= self.lr * g


def forward(params, x):
    z = x @ params["W1"] + params["b1"]
    a = np.where(z > 0, z, 0.01 * z)
    return z, a, a @ params["W2"] + params["b2"]


def backward(params, grads, x, t):
    z, a, out = forward(params, x)
    d = (out - t) / len(x)
    grads["W2"] += a.T @ d
    grads["b2"] += d.sum(axis=0)
    dz = d @ params["W2"].T  # BUG: gradient-mismatch
    grads["W1"] += x.T @ dz
    grads["b1"] += dz.sum(axis=0)


def train(params, grads, inputs, labels, rng):
    opt = SGD([params["W1"], params["b1"], params["W2"], params["b2"]], 0.1)
    eye = np.eye(C)
    for epoch in range(5):
        order = rng.permutation(800)
        for start in range(0, 800, 20):
            rows = order[start:start + 20]
            backward(params, grads, inputs[rows], eye[labels[rows]])
            opt.step([grads["W1"], grads["b1"], grads["W2"], grads["b2"]])
            for k in grads:
                grads[k] = np.zeros_like(params[k])
        right = np.mean(forward(params, inputs[800:])[2].argmax(axis=1) == labels[800:])
        print(f"epoch {epoch}: held-out accuracy {right:.3f}")


def main():
    rng = np.random.default_rng(16)
    centers = rng.normal(0, 1, (C, D)) * 0.8
    labels = rng.integers(0, C, 1000)
    inputs = centers[labels] + rng.normal(0, 1, (1000, D))
    params = {"W1": rng.normal(0, 1, (D, H)) * np.sqrt(2 / D), "b1": np.zeros(H),
              "W2": rng.normal(0, 1, (H, C)) / np.sqrt(H), "b2": np.zeros(C)}
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    train(params, grads, inputs, labels, rng)


main()
