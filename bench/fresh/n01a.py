# module-level script: 1 hidden sigmoid layer, softmax + cross-entropy, mini-batch SGD
import numpy as np
np.random.seed(0)
K, D, N = 4, 20, 1600
centers = np.random.randn(K, D) * 1.0
y_all = np.random.randint(0, K, N)
X_all = centers[y_all] + np.random.randn(N, D) * 1.5
X_train, y_train = X_all[:1200], y_all[:1200]
X_test, y_test = X_all[1200:], y_all[1200:]

H = 32
W1 = np.random.randn(D, H) * 0.1
b1 = np.zeros(H)
W2 = np.random.randn(H, K) * 0.1
b2 = np.zeros(K)
lr = 0.5
batch_size = 32

def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))

for epoch in range(30):
    perm = np.random.permutation(len(X_train))
    total = 0.0
    for i in range(0, len(X_train), batch_size):
        idx = perm[i:i + batch_size]
        xb, yb = X_train[idx], y_train[idx]
        z1 = xb @ W1 + b1
        a1 = sigmoid(z1)
        z2 = a1 @ W2 + b2
        z2 -= z2.max(axis=1, keepdims=True)
        p = np.exp(z2) / np.exp(z2).sum(axis=1, keepdims=True)
        loss = -np.log(p[np.arange(len(yb)), yb] + 1e-12).mean()
        total += loss
        d2 = p.copy()
        d2[np.arange(len(yb)), yb] -= 1
        d2 /= len(yb)
        dW2 = a1.T @ d2
        db2 = d2.sum(axis=0)
        d1 = (d2 @ W2.T) * a1 * (1 - a1)
        dW1 = xb.T @ d1
        db1 = d1.sum(axis=0)
        W1 += lr * dW1  # BUG: sign flipped in the W1 update
        b1 -= lr * db1
        W2 -= lr * dW2
        b2 -= lr * db2
    if epoch % 5 == 0:
        print("epoch", epoch, "loss", total / (len(X_train) // batch_size))

pred = np.argmax(sigmoid(X_test @ W1 + b1) @ W2 + b2, axis=1)
print("test accuracy", (pred == y_test).mean())
