"""optimizer_objects with the loss's backward not divided by the batch size: each step is 32x what the learning rate
says. It still learns (the rate is small), then blows up; the update checked late, on weights 3,000x their first size,
meets a saturated loss whose derivative is 0 where the program's formula is not."""
import numpy as np

rng = np.random.default_rng(7)
C, D, N = 4, 20, 1200
centers = rng.normal(0, 1, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1, (N, D))
y = labels


class LayerDense:
    def __init__(self, n_inputs, n_neurons):
        self.weights = 0.01 * rng.standard_normal((n_inputs, n_neurons))
        self.biases = np.zeros((1, n_neurons))

    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.dot(inputs, self.weights) + self.biases

    def backward(self, dvalues):
        self.dweights = np.dot(self.inputs.T, dvalues)
        self.dbiases = np.sum(dvalues, axis=0, keepdims=True)
        self.dinputs = np.dot(dvalues, self.weights.T)


class ActivationReLU:
    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.maximum(0, inputs)

    def backward(self, dvalues):
        self.dinputs = dvalues.copy()
        self.dinputs[self.inputs <= 0] = 0


class SoftmaxCrossEntropy:
    def forward(self, inputs, y_true):
        exp_values = np.exp(inputs - np.max(inputs, axis=1, keepdims=True))
        self.output = exp_values / np.sum(exp_values, axis=1, keepdims=True)
        clipped = np.clip(self.output, 1e-7, 1 - 1e-7)
        return np.mean(-np.log(clipped[range(len(clipped)), y_true]))

    def backward(self, dvalues, y_true):
        samples = len(dvalues)
        self.dinputs = dvalues.copy()
        self.dinputs[range(samples), y_true] -= 1  # BUG: summed-gradient (not divided by samples)


class OptimizerSGD:
    def __init__(self, learning_rate=1.0, decay=0.0, momentum=0.0):
        self.learning_rate = learning_rate
        self.current_learning_rate = learning_rate
        self.decay = decay
        self.iterations = 0
        self.momentum = momentum

    def pre_update_params(self):
        if self.decay:
            self.current_learning_rate = self.learning_rate / (1.0 + self.decay * self.iterations)

    def update_params(self, layer):
        if not hasattr(layer, "weight_momentums"):
            layer.weight_momentums = np.zeros_like(layer.weights)
            layer.bias_momentums = np.zeros_like(layer.biases)
        weight_updates = self.momentum * layer.weight_momentums - self.current_learning_rate * layer.dweights
        layer.weight_momentums = weight_updates
        bias_updates = self.momentum * layer.bias_momentums - self.current_learning_rate * layer.dbiases
        layer.bias_momentums = bias_updates
        layer.weights += weight_updates
        layer.biases += bias_updates

    def post_update_params(self):
        self.iterations += 1


dense1 = LayerDense(D, 16)
activation1 = ActivationReLU()
dense2 = LayerDense(16, C)
loss_activation = SoftmaxCrossEntropy()
optimizer = OptimizerSGD(learning_rate=0.05, decay=1e-3, momentum=0.9)
BATCH = 32

for epoch in range(6):
    order = rng.permutation(1000)
    for step in range(1000 // BATCH):
        idx = order[step * BATCH:(step + 1) * BATCH]
        batch_X, batch_y = X[idx], y[idx]
        dense1.forward(batch_X)
        activation1.forward(dense1.output)
        dense2.forward(activation1.output)
        loss = loss_activation.forward(dense2.output, batch_y)
        loss_activation.backward(loss_activation.output, batch_y)
        dense2.backward(loss_activation.dinputs)
        activation1.backward(dense2.dinputs)
        dense1.backward(activation1.dinputs)
        optimizer.pre_update_params()
        optimizer.update_params(dense1)
        optimizer.update_params(dense2)
        optimizer.post_update_params()
    dense1.forward(X[1000:])
    activation1.forward(dense1.output)
    dense2.forward(activation1.output)
    accuracy = np.mean(np.argmax(dense2.output, axis=1) == y[1000:])
    print(f"epoch {epoch}: loss {loss:.3f}, accuracy {accuracy:.3f}")
