"""Hand-written backprop bugs that people really make, planted in two coding styles.

* :class:`RowNet`: row-major batches, a dict of parameters ``W1, b1, ...``,
  ``z = a @ W + b``, vectorised backward (the way most NumPy tutorials write it).
* :class:`ColumnNet`: column vectors, lists of layers ``weights[l]`` (out, in)
  and ``biases[l]`` (out, 1), a per-sample loop accumulating ``nabla_w``/``nabla_b``
  (the textbook style); ``params`` exposes the same arrays as ``w0, b0, ...``.

Both use tanh hidden layers and either half squared error against +-1 targets
(tanh output) or softmax cross-entropy; the loss is the batch mean. Every bug is
a small edit of the healthy code, switched on by ``bug=<kind>``. ``BUGS`` says,
per style, which tensors the bug corrupts (the checker must flag exactly those).
"""

from __future__ import annotations

import numpy as np

SIZES = (5, 5, 5, 3)  # square hidden layers, so transposes and wrong-layer mix-ups keep valid shapes
LR = 0.5  # learning rate of the "post-update weights" bug

ROW_ALL = {"W1", "b1", "W2", "b2", "W3", "b3"}
COL_ALL = {"w0", "b0", "w1", "b1", "w2", "b2"}

# kind -> (one-line description, {style: tensors that must fail})
BUGS: dict[str, tuple[str, dict[str, set[str]]]] = {
    "tanh_derivative_is_tanh": ("hidden derivative tanh(z) instead of 1 - tanh(z)**2",
                                {"row": {"W1", "b1", "W2", "b2"}, "column": {"w0", "b0", "w1", "b1"}}),
    "derivative_of_activation": ("derivative evaluated at the activation: 1 - tanh(a)**2 with a = tanh(z)",
                                 {"row": {"W1", "b1", "W2", "b2"}, "column": {"w0", "b0", "w1", "b1"}}),
    "missing_transpose": ("weight gradient delta.T @ a instead of a.T @ delta (row) / delta propagated "
                          "through the square hidden W instead of W.T (column)",
                          {"row": {"W2"}, "column": {"w0", "b0"}}),
    "sign_error": ("output weight gradient with the wrong sign (t - a instead of a - t)",
                   {"row": {"W3"}, "column": {"w2"}}),
    "lost_factor_two": ("loss without the 1/2 of the squared error, gradient a - t",
                        {"row": ROW_ALL, "column": COL_ALL}),
    "batch_sum_not_mean": ("output bias gradient summed over the batch but not divided by N",
                           {"row": {"b3"}, "column": {"b2"}}),
    "bias_wrong_axis_or_sample": ("bias gradient summed over the wrong axis (row) / assigned, not "
                                  "accumulated, in the per-sample loop (column)",
                                  {"row": {"b1"}, "column": {"b0", "b1", "b2"}}),
    "post_update_weights": ("delta propagated through the already-updated weights W - lr dW",
                            {"row": {"W1", "b1", "W2", "b2"}, "column": {"w0", "b0", "w1", "b1"}}),
    "softmax_ce_missing_onehot": ("softmax cross-entropy gradient softmax(z) without - onehot(y)",
                                  {"row": ROW_ALL, "column": COL_ALL}),
    "off_by_one_layer": ("weight gradient uses the layer's own output instead of its input",
                         {"row": {"W2"}, "column": {"w1"}}),
    "gradient_reused": ("one layer's bias gradient returned for another layer",
                        {"row": {"b1"}, "column": {"b0"}}),
    "returned_buffer_overwritten": ("two gradients written into one preallocated buffer (out=)",
                                    {"row": {"W2"}, "column": {"w1"}}),
    "accumulating_buffers": ("gradient buffers 'reset' by assigning a shared zero template, then +=",
                             {"row": ROW_ALL, "column": COL_ALL}),
    "missing_l2_term": ("weight decay 0.5 lam ||W||^2 in the loss but not in the gradient",
                        {"row": {"W1", "W2", "W3"}, "column": {"w0", "w1", "w2"}}),
    "missing_bias_gradient": ("output bias gradient never written (left at zero)",
                              {"row": {"b3"}, "column": {"b2"}}),
}
LAM = 0.1


def _softmax(z, axis):
    e = np.exp(z - np.max(z.real, axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def make_data(n: int = 7, seed: int = 0, n_in: int = SIZES[0], n_out: int = SIZES[-1]):
    """Small seeded batch: X (n, n_in) in [0, 1], y integer labels (n,)."""
    rng = np.random.default_rng(seed)
    return rng.random((n, n_in)), rng.integers(0, n_out, n)


def make(style: str, bug: str | None = None, *, loss: str | None = None, seed: int = 0):
    """A model of ``style`` (``"row"`` or ``"column"``) with ``bug`` planted (None: healthy)."""
    if loss is None:
        loss = "cross_entropy" if bug == "softmax_ce_missing_onehot" else "mse"
    cls = RowNet if style == "row" else ColumnNet
    return cls(bug=bug, loss=loss, seed=seed)


class RowNet:
    """Row-major dict model: ``z_l = a_{l-1} @ W_l + b_l``, tanh, vectorised backward."""

    def __init__(self, *, bug: str | None = None, loss: str = "mse", seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.bug, self.loss_name = bug, loss
        self.params = {}
        for l, (i, o) in enumerate(zip(SIZES[:-1], SIZES[1:]), start=1):
            self.params[f"W{l}"] = rng.standard_normal((i, o)) / np.sqrt(i)
            self.params[f"b{l}"] = 0.1 * rng.standard_normal(o)
        self._buf = {k: np.zeros_like(v) for k, v in self.params.items()}  # "accumulating_buffers"
        self._out = np.empty((SIZES[1], SIZES[2]))  # "returned_buffer_overwritten"

    def _dtanh(self, d, z, a):
        if self.bug == "tanh_derivative_is_tanh":
            return d * np.tanh(z)
        if self.bug == "derivative_of_activation":
            return d * (1 - np.tanh(a) ** 2)
        return d * (1 - a * a)

    def loss(self, X, y):
        p, bug, N = self.params, self.bug, len(X)
        a0 = X
        z1 = a0 @ p["W1"] + p["b1"]
        a1 = np.tanh(z1)
        z2 = a1 @ p["W2"] + p["b2"]
        a2 = np.tanh(z2)
        z3 = a2 @ p["W3"] + p["b3"]
        if self.loss_name == "cross_entropy":
            s = _softmax(z3, axis=1)
            loss = -np.log(s[np.arange(N), y]).sum() / N
            dz3 = s.copy() if bug == "softmax_ce_missing_onehot" else s - np.eye(SIZES[-1])[y]
            dz3 /= N
        else:
            a3 = np.tanh(z3)
            t = 2.0 * np.eye(SIZES[-1])[y] - 1.0
            sq = ((a3 - t) ** 2).sum() / N
            loss = sq if bug == "lost_factor_two" else 0.5 * sq
            dz3 = (a3 - t) * (1 - a3 * a3) / N
        if bug == "missing_l2_term":
            loss = loss + 0.5 * LAM * sum((p[k] ** 2).sum() for k in ("W1", "W2", "W3"))
        g = {}
        g["W3"] = a2.T @ dz3
        if bug == "sign_error":
            g["W3"] = -g["W3"]
        g["b3"] = dz3.sum(axis=0) * (N if bug == "batch_sum_not_mean" else 1)
        if bug == "missing_bias_gradient":
            g["b3"] = np.zeros(SIZES[-1])
        W3 = p["W3"] - LR * g["W3"] if bug == "post_update_weights" else p["W3"]
        dz2 = self._dtanh(dz3 @ W3.T, z2, a2)
        if bug == "missing_transpose":
            g["W2"] = dz2.T @ a1
        elif bug == "off_by_one_layer":
            g["W2"] = a2.T @ dz2
        elif bug == "returned_buffer_overwritten":
            g["W2"] = np.dot(a1.T, dz2, out=self._out)
        else:
            g["W2"] = a1.T @ dz2
        g["b2"] = dz2.sum(axis=0)
        W2 = p["W2"] - LR * g["W2"] if bug == "post_update_weights" else p["W2"]
        dz1 = self._dtanh(dz2 @ W2.T, z1, a1)
        g["W1"] = np.dot(a0.T, dz1, out=self._out) if bug == "returned_buffer_overwritten" else a0.T @ dz1
        g["b1"] = dz1.sum(axis=1) if bug == "bias_wrong_axis_or_sample" else dz1.sum(axis=0)
        if bug == "gradient_reused":
            g["b1"] = g["b2"]
        # ("missing_l2_term": the healthy version would add LAM * W to every weight gradient here.)
        if bug == "accumulating_buffers":
            for k in g:
                self._buf[k] += g[k]  # never reset between calls
            g = self._buf
        return loss, {k: g[k] for k in self.params}


class ColumnNet:
    """Column-vector list-of-layers model with a per-sample loop (textbook style)."""

    def __init__(self, *, bug: str | None = None, loss: str = "mse", seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.bug, self.loss_name = bug, loss
        self.weights = [rng.standard_normal((o, i)) / np.sqrt(i) for i, o in zip(SIZES[:-1], SIZES[1:])]
        self.biases = [0.1 * rng.standard_normal((o, 1)) for o in SIZES[1:]]
        self.params = {}
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            self.params[f"w{l}"] = w
            self.params[f"b{l}"] = b
        # Zero templates allocated once; the "accumulating_buffers" bug assigns them instead of copying.
        self.zero_w = [np.zeros(w.shape) for w in self.weights]
        self.zero_b = [np.zeros(b.shape) for b in self.biases]
        self._out = np.empty(self.weights[1].shape)

    def _dtanh(self, z, a):
        if self.bug == "tanh_derivative_is_tanh":
            return np.tanh(z)
        if self.bug == "derivative_of_activation":
            return 1 - np.tanh(a) ** 2
        return 1 - a * a

    def loss(self, X, y):
        bug, L = self.bug, len(self.weights)
        if bug == "accumulating_buffers":
            nabla_w, nabla_b = self.zero_w, self.zero_b  # both names point at the templates
        else:
            nabla_w = [np.zeros(w.shape) for w in self.weights]
            nabla_b = [np.zeros(b.shape) for b in self.biases]
        total = 0.0
        for x_row, label in zip(X, y):
            x = x_row.reshape(-1, 1)
            acts, zs = [x], []
            for l, (w, b) in enumerate(zip(self.weights, self.biases)):
                z = w @ acts[-1] + b
                zs.append(z)
                acts.append(z if (l == L - 1 and self.loss_name == "cross_entropy") else np.tanh(z))
            t = np.full((SIZES[-1], 1), -1.0)
            t[label] = 1.0
            if self.loss_name == "cross_entropy":
                s = _softmax(zs[-1], axis=0)
                total += -np.log(s[label, 0])
                delta = s.copy()
                if bug != "softmax_ce_missing_onehot":
                    delta[label] -= 1.0
            else:
                out = acts[-1]
                total += np.sum((out - t) ** 2) * (1.0 if bug == "lost_factor_two" else 0.5)
                delta = (out - t) * (1 - out * out)
            db = [None] * L
            dw = [None] * L
            db[-1] = delta
            dw[-1] = delta @ acts[-2].T
            if bug == "sign_error":
                dw[-1] = -dw[-1]
            for l in range(2, L + 1):
                w_next = self.weights[-l + 1]
                if bug == "post_update_weights":
                    w_next = w_next - LR * dw[-l + 1] / len(X)
                square = w_next.shape[0] == w_next.shape[1]
                back = w_next @ delta if (bug == "missing_transpose" and square) else w_next.T @ delta
                delta = back * self._dtanh(zs[-l], acts[-l])
                db[-l] = delta
                if bug == "off_by_one_layer" and l == 2:
                    dw[-l] = delta @ acts[-l].T  # acts[-l] is this layer's output; the input is acts[-l-1]
                else:
                    dw[-l] = delta @ acts[-l - 1].T
            for l in range(L):
                if bug == "bias_wrong_axis_or_sample":
                    nabla_b[l] = db[l] / len(X)  # '=' instead of '+=': only the last sample survives
                else:
                    nabla_b[l] += db[l] / len(X)
                nabla_w[l] += dw[l] / len(X)
        if bug == "batch_sum_not_mean":
            nabla_b[-1] = nabla_b[-1] * len(X)
        if bug == "missing_bias_gradient":
            nabla_b[-1] = np.zeros_like(nabla_b[-1])
        if bug == "missing_l2_term":
            total += 0.5 * LAM * len(X) * sum(np.sum(w ** 2) for w in self.weights)
        grads = {}
        for l in range(L):
            grads[f"w{l}"] = nabla_w[l]
            grads[f"b{l}"] = nabla_b[l]
        if bug == "gradient_reused":
            grads["b0"] = nabla_b[1]
        if bug == "returned_buffer_overwritten":
            # Both hidden weight gradients are written into one preallocated buffer.
            np.copyto(self._out, nabla_w[1])
            grads["w1"] = self._out
            np.copyto(self._out, nabla_w[0])
            grads["w0"] = self._out
        return total / len(X), {k: grads[k] for k in self.params}
