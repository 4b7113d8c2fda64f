"""The output layer's width taken from the labels (``n_out = max(label) + 1``), a network kept as attributes of a plain
object with its Adam moments beside it (``net.mW1``, ``net.vb1``, ...), a forward that keeps its caches on the object
and returns nothing, and ``loss_and_grads(net, x, t)`` returning the loss and a tuple of gradients (built by
``backward``) that are clipped by their global norm before the step; mini-batches of 10 integer labels made one-hot in
the loss. When every label read is 0, the network has one output unit: its softmax is 1 for every input, the gradient is
exactly 0 and nothing ever changes (not even Adam's moments): the gradient's function must be told from what nothing
moved, and the targets it is handed read.
"""
import numpy as np

rng = np.random.default_rng(21)
K, D, N = 3, 16, 600
centers = rng.normal(0, 1.2, (K, D))
classes = rng.integers(0, K, N)
table = np.column_stack([classes, np.zeros(N), centers[classes] + rng.normal(0, 1.0, (N, D))])
labels = table[:, 0].astype(int)
X = table[:, 2:]
n_out = int(max(labels)) + 1
hidden = 12
beta1, beta2, eps = 0.9, 0.999, 1e-8


class Net:
    pass


def forward(net, x):
    net.h = np.tanh(x @ net.W1.T + net.b1)
    z = net.h @ net.W2.T + net.b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    net.out = e / e.sum(axis=1, keepdims=True)


def backward(net, x, t):
    T = np.eye(net.out.shape[1])[t]
    d2 = (net.out - T) / x.shape[0]
    dh = d2 @ net.W2 * (1.0 - net.h ** 2)
    return dh.T @ x, dh.sum(axis=0), d2.T @ net.h, d2.sum(axis=0)


def loss_and_grads(net, x, t):
    forward(net, x)
    T = np.eye(net.out.shape[1])[t]
    return float(-np.sum(T * np.log(net.out + 1e-12)) / x.shape[0]), backward(net, x, t)


def clip_norm(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g * g) for g in grads))
    return [g * (max_norm / norm) for g in grads] if norm > max_norm else grads


def train(net, X, y, lr, epochs):
    n_steps = 0
    for epoch in range(epochs):
        order = rng.permutation(len(y))
        losses = []
        for s in range(0, len(y), 10):
            idx = order[s:s + 10]
            loss, grads = loss_and_grads(net, X[idx], y[idx])
            losses.append(loss)
            grads = clip_norm(grads, 5.0)
            n_steps += 1
            for p, g, m, v in zip((net.W1, net.b1, net.W2, net.b2), grads, (net.mW1, net.mb1, net.mW2, net.mb2),
                                  (net.vW1, net.vb1, net.vW2, net.vb2)):
                m *= beta1
                m += (1.0 - beta1) * g
                v *= beta2
                v += (1.0 - beta2) * g * g
                p -= lr * (m / (1.0 - beta1 ** n_steps)) / (np.sqrt(v / (1.0 - beta2 ** n_steps)) + eps)
        forward(net, X)
        print(f"epoch {epoch}: loss {np.mean(losses):.4f}, accuracy {np.mean(net.out.argmax(axis=1) == y):.3f}")


net = Net()
net.W1 = rng.uniform(-1, 1, (hidden, D)) * np.sqrt(6.0 / (D + hidden))
net.b1 = np.zeros(hidden)
net.W2 = rng.uniform(-1, 1, (n_out, hidden)) * np.sqrt(6.0 / (hidden + n_out))
net.b2 = np.zeros(n_out)
for name in ("W1", "b1", "W2", "b2"):
    setattr(net, "m" + name, np.zeros_like(getattr(net, name)))
    setattr(net, "v" + name, np.zeros_like(getattr(net, name)))
train(net, X[:500], labels[:500], 0.01, 4)
