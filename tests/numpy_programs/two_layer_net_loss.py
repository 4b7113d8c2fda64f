"""The course assignment's TwoLayerNet: loss(X, y) returns (loss, grads), and the scores without y (predict after training).

train() samples minibatches with np.random.choice and decays the rate each epoch; ReLU, softmax, L2; synthetic blobs.
"""
import numpy as np


class TwoLayerNet:
    def __init__(self, input_size, hidden_size, output_size, std=1e-4):
        self.params = {}
        self.params["W1"] = std * np.random.randn(input_size, hidden_size)
        self.params["b1"] = np.zeros(hidden_size)
        self.params["W2"] = std * np.random.randn(hidden_size, output_size)
        self.params["b2"] = np.zeros(output_size)

    def loss(self, X, y=None, reg=0.0):
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        N, D = X.shape
        h1 = np.maximum(0, X.dot(W1) + b1)
        scores = h1.dot(W2) + b2
        if y is None:
            return scores
        shifted = scores - np.max(scores, axis=1, keepdims=True)
        probs = np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True)
        loss = -np.sum(np.log(probs[np.arange(N), y])) / N + reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        grads = {}
        dscores = probs.copy()
        dscores[np.arange(N), y] -= 1
        dscores /= N
        grads["W2"] = h1.T.dot(dscores) + 2 * reg * W2
        grads["b2"] = np.sum(dscores, axis=0)
        dh1 = dscores.dot(W2.T)
        dh1[h1 <= 0] = 0
        grads["W1"] = X.T.dot(dh1) + 2 * reg * W1
        grads["b1"] = np.sum(dh1, axis=0)
        return loss, grads

    def train(self, X, y, X_val, y_val, learning_rate=1e-3, learning_rate_decay=0.95, reg=5e-6, num_iters=100,
              batch_size=200, verbose=False):
        num_train = X.shape[0]
        iterations_per_epoch = max(num_train / batch_size, 1)
        for it in range(num_iters):
            idx = np.random.choice(num_train, batch_size, replace=True)
            X_batch, y_batch = X[idx], y[idx]
            loss, grads = self.loss(X_batch, y=y_batch, reg=reg)
            for p in self.params:
                self.params[p] -= learning_rate * grads[p]
            if verbose and it % 100 == 0:
                print(f"iteration {it} / {num_iters}: loss {loss:f}")
            if it % iterations_per_epoch == 0:
                learning_rate *= learning_rate_decay

    def predict(self, X):
        return np.argmax(self.loss(X), axis=1)


np.random.seed(0)
C, D, N = 6, 50, 3000
centers = np.random.randn(C, D)
y_all = np.random.randint(0, C, N)
X_all = centers[y_all] + 1.5 * np.random.randn(N, D)
net = TwoLayerNet(D, 64, C, std=1e-2)
net.train(X_all[:2500], y_all[:2500], X_all[2500:], y_all[2500:], learning_rate=0.5, num_iters=600, batch_size=100,
          verbose=True)
print("val acc", (net.predict(X_all[2500:]) == y_all[2500:]).mean())
