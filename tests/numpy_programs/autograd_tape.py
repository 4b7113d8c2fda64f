"""A reverse-mode autograd over arrays, the way "build your own autograd" tutorials write one: a Tensor class with
operator overloads and one backward closure per operation, Linear and MLP classes holding Tensors, an SGD class
with zero_grad() and step() over the parameters' ``.data``; ReLU, softmax cross-entropy; synthetic blobs.

Every operation makes a new Tensor whose methods run (hundreds of objects of one class a step): none of them is the
network, and its ``.data`` is a tensor's values, not a data set.
"""
import numpy as np

rng = np.random.default_rng(0)
C, D, N = 4, 20, 1100
centers = rng.normal(0, 1, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1, (N, D))
X_train, y_train, X_test, y_test = X[:1000], labels[:1000], X[1000:], labels[1000:]


class Tensor:
    def __init__(self, data, parents=()):
        self.data = np.asarray(data, dtype=float)
        self.grad = np.zeros_like(self.data)
        self._parents = parents
        self._backward = None

    def __matmul__(self, other):
        out = Tensor(self.data @ other.data, (self, other))

        def backward():
            self.grad += out.grad @ other.data.T
            other.grad += self.data.T @ out.grad
        out._backward = backward
        return out

    def __add__(self, other):
        out = Tensor(self.data + other.data, (self, other))

        def backward():
            self.grad += out.grad
            other.grad += out.grad.sum(axis=0)
        out._backward = backward
        return out

    def relu(self):
        out = Tensor(np.maximum(self.data, 0), (self,))

        def backward():
            self.grad += out.grad * (self.data > 0)
        out._backward = backward
        return out

    def cross_entropy(self, target):
        z = self.data - self.data.max(axis=1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        n = len(target)
        out = Tensor(-np.log(p[np.arange(n), target]).mean(), (self,))

        def backward():
            d = p.copy()
            d[np.arange(n), target] -= 1
            self.grad += out.grad * d / n
        out._backward = backward
        return out

    def backward(self):
        order, seen = [], set()

        def visit(t):
            if id(t) not in seen:
                seen.add(id(t))
                for parent in t._parents:
                    visit(parent)
                order.append(t)
        visit(self)
        self.grad = np.ones_like(self.data)
        for t in reversed(order):
            if t._backward is not None:
                t._backward()


class Linear:
    def __init__(self, n_in, n_out):
        self.W = Tensor(rng.normal(0, np.sqrt(2.0 / n_in), (n_in, n_out)))
        self.b = Tensor(np.zeros(n_out))

    def __call__(self, x):
        return x @ self.W + self.b


class MLP:
    def __init__(self, sizes):
        self.layers = [Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])]

    def __call__(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = x.relu()
        return x

    def parameters(self):
        return [p for layer in self.layers for p in (layer.W, layer.b)]


class SGD:
    def __init__(self, params, lr):
        self.params, self.lr = params, lr

    def zero_grad(self):
        for p in self.params:
            p.grad = np.zeros_like(p.data)

    def step(self):
        for p in self.params:
            p.data -= self.lr * p.grad


model = MLP([D, 16, C])
opt = SGD(model.parameters(), lr=0.1)
for epoch in range(4):
    order = rng.permutation(len(X_train))
    for start in range(0, len(order), 25):
        idx = order[start:start + 25]
        opt.zero_grad()
        loss = model(Tensor(X_train[idx])).cross_entropy(y_train[idx])
        loss.backward()
        opt.step()
    accuracy = (model(Tensor(X_test)).data.argmax(axis=1) == y_test).mean()
    print(f"epoch {epoch}: loss {loss.data:.3f}, test accuracy {accuracy:.3f}")
