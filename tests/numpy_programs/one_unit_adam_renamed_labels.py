"""``one_unit_adam_returns_labels`` with other names: the output layer's weights are ``net.out``, the softmax the forward
keeps is ``net.result`` and Adam's moments are ``net.W1_m``, ``net.b1_v``, ... Every label read is 0, the network has one
output unit and nothing ever changes: what the program does with its arrays is what it did under the first names, and
the report must decide the same (the moments and the kept softmax are no parameters, the output weights are one).
"""
import numpy as np

rng = np.random.default_rng(21)
K, D, N = 3, 16, 600
centers = rng.normal(0, 1.2, (K, D))
classes = rng.integers(0, K, N)
table = np.column_stack([classes, np.zeros(N), centers[classes] + rng.normal(0, 1.0, (N, D))])
labels = table[:, 1].astype(int)  # BUG: constant-targets
X = table[:, 2:]
n_out = int(max(labels)) + 1
hidden = 12
beta1, beta2, eps = 0.9, 0.999, 1e-8


class Net:
    pass


def forward(net, x):
    net.h = np.tanh(x @ net.W1.T + net.b1)
    z = net.h @ net.out.T + net.b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    net.result = e / e.sum(axis=1, keepdims=True)


def backward(net, x, t):
    T = np.eye(net.result.shape[1])[t]
    d2 = (net.result - T) / x.shape[0]
    dh = d2 @ net.out * (1.0 - net.h ** 2)
    return dh.T @ x, dh.sum(axis=0), d2.T @ net.h, d2.sum(axis=0)


def loss_and_grads(net, x, t):
    forward(net, x)
    T = np.eye(net.result.shape[1])[t]
    return float(-np.sum(T * np.log(net.result + 1e-12)) / x.shape[0]), backward(net, x, t)


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
            for p, g, m, v in zip((net.W1, net.b1, net.out, net.b2), grads, (net.W1_m, net.b1_m, net.out_m, net.b2_m),
                                  (net.W1_v, net.b1_v, net.out_v, net.b2_v)):
                m *= beta1
                m += (1.0 - beta1) * g
                v *= beta2
                v += (1.0 - beta2) * g * g
                p -= lr * (m / (1.0 - beta1 ** n_steps)) / (np.sqrt(v / (1.0 - beta2 ** n_steps)) + eps)
        forward(net, X)
        print(f"epoch {epoch}: loss {np.mean(losses):.4f}, accuracy {np.mean(net.result.argmax(axis=1) == y):.3f}")


net = Net()
net.W1 = rng.uniform(-1, 1, (hidden, D)) * np.sqrt(6.0 / (D + hidden))
net.b1 = np.zeros(hidden)
net.out = rng.uniform(-1, 1, (n_out, hidden)) * np.sqrt(6.0 / (hidden + n_out))
net.b2 = np.zeros(n_out)
for name in ("W1", "b1", "out", "b2"):
    setattr(net, name + "_m", np.zeros_like(getattr(net, name)))
    setattr(net, name + "_v", np.zeros_like(getattr(net, name)))
train(net, X[:500], labels[:500], 0.01, 4)
