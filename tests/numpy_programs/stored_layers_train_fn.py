"""Layer objects in a list on a network object, each forward keeping its result on ``self.out`` and returning
nothing; a ``train(net, X, y)`` function runs the batches; the softmax object keeps its probabilities, and the
loss object is handed integer labels; sigmoid hidden layer, plain SGD; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(11)
C, D, N = 3, 12, 900
centers = rng.normal(0, 1.2, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1, (N, D))


class Linear:
    def __init__(self, n_in, n_out):
        self.W = rng.normal(0, 1, (n_in, n_out)) * np.sqrt(1.0 / n_in)
        self.b = np.zeros(n_out)

    def forward(self, x):
        self.x = x
        self.out = x @ self.W + self.b

    def backward(self, grad):
        self.dW = self.x.T @ grad
        self.db = grad.sum(axis=0)
        self.grad_in = grad @ self.W.T


class Sigmoid:
    def forward(self, x):
        self.out = 1 / (1 + np.exp(-x))

    def backward(self, grad):
        self.grad_in = grad * self.out * (1 - self.out)


class SoftmaxNLL:
    def forward(self, logits):
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        self.probs = e / e.sum(axis=1, keepdims=True)

    def loss(self, targets):
        return -np.log(self.probs[np.arange(len(targets)), targets] + 1e-12).mean()

    def backward(self, targets):
        g = self.probs.copy()
        g[np.arange(len(targets)), targets] -= 1
        self.grad_in = g / len(targets)


class Network:
    def __init__(self, sizes):
        self.layers = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            self.layers += [Linear(a, b), Sigmoid()]
        self.layers[-1] = SoftmaxNLL()

    def run(self, x):
        for layer in self.layers:
            layer.forward(x)
            x = layer.out if not isinstance(layer, SoftmaxNLL) else layer.probs

    def learn(self, targets):
        self.layers[-1].backward(targets)
        grad = self.layers[-1].grad_in
        for layer in reversed(self.layers[:-1]):
            layer.backward(grad)
            grad = layer.grad_in

    def step(self, lr):
        for layer in self.layers:
            if isinstance(layer, Linear):
                layer.W -= lr * layer.dW
                layer.b -= lr * layer.db


def train(net, X, y, epochs=8, batch=25, lr=0.5):
    for epoch in range(epochs):
        order = rng.permutation(len(X))
        for s in range(0, len(X), batch):
            idx = order[s:s + batch]
            xb, yb = X[idx], y[idx]
            net.run(xb)
            loss = net.layers[-1].loss(yb)
            net.learn(yb)
            net.step(lr)
        print(f"epoch {epoch}: loss {loss:.4f}")


net = Network([D, 10, C])
train(net, X[:750], labels[:750])
net.run(X[750:])
print("accuracy", np.mean(net.layers[-1].probs.argmax(axis=1) == labels[750:]))
