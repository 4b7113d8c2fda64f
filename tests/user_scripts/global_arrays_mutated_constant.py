# mnist with a sigmoid net, no classes: the weights are module globals and
# plain functions work on them. One image at a time, weight changes summed
# up in dW1/db1/dW2/db2 and applied every BATCH images (divided by BATCH).
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATAFILE = os.path.join(HERE, "..", "..", "netdoctor", "data", "mnist_sample.csv.gz")

HIDDEN = 40
LR = 2.0
BATCH = 16
EPOCHS = 3

np.random.seed(3)
W1 = np.random.uniform(-1, 1, (784, HIDDEN)) / np.sqrt(784)
b1 = np.zeros(HIDDEN)
W2 = np.random.uniform(-1, 1, (HIDDEN, 10)) / np.sqrt(HIDDEN)
b2 = np.zeros(10)

dW1 = np.zeros((784, HIDDEN))
db1 = np.zeros(HIDDEN)
dW2 = np.zeros((HIDDEN, 10))
db2 = np.zeros(10)

ONE_HOT = np.eye(10)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def target_for(label):
    t = ONE_HOT[label]
    t *= 0.8  # BUG: mutated-constant
    t += 0.1  # BUG: mutated-constant
    return t


def forward(x):
    h = sigmoid(x @ W1 + b1)
    o = sigmoid(h @ W2 + b2)
    return h, o


def accumulate(x, t):
    global dW1, db1, dW2, db2
    h, o = forward(x)
    e2 = (o - t) * o * (1 - o)
    e1 = (W2 @ e2) * h * (1 - h)
    dW2 += np.outer(h, e2)
    db2 += e2
    dW1 += np.outer(x, e1)
    db1 += e1


def apply_updates(n):
    global W1, b1, W2, b2, dW1, db1, dW2, db2
    W1 -= LR * dW1 / n
    b1 -= LR * db1 / n
    W2 -= LR * dW2 / n
    b2 -= LR * db2 / n
    dW1 = np.zeros((784, HIDDEN))
    db1 = np.zeros(HIDDEN)
    dW2 = np.zeros((HIDDEN, 10))
    db2 = np.zeros(10)


def accuracy_on(images, labels):
    _, out = forward(images)
    return (out.argmax(axis=1) == labels).mean()


path = sys.argv[1] if len(sys.argv) > 1 else DATAFILE
raw = np.loadtxt(path, delimiter=",", max_rows=1800)
images, labels = raw[:, 1:] / 255.0, raw[:, 0].astype(int)
train_x, train_y = images[:1300], labels[:1300]
test_x, test_y = images[1300:], labels[1300:]

for epoch in range(EPOCHS):
    seen = 0
    for i in np.random.permutation(len(train_x)):
        accumulate(train_x[i], target_for(train_y[i]))
        seen += 1
        if seen % BATCH == 0:
            apply_updates(BATCH)
    print("epoch", epoch, "accuracy", round(accuracy_on(test_x, test_y), 3))
