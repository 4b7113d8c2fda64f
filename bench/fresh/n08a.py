# softmax regression, no hidden layer, full-batch gradient descent, small pure functions
import numpy as np

def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    ez = np.exp(z)
    return ez / ez.sum(axis=1, keepdims=True)

def loss_and_grad(W, b, X, Y):
    P = softmax(X @ W + b)
    loss = -np.sum(Y * np.log(P + 1e-12)) / X.shape[0]
    G = (P - Y)  # BUG: gradient summed over the batch
    return loss, X.T @ G, G.sum(axis=0)

def accuracy(W, b, X, labels):
    return np.mean(np.argmax(X @ W + b, axis=1) == labels)

rng = np.random.default_rng(11)
k, d, n = 6, 25, 2400
protos = rng.normal(size=(k, d))
lab = rng.integers(0, k, size=n)
X = protos[lab] + rng.normal(scale=1.5, size=(n, d))
X = (X - X.mean(0)) / X.std(0)
Y = np.eye(k)[lab]
split = 1800
W = np.zeros((d, k)); b = np.zeros(k)
lr = 0.5
for it in range(300):
    loss, gW, gb = loss_and_grad(W, b, X[:split], Y[:split])
    W = W - lr * gW
    b = b - lr * gb
    if it % 50 == 0:
        print(it, round(loss, 4), accuracy(W, b, X[:split], lab[:split]))
print("test accuracy", accuracy(W, b, X[split:], lab[split:]))
