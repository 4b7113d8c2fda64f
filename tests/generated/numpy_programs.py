"""A seeded writer of complete NumPy training programs, each with one planted bug or none.

:func:`write` composes the source text of a two-layer classifier trained on a
CSV of MNIST rows (label first, pixels 0-255) from a :class:`NumpyStyle` (one
choice per style axis) and a bug from :data:`BUGS`; :func:`sample_style` draws
a style from a seed. A buggy program and its healthy twin (the same style,
``bug=None``) differ only at the lines listed in ``Program.bug_lines``.

The axes (:data:`AXES`):

* ``place``: where the training code lives: ``module`` level, ``functions``
  (the model passed as arguments), a ``class``, a ``closure``, a ``thread``;
* ``container``: ``dict`` (``params["W1"]``), ``dict_cache`` (the same dict
  also holds the forward caches ``Z1``, ``A1``, ``A2``), ``attrs``
  (``net.W1``), ``list`` (``weights[0]``, ``biases[0]``), ``globals``
  (module-level ``W1``), ``layers`` (``Dense`` objects with forward/backward);
* ``layout``: ``rows`` (``x @ W``, batch first) or ``columns`` (``W @ x``);
* ``data``: ``arrays`` (``np.loadtxt``) or ``lists`` (lists of floats, or of
  one-element lists for columns, turned into arrays per step);
* ``output``: the forward ``returned`` its output or ``stored`` it on an
  attribute (or in the parameter dict) and returned None;
* ``grads``: ``returned`` by the backward, accumulated into ``buffers`` that
  are emptied after each update, or applied ``inline`` inside the backward;
* ``batching``: ``batched`` (matrix ops), ``per-sample`` (a loop over the
  samples of a mini-batch), ``single`` (batch size 1);
* ``update``: ``direct`` (``W1 -= lr * dW1`` per tensor), ``helper``
  (``sgd(p, g, scale)``), ``zip`` (``for p, g in zip(params, grads)``);
* ``reset`` (buffers only): ``fill`` (``g[...] = 0``), ``fresh``
  (``np.zeros_like``), ``template`` (a copy of a zero template);
* ``loss``: ``mse`` (linear output) or ``ce`` (softmax); ``act``: ``tanh``,
  ``sigmoid``, ``relu`` for the hidden layer.

Learning rate, batch size, hidden width and epochs are the program's own.
"""

from __future__ import annotations

import difflib
import math
import random
import re
from dataclasses import dataclass, replace

AXES: dict[str, tuple[str, ...]] = {
    "place": ("module", "functions", "class", "closure", "thread"),
    "container": ("dict", "dict_cache", "attrs", "list", "globals", "layers"),
    "layout": ("rows", "columns"),
    "data": ("arrays", "lists"),
    "output": ("returned", "stored"),
    "grads": ("returned", "buffers", "inline"),
    "batching": ("batched", "per-sample", "single"),
    "update": ("direct", "helper", "zip"),
    "reset": ("fill", "fresh", "template", "-"),
    "loss": ("mse", "ce"),
    "act": ("tanh", "sigmoid", "relu"),
}

BUGS: dict[str, str] = {
    "constant-targets": "constant-targets",
    "aliased-buffers": "aliased-buffers",
    "stale-accumulator": "stale-accumulator",
    "summed-gradient": "summed-gradient",
    "frozen-parameters": "frozen-parameters",
    "mutated-constant": "mutated-constant",
    "lr-too-high": "learning-rate-too-high",
    "lr-too-low": "learning-rate-too-low",
    "saturating-init": "saturated-activations",
    "sign-flip": "gradient-mismatch",
    "missing-derivative": "gradient-mismatch",
}
"""Planted bug -> the finding code that names it."""

BEHAVIOUR: dict[str | None, str] = {
    None: "learns",
    "constant-targets": "stalls",
    "aliased-buffers": "worse",
    "stale-accumulator": "worse",
    "summed-gradient": "worse",
    "frozen-parameters": "stalls",
    "mutated-constant": "worse",
    "lr-too-high": "worse",
    "lr-too-low": "worse",
    "saturating-init": "worse",
    "sign-flip": "stalls",
    "missing-derivative": "differs",
}
"""What a plain run of a program with the bug shows: ``learns`` (healthy: well above chance), ``stalls`` (near
chance), ``worse`` (clearly below its healthy twin), ``differs`` (its numbers are not its twin's: a wrong gradient
that still learns)."""

N_TRAIN, N_TEST, N_CLASSES, N_IN = 400, 150, 10, 784
BUFFER_EPOCHS = 8
"""Epochs of a mini-batch program that accumulates its gradients into buffers (see :func:`sample_style`)."""
SMOOTHING = 0.1
"""Label smoothing toward the class prior: a target is ``(1 - s) * one_hot + s * prior``. Written in place on the
one-hot table's row (the mutated-constant bug), every call moves that row toward the prior, so after a few dozen
calls every class's target is the prior and the program learns to answer its most frequent class."""
KEYS = ("W1", "b1", "W2", "b2")


@dataclass(frozen=True)
class NumpyStyle:
    """One choice per axis of :data:`AXES`, plus the program's own settings."""

    place: str = "functions"
    container: str = "dict"
    layout: str = "rows"
    data: str = "arrays"
    output: str = "returned"
    grads: str = "returned"
    batching: str = "batched"
    update: str = "direct"
    reset: str = "-"
    loss: str = "ce"
    act: str = "tanh"
    lr: float = 0.5
    batch_size: int = 20
    hidden: int = 32
    epochs: int = 3
    seed: int = 0

    def axes(self) -> dict[str, str]:
        return {axis: getattr(self, axis) for axis in AXES}

    @property
    def label(self) -> str:
        return "/".join(getattr(self, axis) for axis in AXES)


@dataclass(frozen=True)
class Program:
    """A generated program and what its writer knows about it."""

    name: str
    style: NumpyStyle
    bug: str | None
    variant: str
    """Which form of the bug was planted (e.g. ``scaled-label`` or ``wrong-column`` for constant targets)."""
    source: str
    updates: int
    """Updates of the parameters the program really applies."""
    samples: int
    """Training samples that reach a backward pass."""
    bug_lines: tuple[int, ...]
    """Lines (1-based) where the program differs from its healthy twin; empty for a healthy program."""

    @property
    def expect(self) -> str | None:
        return BUGS[self.bug] if self.bug else None

    @property
    def behaviour(self) -> str:
        return BEHAVIOUR[self.bug]


def applicable(style: NumpyStyle, bug: str | None) -> bool:
    """Whether ``bug`` can be planted in a program of ``style``."""
    if bug is None:
        return True
    if bug in ("aliased-buffers",):
        return style.grads == "buffers" and style.reset == "template"
    if bug == "stale-accumulator":
        return style.grads == "buffers"
    if bug == "summed-gradient":
        return style.batching != "single" and style.batch_size >= 16
    if bug == "frozen-parameters":
        return style.update in ("helper", "zip")
    if bug == "saturating-init":
        return style.act in ("tanh", "sigmoid")
    return True


def valid(style: NumpyStyle) -> bool:
    """Whether the axis values fit together (e.g. module globals are not the state of a class)."""
    if style.container == "globals" and style.place in ("class", "closure"):
        return False
    if style.grads == "inline" and style.batching == "per-sample":
        return False
    if (style.grads == "buffers") != (style.reset != "-"):
        return False
    if style.batching == "single" and style.batch_size != 1:
        return False
    if style.batching != "single" and style.batch_size < 2:
        return False
    return True


@dataclass(frozen=True)
class _Settings:
    """What a healthy program of one (loss, activation) needs to learn well (>= 60%) on 400 training rows."""

    lr: float
    """Of the mean gradient, for mini-batches."""
    lr_single: float
    """For batch size 1."""
    hidden: tuple[int, int, int]
    """The widths drawn from."""
    epochs: int
    epochs_single: int


# Cross-entropy on softmax trains in 3 epochs (2 with batch size 1) at these rates. Squared error on a linear output
# is slower and its stable rate is lower: the ten outputs move together along the hidden layer's mean activation
# (sigmoid's ~0.5 per unit), which softmax ignores and the squared error does not, so a wide sigmoid layer diverges
# at a rate a narrow one needs; a narrow ReLU layer loses too many units. Measured over 12 styles each (seeds >= 800,
# plain runs): MSE+ReLU at widths 24-48 and 3 epochs ended at 15-71% (7 of 12 under 60%), at widths 48-96 and 5-6
# epochs at 62-81%; MSE+sigmoid at width 48 oscillated (47-52%), at 24 reached 72%.
_SETTINGS = {
    ("ce", "tanh"): _Settings(0.25, 0.03, (24, 32, 48), 3, 2),
    ("ce", "sigmoid"): _Settings(1.0, 0.08, (24, 32, 48), 3, 2),
    ("ce", "relu"): _Settings(0.2, 0.02, (24, 32, 48), 3, 2),
    ("mse", "tanh"): _Settings(0.07, 0.01, (32, 48, 64), 5, 2),
    ("mse", "sigmoid"): _Settings(0.18, 0.03, (16, 24, 32), 5, 2),
    ("mse", "relu"): _Settings(0.1, 0.01, (48, 64, 96), 5, 2),
}


def sample_style(seed: int, **fixed: str | int | float) -> NumpyStyle:
    """A valid style drawn from ``seed`` (axes given in ``fixed`` are kept), with settings that learn."""
    rnd = random.Random(seed)
    for _ in range(1000):
        choice = {axis: rnd.choice([v for v in values if v != "-"]) for axis, values in AXES.items()}
        choice.update({k: v for k, v in fixed.items() if k in AXES})
        if choice["grads"] != "buffers":
            choice["reset"] = "-"
        elif choice["reset"] == "-":
            choice["reset"] = rnd.choice(("fill", "fresh", "template"))
        if choice["grads"] == "inline" and choice["batching"] == "per-sample":
            if "batching" in fixed:
                choice["grads"] = rnd.choice(("returned", "buffers"))
                if choice["grads"] == "buffers":
                    choice["reset"] = rnd.choice(("fill", "fresh", "template"))
            else:
                choice["batching"] = rnd.choice(("batched", "single"))
        batch = 1 if choice["batching"] == "single" else rnd.choice((16, 20, 25, 32))
        settings = _SETTINGS[choice["loss"], choice["act"]]
        base = settings.lr_single if batch == 1 else settings.lr
        lr = float(fixed.get("lr", round(base * rnd.choice((0.8, 1.0, 1.25)), 4)))
        epochs = settings.epochs_single if batch == 1 else settings.epochs
        if choice["grads"] == "buffers" and batch > 1:
            # A buffer never emptied (or reset from a template it aliases) adds every past gradient to each update:
            # frictionless momentum, which in 39-75 updates often trains as well as its twin (4 of 10 CE+sigmoid
            # styles ended within 10 points at 3 epochs, 1 of 10 at 5, none at 8: 21-50 points below).
            epochs = max(epochs, BUFFER_EPOCHS)
        style = NumpyStyle(**choice, lr=lr, batch_size=int(fixed.get("batch_size", batch)),
                           hidden=int(fixed.get("hidden", rnd.choice(settings.hidden))),
                           epochs=int(fixed.get("epochs", epochs)), seed=seed)
        if valid(style):
            return style
    raise ValueError(f"no valid style with {fixed}")


def updates_of(style: NumpyStyle) -> int:
    """How many updates a program of ``style`` applies (per batch, or per sample with batch size 1)."""
    if style.batching == "single":
        return style.epochs * N_TRAIN
    return style.epochs * math.ceil(N_TRAIN / style.batch_size)


# -- source text ------------------------------------------------------------------------------------------


class _Writer:
    """Writes one program; ``self.bug`` selects the planted bug (None: the healthy twin)."""

    def __init__(self, style: NumpyStyle, bug: str | None, variant: str):
        self.s, self.bug, self.variant = style, bug, variant
        self.cls = style.place == "class"

    # names -------------------------------------------------------------------------------------------
    def root(self, name: str) -> str:
        return f"self.{name}" if self.cls else name

    def roots(self) -> list[str]:
        c, buffers = self.s.container, self.s.grads == "buffers"
        template = self.s.reset == "template"
        if c in ("dict", "dict_cache"):
            return ["params"] + (["grads"] if buffers else []) + (["zeros"] if template else [])
        if c == "attrs":
            return [] if self.cls else ["net"]
        if c == "list":
            return ["weights", "biases"] + (["grad_w", "grad_b"] if buffers else []) + (
                ["zero_w", "zero_b"] if template else [])
        if c == "layers":
            return ["layers"]
        return []

    def obj(self) -> str:
        """The object whose attributes are the parameters (attrs container)."""
        return "self" if self.cls else "net"

    def P(self, k: str) -> str:
        c, i = self.s.container, int(k[1]) - 1
        if c in ("dict", "dict_cache"):
            return f'{self.root("params")}["{k}"]'
        if c == "attrs":
            return f"{self.obj()}.{k}"
        if c == "list":
            return f"{self.root('weights' if k[0] == 'W' else 'biases')}[{i}]"
        if c == "layers":
            return f"{self.root('layers')}[{i}].{k[0]}"
        return k

    def G(self, k: str) -> str:
        c, i = self.s.container, int(k[1]) - 1
        if c in ("dict", "dict_cache"):
            return f'{self.root("grads")}["{k}"]'
        if c == "attrs":
            return f"{self.obj()}.g{k}"
        if c == "list":
            return f"{self.root('grad_w' if k[0] == 'W' else 'grad_b')}[{i}]"
        if c == "layers":
            return f"{self.root('layers')}[{i}].d{k[0]}"
        return f"g{k}"

    def Z(self, k: str) -> str:
        c, i = self.s.container, int(k[1]) - 1
        if c in ("dict", "dict_cache"):
            return f'{self.root("zeros")}["{k}"]'
        if c == "attrs":
            return f"{self.obj()}.zero_{k}"
        if c == "list":
            return f"{self.root('zero_w' if k[0] == 'W' else 'zero_b')}[{i}]"
        if c == "layers":
            return f"{self.root('layers')}[{i}].zero_{k[0]}"
        return f"ZERO_{k}"

    def state(self) -> str:
        """Where a stored output goes."""
        if self.cls:
            return "self"
        if self.s.container == "attrs":
            return "net"
        return "state"

    def sig(self, fn: str, args: str) -> str:
        head = ["self"] if self.cls else (self.roots() if self.s.place == "functions" else [])
        return f"def {fn}({', '.join(head + ([args] if args else []))}):"

    def call(self, fn: str, args: str) -> str:
        if self.cls:
            return f"self.{fn}({args})"
        head = self.roots() if self.s.place == "functions" else []
        return f"{fn}({', '.join(head + ([args] if args else []))})"

    # pieces ------------------------------------------------------------------------------------------
    def is_bug(self, bug: str) -> bool:
        return self.bug == bug

    def axis_sum(self) -> tuple[str, str]:
        return ("axis=0", "axis=0") if self.s.layout == "rows" else ("axis=1, keepdims=True", "axis=0")

    def update_lines(self, pairs: list[tuple[str, str]], scale: str) -> list[str]:
        u, frozen = self.s.update, self.is_bug("frozen-parameters")
        if u == "direct":
            return [f"{p} -= {scale} * {g}" for p, g in pairs]
        if u == "helper":
            return [f"sgd({p}, {g}, {scale})" for p, g in pairs]
        ps, gs = ", ".join(p for p, _ in pairs), ", ".join(g for _, g in pairs)
        body = f"    p = p - {scale} * g" if frozen else f"    p -= {scale} * g"
        return [f"for p, g in zip(({ps}), ({gs})):", body]

    def reset_lines(self) -> list[str]:
        if self.s.grads != "buffers" or self.is_bug("stale-accumulator"):
            return []
        out = []
        for k in KEYS:
            r = self.s.reset
            if r == "fill":
                out.append(f"{self.G(k)}[...] = 0.0")
            elif r == "fresh":
                out.append(f"{self.G(k)} = np.zeros_like({self.P(k)})")
            elif self.is_bug("aliased-buffers"):
                out.append(f"{self.G(k)} = {self.Z(k)}")
            else:
                out.append(f"{self.G(k)} = {self.Z(k)}.copy()")
        return out

    def shape(self, k: str) -> str:
        rows, h = self.s.layout == "rows", "hidden"
        return {"W1": f"({N_IN}, {h})" if rows else f"({h}, {N_IN})", "W2": f"({h}, {N_CLASSES})" if rows else f"({N_CLASSES}, {h})",
                "b1": f"{h}" if rows else f"({h}, 1)", "b2": f"{N_CLASSES}" if rows else f"({N_CLASSES}, 1)"}[k]

    def init_weight(self, k: str, fan_in: str) -> str:
        gain = "2.0" if self.s.act == "relu" and k == "W1" else "1.0"
        scaled = f"rng.normal(0.0, 1.0, {self.shape(k)}) * np.sqrt({gain} / {fan_in})"
        if k == "W1" and self.is_bug("saturating-init"):
            return f"rng.normal(0.0, 1.0, {self.shape(k)})"
        return scaled

    # the model's state ---------------------------------------------------------------------------------
    def init_lines(self) -> list[str]:
        """Statements creating the model's state (roots), in the scope that owns it."""
        c, s = self.s.container, self.s
        buffers, template = s.grads == "buffers", s.reset == "template"
        w1, w2 = self.init_weight("W1", str(N_IN)), self.init_weight("W2", "hidden")
        b1, b2 = f"np.zeros({self.shape('b1')})", f"np.zeros({self.shape('b2')})"
        out: list[str] = []
        if c in ("dict", "dict_cache"):
            out += [f"{self.root('params')} = {{", f'    "W1": {w1},', f'    "b1": {b1},', f'    "W2": {w2},',
                    f'    "b2": {b2},', "}"]
            if buffers:
                out.append(f"{self.root('grads')} = {{k: np.zeros_like(v) for k, v in {self.root('params')}.items()}}")
            if template:
                out.append(f"{self.root('zeros')} = {{k: np.zeros_like(v) for k, v in {self.root('params')}.items()}}")
        elif c == "attrs":
            if not self.cls:
                out.append("net = Net()")
            for k, v in zip(KEYS, (w1, b1, w2, b2)):
                out.append(f"{self.P(k)} = {v}")
            for k in KEYS:
                if buffers:
                    out.append(f"{self.G(k)} = np.zeros_like({self.P(k)})")
                if template:
                    out.append(f"{self.Z(k)} = np.zeros_like({self.P(k)})")
        elif c == "list":
            out += [f"{self.root('weights')} = [{w1}, {w2}]", f"{self.root('biases')} = [{b1}, {b2}]"]
            if buffers:
                out += [f"{self.root('grad_w')} = [np.zeros_like(w) for w in {self.root('weights')}]",
                        f"{self.root('grad_b')} = [np.zeros_like(b) for b in {self.root('biases')}]"]
            if template:
                out += [f"{self.root('zero_w')} = [np.zeros_like(w) for w in {self.root('weights')}]",
                        f"{self.root('zero_b')} = [np.zeros_like(b) for b in {self.root('biases')}]"]
        elif c == "layers":
            out.append(f"{self.root('layers')} = [Dense({N_IN}, hidden, True, rng), Dense(hidden, {N_CLASSES}, False, rng)]")
        else:
            for k, v in zip(KEYS, (w1, b1, w2, b2)):
                out.append(f"{k} = {v}")
            for k in KEYS:
                if buffers:
                    out.append(f"{self.G(k)} = np.zeros_like({k})")
                if template:
                    out.append(f"{self.Z(k)} = np.zeros_like({k})")
        return out

    def dense_class(self) -> list[str]:
        """``class Dense`` for the layers container: forward/backward with their own caches (and buffers)."""
        s, rows = self.s, self.s.layout == "rows"
        shape = "(n_in, n_out)" if rows else "(n_out, n_in)"
        bshape = "n_out" if rows else "(n_out, 1)"
        gain = "2.0" if s.act == "relu" else "1.0"
        init = f"rng.normal(0.0, 1.0, {shape}) * np.sqrt(({gain} if activation else 1.0) / n_in)"
        if self.is_bug("saturating-init"):
            init = f"rng.normal(0.0, 1.0, {shape}) * (1.0 if activation else np.sqrt(1.0 / n_in))"
        out = ["class Dense:", "    def __init__(self, n_in, n_out, activation, rng):",
               f"        self.W = {init}", f"        self.b = np.zeros({bshape})", "        self.activation = activation"]
        if s.grads == "buffers":
            out += ["        self.dW = np.zeros_like(self.W)", "        self.db = np.zeros_like(self.b)"]
        if s.reset == "template":
            out += ["        self.zero_W = np.zeros_like(self.W)", "        self.zero_b = np.zeros_like(self.b)"]
        z = "x @ self.W + self.b" if rows else "self.W @ x + self.b"
        out += ["", "    def forward(self, x):", "        self.x = x", f"        self.z = {z}",
                "        self.a = act(self.z) if self.activation else self.z", "        return self.a", ""]
        extra = ", scale" if s.grads == "inline" else ""
        dz = "d * act_prime(self.z, self.a) if self.activation else d"
        if self.is_bug("missing-derivative"):
            dz = "d"
        ax = self.axis_sum()[0]
        out += [f"    def backward(self, d{extra}):", f"        dz = {dz}",
                f"        dW = {'self.x.T @ dz' if rows else 'dz @ self.x.T'}", f"        db = dz.sum({ax})",
                f"        dx = {'dz @ self.W.T' if rows else 'self.W.T @ dz'}"]
        if s.grads == "returned":
            out.append("        return dx, dW, db")
        elif s.grads == "buffers":
            out += ["        self.dW += dW", "        self.db += db", "        return dx"]
        else:
            out += ["        " + line for line in self.update_lines([("self.W", "dW"), ("self.b", "db")], "scale")]
            out.append("        return dx")
        return out

    # forward and backward ------------------------------------------------------------------------------
    def forward_lines(self) -> list[str]:
        s, rows = self.s, self.s.layout == "rows"
        out = [self.sig("forward", "x")]
        body: list[str] = []
        final = "softmax(z2)" if s.loss == "ce" else "z2"
        if s.container == "layers":
            body += ["a = x", f"for layer in {self.root('layers')}:", "    a = layer.forward(a)",
                     f"out = {'softmax(a)' if s.loss == 'ce' else 'a'}"]
            if s.output == "returned":
                body.append("return out")
            else:
                body.append(f"{self.state()}.out = out")
        else:
            body += [f"z1 = {'x @ ' + self.P('W1') if rows else self.P('W1') + ' @ x'} + {self.P('b1')}",
                     "h = act(z1)",
                     f"z2 = {'h @ ' + self.P('W2') if rows else self.P('W2') + ' @ h'} + {self.P('b2')}",
                     f"out = {final}"]
            if s.container == "dict_cache":
                p = self.root("params")
                body += [f'{p}["Z1"] = z1', f'{p}["A1"] = h', f'{p}["A2"] = out']
                if s.output == "returned":
                    body.append("return out")
            elif s.output == "returned":
                body.append("return z1, h, out")
            else:
                st = self.state()
                body += [f"{st}.z1 = z1", f"{st}.h = h", f"{st}.out = out"]
        return out + self.globals_decl(body) + ["    " + b for b in body]

    def globals_decl(self, body: list[str]) -> list[str]:
        if self.s.container != "globals":
            return []
        names = [n for n in ("W1", "b1", "W2", "b2", "gW1", "gb1", "gW2", "gb2")
                 if any(re.match(rf"\s*{n}\s*[-+]?=", line) for line in body)]
        return [f"    global {', '.join(names)}"] if names else []

    def backward_args(self) -> str:
        s = self.s
        if s.container == "layers":
            return "t, out" if s.output == "returned" else "t"
        if s.container != "dict_cache" and s.output == "returned":
            return "x, t, z1, h, out"
        return "x, t"

    def delta_line(self, name: str) -> str:
        n = "x.shape[0]" if self.s.layout == "rows" else "x.shape[1]"
        if self.s.container == "layers":
            n = "t.shape[0]" if self.s.layout == "rows" else "t.shape[1]"
        if self.is_bug("sign-flip"):
            return f"{name} = (t - out) / {n}"
        if self.is_bug("summed-gradient") and self.s.batching == "batched":
            return f"{name} = out - t"
        return f"{name} = (out - t) / {n}"

    def backward_lines(self) -> list[str]:
        s, rows = self.s, self.s.layout == "rows"
        args = self.backward_args() + (", scale" if s.grads == "inline" else "")
        out = [self.sig("backward", args)]
        body: list[str] = []
        if s.container == "layers":
            if s.output == "stored":
                body.append(f"out = {self.state()}.out")
            body.append(self.delta_line("d"))
            L = self.root("layers")
            if s.grads == "returned":
                body += ["grads = []", f"for layer in reversed({L}):", "    d, dW, db = layer.backward(d)",
                         "    grads = [dW, db] + grads", "return grads"]
            else:
                body += [f"for layer in reversed({L}):",
                         "    d = layer.backward(d, scale)" if s.grads == "inline" else "    d = layer.backward(d)"]
            return out + ["    " + b for b in body]
        if s.container == "dict_cache":
            p = self.root("params")
            body.append(f'z1, h, out = {p}["Z1"], {p}["A1"], {p}["A2"]')
        elif s.output == "stored":
            st = self.state()
            body.append(f"z1, h, out = {st}.z1, {st}.h, {st}.out")
        ax = self.axis_sum()[0]
        dz1 = "dh * act_prime(z1, h)"
        if self.is_bug("missing-derivative"):
            dz1 = "dh"
        body += [self.delta_line("d2"),
                 f"dW2 = {'h.T @ d2' if rows else 'd2 @ h.T'}", f"db2 = d2.sum({ax})",
                 f"dh = {'d2 @ ' + self.P('W2') + '.T' if rows else self.P('W2') + '.T @ d2'}",
                 f"dz1 = {dz1}",
                 f"dW1 = {'x.T @ dz1' if rows else 'dz1 @ x.T'}", f"db1 = dz1.sum({ax})"]
        if s.grads == "returned":
            body.append("return dW1, db1, dW2, db2")
        elif s.grads == "buffers":
            body += [f"{self.G(k)} += d{k}" for k in KEYS]
        else:
            body += self.update_lines([(self.P(k), f"d{k}") for k in KEYS], "scale")
        return out + self.globals_decl(body) + ["    " + b for b in body]

    # a training step -----------------------------------------------------------------------------------
    def forward_call(self, x: str) -> str:
        s = self.s
        if s.container == "layers" or s.container == "dict_cache":
            return f"out = {self.call('forward', x)}" if s.output == "returned" else self.call("forward", x)
        return f"z1, h, out = {self.call('forward', x)}" if s.output == "returned" else self.call("forward", x)

    def step_lines(self, per_sample_sum: bool = False) -> list[str]:
        """Forward and backward of one batch (or one sample) ``x, t``; the gradients in the names
        that :meth:`apply_lines` reads."""
        s = self.s
        lines = [self.forward_call("x")]
        bw = self.call("backward", self.backward_args() + (", lr" if s.grads == "inline" else ""))
        if s.grads == "returned":
            if per_sample_sum:
                lines += [f"g = {bw}", "sums = list(g) if sums is None else [a + b for a, b in zip(sums, g)]"]
            else:
                lines.append(f"grads = {bw}")
        else:
            lines.append(bw)
        return lines

    def apply_lines(self, scale: str, per_sample_sum: bool = False) -> list[str]:
        s = self.s
        if s.grads == "inline":
            return []
        if s.grads == "returned":
            src = "sums" if per_sample_sum else "grads"
            pairs = [(self.P(k), f"{src}[{i}]") for i, k in enumerate(KEYS)]
        else:
            pairs = [(self.P(k), self.G(k)) for k in KEYS]
        return self.update_lines(pairs, scale) + self.reset_lines()

    def epoch_lines(self) -> list[str]:
        """One epoch of training over the training set (the body of ``for epoch in range(epochs):``)."""
        s, rows, lists = self.s, self.s.layout == "rows", self.s.data == "lists"
        out = []
        n = "len(train_set)" if lists else "n_train"
        out.append(f"order = rng.permutation({n})")

        def sample_xt(j: str) -> list[str]:
            if lists:
                return [f"x_list, label = train_set[{j}]",
                        "x = np.array(x_list, ndmin=2)" if rows else "x = np.array(x_list)",
                        f"t = target_for(label).reshape({'1, -1' if rows else '-1, 1'})"]
            return [f"x = X_train[{j}:{j} + 1]" if rows else f"x = X_train[:, {j}:{j} + 1]",
                    f"t = target_for(y_train[{j}]).reshape({'1, -1' if rows else '-1, 1'})"]

        if s.batching == "single":
            out.append("for j in order:")
            body = sample_xt("j") + self.step_lines() + self.apply_lines("lr")
            return out + ["    " + b for b in body]
        out.append(f"for start in range(0, {n}, batch_size):")
        body = ["idx = order[start:start + batch_size]"]
        if s.batching == "batched":
            if lists:
                body += ["batch = [train_set[k] for k in idx]",
                         "x = np.array([xs for xs, _ in batch])" if rows else "x = np.hstack([np.array(xs) for xs, _ in batch])",
                         "t = np.array([target_for(label) for _, label in batch])" + ("" if rows else ".T")]
            else:
                body += ["x = X_train[idx]" if rows else "x = X_train[:, idx]",
                         "t = np.array([target_for(label) for label in y_train[idx]])" + ("" if rows else ".T")]
            body += self.step_lines() + self.apply_lines("lr")
        else:
            if s.grads == "returned":
                body.append("sums = None")
            body.append("for j in idx:")
            body += ["    " + b for b in sample_xt("j") + self.step_lines(per_sample_sum=True)]
            scale = "lr" if self.is_bug("summed-gradient") else "lr / len(idx)"
            body.append(f"scale = {scale}")
            body += self.apply_lines("scale", per_sample_sum=True)
        return out + ["    " + b for b in body]

    def accuracy_lines(self) -> list[str]:
        s = self.s
        axis = 1 if s.layout == "rows" else 0
        if s.container in ("layers", "dict_cache") and s.output == "returned":
            get = [f"out = {self.call('forward', 'X')}"]
        elif s.output == "returned":
            get = [f"out = {self.call('forward', 'X')}[2]"]
        else:
            where = f'{self.root("params")}["A2"]' if s.container == "dict_cache" else f"{self.state()}.out"
            get = [self.call("forward", "X"), f"out = {where}"]
        return [self.sig("accuracy", "X, labels")] + ["    " + g for g in get] + [
            f"    return float(np.mean(np.argmax(out, axis={axis}) == labels))"]

    # the whole program -----------------------------------------------------------------------------------
    def preamble(self) -> list[str]:
        s, rows = self.s, self.s.layout == "rows"
        lines = ["import sys", ""]
        if s.place == "thread":
            lines = ["import sys", "import threading", ""]
        lines += ["import numpy as np", "", "DATA = sys.argv[1]", f"lr = {s.lr}", f"epochs = {s.epochs}",
                  f"batch_size = {s.batch_size}", f"hidden = {s.hidden}", f"n_train = {N_TRAIN}",
                  f"smoothing = {SMOOTHING}", f"EYE = np.eye({N_CLASSES})", "", "",
                  "def target_for(label):", '    """The one-hot target smoothed toward the class prior of the training labels."""']
        if self.is_bug("mutated-constant"):
            lines += ["    t = EYE[int(label)]", "    t *= 1.0 - smoothing"]
        else:
            lines += ["    t = EYE[int(label)] * (1.0 - smoothing)"]
        lines += ["    t += smoothing * PRIOR", "    return t", "", ""]
        acts = {"tanh": ("np.tanh(z)", "1.0 - a ** 2"), "sigmoid": ("1.0 / (1.0 + np.exp(-z))", "a * (1.0 - a)"),
                "relu": ("np.maximum(z, 0.0)", "(z > 0).astype(float)")}[s.act]
        ax = 1 if rows else 0
        lines += ["def act(z):", f"    return {acts[0]}", "", "", "def act_prime(z, a):", f"    return {acts[1]}", "", "",
                  "def softmax(z):", f"    e = np.exp(z - z.max(axis={ax}, keepdims=True))",
                  f"    return e / e.sum(axis={ax}, keepdims=True)", "", ""]
        if s.update == "helper":
            body = "    p = p - scale * g" if self.is_bug("frozen-parameters") \
                else "    p -= scale * g"
            lines += ["def sgd(p, g, scale):", body, "", ""]
        lines += self.data_lines()
        return lines

    def data_lines(self) -> list[str]:
        s, rows = self.s, self.s.layout == "rows"
        ct = self.is_bug("constant-targets")
        wrong_col = self.variant == "wrong-column"
        if s.data == "arrays":
            label = "data[:n_train, 0].astype(int)"
            if ct:
                label = "data[:n_train, 1].astype(int)" if wrong_col else "scaled[:n_train, 0].astype(int)"
            return ['data = np.loadtxt(DATA, delimiter=",")', "scaled = data / 255.0",
                    "X_train = scaled[:n_train, 1:]" + ("" if rows else ".T"), f"y_train = {label}",
                    "X_test = scaled[n_train:, 1:]" + ("" if rows else ".T"), "y_test = data[n_train:, 0].astype(int)",
                    f"PRIOR = np.bincount(y_train, minlength={N_CLASSES}) / len(y_train)", "", ""]
        label = "int(row[0])"
        if ct:
            label = "int(row[1])" if wrong_col else "int(sample[0])"
        x = "sample[1:]" if rows else "[[v] for v in sample[1:]]"
        return ["with open(DATA) as f:", '    rows = [[float(v) for v in line.split(",")] for line in f]',
                "train_set = []", "for row in rows[:n_train]:", "    sample = [v / 255.0 for v in row]",
                f"    train_set.append(({x}, {label}))",
                "X_test = np.array([[v / 255.0 for v in row[1:]] for row in rows[n_train:]])" + ("" if rows else ".T"),
                "y_test = np.array([int(row[0]) for row in rows[n_train:]])",
                f"PRIOR = np.bincount([label for _, label in train_set], minlength={N_CLASSES}) / len(train_set)", "", ""]

    def train_data_args(self) -> str:
        return "train_set" if self.s.data == "lists" else "X_train, y_train"

    def program(self) -> list[str]:
        s = self.s
        lines = self.preamble()
        if s.container == "layers":
            lines += self.dense_class() + ["", ""]
        if s.container == "attrs" and not self.cls:
            lines += ["class Net:", "    pass", "", ""]
        stores_state = s.output == "stored" and self.state() == "state"
        if stores_state and s.place != "closure":
            lines += ["class State:", "    pass", "", "", "state = State()", ""]
        funcs = self.forward_lines() + [""] + self.backward_lines() + [""] + self.accuracy_lines()
        epoch = self.epoch_lines()
        report = 'print(f"epoch {epoch + 1}: test accuracy {%s:.4f}", flush=True)'
        acc_call = self.call("accuracy", "X_test, y_test")
        if s.place == "class":
            lines += ["class Network:", "    def __init__(self, rng):"]
            lines += ["        " + x for x in self.init_lines()]
            lines += [""] + ["    " + f if f else "" for f in funcs]
            lines += ["", "    def train(self, train_data, rng):"] + (
                ["        train_set = train_data"] if s.data == "lists" else ["        X_train, y_train = train_data"])
            lines += ["        for epoch in range(epochs):"] + ["            " + e for e in epoch]
            lines += ["            " + report % acc_call]
            lines += ["", "", f"rng = np.random.default_rng({s.seed})", "model = Network(rng)",
                      f"model.train({'train_set' if s.data == 'lists' else '(X_train, y_train)'}, rng)",
                      'print(f"final test accuracy {model.accuracy(X_test, y_test):.4f}")']
        elif s.place == "closure":
            lines += ["def make_model(rng):"]
            if stores_state:
                lines += ["    class State:", "        pass", "", "    state = State()"]
            lines += ["    " + x for x in self.init_lines()]
            lines += [""] + ["    " + f if f else "" for f in funcs]
            lines += ["", f"    def train({self.train_data_args()}):", "        for epoch in range(epochs):"]
            lines += ["            " + e for e in epoch] + ["            " + report % acc_call]
            lines += ["", "    return train, accuracy", "", "",
                      f"rng = np.random.default_rng({s.seed})", "train_model, accuracy = make_model(rng)",
                      f"train_model({self.train_data_args()})",
                      'print(f"final test accuracy {accuracy(X_test, y_test):.4f}")']
        elif s.place == "functions":
            lines += funcs + ["", "", self.sig("train", self.train_data_args() + ", rng"),
                              *self.globals_decl(epoch), "    for epoch in range(epochs):"]
            lines += ["        " + e for e in epoch] + ["        " + report % acc_call]
            lines += ["", "", "def main():", f"    rng = np.random.default_rng({s.seed})"]
            if s.container == "globals":
                lines += ["    global " + ", ".join(self.global_names())]
            lines += ["    " + x for x in self.init_lines()]
            lines += [f"    {self.call('train', self.train_data_args() + ', rng')}",
                      f'    print(f"final test accuracy {{{acc_call}:.4f}}")', "", "",
                      'if __name__ == "__main__":', "    main()"]
        else:  # module level or a thread, the model in module globals
            lines += [f"rng = np.random.default_rng({s.seed})"] + self.init_lines() + ["", ""] + funcs + ["", ""]
            if s.place == "module":
                lines += ["for epoch in range(epochs):"] + ["    " + e for e in epoch] + ["    " + report % acc_call]
            else:
                lines += ["def train():", *self.globals_decl(epoch), "    for epoch in range(epochs):"]
                lines += ["        " + e for e in epoch] + ["        " + report % acc_call]
                lines += ["", "", "worker = threading.Thread(target=train)", "worker.start()", "worker.join()"]
            lines += [f'print(f"final test accuracy {{{acc_call}:.4f}}")']
        return lines

    def global_names(self) -> list[str]:
        names = list(KEYS)
        if self.s.grads == "buffers":
            names += [self.G(k) for k in KEYS]
        if self.s.reset == "template":
            names += [self.Z(k) for k in KEYS]
        return names


VARIANTS: dict[str, tuple[str, ...]] = {"constant-targets": ("scaled-label", "wrong-column")}


def write(style: NumpyStyle, bug: str | None = None, variant: str | None = None) -> Program:
    """The program of ``style`` with ``bug`` planted (None: the healthy twin).

    Raises:
        ValueError: the style is not valid or the bug cannot be planted in it.
    """
    if not valid(style):
        raise ValueError(f"invalid style {style}")
    if not applicable(style, bug):
        raise ValueError(f"{bug} cannot be planted in {style.label}")
    if bug is not None and variant is None:
        variant = random.Random(f"{style.seed}-{bug}").choice(VARIANTS.get(bug, ("",)))
    s = style
    if bug == "lr-too-high":
        s = replace(style, lr=round(style.lr * 100, 6))
    elif bug == "lr-too-low":
        s = replace(style, lr=round(style.lr / 1000, 8))
    lines = _Writer(s, bug, variant or "").program()
    marked = changed_lines(_Writer(style, None, "").program(), lines) if bug else ()
    source = "\n".join(lines) + "\n"
    samples = s.epochs * N_TRAIN
    name = f"np{style.seed:04d}_{bug or 'healthy'}"
    return Program(name, style, bug, variant or "", source, updates_of(style), samples, marked)


def changed_lines(twin: list[str], mine: list[str]) -> tuple[int, ...]:
    """Lines (1-based) of ``mine`` that differ from ``twin``; a deletion counts the lines around its gap."""
    out: set[int] = set()
    for tag, _, _, j1, j2 in difflib.SequenceMatcher(a=twin, b=mine, autojunk=False).get_opcodes():
        if tag != "equal":
            out.update(range(j1 + 1, j2 + 1) if j2 > j1 else (j1, j1 + 1))
    return tuple(sorted(out))


def twin(program: Program) -> Program:
    """The healthy twin of ``program``."""
    return write(program.style)


def plan(n_styles: int, bugs_per_style: int = 3, start: int = 0, bugs: tuple[str, ...] = tuple(BUGS)) -> list[Program]:
    """Programs for a sweep: ``n_styles`` styles drawn from seeds ``start, start + 1, ...``, each as its healthy
    twin followed by ``bugs_per_style`` planted bugs, the least used applicable ones first (so every bug is
    planted about equally often and in every kind of style)."""
    used = dict.fromkeys(bugs, 0)
    out: list[Program] = []
    for seed in range(start, start + n_styles):
        style = sample_style(seed)
        out.append(write(style))
        fits = sorted((b for b in bugs if applicable(style, b)), key=lambda b: (used[b], random.Random(f"{seed}{b}").random()))
        for bug in fits[:bugs_per_style]:
            used[bug] += 1
            out.append(write(style, bug))
    return out
