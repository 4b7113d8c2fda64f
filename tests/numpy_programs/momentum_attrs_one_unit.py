"""A heavy ball whose velocities sit on the layers' object (``net.vW1`` ... ``net.vb3``), stepped in backward's loop
over (parameter, velocity, gradient), one sample per update from a generator of shuffled batches; leaky ReLU, a
linear output trained on ``out - T`` with ``T`` the one-hot rows of the labels, sized from them (``n_out =
max(labels) + 1``); rows of 16 features from 0 to 255 with the label first, scaled by 255 (the generated style of
npw1125). When the label is scaled with the pixels every label is 0: the output has one unit, and the output bias
``net.b3`` (1, 1) and its velocity ``net.vb3`` (1, 1) are two numbers that start at zero and change at every update;
only the forward, which computes with the bias and never with the velocity, tells them apart.
"""
import numpy as np

lr = 0.00625
mu = 0.5
epochs = 3
batch_size = 1
hidden = 20
hidden2 = 12
n_train = 400
np.random.seed(1125)


def act(z):
    return np.where(z > 0, z, 0.01 * z)


def act_prime(z, a):
    return np.where(z > 0, 1.0, 0.01)


def softmax(z):
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def batches(X, y, batch_size, rng):
    """Shuffled batches of (inputs, targets)."""
    order = np.random.permutation(len(y))
    for start in range(0, len(y), batch_size):
        idx = order[start:start + batch_size]
        yield X[:, idx], y[idx]


blob_rng = np.random.default_rng(61)
K, D, N = 4, 16, 500
centers = blob_rng.uniform(0, 255, (K, D))
classes = blob_rng.integers(0, K, N)
data = np.column_stack([classes, np.clip(centers[classes] + blob_rng.normal(0, 40, (N, D)), 0, 255)])
scaled = data / 255.0
X_train = scaled[:n_train, 1:].T
y_train = data[:n_train, 0].astype(int)
X_test = scaled[n_train:, 1:].T
y_test = data[n_train:, 0].astype(int)
n_out = int(y_train.max()) + 1


class Net:
    pass


def forward(net, x):
    z1 = net.W1 @ x + net.b1
    h1 = act(z1)
    z2 = net.W2 @ h1 + net.b2
    h2 = act(z2)
    z3 = net.W3 @ h2 + net.b3
    out = z3
    net.z1 = z1
    net.h1 = h1
    net.z2 = z2
    net.h2 = h2
    net.out = out

def backward(net, x, t, scale):
    z1, h1, z2, h2, out = net.z1, net.h1, net.z2, net.h2, net.out
    T = np.eye(out.shape[0], dtype=out.dtype)[t].T
    d3 = (out - T) / x.shape[1]
    dW3 = d3 @ h2.T
    db3 = d3.sum(axis=1, keepdims=True)
    dh2 = net.W3.T @ d3
    dz2 = dh2 * act_prime(z2, h2)
    dW2 = dz2 @ h1.T
    db2 = dz2.sum(axis=1, keepdims=True)
    dh1 = net.W2.T @ dz2
    dz1 = dh1 * act_prime(z1, h1)
    dW1 = dz1 @ x.T
    db1 = dz1.sum(axis=1, keepdims=True)
    for p, v, g in zip((net.W1, net.b1, net.W2, net.b2, net.W3, net.b3), (net.vW1, net.vb1, net.vW2, net.vb2, net.vW3, net.vb3), (dW1, db1, dW2, db2, dW3, db3)):
        v *= mu
        v -= scale * g
        p += v

def accuracy(net, X, labels):
    forward(net, X)
    out = net.out
    return float(np.mean(np.argmax(out, axis=0) == labels))


def train(net, X_train, y_train, rng):
    for epoch in range(epochs):
        rate = lr * 0.5 ** (epoch // 3)
        for x, t in batches(X_train, y_train, batch_size, rng):
            forward(net, x)
            backward(net, x, t, rate)


def main():
    rng = np.random.default_rng(1125)
    net = Net()
    net.W1 = rng.uniform(-1.0, 1.0, (hidden, 16)) * np.sqrt(6.0 / 16)
    net.b1 = np.zeros((hidden, 1))
    net.W2 = rng.uniform(-1.0, 1.0, (hidden2, hidden)) * np.sqrt(6.0 / hidden)
    net.b2 = np.zeros((hidden2, 1))
    net.W3 = rng.uniform(-1.0, 1.0, (n_out, hidden2)) * np.sqrt(6.0 / hidden2)
    net.b3 = np.zeros((n_out, 1))
    net.vW1 = np.zeros_like(net.W1)
    net.vb1 = np.zeros_like(net.b1)
    net.vW2 = np.zeros_like(net.W2)
    net.vb2 = np.zeros_like(net.b2)
    net.vW3 = np.zeros_like(net.W3)
    net.vb3 = np.zeros_like(net.b3)
    train(net, X_train, y_train, rng)
    print(f"final test accuracy {accuracy(net, X_test, y_test):.4f}")


if __name__ == "__main__":
    main()
