"""(Its output layer steps up the gradient: W2 += lr * dW2.)

Module-level functions over a dict of weights, one 10x10 image at a time: ``predict(net, image)`` flattens the
image itself (``image.reshape(-1)``), so no function is ever handed a row of the network's 100 inputs. The class is an
integer handed to ``learn(net, image, k, lr)``, which builds the output error and applies the step inline. Synthetic
images: a bright bar in one of four places plus noise.
"""
import numpy as np

rng = np.random.default_rng(8)
K, S, N = 4, 10, 1000


def make_image(k):
    img = rng.normal(0, 0.3, (S, S))
    if k == 0:
        img[2, :] += 1.5
    elif k == 1:
        img[:, 7] += 1.5
    elif k == 2:
        img[np.arange(S), np.arange(S)] += 1.5
    else:
        img[6:9, 1:4] += 1.5
    return img


labels = rng.integers(0, K, N)
images = np.array([make_image(k) for k in labels])
net = {"W1": rng.normal(0, 0.1, (S * S, 24)), "b1": np.zeros(24), "W2": rng.normal(0, 0.2, (24, K)), "b2": np.zeros(K)}


def predict(net, image):
    x = image.reshape(-1)
    h = np.tanh(x @ net["W1"] + net["b1"])
    z = h @ net["W2"] + net["b2"]
    e = np.exp(z - z.max())
    return x, h, e / e.sum()


def learn(net, image, k, lr):
    x, h, p = predict(net, image)
    dz = p.copy()
    dz[k] -= 1.0
    dh = (net["W2"] @ dz) * (1 - h ** 2)
    net["W2"] += lr * np.outer(h, dz)  # BUG: gradient-mismatch
    net["b2"] -= lr * dz
    net["W1"] -= lr * np.outer(x, dh)
    net["b1"] -= lr * dh


for epoch in range(2):
    for i in rng.permutation(800):
        learn(net, images[i], int(labels[i]), 0.02)

hits = sum(int(np.argmax(predict(net, images[i])[2]) == labels[i]) for i in range(800, N))
print(f"held-out accuracy {hits / (N - 800):.3f}")
