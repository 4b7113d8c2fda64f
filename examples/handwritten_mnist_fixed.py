"""The network of ``examples/handwritten_mnist.py`` with its two bugs fixed.

* fresh zero buffers at every reset, instead of re-binding the names to the
  zero templates: ``self.weight_updates = [np.zeros_like(w) for w in self.weights]``;
* the summed batch gradient is divided by the number of samples, so
  ``learning_rate`` means what it says.

netdoctor finds neither ``aliased-buffers`` nor ``stale-accumulator`` here::

    netdoctor --model examples/handwritten_mnist_fixed.py:build

Run this file to watch it learn: ``python examples/handwritten_mnist_fixed.py``.
"""

import numpy as np


class Network:
    def __init__(self, sizes=(784, 30, 10), learning_rate=0.1, batch_size=100, seed=0):
        rng = np.random.default_rng(seed)
        self.sizes = list(sizes)
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.weights = [rng.normal(0.0, 1.0 / np.sqrt(n_in), (n_out, n_in))
                        for n_in, n_out in zip(sizes[:-1], sizes[1:])]
        self.biases = [np.zeros((n_out, 1)) for n_out in sizes[1:]]
        self.reset_updates()
        self.samples_seen = 0

    def feedforward(self, x):
        a = x
        for w, b in zip(self.weights, self.biases):
            a = np.tanh(w @ a + b)
        return a

    def backprop(self, x, target):
        """Add this sample's gradient of 1/2 ||a - target||^2 to the update buffers."""
        activations = [x]
        a = x
        for w, b in zip(self.weights, self.biases):
            a = np.tanh(w @ a + b)
            activations.append(a)
        delta = (activations[-1] - target) * (1 - activations[-1] ** 2)
        for layer in range(len(self.weights) - 1, -1, -1):
            self.weight_updates[layer] += delta @ activations[layer].T
            self.bias_updates[layer] += delta
            if layer > 0:
                delta = (self.weights[layer].T @ delta) * (1 - activations[layer] ** 2)
        self.pending += 1

    def reset_updates(self):
        # FIX 1: new zero arrays every time; assigning a template list would
        # bind both names to one list that keeps every earlier sum.
        self.weight_updates = [np.zeros_like(w) for w in self.weights]
        self.bias_updates = [np.zeros_like(b) for b in self.biases]
        self.pending = 0

    def apply_updates(self):
        # FIX 2: average over the samples accumulated, do not sum.
        step = self.learning_rate / max(self.pending, 1)
        for layer in range(len(self.weights)):
            self.weights[layer] -= step * self.weight_updates[layer]
            self.biases[layer] -= step * self.bias_updates[layer]
        self.reset_updates()

    def train(self, images, labels):
        for image, label in zip(images, labels):
            target = -np.ones((self.sizes[-1], 1))
            target[label] = 1.0
            self.backprop(image.reshape(-1, 1), target)
            self.samples_seen += 1
            if self.samples_seen % self.batch_size == 0:
                self.apply_updates()

    def predict(self, image):
        return int(np.argmax(self.feedforward(image.reshape(-1, 1))))


def build():
    """The network as netdoctor sees it: the adapter maps lists, column vectors and buffers."""
    from netdoctor.adapters.handwritten import adapt

    net = Network()
    return adapt(
        net,
        forward="feedforward",
        backprop="backprop",           # adds each sample's gradient into the buffers below
        style="accumulate",
        buffers=("weight_updates", "bias_updates"),
        update="apply_updates",        # applies the buffers with net.learning_rate
        loss="mse",
        targets="pm1",                 # tanh outputs, +-1 targets
    )


def main(epochs=10):
    """Train on netdoctor's bundled sample (1,500 train / 500 held out) and print accuracy."""
    from netdoctor.data import load_sample

    data = load_sample()
    X, y = data.X.astype(np.float64), data.y
    net = Network()
    for epoch in range(1, epochs + 1):
        net.train(X[:1500], y[:1500])
        guesses = np.array([net.predict(x) for x in X[1500:]])
        share = np.bincount(guesses, minlength=10).max() / len(guesses)
        print(f"epoch {epoch}: held-out accuracy {np.mean(guesses == y[1500:]):.1%}, "
              f"most common answer given {share:.0%} of the time, "
              f"|W1| = {np.linalg.norm(net.weights[0]):.0f}")


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout
    main()
