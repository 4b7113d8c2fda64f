"""A closure over one dict that holds the weights and what the forward computed: ``make_net()`` returns
``forward``, ``backward`` and ``predict``; the forward keeps its probabilities in ``net['probs']`` and returns
nothing; ``backward(xb, yb)``, handed the targets after the forward ran, reads them back and steps each weight in
place at the module's rate ``LR``. Rows are samples, one-hot targets, ReLU hidden layer, softmax with cross-entropy,
batches of 32. The summed variant drops the 1/batch of the output error: each step is 32x what the rate
says.
"""
import numpy as np

rng = np.random.default_rng(11)
K, D, N = 5, 12, 1200
centres = rng.normal(0, 1.4, (K, D))
labels = rng.integers(0, K, N)
X = centres[labels] + rng.normal(0, 1.0, (N, D))
Y = np.eye(K)[labels]


LR = 0.2


def make_net(n_in, n_hidden, n_out):
    net = {"W1": rng.normal(0, np.sqrt(2 / n_in), (n_in, n_hidden)), "b1": np.zeros(n_hidden),
           "W2": rng.normal(0, np.sqrt(1 / n_hidden), (n_hidden, n_out)), "b2": np.zeros(n_out)}

    def forward(xb):
        net["hidden"] = np.maximum(xb @ net["W1"] + net["b1"], 0.0)
        scores = net["hidden"] @ net["W2"] + net["b2"]
        e = np.exp(scores - scores.max(axis=1, keepdims=True))
        net["probs"] = e / e.sum(axis=1, keepdims=True)

    def backward(xb, yb):
        err = net["probs"] - yb  # BUG: summed-gradient
        back = (err @ net["W2"].T) * (net["hidden"] > 0)
        net["W2"] -= LR * (net["hidden"].T @ err)
        net["b2"] -= LR * err.sum(axis=0)
        net["W1"] -= LR * (xb.T @ back)
        net["b1"] -= LR * back.sum(axis=0)

    def predict(xb):
        forward(xb)
        return net["probs"].argmax(axis=1)

    return forward, backward, predict


forward, backward, predict = make_net(D, 24, K)
for epoch in range(6):
    order = rng.permutation(900)
    for i in range(0, 900, 32):
        idx = order[i:i + 32]
        forward(X[idx])
        backward(X[idx], Y[idx])
    print("epoch", epoch + 1, "held-out accuracy", float(np.mean(predict(X[900:]) == labels[900:])))
