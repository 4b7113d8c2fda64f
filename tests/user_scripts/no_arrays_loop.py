"""Fits y = a*x + b by gradient descent on plain Python floats: a training
loop without a single array (netdoctor run has nothing to observe here)."""
import random

random.seed(4)
points = [(x / 10, 3.0 * x / 10 - 1.0 + random.gauss(0, 0.1)) for x in range(50)]

a, b = 0.0, 0.0
lr = 0.05
for epoch in range(1, 201):
    grad_a = grad_b = loss = 0.0
    for x, y in points:
        err = a * x + b - y
        loss += err * err / len(points)
        grad_a += 2 * err * x / len(points)
        grad_b += 2 * err / len(points)
    a -= lr * grad_a
    b -= lr * grad_b
    if epoch % 50 == 0:
        print(f"epoch {epoch}: loss {loss:.4f}, a = {a:.3f}, b = {b:.3f}")
