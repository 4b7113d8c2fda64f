# class-based network, tanh hidden, linear output, MSE on one-hot targets, full batch GD
import numpy as np

class NeuralNetwork:
    def __init__(self, sizes, lr=0.1, seed=1):
        rng = np.random.default_rng(seed)
        self.W1 = rng.normal(0, 1 / np.sqrt(sizes[0]), (sizes[0], sizes[1]))
        self.b1 = np.zeros((1, sizes[1]))
        self.W2 = rng.normal(0, 1 / np.sqrt(sizes[1]), (sizes[1], sizes[2]))
        self.b2 = np.zeros((1, sizes[2]))
        self.lr = lr

    def forward(self, X):
        self.X = X
        self.h = np.tanh(X @ self.W1 + self.b1)
        self.out = self.h @ self.W2 + self.b2
        return self.out

    def backward(self, T):
        n = T.shape[0]
        err = 2 * (self.out - T) / n
        gW2 = self.h.T @ err
        gb2 = err.sum(axis=0, keepdims=True)
        dh = (err @ self.W2.T) * (1 - self.h ** 2)
        gW1 = self.X.T @ dh
        gb1 = dh.sum(axis=0, keepdims=True)
        self.W2 -= self.lr * gW2
        self.b2 -= self.lr * gb2
        self.W1 -= self.lr * gW1
        self.b1 -= self.lr * gb1

    def train(self, X, T, epochs):
        for e in range(epochs):
            out = self.forward(X)
            mse = np.mean((out - T) ** 2)
            self.backward(T)
            if e % 100 == 0:
                print(f"epoch {e}: mse={mse:.4f}")

    def predict(self, X):
        return self.forward(X).argmax(axis=1)

if __name__ == "__main__":
    rng = np.random.default_rng(0)
    n_classes, n_feat = 5, 30
    means = rng.normal(0, 1.0, (n_classes, n_feat))
    labels = rng.integers(0, n_classes, 2000)
    data = means[labels] + rng.normal(0, 1.6, (2000, n_feat))
    onehot = np.eye(n_classes)[labels]
    net = NeuralNetwork([n_feat, 40, n_classes], lr=0.001)  # BUG: learning rate 100x too low
    net.train(data[:1500], onehot[:1500], 600)
    acc = (net.predict(data[1500:]) == labels[1500:]).mean()
    print("test accuracy:", acc)
