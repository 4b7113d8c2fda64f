"""A from-scratch MNIST network written the way many people write their first one.

Column vectors (an image is ``x`` of shape (784, 1)), tanh everywhere, mean
squared error against +-1 targets, learning rate 0.1, gradients of single
samples accumulated into buffers and applied every 100 samples.

It does not learn: test accuracy freezes near 10% (the net answers one digit
for everything). Two bugs, both in ``__init__``/``apply_updates``:

* the update buffers are "reset" by assigning the zero templates
  (``self.weight_updates = self.weight_templates``): both names point at one
  list, so the reset resets nothing and every update re-applies the sum of all
  earlier gradients;
* the batch gradient is summed over 100 samples, not averaged, so each step
  is 100 times larger than ``learning_rate`` suggests.

Diagnose it::

    netdoctor --model examples/handwritten_mnist.py:build

``build()`` hands the network to netdoctor through the adapter (a few lines,
see docs/adapter.md); ``examples/handwritten_mnist_fixed.py`` is the repaired
version. Run this file to watch it freeze: ``python examples/handwritten_mnist.py``.
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
        # zero templates to reset the accumulators with
        self.weight_templates = [np.zeros(w.shape) for w in self.weights]
        self.bias_templates = [np.zeros(b.shape) for b in self.biases]
        self.weight_updates = self.weight_templates
        self.bias_updates = self.bias_templates
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

    def apply_updates(self):
        for layer in range(len(self.weights)):
            self.weights[layer] -= self.learning_rate * self.weight_updates[layer]
            self.biases[layer] -= self.learning_rate * self.bias_updates[layer]
        # reset the accumulators for the next batch
        self.weight_updates = self.weight_templates
        self.bias_updates = self.bias_templates

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


def main(epochs=3):
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
