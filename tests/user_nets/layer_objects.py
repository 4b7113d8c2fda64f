"""Layer objects with forward/backward (rows, batched), relu, softmax cross-entropy: a protocol model
whose ``params`` are gathered from its layers (``layers.0.W``, ...).

Each ``Dense`` keeps its gradient buffers ``dW``, ``db``, which ``backward`` overwrites.
``bug``: ``"accumulate"`` (``backward`` adds into the buffers and nothing zeroes them, so every
step applies the sum of all earlier gradients); ``"no-relu-mask"`` (the relu's backward passes
the gradient through unmasked: a wrong gradient).
"""

import numpy as np


class Dense:
    def __init__(self, n_in, n_out, rng, bug=None):
        self.W = rng.normal(0.0, np.sqrt(2.0 / n_in), (n_in, n_out))
        self.b = np.zeros(n_out)
        self.dW, self.db = np.zeros_like(self.W), np.zeros_like(self.b)
        self.bug = bug

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        if self.bug == "accumulate":
            self.dW += self.x.T @ dout
            self.db += dout.sum(axis=0)
        else:
            self.dW[...] = self.x.T @ dout
            self.db[...] = dout.sum(axis=0)
        return dout @ self.W.T


class ReLU:
    def __init__(self, bug=None):
        self.bug = bug

    def forward(self, x):
        self.mask = x > 0
        return x * self.mask

    def backward(self, dout):
        return dout if self.bug == "no-relu-mask" else dout * self.mask


class LayerNet:
    def __init__(self, sizes=(12, 10, 4), seed=7, bug=None, learning_rate=0.05, batch_size=50):
        rng = np.random.default_rng(seed)
        self.learning_rate, self.batch_size = learning_rate, batch_size
        self.layers = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            self.layers.append(Dense(n_in, n_out, rng, bug))
            if i < len(sizes) - 2:
                self.layers.append(ReLU(bug))

    @property
    def params(self):
        out = {}
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Dense):
                out[f"layers.{i}.W"], out[f"layers.{i}.b"] = layer.W, layer.b
        return out

    def _forward(self, X):
        outs = [X]
        for layer in self.layers:
            outs.append(layer.forward(outs[-1]))
        z = outs[-1] - outs[-1].max(axis=1, keepdims=True)
        prob = np.exp(z)
        return outs, prob / prob.sum(axis=1, keepdims=True)

    def loss(self, X, y):
        n = len(X)
        _, prob = self._forward(X)
        dout = prob.copy()
        dout[np.arange(n), y] -= 1
        dout /= n
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        grads = {}
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Dense):
                grads[f"layers.{i}.W"], grads[f"layers.{i}.b"] = layer.dW.copy(), layer.db.copy()
        return float(-np.mean(np.log(prob[np.arange(n), y] + 1e-300))), grads

    def predict(self, X):
        return np.argmax(self._forward(X)[1], axis=1)

    def activations(self, X):
        outs, prob = self._forward(X)
        return [o for o, layer in zip(outs[1:], self.layers) if isinstance(layer, ReLU)] + [prob]

    def train_step(self, X, y, lr):
        value, _ = self.loss(X, y)  # fills every layer's dW, db
        for layer in self.layers:
            if isinstance(layer, Dense):
                layer.W -= lr * layer.dW
                layer.b -= lr * layer.db
        return value


def build(bug=None, **kw):
    return LayerNet(bug=bug, **kw)


MNIST = {"sizes": (784, 64, 10), "learning_rate": 0.05, "batch_size": 50}


def mnist(bug=None, seed=None):
    seed = _seed(7) if seed is None else seed
    return build(bug, seed=seed, **MNIST)


def _seed(default):
    import os

    return int(os.environ.get("USER_NET_SEED", default))


def mnist_accumulate():
    return mnist("accumulate")


def mnist_no_relu_mask():
    return mnist("no-relu-mask")
