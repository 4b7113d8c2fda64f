"""A model class keeping its layer objects in a dict (``self.layers = {"hidden": Dense, "out": Dense}``), sigmoid
hidden units, and a plain SGD object built from the model's flat lists of parameters and of gradient buffers
(``SGD(model.params(), model.grads())``) that steps them in place; a trainer method runs mini-batches of 16 and a
mean squared error on one-hot targets. The parameters are reached from the optimizer only as list items
(``self.params[1]``); the model names them ``layers['hidden'].W``.
"""
import numpy as np


class Dense:
    def __init__(self, n_in, n_out, rng):
        self.W = rng.normal(0, 1 / np.sqrt(n_in), (n_in, n_out))
        self.b = np.zeros(n_out)
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, d):
        self.dW[...] = self.x.T @ d
        self.db[...] = d.sum(axis=0)
        return d @ self.W.T


class Model:
    def __init__(self, n_in, n_hidden, n_out, rng):
        self.layers = {"hidden": Dense(n_in, n_hidden, rng), "out": Dense(n_hidden, n_out, rng)}

    def forward(self, x):
        self.h = 1 / (1 + np.exp(-self.layers["hidden"].forward(x)))
        return self.layers["out"].forward(self.h)

    def backward(self, d):
        d = self.layers["out"].backward(d)
        self.layers["hidden"].backward(d * self.h * (1 - self.h))

    def params(self):
        return [self.layers[k].W for k in self.layers] + [self.layers[k].b for k in self.layers]

    def grads(self):
        return [self.layers[k].dW for k in self.layers] + [self.layers[k].db for k in self.layers]


class SGD:
    def __init__(self, params, grads, lr):
        self.params, self.grads, self.lr = params, grads, lr

    def step(self):
        for p, g in zip(self.params, self.grads):
            p -= self.lr * g


class Trainer:
    def __init__(self, model, opt):
        self.model, self.opt = model, opt

    def fit(self, X, Y, epochs, batch, rng):
        for epoch in range(epochs):
            order = rng.permutation(len(X))
            for s in range(0, len(X), batch):
                idx = order[s:s + batch]
                out = self.model.forward(X[idx])
                self.model.backward(2 * (out - Y[idx]) / len(idx))
                self.opt.step()


def main():
    rng = np.random.default_rng(23)
    K, D, N = 3, 10, 1000
    centers = rng.normal(0, 1.3, (K, D))
    labels = rng.integers(0, K, N)
    X = centers[labels] + rng.normal(0, 1.2, (N, D))
    Y = np.eye(K)[labels]
    model = Model(D, 16, K, rng)
    Trainer(model, SGD(model.params(), model.grads(), lr=0.2)).fit(X[:900], Y[:900], 8, 16, rng)
    print(f"test accuracy {(model.forward(X[900:]).argmax(axis=1) == labels[900:]).mean():.3f}")


if __name__ == "__main__":
    main()
