"""out_in_generator with the hidden weights' step added instead of subtracted: that one tensor climbs the loss while
the other three descend.

A textbook's class with weights stored (out, in) and applied as ``x @ W.T``, a ``backward`` that returns the four
gradients of a mean squared error on one-hot rows, a mini-batch generator, and a training function outside the class
that applies each gradient to its attribute; sigmoid layers; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(21)
C, D, N = 4, 20, 800
centers = rng.normal(0, 1, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1, (N, D))


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def int_to_onehot(y, num_labels):
    out = np.zeros((y.shape[0], num_labels))
    out[np.arange(y.shape[0]), y] = 1
    return out


class NeuralNetMLP:
    def __init__(self, num_features, num_hidden, num_classes):
        self.num_classes = num_classes
        self.weight_h = rng.normal(0.0, 0.1, (num_hidden, num_features))
        self.bias_h = np.zeros(num_hidden)
        self.weight_out = rng.normal(0.0, 0.1, (num_classes, num_hidden))
        self.bias_out = np.zeros(num_classes)

    def forward(self, x):
        a_h = sigmoid(x @ self.weight_h.T + self.bias_h)
        a_out = sigmoid(a_h @ self.weight_out.T + self.bias_out)
        return a_h, a_out

    def backward(self, x, a_h, a_out, y):
        y_onehot = int_to_onehot(y, self.num_classes)
        delta_out = 2.0 * (a_out - y_onehot) / y.shape[0] * a_out * (1.0 - a_out)
        d_w_out = delta_out.T @ a_h
        d_b_out = delta_out.sum(axis=0)
        delta_h = (delta_out @ self.weight_out) * a_h * (1.0 - a_h)
        d_w_h = delta_h.T @ x
        d_b_h = delta_h.sum(axis=0)
        return d_w_out, d_b_out, d_w_h, d_b_h


def minibatch_generator(X, y, size):
    indices = np.arange(X.shape[0])
    rng.shuffle(indices)
    for start in range(0, indices.shape[0] - size + 1, size):
        batch = indices[start:start + size]
        yield X[batch], y[batch]


def train(model, X, y, num_epochs, learning_rate):
    for epoch in range(num_epochs):
        for X_mini, y_mini in minibatch_generator(X, y, 20):
            a_h, a_out = model.forward(X_mini)
            d_w_out, d_b_out, d_w_h, d_b_h = model.backward(X_mini, a_h, a_out, y_mini)
            model.weight_h += learning_rate * d_w_h  # BUG: gradient-mismatch
            model.bias_h -= learning_rate * d_b_h
            model.weight_out -= learning_rate * d_w_out
            model.bias_out -= learning_rate * d_b_out
        print("epoch", epoch, "accuracy", np.mean(model.forward(X)[1].argmax(1) == y))


train(NeuralNetMLP(D, 12, C), X, labels, 8, 2.0)
