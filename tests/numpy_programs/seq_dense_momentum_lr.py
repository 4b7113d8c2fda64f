"""A Keras-like Sequential of layer objects: each Dense owns gradient buffers that its backward overwrites in place
(``self.dW[...] = x.T @ g``), and an SGD optimizer built once with lists of references to the parameters and to
those buffers applies momentum in place (``v *= mu; v -= lr * g; p += v``). ReLU hidden layer, softmax
cross-entropy, batches of 25 rows of synthetic blobs.

The optimizer is built with lr=2.0: with momentum 0.9 an effective rate of 20, each step many times the weights.
"""
import numpy as np


class Dense:
    def __init__(self, n_in, n_out, rng):
        self.W = rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)
        self.b = np.zeros(n_out)
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, g):
        self.dW[...] = self.x.T @ g
        self.db[...] = g.sum(axis=0)
        return g @ self.W.T


class ReLU:
    def forward(self, x):
        self.mask = x > 0
        return x * self.mask

    def backward(self, g):
        return g * self.mask


class SoftmaxCrossEntropy:
    def forward(self, logits, y_onehot):
        z = logits - logits.max(axis=1, keepdims=True)
        self.p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        self.y = y_onehot
        return -np.mean(np.sum(y_onehot * np.log(self.p + 1e-12), axis=1))

    def backward(self):
        return (self.p - self.y) / len(self.y)


class SGD:
    def __init__(self, params, grads, lr=0.05, momentum=0.9):
        self.params, self.grads, self.lr, self.mu = params, grads, lr, momentum
        self.v = [np.zeros_like(p) for p in params]

    def step(self):
        for p, g, v in zip(self.params, self.grads, self.v):
            v *= self.mu
            v -= self.lr * g
            p += v


class Sequential:
    def __init__(self, layers):
        self.layers = layers

    def __call__(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, g):
        for layer in reversed(self.layers):
            g = layer.backward(g)

    def parameters(self):
        dense = [l for l in self.layers if isinstance(l, Dense)]
        return [p for l in dense for p in (l.W, l.b)], [g for l in dense for g in (l.dW, l.db)]


def fit(model, loss_fn, opt, X, Y, epochs, batch_size, rng):
    for epoch in range(epochs):
        order = rng.permutation(len(X))
        total = 0.0
        for i in range(0, len(X), batch_size):
            idx = order[i:i + batch_size]
            loss = loss_fn.forward(model(X[idx]), Y[idx])
            model.backward(loss_fn.backward())
            opt.step()
            total += loss * len(idx)
        print(f"epoch {epoch + 1}: loss {total / len(X):.4f}")


def main():
    rng = np.random.default_rng(5)
    C, D, N = 4, 20, 1100
    centers = rng.normal(0, 1.0, (C, D))
    labels = rng.integers(0, C, N)
    X = centers[labels] + rng.normal(0, 1.6, (N, D))
    Y = np.eye(C)[labels]
    model = Sequential([Dense(D, 32, rng), ReLU(), Dense(32, C, rng)])
    params, grads = model.parameters()
    opt = SGD(params, grads, lr=2.0)  # BUG: learning-rate-too-high
    fit(model, SoftmaxCrossEntropy(), opt, X[:1000], Y[:1000], 5, 25, rng)
    acc = (model(X[1000:]).argmax(axis=1) == labels[1000:]).mean()
    print(f"test accuracy {acc:.3f}")


if __name__ == "__main__":
    main()
