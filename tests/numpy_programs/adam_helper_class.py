"""Adam through a helper ``adam(p, g, m, v, n_steps, lr)`` called once per parameter after each sample (moments and
parameters attributes of a network object, updated in place, bias-corrected); ``backward`` adds the sample's gradients
into attribute buffers that the training loop rebinds to zeros; weights stored (out, in), one sample a column; one
sigmoid hidden layer, a linear output fitted to one-hot targets by squared error; synthetic blobs.
"""
import numpy as np

beta1, beta2, eps = 0.9, 0.999, 1e-8
rng = np.random.default_rng(1192)
C, D, H, N = 4, 20, 16, 400
centers = rng.normal(0, 1.0, (C, D))
labels = rng.integers(0, C, N)
X = (centers[labels] + rng.normal(0, 1, (N, D))).T


def adam(p, g, m, v, n_steps, lr):
    m *= beta1
    m += (1.0 - beta1) * g
    v *= beta2
    v += (1.0 - beta2) * g * g
    m_hat = m / (1.0 - beta1 ** n_steps)
    v_hat = v / (1.0 - beta2 ** n_steps)
    p -= lr * m_hat / (np.sqrt(v_hat) + eps)


class Net:
    def __init__(self):
        self.W1 = rng.uniform(-1.0, 1.0, (H, D)) * np.sqrt(6.0 / (D + H))
        self.b1 = np.zeros((H, 1))
        self.W2 = rng.uniform(-1.0, 1.0, (C, H)) * np.sqrt(6.0 / (H + C))
        self.b2 = np.zeros((C, 1))
        self.mW1, self.vW1 = np.zeros_like(self.W1), np.zeros_like(self.W1)
        self.mb1, self.vb1 = np.zeros_like(self.b1), np.zeros_like(self.b1)
        self.mW2, self.vW2 = np.zeros_like(self.W2), np.zeros_like(self.W2)
        self.mb2, self.vb2 = np.zeros_like(self.b2), np.zeros_like(self.b2)
        self.zero_grads()

    def zero_grads(self):
        self.gW1, self.gb1 = np.zeros_like(self.W1), np.zeros_like(self.b1)
        self.gW2, self.gb2 = np.zeros_like(self.W2), np.zeros_like(self.b2)

    def forward(self, x):
        z1 = self.W1 @ x + self.b1
        h = 1.0 / (1.0 + np.exp(-z1))
        return z1, h, self.W2 @ h + self.b2

    def backward(self, x, t, z1, h, out):
        d2 = out - t
        dz1 = (self.W2.T @ d2) * h * (1.0 - h)
        self.gW1 += dz1 @ x.T
        self.gb1 += dz1
        self.gW2 += d2 @ h.T
        self.gb2 += d2


net = Net()
n_steps = 0
for epoch in range(3):
    for j in rng.permutation(N):
        x = X[:, j:j + 1]
        t = np.eye(C)[labels[j]].reshape(-1, 1)
        z1, h, out = net.forward(x)
        net.backward(x, t, z1, h, out)
        n_steps += 1
        adam(net.W1, net.gW1, net.mW1, net.vW1, n_steps, 0.003)
        adam(net.b1, net.gb1, net.mb1, net.vb1, n_steps, 0.003)
        adam(net.W2, net.gW2, net.mW2, net.vW2, n_steps, 0.003)
        adam(net.b2, net.gb2, net.mb2, net.vb2, n_steps, 0.003)
        net.zero_grads()
    accuracy = np.mean(net.forward(X)[2].argmax(axis=0) == labels)
    print(f"epoch {epoch}: accuracy {accuracy:.3f}")
