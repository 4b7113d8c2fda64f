"""A Sequential of layer objects called through ``__call__`` (``x = layer(x)``), each keeping ``self.input`` and
``self.output``; the backward walks ``reversed(self.layers)`` and leaves each gradient on its layer, an optimizer object
steps the (parameter, layer, name) triples it collected once.

The targets are soft (distillation): 0.7 one-hot + 0.3 a fixed teacher's tempered softmax, a distribution over the
classes with many distinct values. Mini-batches of 32 rows, ReLU hidden layer, softmax cross-entropy; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(11)
C, D, N = 5, 30, 1400
centers = rng.normal(0, 1, (C, D)) * 0.6
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1, (N, D))
teacher = X @ centers.T / 4.0
soft = np.exp(teacher - teacher.max(axis=1, keepdims=True))
soft /= soft.sum(axis=1, keepdims=True)
T = 0.7 * np.eye(C)[labels] + 0.3 * soft


class Linear:
    def __init__(self, n_in, n_out):
        self.weight = rng.normal(0, 1, (n_in, n_out)) * np.sqrt(2.0 / n_in)
        self.bias = np.zeros(n_out)

    def __call__(self, x):
        self.input = x
        self.output = x @ self.weight + self.bias
        return self.output

    def backward(self, grad):
        self.grad_weight = self.input.T @ grad
        self.grad_bias = grad.sum(axis=0)
        return grad @ self.weight.T


class ReLU:
    def __call__(self, x):
        self.input = x
        self.output = np.maximum(x, 0.0)
        return self.output

    def backward(self, grad):
        return grad * (self.input > 0)


class Sequential:
    def __init__(self, *layers):
        self.layers = list(layers)

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def backward(self, grad):
        for layer in reversed(self.layers):
            grad = layer.backward(grad)


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class SGD:
    def __init__(self, model, lr):
        self.lr = lr
        self.slots = [(layer, name) for layer in model.layers for name in ("weight", "bias") if hasattr(layer, name)]

    def step(self):
        for layer, name in self.slots:
            p = getattr(layer, name)
            p -= self.lr * getattr(layer, "grad_" + name)


model = Sequential(Linear(D, 24), ReLU(), Linear(24, C))
opt = SGD(model, 0.2)
for epoch in range(4):
    order = rng.permutation(1200)
    for start in range(0, 1200, 32):
        idx = order[start:start + 32]
        x, t = X[idx], T[idx]
        p = softmax(model(x))
        model.backward((p - t) / len(x))
        opt.step()
    hits = np.mean(np.argmax(model(X[1200:]), axis=1) == labels[1200:])
    print(f"epoch {epoch}: accuracy {hits:.3f}")
