"""A small convolutional network from scratch in the style of a widely read blog post: ``Conv3x3 -> MaxPool2 ->
Softmax`` classes, each updating itself in ``backprop(d_L_d_out, learn_rate)``, one 10x10 image at a time. A
module-level ``forward(image, label)`` returns ``(out, loss, acc)``; ``train(im, label)`` starts the loss's gradient
as ``-1 / out[label]`` and hands it down. The first layer takes an image, not a row; the dense layer is handed the
pooled maps ``(4, 4, 6)`` and flattens them itself. Synthetic images: a bar in one of four places plus noise.
"""
import numpy as np

rng = np.random.default_rng(4)
K, S, N = 4, 10, 700


def make_image(k):
    img = rng.normal(0, 0.25, (S, S))
    if k == 0:
        img[3, 1:9] += 1.0
    elif k == 1:
        img[1:9, 6] += 1.0
    elif k == 2:
        img[np.arange(1, 9), np.arange(1, 9)] += 1.0
    else:
        img[5:8, 2:5] += 1.0
    return img


class Conv3x3:
    def __init__(self, num_filters):
        self.num_filters = num_filters
        self.filters = rng.normal(0, 1, (num_filters, 3, 3)) / 9

    def patches(self, image):
        h, w = image.shape
        return np.array([[image[i:i + 3, j:j + 3] for j in range(w - 2)] for i in range(h - 2)])

    def forward(self, input):
        self.last_patches = self.patches(input)
        return np.einsum("ijab,fab->ijf", self.last_patches, self.filters)

    def backprop(self, d_L_d_out, learn_rate):
        self.filters -= learn_rate * np.einsum("ijf,ijab->fab", d_L_d_out, self.last_patches)


class MaxPool2:
    def forward(self, input):
        self.last_input = input
        h, w, f = input.shape
        blocks = input[:h // 2 * 2, :w // 2 * 2].reshape(h // 2, 2, w // 2, 2, f)
        self.last_out = blocks.max(axis=(1, 3))
        return self.last_out

    def backprop(self, d_L_d_out):
        h, w, f = self.last_input.shape
        up = np.repeat(np.repeat(self.last_out, 2, axis=0), 2, axis=1)
        mask = self.last_input[:h // 2 * 2, :w // 2 * 2] == up
        grad = np.zeros(self.last_input.shape)
        grad[:h // 2 * 2, :w // 2 * 2] = mask * np.repeat(np.repeat(d_L_d_out, 2, axis=0), 2, axis=1)
        return grad


class Softmax:
    def __init__(self, input_len, nodes):
        self.weights = rng.normal(0, 1, (input_len, nodes)) / input_len
        self.biases = np.zeros(nodes)

    def forward(self, input):
        self.last_input_shape = input.shape
        self.last_input = input.flatten()
        totals = self.last_input @ self.weights + self.biases
        self.last_totals = totals
        exp = np.exp(totals - totals.max())
        return exp / exp.sum()

    def backprop(self, d_L_d_out, learn_rate):
        for i, gradient in enumerate(d_L_d_out):
            if gradient == 0:
                continue
            t_exp = np.exp(self.last_totals - self.last_totals.max())
            S_ = t_exp.sum()
            d_out_d_t = -t_exp[i] * t_exp / S_ ** 2
            d_out_d_t[i] = t_exp[i] * (S_ - t_exp[i]) / S_ ** 2
            d_L_d_t = gradient * d_out_d_t
            d_L_d_inputs = self.weights @ d_L_d_t
            self.weights -= learn_rate * np.outer(self.last_input, d_L_d_t)
            self.biases -= learn_rate * d_L_d_t
            return d_L_d_inputs.reshape(self.last_input_shape)


labels = rng.integers(0, K, N)
images = np.array([make_image(k) for k in labels])
train_images, train_labels = images[:500], labels[:500]
test_images, test_labels = images[500:], labels[500:]
conv, pool, softmax = Conv3x3(6), MaxPool2(), Softmax(4 * 4 * 6, K)


def forward(image, label):
    out = softmax.forward(pool.forward(conv.forward(image)))
    return out, -np.log(out[label]), int(np.argmax(out) == label)


def train(im, label, lr=0.05):
    out, loss, acc = forward(im, label)
    gradient = np.zeros(K)
    gradient[label] = -1 / out[label]
    gradient = softmax.backprop(gradient, lr)
    conv.backprop(pool.backprop(gradient), lr)
    return loss, acc


for epoch in range(2):
    order = rng.permutation(len(train_images))
    for im, label in zip(train_images[order], train_labels[order]):
        train(im, label)

correct = 0
for im, label in zip(test_images, test_labels):
    _, _, acc = forward(im, label)
    correct += acc
print("test accuracy", correct / len(test_images))
