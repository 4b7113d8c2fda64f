# Andrew-Ng style: examples in columns, X shape (n_x, m), binary classification, sigmoid hidden+output, logistic cost
import numpy as np

def sigmoid(Z):
    return 1 / (1 + np.exp(-Z))

def initialize_parameters(n_x, n_h, n_y):
    np.random.seed(2)
    W1 = np.random.randn(n_h, n_x) * 0.01
    b1 = np.zeros((n_h, 1))
    W2 = np.random.randn(n_y, n_h) * 0.01
    b2 = np.zeros((n_y, 1))
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}

def model(X, Y, n_h, num_iterations=2000, learning_rate=1.2):
    m = X.shape[1]
    parameters = initialize_parameters(X.shape[0], n_h, 1)
    W1, b1, W2, b2 = parameters["W1"], parameters["b1"], parameters["W2"], parameters["b2"]
    for i in range(num_iterations):
        Z1 = np.dot(W1, X) + b1
        A1 = sigmoid(Z1)
        Z2 = np.dot(W2, A1) + b2
        A2 = sigmoid(Z2)
        cost = -np.sum(Y * np.log(A2 + 1e-10) + (1 - Y) * np.log(1 - A2 + 1e-10)) / m
        dZ2 = A2 - Y
        dW2 = np.dot(dZ2, A1.T) / m
        db2 = np.sum(dZ2, axis=1, keepdims=True) / m
        dZ1 = np.dot(W2.T, dZ2) * A1 * (1 - A1)
        dW1 = np.dot(dZ1, X.T) / m
        db1 = np.sum(dZ1, axis=1, keepdims=True) / m
        W1 = W1 - learning_rate * dW1
        b1 = b1 - learning_rate * db1
        W2 = W2 - learning_rate * dW2
        b2 = b2 - learning_rate * db2
        if i % 200 == 0:
            print("Cost after iteration %i: %f" % (i, cost))
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}

def predict(parameters, X):
    A1 = sigmoid(np.dot(parameters["W1"], X) + parameters["b1"])
    A2 = sigmoid(np.dot(parameters["W2"], A1) + parameters["b2"])
    return (A2 > 0.5).astype(int)

np.random.seed(1)
m, n_x = 1000, 12
X = np.random.randn(n_x, m)
Y = ((X[0] * X[1] + 0.5 * X[2] - X[3] ** 2 + 1) > 0).astype(int).reshape(1, m)
X_train, Y_train, X_test, Y_test = X[:, :800], Y[:, :800], X[:, 800:], Y[:, 800:]
params = model(X_train, Y_train, n_h=8)
print("Train accuracy: %.3f" % np.mean(predict(params, X_train) == Y_train))
print("Test accuracy: %.3f" % np.mean(predict(params, X_test) == Y_test))
