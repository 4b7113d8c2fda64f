"""(It adds its step: gradient ascent.)

A layer object that updates itself inside ``backprop(d_L_d_out, learn_rate)``, in the style of a widely read blog
post's from-scratch CNN (here its softmax layer alone, on flat inputs): a module-level ``forward(image, label)`` returns
``(out, loss, acc)``; ``train(im, label)`` starts the loss's gradient as ``-1 / out[label]`` at the label (an integer
that only ``train`` and ``forward`` are handed, never the layer) and hands it to the layer. The weights start at
``randn(n_in, n_out) / n_in`` (RMS 1/n_in, far below any usual initialisation), so the first steps are many times
their size while the net learns. One sample at a time; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(3)
C, D, N = 6, 400, 1300
centers = rng.normal(0, 1, (C, D)) * 0.5
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1, (N, D))


class Softmax:
    def __init__(self, input_len, nodes):
        self.weights = rng.normal(0, 1, (input_len, nodes)) / input_len
        self.biases = np.zeros(nodes)

    def forward(self, input):
        self.last_input = input
        totals = np.dot(input, self.weights) + self.biases
        self.last_totals = totals
        exp = np.exp(totals)
        return exp / np.sum(exp, axis=0)

    def backprop(self, d_L_d_out, learn_rate):
        for i, gradient in enumerate(d_L_d_out):
            if gradient == 0:
                continue
            t_exp = np.exp(self.last_totals)
            S = np.sum(t_exp)
            d_out_d_t = -t_exp[i] * t_exp / (S ** 2)
            d_out_d_t[i] = t_exp[i] * (S - t_exp[i]) / (S ** 2)
            d_L_d_t = gradient * d_out_d_t
            d_L_d_inputs = self.weights @ d_L_d_t
            self.weights += learn_rate * np.outer(self.last_input, d_L_d_t)  # BUG: gradient-mismatch
            self.biases += learn_rate * d_L_d_t
            return d_L_d_inputs


softmax = Softmax(D, C)


def forward(image, label):
    out = softmax.forward(image)
    loss = -np.log(out[label])
    acc = 1 if np.argmax(out) == label else 0
    return out, loss, acc


def train(im, label, lr=0.005):
    out, loss, acc = forward(im, label)
    gradient = np.zeros(C)
    gradient[label] = -1 / out[label]
    gradient = softmax.backprop(gradient, lr)
    return loss, acc


labels = y.astype(int)
for epoch in range(1):
    permutation = rng.permutation(1000)
    num_correct = 0
    for i in permutation:
        _, acc = train(X[i], labels[i])
        num_correct += acc
    print(f"epoch {epoch}: training accuracy {num_correct / 1000:.3f}")

correct = sum(forward(X[i], y[i])[2] for i in range(1000, N))
print(f"test accuracy {correct / (N - 1000):.3f}")
