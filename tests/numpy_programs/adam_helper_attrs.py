"""Adam by hand through a helper called once per tensor (``adam(net.W1, grads[0], net.mW1, net.vW1, n_steps, lr)``,
in place), the parameters and both moments attributes of a bare object; a forward and a backward at module level;
196 inputs in [0, 1], a sigmoid hidden layer, softmax output, mini-batches of 20; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(609)
C, D, H, N = 8, 196, 32, 1000
centers = rng.random((C, D))
labels = rng.integers(0, C, N)
X = np.clip(centers[labels] + rng.normal(0, 0.9, (N, D)), 0.0, 1.0)


class Net:
    pass


net = Net()
net.W1 = rng.uniform(-1, 1, (D, H)) * np.sqrt(6.0 / (D + H))
net.b1 = np.zeros(H)
net.W2 = rng.uniform(-1, 1, (H, C)) * np.sqrt(6.0 / (H + C))
net.b2 = np.zeros(C)
for name in ("W1", "b1", "W2", "b2"):
    setattr(net, "m" + name, np.zeros_like(getattr(net, name)))
    setattr(net, "v" + name, np.zeros_like(getattr(net, name)))


def adam(p, g, m, v, t, lr, beta1=0.9, beta2=0.999):
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * g * g
    p -= lr * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + 1e-8)


def forward(x):
    h = 1.0 / (1.0 + np.exp(-(x @ net.W1 + net.b1)))
    z = h @ net.W2 + net.b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return h, e / e.sum(axis=1, keepdims=True)


def backward(x, y, h, p):
    d2 = (p - np.eye(C)[y]) / len(x)
    d1 = (d2 @ net.W2.T) * h * (1.0 - h)
    return x.T @ d1, d1.sum(axis=0), h.T @ d2, d2.sum(axis=0)


lr = 0.01
n_steps = 0
for epoch in range(5):
    order = rng.permutation(N)
    for start in range(0, N, 20):
        idx = order[start:start + 20]
        x, y = X[idx], labels[idx]
        h, p = forward(x)
        grads = backward(x, y, h, p)
        n_steps += 1
        adam(net.W1, grads[0], net.mW1, net.vW1, n_steps, lr)
        adam(net.b1, grads[1], net.mb1, net.vb1, n_steps, lr)
        adam(net.W2, grads[2], net.mW2, net.vW2, n_steps, lr)
        adam(net.b2, grads[3], net.mb2, net.vb2, n_steps, lr)
    print(f"epoch {epoch}: accuracy {np.mean(forward(X)[1].argmax(axis=1) == labels):.3f}")
