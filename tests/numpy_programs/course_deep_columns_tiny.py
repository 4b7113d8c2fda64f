"""The course's L-layer model: parameters['W' + str(l)] of shape (n_l, n_{l-1}), samples as columns, tanh hidden
layers, softmax output, full-batch gradient descent. Initialised with np.random.randn(n_l, n_{l-1}) * 0.01, as the
course's first version does: through three layers the error that reaches W1 is 5e-5 of the output's."""
import numpy as np

rng = np.random.default_rng(0)
C, D, N = 4, 30, 600
centers = rng.normal(0, 1, (C, D)) * 1.5
labels = rng.integers(0, C, N)
X = (centers[labels] + rng.normal(0, 1.0, (N, D))).T
Y = np.eye(C)[labels].T
layers_dims = [D, 20, 16, 12, C]


def initialize_parameters_deep(layer_dims):
    np.random.seed(1)
    parameters = {}
    for l in range(1, len(layer_dims)):
        parameters["W" + str(l)] = np.random.randn(layer_dims[l], layer_dims[l - 1]) * 0.01  # BUG: vanishing-gradients
        parameters["b" + str(l)] = np.zeros((layer_dims[l], 1))
    return parameters


def forward(X, parameters):
    caches = []
    A = X
    L = len(parameters) // 2
    for l in range(1, L):
        Z = parameters["W" + str(l)] @ A + parameters["b" + str(l)]
        caches.append((A, Z))
        A = np.tanh(Z)
    Z = parameters["W" + str(L)] @ A + parameters["b" + str(L)]
    caches.append((A, Z))
    e = np.exp(Z - Z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True), caches


def backward(AL, Y, caches, parameters):
    grads = {}
    L = len(caches)
    m = Y.shape[1]
    dZ = (AL - Y) / m
    for l in reversed(range(1, L + 1)):
        A_prev, _ = caches[l - 1]
        grads["dW" + str(l)] = dZ @ A_prev.T
        grads["db" + str(l)] = dZ.sum(axis=1, keepdims=True)
        if l > 1:
            dA = parameters["W" + str(l)].T @ dZ
            dZ = dA * (1 - np.tanh(caches[l - 2][1]) ** 2)
    return grads


def update_parameters(parameters, grads, learning_rate):
    for l in range(1, len(parameters) // 2 + 1):
        parameters["W" + str(l)] -= learning_rate * grads["dW" + str(l)]
        parameters["b" + str(l)] -= learning_rate * grads["db" + str(l)]
    return parameters


def L_layer_model(X, Y, layers_dims, learning_rate=0.3, num_iterations=200):
    parameters = initialize_parameters_deep(layers_dims)
    for i in range(num_iterations):
        AL, caches = forward(X, parameters)
        cost = -np.sum(Y * np.log(AL + 1e-12)) / Y.shape[1]
        grads = backward(AL, Y, caches, parameters)
        parameters = update_parameters(parameters, grads, learning_rate)
        if i % 100 == 0:
            print(f"cost after iteration {i}: {cost:.4f}")
    return parameters


parameters = L_layer_model(X, Y, layers_dims)
AL, _ = forward(X, parameters)
print(f"training accuracy {np.mean(AL.argmax(axis=0) == labels):.3f}")
