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

The extended axes (:data:`EXTENDED_AXES`, drawn only by ``sample_style(seed, extended=True)``, which draws the
axes above exactly as ``sample_style(seed)`` does and adds these; their programs are named ``npx...``):

* ``loop``: how an epoch walks the data: ``range`` (``for start in range(0, n, batch_size)`` over a shuffled
  index, as above), ``permutation`` (``for j in rng.permutation(n)`` per sample, or batches cut with
  ``np.array_split(rng.permutation(n), n // batch_size)``), ``while`` (a counter), ``generator`` (a function
  that yields ``(x, t)``);
* ``shuffle``: where the shuffle's randomness comes from: ``rng`` (``np.random.default_rng``) or ``global``
  (``np.random.seed`` then ``np.random.permutation``);
* ``optimizer``: ``sgd`` or ``momentum`` (a velocity per parameter: ``v = mu * v - lr * g; p += v``, in place
  in a helper or a zip loop);
* ``depth``: ``2`` layers or ``3`` (two hidden layers);
* ``init``: ``normal`` (``N(0, 1) * sqrt(gain / fan_in)``), ``xavier`` or ``he`` (uniform);
* ``dtype``: ``float64`` or ``float32`` (the data, targets and parameters converted by the program).

The tutorial axes (:data:`TUTORIAL_AXES`, drawn only by ``sample_style(seed, tutorial=True)``, which draws the
extended style of the seed exactly as ``sample_style(seed, extended=True)`` does and adds these; programs named
``npt...``) are habits of from-scratch programs in tutorials, course code and forum posts that the axes above
leave out:

* ``loader``: how the CSV is read: ``default`` (``np.loadtxt``, or ``line.split(",")`` for lists),
  ``genfromtxt`` (``np.genfromtxt``, ``.tolist()`` for lists) or ``csv`` (``csv.reader``);
* ``schedule``: the learning rate of epoch ``e``: ``constant``, ``step`` (``lr * 0.5 ** (e // 3)``) or
  ``inverse`` (``lr / (1 + 0.1 e)``), a local ``rate`` recomputed at the top of each epoch, with a third more
  epochs (at least one) for the smaller steps;
* ``decay``: ``none`` or ``l2`` (``dW += wd * W`` in the backward, ``wd = 5e-4``: the gradient is no longer the
  loss's alone);
* ``clip``: ``none`` or ``norm`` (the returned gradients rescaled to a global norm of at most 5 by a helper
  that returns a new list; only with gradients returned per batch or per sample);
* ``matmul``: how the forward multiplies: ``at`` (``x @ W``), ``dot`` (``np.dot``) or ``einsum``
  (``np.einsum("ij,jk->ik", ...)``); the backward keeps ``@``;
* ``keep``: ``last`` or ``best`` (a copy of every parameter is kept at the epoch of best test accuracy and
  written back into the parameters in place after training);
* ``stepper``: ``plain`` (the ``update`` axis) or ``object`` (an ``SGD(params, lr)`` object made before the
  epochs, holding the parameter arrays, whose ``step(grads)`` updates them in place; ``opt.lr`` follows the
  schedule; not with momentum, with the update inside the backward, or per-sample sums);
* ``relu``: for a ReLU hidden layer: ``max`` (``np.maximum(z, 0)``) or ``leaky`` (``np.where(z > 0, z,
  0.01 z)``); ``-`` for tanh and sigmoid.

The wild axes (:data:`WILD_AXES`, drawn only by ``sample_style(seed, wild=True)``, which draws the tutorial style
of the seed exactly as ``sample_style(seed, tutorial=True)`` does and adds these; programs named ``npw...``) are
habits of from-scratch programs on GitHub, in blog posts and in courses that no tier above has; a value that does
not fit the style falls back to the first (see :func:`wilden`):

* ``orient``: weights stored ``in_out`` (``(in, out)``, ``x @ W``) or ``out_in`` (``(out, in)``, PyTorch's
  convention, applied as ``x @ W.T``, with ``dW = delta.T @ x`` and ``dx = delta @ W``); ``-`` for columns;
* ``params``: the ``containers`` above, or per-layer ``tuples`` (``layers = [(W1, b1), (W2, b2)]``, rebuilt by a
  comprehension each step: ``layers = [(W - lr * dW, b - lr * db) for (W, b), dW, db in zip(layers, ...)]``; only
  with a dict or lists, gradients that reach the step and plain SGD) or ``dicts`` (``layers[0]["W"]``);
* ``adaptive``: ``none``, ``adam`` (moments ``m``, ``v`` held as the parameters are: ``self.m["W1"]``,
  ``m_w[0]``, ``net.mW1``, ...; bias-corrected by a step count ``n_steps``) or ``rmsprop`` (a mean square
  ``v``); they replace SGD or momentum, with their own step size (:data:`ADAPTIVE_LR`);
* ``labels``: ``onehot`` targets made before the step (smoothed, as above), or ``int`` label batches handed to
  the backward and the loss, which make them one-hot (``T = np.eye(out.shape[1])[t]``), or ``counted``: the same
  with the output width ``n_out = int(y_train.max()) + 1`` counted from the labels;
* ``api``: a ``script``, or ``fit``: a scikit-learn-like ``Classifier`` whose ``fit(X, y)`` creates the
  parameters from the data's shapes and trains, with ``predict(X)`` and ``score(X, y)`` (a class on arrays);
* ``combined``: ``none``, or ``loss_and_grads(params, x, t)`` returning ``(loss, grads)`` (gradients returned);
* ``prep``: pixels ``scale``d by 1/255, ``standard``ised with the training rows' mean and std (floored at 1), or
  ``both`` (the std floored at 0.05); half the rate of SGD (arrays only);
* ``stop``: ``fixed`` epochs, or ``early`` stopping on a validation split (:data:`N_VAL` rows after the training
  rows, :data:`PATIENCE` epochs without a better validation accuracy; the program says when it stops, and the
  harness counts the updates of the epochs it ran);
* ``log``: the test ``accuracy`` printed per epoch, the mean training ``loss`` only, or ``none`` (the final
  accuracy is always printed).

Bugs that a wild value cannot hold are not planted (:func:`applicable`): a summed gradient under Adam or RMSProp
(they divide by the gradient's own scale), a mutated one-hot table with integer labels; in rebuilt tuples a frozen
parameter is the new list bound to a name the training never reads (``new_layers = [...]``).
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

EXTENDED_AXES: dict[str, tuple[str, ...]] = {
    "loop": ("range", "permutation", "while", "generator"),
    "shuffle": ("rng", "global"),
    "optimizer": ("sgd", "momentum"),
    "depth": ("2", "3"),
    "init": ("normal", "xavier", "he"),
    "dtype": ("float64", "float32"),
}
"""Axes drawn only for extended styles (``sample_style(seed, extended=True)``); the first value is what every
style of :data:`AXES` alone writes."""

TUTORIAL_AXES: dict[str, tuple[str, ...]] = {
    "loader": ("default", "genfromtxt", "csv"),
    "schedule": ("constant", "step", "inverse"),
    "decay": ("none", "l2"),
    "clip": ("none", "norm"),
    "matmul": ("at", "dot", "einsum"),
    "keep": ("last", "best"),
    "stepper": ("plain", "object"),
    "relu": ("max", "leaky", "-"),
}
"""Axes drawn only for tutorial styles (``sample_style(seed, tutorial=True)``, on top of the extended axes); the
first value is what every extended style writes."""
WILD_AXES: dict[str, tuple[str, ...]] = {
    "orient": ("in_out", "out_in", "-"),
    "params": ("containers", "tuples", "dicts"),
    "adaptive": ("none", "adam", "rmsprop"),
    "labels": ("onehot", "int", "counted"),
    "api": ("script", "fit"),
    "combined": ("none", "loss_and_grads"),
    "prep": ("scale", "standard", "both"),
    "stop": ("fixed", "early"),
    "log": ("accuracy", "loss", "none"),
}
"""Axes drawn only for wild styles (``sample_style(seed, wild=True)``, on top of the tutorial axes); the first value
is what every tutorial style writes."""
ADAPTIVE_LR = {"adam": 0.002, "rmsprop": 0.002}
"""The step size of Adam and RMSProp for mini-batches: their step is about ``lr`` per weight whatever the gradient's
scale."""
ADAPTIVE_SINGLE = {"adam": 5, "rmsprop": 2}
"""How much smaller the step size is for batch size 1: at a fifth, 4 of 10 healthy RMSProp styles with batch size 1
ended at 19-56% (seeds 0-119, plain runs), no Adam style."""
BETAS = (0.9, 0.999)
"""Adam's decay rates of the first and second moments (RMSProp's of the squared gradient is the second)."""
EARLY_STOP = "stopped early after epoch"
"""What an early-stopping program prints when it stops (the harness reads the epochs it ran from it)."""
PATIENCE = 2
"""Epochs without a better validation accuracy after which an early-stopping program stops."""
N_VAL = 50
"""Rows of the held-out part an early-stopping program validates on (taken from the rows after the training set)."""
WEIGHT_DECAY = 5e-4
"""``wd`` of the ``l2`` decay: a usual value, small beside the loss's gradient."""
MAX_NORM = 5.0
"""The global gradient norm the ``norm`` clip allows: above the norm of a healthy mean gradient here, so it bites
only on large steps."""

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

EXTENDED_BUGS: dict[str, str] = {
    "tiny-init": "vanishing-gradients",
}
"""Bugs planted only when asked for (``plan(..., bugs=...)``, ``sweep.py --bugs``), so that every seed's plan writes the
programs it wrote before they existed: ``tiny-init`` draws every weight matrix of a three-layer extended style as
``N(0, 1) * 0.01`` (the deeplearning.ai course's first initialisation), which passes the error back to the first
layer 0.01 sqrt(fan_in) per layer."""

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
    "tiny-init": "stalls",
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
MOMENTUMS = (0.5, 0.9)
"""The momentum coefficients an extended style draws from; its learning rate is scaled by ``1 - mu`` (the
velocity's steady step is ``lr / (1 - mu)`` times the gradient)."""


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
    loop: str = "range"
    shuffle: str = "rng"
    optimizer: str = "sgd"
    depth: str = "2"
    init: str = "normal"
    dtype: str = "float64"
    mu: float = 0.9
    """The momentum coefficient (optimizer ``momentum``)."""
    hidden2: int = 0
    """The second hidden layer's width (depth ``3``)."""
    extended: bool = False
    """Drawn with the extended axes: they are part of :meth:`axes` and the label."""
    loader: str = "default"
    schedule: str = "constant"
    decay: str = "none"
    clip: str = "none"
    matmul: str = "at"
    keep: str = "last"
    stepper: str = "plain"
    relu: str = "max"
    tutorial: bool = False
    """Drawn with the tutorial axes too (then also ``extended``): they are part of :meth:`axes` and the label."""
    orient: str = "in_out"
    params: str = "containers"
    adaptive: str = "none"
    labels: str = "onehot"
    api: str = "script"
    combined: str = "none"
    prep: str = "scale"
    stop: str = "fixed"
    log: str = "accuracy"
    wild: bool = False
    """Drawn with the wild axes too (then also ``tutorial``): they are part of :meth:`axes` and the label."""

    def axes(self) -> dict[str, str]:
        names = (*AXES, *EXTENDED_AXES) if self.extended else tuple(AXES)
        if self.tutorial:
            names = (*names, *TUTORIAL_AXES)
        if self.wild:
            names = (*names, *WILD_AXES)
        return {axis: str(getattr(self, axis)) for axis in names}

    @property
    def label(self) -> str:
        return "/".join(self.axes().values())

    @property
    def keys(self) -> tuple[str, ...]:
        """The parameters' names: ``W1, b1, W2, b2`` (and ``W3, b3`` with depth 3)."""
        return KEYS + (("W3", "b3") if self.depth == "3" else ())


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
        return {**BUGS, **EXTENDED_BUGS}[self.bug] if self.bug else None

    @property
    def behaviour(self) -> str:
        return BEHAVIOUR[self.bug]


def applicable(style: NumpyStyle, bug: str | None) -> bool:
    """Whether ``bug`` can be planted in a program of ``style``."""
    if bug is None:
        return True
    if bug in ("aliased-buffers", "stale-accumulator") and style.adaptive != "none":
        # Adam and RMSProp divide each step by the gradient's own running scale: a buffer never emptied (or one shared
        # by every layer) only makes the step a momentum's, and such programs train as well as their twins (wild
        # seeds 34 and 45: 0.81 against 0.76 under RMSProp, 0.80 against 0.84 under Adam)
        return False
    if bug in ("aliased-buffers",):
        return style.grads == "buffers" and style.reset == "template"
    if bug == "stale-accumulator":
        return style.grads == "buffers"
    if bug == "summed-gradient" and style.adaptive != "none":
        return False  # Adam and RMSProp divide the gradient by its own root mean square: a constant factor cancels
    if bug == "summed-gradient":
        # a clip to a global norm rescales the summed gradient as it would the mean: of 5 such programs in the tutorial
        # sweep (seeds 1500-1552), 4 ended 5-12 points above their twin
        return style.batching != "single" and style.batch_size >= 16 and style.clip == "none"
    if bug == "frozen-parameters":
        if style.params == "tuples":
            return True  # the rebuilt list bound to a new name the training never reads
        return style.update in ("helper", "zip") or style.stepper == "object"
    if bug == "mutated-constant":
        return style.labels == "onehot"  # integer labels are made one-hot by np.eye(k)[y], a fresh array each call
    if bug == "saturating-init":
        return style.act in ("tanh", "sigmoid")
    if bug == "tiny-init":
        # two hidden layers: the error passes back through two tiny matrices (one alone still learns, as the course's
        # two-layer model does); Adam and RMSProp divide the tiny gradient by its own scale and step anyway
        return style.extended and style.depth == "3" and style.adaptive == "none"
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
    if style.depth == "3" and style.loss == "mse" and style.act == "sigmoid":
        return False  # see extend(): it does not learn within a few epochs
    if style.clip != "none" and (style.grads != "returned" or style.batching == "per-sample"):
        return False  # the clip rescales a list of gradients the step holds
    if style.stepper == "object" and (style.grads == "inline" or style.optimizer != "sgd" or style.batching == "per-sample"):
        return False
    if style.tutorial and (style.relu == "-") != (style.act != "relu"):
        return False
    if style.wild and not _wild_fits(style):
        return False
    return True


def _wild_fits(style: NumpyStyle) -> bool:
    """Whether the wild axes fit the style's other axes (see :func:`wilden`)."""
    if (style.orient == "-") != (style.layout == "columns"):
        return False
    if style.params != "containers" and style.container not in ("dict", "list"):
        return False
    if style.params == "tuples" and (style.grads == "inline" or style.optimizer != "sgd" or style.stepper != "plain"):
        return False
    if style.adaptive != "none" and (style.grads == "inline" or style.stepper != "plain" or style.params == "tuples"):
        return False
    if style.api == "fit" and (style.place != "class" or style.data != "arrays"):
        return False
    if style.combined != "none" and style.grads != "returned":
        return False
    return style.prep == "scale" or style.data == "arrays"


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


def sample_style(seed: int, extended: bool = False, tutorial: bool = False, wild: bool = False,
                 **fixed: str | int | float) -> NumpyStyle:
    """A valid style drawn from ``seed`` (axes given in ``fixed`` are kept), with settings that learn.

    With ``extended``, the axes of :data:`AXES` and the settings are drawn exactly as without it, and then the axes
    of :data:`EXTENDED_AXES` are drawn from a generator of their own (see :func:`extend`). With ``tutorial`` (which
    implies ``extended``), the extended style is drawn exactly so, and then the axes of :data:`TUTORIAL_AXES` from
    a generator of their own (see :func:`tutor`). With ``wild`` (which implies ``tutorial``), the tutorial style is
    drawn exactly so, and then the axes of :data:`WILD_AXES` (see :func:`wilden`).
    """
    tutorial = tutorial or wild
    extended = extended or tutorial
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
        if extended:  # a fixed extended axis may not fit the drawn base axes (a third layer with MSE on sigmoid)
            style = extend(style, **fixed)
        if tutorial:
            style = tutor(style, **fixed)
        if wild:
            style = wilden(style, **fixed)
        if valid(style):
            return style
    raise ValueError(f"no valid style with {fixed}")


def extend(style: NumpyStyle, **fixed: str | int | float) -> NumpyStyle:
    """``style`` with the axes of :data:`EXTENDED_AXES` drawn from its seed (those given in ``fixed`` kept), and the
    settings they need to learn: momentum's rate scaled by ``1 - mu``, a third layer's width and more epochs for
    its slower start."""
    rnd = random.Random(f"extended-{style.seed}")
    choice = {axis: rnd.choice(values) for axis, values in EXTENDED_AXES.items()}
    choice.update({k: str(v) for k, v in fixed.items() if k in EXTENDED_AXES})
    if choice["depth"] == "3" and style.loss == "mse" and style.act == "sigmoid" and "depth" not in fixed:
        # Squared error through two sigmoid layers learns too slowly on 400 rows: of 10 such healthy styles (seeds
        # 1014-1195, plain runs) at their two-layer rate and 7-13 epochs, 6 ended below 60%; twice the rate diverged.
        choice["depth"] = "2"
    if choice["init"] == "he" and style.act != "relu" and "init" not in fixed:
        # He's gain of 2 is ReLU's (half its units are off); a tanh or sigmoid program takes Xavier's. With He, 5 of
        # 76 healthy styles (seeds 1000-1199) stayed below 60%, 4 of them tanh or sigmoid with squared error.
        choice["init"] = "xavier"
    mu = float(fixed.get("mu", rnd.choice(MOMENTUMS)))
    hidden2 = int(fixed.get("hidden2", rnd.choice((16, 24, 32))))
    lr, epochs = style.lr, style.epochs
    if choice["optimizer"] == "momentum" and "lr" not in fixed:
        # the velocity's steady step is lr / (1 - mu) times the gradient: the same steady step as plain SGD
        lr = round(lr * (1.0 - mu), 6)
    if choice["depth"] == "3" and "epochs" not in fixed:
        # squared error's slower start (see _SETTINGS) is slower still through two hidden layers: of 6 healthy MSE
        # styles with tanh or ReLU below 60% at 7 epochs, 5 reached it at 11
        epochs += 6 if style.loss == "mse" else 2
    return replace(style, **choice, mu=mu, hidden2=hidden2 if choice["depth"] == "3" else 0, lr=lr, epochs=epochs,
                   extended=True)


def tutor(style: NumpyStyle, **fixed: str | int | float) -> NumpyStyle:
    """``style`` with the axes of :data:`TUTORIAL_AXES` drawn from its seed (those given in ``fixed`` kept); a
    drawn value that does not fit the style falls back to the first (a clip needs gradients returned per step; the
    optimizer object plain SGD on a step's gradients; ``relu`` is ``-`` unless the hidden layer is ReLU)."""
    rnd = random.Random(f"tutorial-{style.seed}")
    choice = {axis: rnd.choice([v for v in values if v != "-"]) for axis, values in TUTORIAL_AXES.items()}
    choice.update({k: str(v) for k, v in fixed.items() if k in TUTORIAL_AXES})
    if style.grads != "returned" or style.batching == "per-sample":
        choice["clip"] = "none"
    if style.grads == "inline" or style.optimizer != "sgd" or style.batching == "per-sample":
        choice["stepper"] = "plain"
    choice["relu"] = choice["relu"] if style.act == "relu" else "-"
    epochs = style.epochs
    if choice["schedule"] != "constant" and "epochs" not in fixed:
        # the decayed rate learns less per epoch: at the extended style's epochs, 2 of 12 healthy styles with a
        # schedule halving every 2 epochs or dividing by 1 + 0.5 e ended at 26-37% (seeds 1500-1511, plain runs)
        epochs += max(1, epochs // 3)
    return replace(style, **choice, epochs=epochs, tutorial=True)


def wilden(style: NumpyStyle, **fixed: str | int | float) -> NumpyStyle:
    """``style`` with the axes of :data:`WILD_AXES` drawn from its seed (those given in ``fixed`` kept); a drawn value
    that does not fit the style falls back to the first: ``orient`` is ``-`` for columns (``W @ x`` is already
    ``(out, in)``); per-layer tuples and dicts replace a parameter dict or lists, tuples only when the gradients
    reach the step (not applied inside the backward) and the step is plain SGD; Adam and RMSProp replace SGD or
    momentum in a plain step of gradients that reach it; ``fit``/``predict`` is a class's API on arrays; the
    combined ``loss_and_grads`` needs gradients returned; ``prep`` other than ``/ 255`` needs arrays. Adam and
    RMSProp take their own step size (:data:`ADAPTIVE_LR`), standardised inputs half the rate of plain SGD."""
    rnd = random.Random(f"wild-{style.seed}")
    choice = {axis: rnd.choice([v for v in values if v != "-"]) for axis, values in WILD_AXES.items()}
    choice.update({k: str(v) for k, v in fixed.items() if k in WILD_AXES})
    if style.layout != "rows":
        choice["orient"] = "-"
    elif choice["orient"] == "-":
        choice["orient"] = "in_out"
    if style.container not in ("dict", "list"):
        choice["params"] = "containers"
    if choice["params"] == "tuples" and (style.grads == "inline" or style.optimizer != "sgd" or style.stepper != "plain"):
        choice["params"] = "containers"
    if style.grads == "inline" or style.stepper != "plain" or choice["params"] == "tuples":
        choice["adaptive"] = "none"
    if style.place != "class" or style.data != "arrays":
        choice["api"] = "script"
    if style.grads != "returned":
        choice["combined"] = "none"
    if style.data != "arrays":
        choice["prep"] = "scale"
    lr, epochs = style.lr, style.epochs
    if choice["adaptive"] != "none" and "lr" not in fixed:
        lr = ADAPTIVE_LR[choice["adaptive"]] / (ADAPTIVE_SINGLE[choice["adaptive"]] if style.batching == "single" else 1)
    elif choice["prep"] != "scale" and "lr" not in fixed:
        # unit-variance inputs: the first layer's gradient is several times that of pixels / 255
        lr = round(lr / 2, 6)
    return replace(style, **choice, lr=lr, epochs=epochs, wild=True)


def updates_of(style: NumpyStyle) -> int:
    """How many updates a program of ``style`` applies (per batch, or per sample with batch size 1)."""
    if style.batching == "single":
        return style.epochs * N_TRAIN
    if style.loop == "permutation":  # np.array_split(order, n // batch_size): that many batches, none smaller
        return style.epochs * (N_TRAIN // style.batch_size)
    return style.epochs * math.ceil(N_TRAIN / style.batch_size)


# -- source text ------------------------------------------------------------------------------------------


class _Writer:
    """Writes one program; ``self.bug`` selects the planted bug (None: the healthy twin)."""

    def __init__(self, style: NumpyStyle, bug: str | None, variant: str):
        self.s, self.bug, self.variant = style, bug, variant
        self.cls = style.place == "class"
        self.momentum = style.optimizer == "momentum" and style.adaptive == "none"
        """A velocity per parameter (Adam and RMSProp replace momentum)."""
        self.per_layer = style.params != "containers"
        """Per-layer tuples or dicts (``layers[i]``) hold the parameters."""
        self.int_labels = style.labels != "onehot"

    # names -------------------------------------------------------------------------------------------
    def root(self, name: str) -> str:
        return f"self.{name}" if self.cls else name

    def roots(self) -> list[str]:
        c, buffers = self.s.container, self.s.grads == "buffers"
        template = self.s.reset == "template"
        momentum = self.momentum
        moments = {"none": [], "adam": ["m", "v"], "rmsprop": ["v"]}[self.s.adaptive]
        if self.per_layer:
            return ["layers"] + (["grads"] if buffers else []) + (["zeros"] if template else []) + (
                ["vel"] if momentum else []) + moments
        if c in ("dict", "dict_cache"):
            return ["params"] + (["grads"] if buffers else []) + (["zeros"] if template else []) + (
                ["vel"] if momentum else []) + moments
        if c == "list" and moments:
            return ["weights", "biases"] + (["grad_w", "grad_b"] if buffers else []) + (
                ["zero_w", "zero_b"] if template else []) + [f"{m}_{wb}" for m in moments for wb in "wb"]
        if c == "attrs":
            return [] if self.cls else ["net"]
        if c == "list":
            return ["weights", "biases"] + (["grad_w", "grad_b"] if buffers else []) + (
                ["zero_w", "zero_b"] if template else []) + (["vel_w", "vel_b"] if momentum else [])
        if c == "layers":
            return ["layers"]
        return []

    def obj(self) -> str:
        """The object whose attributes are the parameters (attrs container)."""
        return "self" if self.cls else "net"

    def layer_entry(self, root: str, k: str) -> str:
        """Parameter ``k``'s entry in a per-layer structure ``root`` (``layers[0]["W"]``, or ``layers[0][0]`` of a
        tuple)."""
        i = int(k[1]) - 1
        if self.s.params == "tuples":
            return f"{self.root(root)}[{i}][{0 if k[0] == 'W' else 1}]"
        return f'{self.root(root)}[{i}]["{k[0]}"]'

    def P(self, k: str) -> str:
        c, i = self.s.container, int(k[1]) - 1
        if self.per_layer:
            return self.layer_entry("layers", k)
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
        if self.per_layer:
            return self.layer_entry("grads", k)
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
        if self.per_layer:
            return self.layer_entry("zeros", k)
        if c in ("dict", "dict_cache"):
            return f'{self.root("zeros")}["{k}"]'
        if c == "attrs":
            return f"{self.obj()}.zero_{k}"
        if c == "list":
            return f"{self.root('zero_w' if k[0] == 'W' else 'zero_b')}[{i}]"
        if c == "layers":
            return f"{self.root('layers')}[{i}].zero_{k[0]}"
        return f"ZERO_{k}"

    def moment(self, name: str, k: str) -> str:
        """Parameter ``k``'s moment ``name`` (``m``: Adam's mean gradient, ``v``: the mean squared gradient of Adam
        and RMSProp), held as the container holds the parameters: ``m["W1"]``, ``m_w[0]``, ``m[0]["W"]``,
        ``net.mW1``, ``layers[0].mW``, ``mW1``."""
        c, i = self.s.container, int(k[1]) - 1
        if self.per_layer:
            return self.layer_entry(name, k)
        if c in ("dict", "dict_cache"):
            return f'{self.root(name)}["{k}"]'
        if c == "attrs":
            return f"{self.obj()}.{name}{k}"
        if c == "list":
            return f"{self.root(name + ('_w' if k[0] == 'W' else '_b'))}[{i}]"
        if c == "layers":
            return f"{self.root('layers')}[{i}].{name}{k[0]}"
        return f"{name}{k}"

    def V(self, k: str) -> str:
        """The velocity of parameter ``k`` (optimizer ``momentum``)."""
        c, i = self.s.container, int(k[1]) - 1
        if self.per_layer:
            return self.layer_entry("vel", k)
        if c in ("dict", "dict_cache"):
            return f'{self.root("vel")}["{k}"]'
        if c == "attrs":
            return f"{self.obj()}.v{k}"
        if c == "list":
            return f"{self.root('vel_w' if k[0] == 'W' else 'vel_b')}[{i}]"
        if c == "layers":
            return f"{self.root('layers')}[{i}].v{k[0]}"
        return f"v{k}"

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

    def update_lines(self, pairs: list[tuple[str, str]], scale: str, vels: list[str]) -> list[str]:
        """The update of each (parameter, gradient) pair by ``scale`` times the gradient; ``vels``: the pairs'
        velocities (optimizer ``momentum``)."""
        u, frozen = self.s.update, self.is_bug("frozen-parameters")
        if self.s.stepper == "object":  # the object holds the parameters and its rate (see optimizer_lines)
            return [f"opt.step([{', '.join(g for _, g in pairs)}])"]
        if self.s.params == "tuples":
            return self.rebuild_lines([g for _, g in pairs], scale)
        if self.s.adaptive != "none":
            return self.adaptive_lines(pairs, scale)
        if self.momentum:
            if u == "direct":
                return [line for (p, g), v in zip(pairs, vels) for line in (f"{v} = mu * {v} - {scale} * {g}", f"{p} += {v}")]
            if u == "helper":
                return [f"momentum({p}, {v}, {g}, {scale})" for (p, g), v in zip(pairs, vels)]
            ps, gs = ", ".join(p for p, _ in pairs), ", ".join(g for _, g in pairs)
            return [f"for p, v, g in zip(({ps}), ({', '.join(vels)}), ({gs})):", "    v *= mu", f"    v -= {scale} * g",
                    "    p = p + v" if frozen else "    p += v"]
        if u == "direct":
            return [f"{p} -= {scale} * {g}" for p, g in pairs]
        if u == "helper":
            return [f"sgd({p}, {g}, {scale})" for p, g in pairs]
        ps, gs = ", ".join(p for p, _ in pairs), ", ".join(g for _, g in pairs)
        body = f"    p = p - {scale} * g" if frozen else f"    p -= {scale} * g"
        return [f"for p, g in zip(({ps}), ({gs})):", body]

    def rebuild_lines(self, grads: list[str], scale: str) -> list[str]:
        """The list of ``(W, b)`` tuples rebuilt by a comprehension (params ``tuples``), from the gradients in key
        order: ``grads[0::2]`` and ``grads[1::2]`` of a returned list, else the weights' and the biases' tuples."""
        names = {re.sub(r"\[\d+\]$", "", g) for g in grads}
        if len(names) == 1 and all(g.endswith(f"[{i}]") for i, g in enumerate(grads)) and "." not in grads[0]:
            src = names.pop()
            dws, dbs = f"{src}[0::2]", f"{src}[1::2]"
        else:
            dws, dbs = f"({', '.join(grads[0::2])})", f"({', '.join(grads[1::2])})"
        L = self.root("layers")
        target = "new_layers" if self.is_bug("frozen-parameters") else L  # the bug: the new list is never used
        return [f"{target} = [(W - {scale} * dW, b - {scale} * db) for (W, b), dW, db in zip({L}, {dws}, {dbs})]"]

    def adaptive_lines(self, pairs: list[tuple[str, str]], scale: str) -> list[str]:
        """Adam or RMSProp on each (parameter, gradient) pair, as the ``update`` axis spells a step: written out per
        tensor, a helper, or a zip loop. ``scale`` is the rate, or ``scale`` (1 / the samples summed) for a sum of
        per-sample gradients, which the gradient is then multiplied by. The moments are updated in place except
        when written out (``m = beta1 * m + ...``)."""
        s, frozen, adam = self.s, self.is_bug("frozen-parameters"), self.s.adaptive == "adam"
        lr = self.rate() if scale == "scale" else scale
        pairs = [(p, f"scale * {g}" if scale == "scale" else g) for p, g in pairs]
        ks = s.keys
        out = ["n_steps += 1"] if adam else []
        if s.update == "direct":
            for (p, g), k in zip(pairs, ks):
                m, v = self.moment("m", k), self.moment("v", k)
                if adam:
                    out += [f"{m} = beta1 * {m} + (1.0 - beta1) * {g}", f"{v} = beta2 * {v} + (1.0 - beta2) * {g} ** 2",
                            f"{p} -= {lr} * ({m} / (1.0 - beta1 ** n_steps)) / (np.sqrt({v} / (1.0 - beta2 ** n_steps)) + eps)"]
                else:
                    out += [f"{v} = rho * {v} + (1.0 - rho) * {g} ** 2", f"{p} -= {lr} * {g} / (np.sqrt({v}) + eps)"]
            return out
        if s.update == "helper":
            if adam:
                return out + [f"adam({p}, {g}, {self.moment('m', k)}, {self.moment('v', k)}, n_steps, {lr})"
                              for (p, g), k in zip(pairs, ks)]
            return [f"rmsprop({p}, {g}, {self.moment('v', k)}, {lr})" for (p, g), k in zip(pairs, ks)]
        ps, gs = ", ".join(p for p, _ in pairs), ", ".join(g for _, g in pairs)
        vs = ", ".join(self.moment("v", k) for k in ks)
        if adam:
            ms = ", ".join(self.moment("m", k) for k in ks)
            body = ["    mean *= beta1", "    mean += (1.0 - beta1) * g", "    sq *= beta2", "    sq += (1.0 - beta2) * g * g",
                    f"    step = {lr} * (mean / (1.0 - beta1 ** n_steps)) / (np.sqrt(sq / (1.0 - beta2 ** n_steps)) + eps)"]
            head = f"for p, g, mean, sq in zip(({ps}), ({gs}), ({ms}), ({vs})):"
        else:
            body = ["    sq *= rho", "    sq += (1.0 - rho) * g * g", f"    step = {lr} * g / (np.sqrt(sq) + eps)"]
            head = f"for p, g, sq in zip(({ps}), ({gs}), ({vs})):"
        return out + [head, *body, "    p = p - step" if frozen else "    p -= step"]

    def adaptive_helpers(self) -> list[str]:
        """The constants of Adam or RMSProp, and their helper (update ``helper``), updating in place."""
        s = self.s
        if s.adaptive == "none":
            return []
        frozen = self.is_bug("frozen-parameters")
        if s.adaptive == "adam":
            lines = [f"beta1, beta2, eps = {BETAS[0]}, {BETAS[1]}, 1e-8", "", ""]
            if s.update == "helper":
                lines += ["def adam(p, g, m, v, n_steps, lr):",
                          '    """One Adam step on p in place: the moments m and v updated in place, bias-corrected."""',
                          "    m *= beta1", "    m += (1.0 - beta1) * g", "    v *= beta2", "    v += (1.0 - beta2) * g * g",
                          "    m_hat = m / (1.0 - beta1 ** n_steps)", "    v_hat = v / (1.0 - beta2 ** n_steps)",
                          "    p = p - lr * m_hat / (np.sqrt(v_hat) + eps)" if frozen
                          else "    p -= lr * m_hat / (np.sqrt(v_hat) + eps)", "", ""]
            return lines
        lines = [f"rho, eps = {BETAS[0]}, 1e-8", "", ""]
        if s.update == "helper":
            lines += ["def rmsprop(p, g, v, lr):",
                      '    """One RMSProp step on p in place: the mean squared gradient v updated in place."""',
                      "    v *= rho", "    v += (1.0 - rho) * g * g",
                      "    p = p - lr * g / (np.sqrt(v) + eps)" if frozen else "    p -= lr * g / (np.sqrt(v) + eps)", "", ""]
        return lines

    def reset_lines(self) -> list[str]:
        if self.s.grads != "buffers" or self.is_bug("stale-accumulator"):
            return []
        out = []
        for k in self.s.keys:
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

    def dims(self, k: str) -> tuple[str, str]:
        """(fan in, fan out) of parameter ``k``'s layer, as the program spells them."""
        return self.widths()[int(k[1]) - 1], self.widths()[int(k[1])]

    def widths(self) -> list[str]:
        """The layers' widths as the program spells them: the input's is read from the data inside ``fit``, the
        output's counted from the labels (labels ``counted``)."""
        n_in = "n_in" if self.s.api == "fit" else str(N_IN)
        n_out = "n_out" if self.s.labels == "counted" else str(N_CLASSES)
        return [n_in, "hidden", *(["hidden2"] if self.s.depth == "3" else []), n_out]

    def shape(self, k: str) -> str:
        fan_in, fan_out = self.dims(k)
        if k[0] == "b":
            return fan_out if self.s.layout == "rows" else f"({fan_out}, 1)"
        return f"({fan_in}, {fan_out})" if self.s.layout == "rows" and self.s.orient != "out_in" else f"({fan_out}, {fan_in})"

    def dtype_arg(self) -> str:
        """``, dtype=np.float32`` for a float32 program (an argument of np.array, np.zeros, np.eye)."""
        return ", dtype=np.float32" if self.s.dtype == "float32" else ""

    def init_weight(self, k: str) -> str:
        fan_in, fan_out = self.dims(k)
        hidden_layer = int(k[1]) < len(self.widths()) - 1
        gain = "2.0" if self.s.act == "relu" and hidden_layer else "1.0"
        if self.s.init == "normal":
            scaled = f"rng.normal(0.0, 1.0, {self.shape(k)}) * np.sqrt({gain} / {fan_in})"
            saturating = f"rng.normal(0.0, 1.0, {self.shape(k)})"
        else:
            limit = f"6.0 / ({fan_in} + {fan_out})" if self.s.init == "xavier" else f"6.0 / {fan_in}"
            scaled = f"rng.uniform(-1.0, 1.0, {self.shape(k)}) * np.sqrt({limit})"
            # the fan-in dropped from the limit (std 1.4, like N(0, 1) without its 1/sqrt(fan_in)); an unscaled
            # uniform(-1, 1) (std 0.58) left 39-41% of sigmoid units saturated, one program within 10 points of its twin
            saturating = f"rng.uniform(-1.0, 1.0, {self.shape(k)}) * np.sqrt(6.0)"
        out = saturating if k == "W1" and self.is_bug("saturating-init") else scaled
        if self.is_bug("tiny-init"):
            out = f"rng.normal(0.0, 1.0, {self.shape(k)}) * 0.01"
        return f"({out}).astype(np.float32)" if self.s.dtype == "float32" else out

    def init_bias(self, k: str) -> str:
        return f"np.zeros({self.shape(k)}{self.dtype_arg()})"

    # the model's state ---------------------------------------------------------------------------------
    def init_lines(self) -> list[str]:
        """Statements creating the model's state (roots), in the scope that owns it."""
        c, s = self.s.container, self.s
        buffers, template, momentum = s.grads == "buffers", s.reset == "template", self.momentum
        keys = s.keys
        init = {k: self.init_weight(k) if k[0] == "W" else self.init_bias(k) for k in keys}
        moments = {"none": [], "adam": ["m", "v"], "rmsprop": ["v"]}[s.adaptive]
        out: list[str] = []
        if self.per_layer:
            L = self.root("layers")
            if s.params == "tuples":
                out += [f"{L} = [", *(f"    ({init[w]}, {init['b' + w[1]]})," for w in keys[0::2]), "]"]
                zeros = f"[[np.zeros_like(W), np.zeros_like(b)] for W, b in {L}]"
            else:
                out += [f"{L} = [", *(f'    {{"W": {init[w]}, "b": {init["b" + w[1]]}}},' for w in keys[0::2]), "]"]
                zeros = f"[{{k: np.zeros_like(a) for k, a in layer.items()}} for layer in {L}]"
            for name, wanted in (("grads", buffers), ("zeros", template), ("vel", momentum), *((m, True) for m in moments)):
                if wanted:
                    out.append(f"{self.root(name)} = {zeros}")
        elif c in ("dict", "dict_cache"):
            out += [f"{self.root('params')} = {{", *(f'    "{k}": {init[k]},' for k in keys), "}"]
            for name, wanted in (("grads", buffers), ("zeros", template), ("vel", momentum), *((m, True) for m in moments)):
                if wanted:
                    out.append(f"{self.root(name)} = {{k: np.zeros_like(v) for k, v in {self.root('params')}.items()}}")
        elif c == "attrs":
            if not self.cls:
                out.append("net = Net()")
            for k in keys:
                out.append(f"{self.P(k)} = {init[k]}")
            for k in keys:
                if buffers:
                    out.append(f"{self.G(k)} = np.zeros_like({self.P(k)})")
                if template:
                    out.append(f"{self.Z(k)} = np.zeros_like({self.P(k)})")
                if momentum:
                    out.append(f"{self.V(k)} = np.zeros_like({self.P(k)})")
                out += [f"{self.moment(m, k)} = np.zeros_like({self.P(k)})" for m in moments]
        elif c == "list":
            out += [f"{self.root('weights')} = [{', '.join(init[k] for k in keys if k[0] == 'W')}]",
                    f"{self.root('biases')} = [{', '.join(init[k] for k in keys if k[0] == 'b')}]"]
            for (w, b), wanted in ((("grad_w", "grad_b"), buffers), (("zero_w", "zero_b"), template),
                                   (("vel_w", "vel_b"), momentum), *(((f"{m}_w", f"{m}_b"), True) for m in moments)):
                if wanted:
                    out += [f"{self.root(w)} = [np.zeros_like(w) for w in {self.root('weights')}]",
                            f"{self.root(b)} = [np.zeros_like(b) for b in {self.root('biases')}]"]
        elif c == "layers":
            n_in, n_out = self.widths()[0], self.widths()[-1]
            hidden = f"Dense(hidden, hidden2, True, rng), Dense(hidden2, {n_out}, False, rng)" if s.depth == "3" \
                else f"Dense(hidden, {n_out}, False, rng)"
            out.append(f"{self.root('layers')} = [Dense({n_in}, hidden, True, rng), {hidden}]")
        else:
            for k in keys:
                out.append(f"{k} = {init[k]}")
            for k in keys:
                if buffers:
                    out.append(f"{self.G(k)} = np.zeros_like({k})")
                if template:
                    out.append(f"{self.Z(k)} = np.zeros_like({k})")
                if momentum:
                    out.append(f"{self.V(k)} = np.zeros_like({k})")
                out += [f"{self.moment(m, k)} = np.zeros_like({k})" for m in moments]
        return out

    def dense_class(self) -> list[str]:
        """``class Dense`` for the layers container: forward/backward with their own caches (and buffers)."""
        s, rows = self.s, self.s.layout == "rows"
        shape = "(n_in, n_out)" if rows and s.orient != "out_in" else "(n_out, n_in)"
        bshape = "n_out" if rows else "(n_out, 1)"
        gain = "2.0" if s.act == "relu" else "1.0"
        if s.init == "normal":
            init = f"rng.normal(0.0, 1.0, {shape}) * np.sqrt(({gain} if activation else 1.0) / n_in)"
            if self.is_bug("saturating-init"):
                init = f"rng.normal(0.0, 1.0, {shape}) * (1.0 if activation else np.sqrt(1.0 / n_in))"
        else:
            limit = "6.0 / (n_in + n_out)" if s.init == "xavier" else "6.0 / n_in"
            init = f"rng.uniform(-1.0, 1.0, {shape}) * np.sqrt({limit})"
            if self.is_bug("saturating-init"):
                init = f"rng.uniform(-1.0, 1.0, {shape}) * np.sqrt(6.0 if activation else {limit})"
        if self.is_bug("tiny-init"):
            init = f"rng.normal(0.0, 1.0, {shape}) * 0.01"
        if s.dtype == "float32":
            init = f"({init}).astype(np.float32)"
        out = ["class Dense:", "    def __init__(self, n_in, n_out, activation, rng):",
               f"        self.W = {init}", f"        self.b = np.zeros({bshape}{self.dtype_arg()})",
               "        self.activation = activation"]
        if s.grads == "buffers":
            out += ["        self.dW = np.zeros_like(self.W)", "        self.db = np.zeros_like(self.b)"]
        if s.reset == "template":
            out += ["        self.zero_W = np.zeros_like(self.W)", "        self.zero_b = np.zeros_like(self.b)"]
        if self.momentum:
            out += ["        self.vW = np.zeros_like(self.W)", "        self.vb = np.zeros_like(self.b)"]
        for m in {"none": [], "adam": ["m", "v"], "rmsprop": ["v"]}[s.adaptive]:
            out += [f"        self.{m}W = np.zeros_like(self.W)", f"        self.{m}b = np.zeros_like(self.b)"]
        t = ".T" if s.orient == "out_in" else ""
        z = f"{self.mm('x', 'self.W' + t)} + self.b" if rows else f"{self.mm('self.W', 'x')} + self.b"
        out += ["", "    def forward(self, x):", "        self.x = x", f"        self.z = {z}",
                "        self.a = act(self.z) if self.activation else self.z", "        return self.a", ""]
        extra = ", scale" if s.grads == "inline" else ""
        dz = "d * act_prime(self.z, self.a) if self.activation else d"
        if self.is_bug("missing-derivative"):
            dz = "d"
        ax = self.axis_sum()[0]
        out += [f"    def backward(self, d{extra}):", f"        dz = {dz}",
                f"        dW = {('dz.T @ self.x' if t else 'self.x.T @ dz') if rows else 'dz @ self.x.T'}"
                f"{' + wd * self.W' if s.decay == 'l2' else ''}",
                f"        db = dz.sum({ax})",
                f"        dx = {('dz @ self.W' if t else 'dz @ self.W.T') if rows else 'self.W.T @ dz'}"]
        if s.grads == "returned":
            out.append("        return dx, dW, db")
        elif s.grads == "buffers":
            out += ["        self.dW += dW", "        self.db += db", "        return dx"]
        else:
            out += ["        " + line for line in self.update_lines([("self.W", "dW"), ("self.b", "db")], "scale",
                                                                    ["self.vW", "self.vb"])]
            out.append("        return dx")
        return out

    # forward and backward ------------------------------------------------------------------------------
    def forward_lines(self) -> list[str]:
        s = self.s
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
        elif s.depth == "3":
            final = "softmax(z3)" if s.loss == "ce" else "z3"
            body += [f"z1 = {self.affine('x', 'W1', 'b1')}", "h1 = act(z1)", f"z2 = {self.affine('h1', 'W2', 'b2')}",
                     "h2 = act(z2)", f"z3 = {self.affine('h2', 'W3', 'b3')}", f"out = {final}"]
            if s.container == "dict_cache":
                p = self.root("params")
                body += [f'{p}["{k}"] = {v}' for k, v in zip(("Z1", "A1", "Z2", "A2", "A3"), self.caches())]
                if s.output == "returned":
                    body.append("return out")
            elif s.output == "returned":
                body.append(f"return {', '.join(self.caches())}")
            else:
                st = self.state()
                body += [f"{st}.{v} = {v}" for v in self.caches()]
        else:
            body += [f"z1 = {self.affine('x', 'W1', 'b1')}", "h = act(z1)", f"z2 = {self.affine('h', 'W2', 'b2')}",
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

    def affine(self, x: str, w: str, b: str) -> str:
        rows, t = self.s.layout == "rows", ".T" if self.s.orient == "out_in" else ""
        return f"{self.mm(x, self.P(w) + t) if rows else self.mm(self.P(w), x)} + {self.P(b)}"

    def mm(self, a: str, b: str) -> str:
        """The matrix product ``a b`` as the forward spells it (tutorial axis ``matmul``)."""
        return {"at": f"{a} @ {b}", "dot": f"np.dot({a}, {b})", "einsum": f'np.einsum("ij,jk->ik", {a}, {b})'}[self.s.matmul]

    def l2(self, k: str) -> str:
        """`` + wd * W`` added to weight ``k``'s gradient (decay ``l2``), else nothing."""
        return f" + wd * {self.P(k)}" if self.s.decay == "l2" else ""

    def caches(self) -> list[str]:
        """What the forward computes on its way to the output (the backward reads them)."""
        return ["z1", "h", "out"] if self.s.depth == "2" else ["z1", "h1", "z2", "h2", "out"]

    def globals_decl(self, body: list[str]) -> list[str]:
        if self.s.container != "globals":
            return []
        keys = self.s.keys
        names = [n for n in (*keys, *(f"g{k}" for k in keys), *(f"v{k}" for k in keys), *(f"m{k}" for k in keys))
                 if any(re.match(rf"\s*{n}\s*[-+]?=", line) for line in body)]
        return [f"    global {', '.join(names)}"] if names else []

    def backward_args(self) -> str:
        s = self.s
        if s.container == "layers":
            return "t, out" if s.output == "returned" else "t"
        if s.container != "dict_cache" and s.output == "returned":
            return f"x, t, {', '.join(self.caches())}"
        return "x, t"

    def delta_lines(self, name: str) -> list[str]:
        """The output's delta ``(out - t) / n``; integer labels are first made one-hot (``T = np.eye(k)[t]``)."""
        n = "x.shape[0]" if self.s.layout == "rows" else "x.shape[1]"
        if self.s.container == "layers":
            n = "t.shape[0]" if self.s.layout == "rows" else "t.shape[1]"
        t, out = "t", []
        if self.int_labels:
            out, t = [self.one_hot("T", "t")], "T"
            if self.s.container == "layers":
                n = "len(t)"
        if self.is_bug("sign-flip"):
            return out + [f"{name} = ({t} - out) / {n}"]
        if self.is_bug("summed-gradient") and self.s.batching == "batched":
            return out + [f"{name} = out - {t}"]
        return out + [f"{name} = (out - {t}) / {n}"]

    def one_hot(self, name: str, labels: str) -> str:
        """``name = np.eye(k)[labels]``: integer labels made one-hot, ``k`` the output's width (columns: transposed)."""
        if self.s.layout == "rows":
            return f"{name} = np.eye(out.shape[1], dtype=out.dtype)[{labels}]"
        return f"{name} = np.eye(out.shape[0], dtype=out.dtype)[{labels}].T"

    def backward_lines(self) -> list[str]:
        s, rows = self.s, self.s.layout == "rows"
        args = self.backward_args() + (", scale" if s.grads == "inline" else "")
        out = [self.sig("backward", args)]
        body: list[str] = []
        if s.container == "layers":
            if s.output == "stored":
                body.append(f"out = {self.state()}.out")
            body += self.delta_lines("d")
            L = self.root("layers")
            if s.grads == "returned":
                body += ["grads = []", f"for layer in reversed({L}):", "    d, dW, db = layer.backward(d)",
                         "    grads = [dW, db] + grads", "return grads"]
            else:
                body += [f"for layer in reversed({L}):",
                         "    d = layer.backward(d, scale)" if s.grads == "inline" else "    d = layer.backward(d)"]
            return out + ["    " + b for b in body]
        if s.depth == "3":
            return out + self.globals_decl(self.backward3()) + ["    " + b for b in self.backward3()]
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
        tw = self.s.orient == "out_in"
        body += [*self.delta_lines("d2"),
                 f"dW2 = {('d2.T @ h' if tw else 'h.T @ d2') if rows else 'd2 @ h.T'}{self.l2('W2')}", f"db2 = d2.sum({ax})",
                 f"dh = {'d2 @ ' + self.P('W2') + ('' if tw else '.T') if rows else self.P('W2') + '.T @ d2'}",
                 f"dz1 = {dz1}",
                 f"dW1 = {('dz1.T @ x' if tw else 'x.T @ dz1') if rows else 'dz1 @ x.T'}{self.l2('W1')}", f"db1 = dz1.sum({ax})"]
        if s.grads == "returned":
            body.append("return dW1, db1, dW2, db2")
        elif s.grads == "buffers":
            body += [f"{self.G(k)} += d{k}" for k in KEYS]
        else:
            body += self.update_lines([(self.P(k), f"d{k}") for k in KEYS], "scale", [self.V(k) for k in KEYS])
        return out + self.globals_decl(body) + ["    " + b for b in body]

    def backward3(self) -> list[str]:
        """The body of a three-layer backward (not the layers container)."""
        s, rows = self.s, self.s.layout == "rows"
        body: list[str] = []
        caches = ", ".join(self.caches())
        if s.container == "dict_cache":
            p = self.root("params")
            body.append(f"{caches} = " + ", ".join(f'{p}["{k}"]' for k in ("Z1", "A1", "Z2", "A2", "A3")))
        elif s.output == "stored":
            st = self.state()
            body.append(f"{caches} = " + ", ".join(f"{st}.{v}" for v in self.caches()))
        ax = self.axis_sum()[0]

        tw = s.orient == "out_in"

        def back(d: str, a: str, i: int) -> list[str]:
            """dW_i, db_i from the delta ``d`` at layer i's output and its input ``a``."""
            dw = (f"{d}.T @ {a}" if tw else f"{a}.T @ {d}") if rows else f"{d} @ {a}.T"
            return [f"dW{i} = {dw}{self.l2(f'W{i}')}", f"db{i} = {d}.sum({ax})"]

        def down(d: str, i: int, dh: str) -> str:
            return f"{dh} = {d + ' @ ' + self.P(f'W{i}') + ('' if tw else '.T') if rows else self.P(f'W{i}') + '.T @ ' + d}"

        body += [*self.delta_lines("d3"), *back("d3", "h2", 3), down("d3", 3, "dh2"), "dz2 = dh2 * act_prime(z2, h2)",
                 *back("dz2", "h1", 2), down("dz2", 2, "dh1"),
                 "dz1 = dh1" if self.is_bug("missing-derivative") else "dz1 = dh1 * act_prime(z1, h1)",
                 *back("dz1", "x", 1)]
        keys = s.keys
        if s.grads == "returned":
            body.append(f"return {', '.join(f'd{k}' for k in keys)}")
        elif s.grads == "buffers":
            body += [f"{self.G(k)} += d{k}" for k in keys]
        else:
            body += self.update_lines([(self.P(k), f"d{k}") for k in keys], "scale", [self.V(k) for k in keys])
        return body

    # a training step -----------------------------------------------------------------------------------
    def forward_call(self, x: str) -> str:
        s = self.s
        if s.container == "layers" or s.container == "dict_cache":
            return f"out = {self.call('forward', x)}" if s.output == "returned" else self.call("forward", x)
        return f"{', '.join(self.caches())} = {self.call('forward', x)}" if s.output == "returned" else self.call("forward", x)

    def step_lines(self, per_sample_sum: bool = False) -> list[str]:
        """Forward and backward of one batch (or one sample) ``x, t``; the gradients in the names
        that :meth:`apply_lines` reads."""
        s = self.s
        logged = ["losses.append(loss)"] if s.log == "loss" else []
        if s.combined != "none":
            combined = self.call("loss_and_grads", "x, t")
            if per_sample_sum:
                return [f"loss, g = {combined}", *logged, "sums = list(g) if sums is None else [a + b for a, b in zip(sums, g)]"]
            return [f"loss, grads = {combined}", *logged]
        lines = [self.forward_call("x")]
        if s.log == "loss":
            lines.append(f"losses.append(loss_of({self.out_ref()}, t))")
        bw = self.call("backward", self.backward_args() + (f", {self.rate()}" if s.grads == "inline" else ""))
        if s.grads == "returned":
            if per_sample_sum:
                lines += [f"g = {bw}", "sums = list(g) if sums is None else [a + b for a, b in zip(sums, g)]"]
            else:
                lines.append(f"grads = {bw}")
        else:
            lines.append(bw)
        return lines

    def out_ref(self) -> str:
        """The network's output after a forward call, as the step can read it."""
        if self.s.output == "returned":
            return "out"
        return f'{self.root("params")}["A{self.s.depth}"]' if self.s.container == "dict_cache" else f"{self.state()}.out"

    def combined_lines(self) -> list[str]:
        """``loss_and_grads``: the forward and backward of a batch, returning ``(loss, grads)`` (combined axis)."""
        if self.s.combined == "none":
            return []
        bw = self.call("backward", self.backward_args())
        return [self.sig("loss_and_grads", "x, t"), '    """The batch\'s mean loss and the gradients of the parameters."""',
                "    " + self.forward_call("x"), f"    return loss_of({self.out_ref()}, t), {bw}", ""]

    def apply_lines(self, scale: str, per_sample_sum: bool = False) -> list[str]:
        s = self.s
        if s.grads == "inline":
            return []
        clip: list[str] = []
        if s.grads == "returned":
            src = "sums" if per_sample_sum else "grads"
            pairs = [(self.P(k), f"{src}[{i}]") for i, k in enumerate(s.keys)]
            if s.clip == "norm":
                clip = [f"{src} = clip_norm({src}, {MAX_NORM})"]
        else:
            pairs = [(self.P(k), self.G(k)) for k in s.keys]
        return clip + self.update_lines(pairs, scale, [self.V(k) for k in s.keys]) + self.reset_lines()

    def rate(self) -> str:
        """The name of this epoch's learning rate: ``lr``, or ``rate`` under a schedule (see :meth:`epoch_lines`)."""
        return "lr" if self.s.schedule == "constant" else "rate"

    def epoch_lines(self) -> list[str]:
        """One epoch of training over the training set (the body of ``for epoch in range(epochs):``): this epoch's
        rate under a schedule (handed to the optimizer object), then the steps."""
        rate = {"constant": [], "step": ["rate = lr * 0.5 ** (epoch // 3)"],
                "inverse": ["rate = lr / (1.0 + 0.1 * epoch)"]}[self.s.schedule]
        if rate and self.s.stepper == "object":
            rate.append("opt.lr = rate")
        return rate + (["losses = []"] if self.s.log == "loss" else []) + self.epoch_steps()

    def epoch_steps(self) -> list[str]:
        """The steps of one epoch over the training set."""
        s, rows, lists, dt = self.s, self.s.layout == "rows", self.s.data == "lists", self.dtype_arg()
        n = "len(train_set)" if lists else "n_train"
        gen = f"batches({'train_set' if lists else 'X_train, y_train'}, batch_size, rng)"

        def indent(body: list[str]) -> list[str]:
            return ["    " + b for b in body]

        def sample_xt(j: str) -> list[str]:
            if self.int_labels:
                x = sample_xt_onehot(j)[:-1]
                return x + ["t = np.array([label])" if lists else f"t = y_train[{j}:{j} + 1]"]
            return sample_xt_onehot(j)

        def sample_xt_onehot(j: str) -> list[str]:
            if lists:
                return [f"x_list, label = train_set[{j}]",
                        f"x = np.array(x_list, ndmin=2{dt})" if rows else f"x = np.array(x_list{dt})",
                        f"t = target_for(label).reshape({'1, -1' if rows else '-1, 1'})"]
            return [f"x = X_train[{j}:{j} + 1]" if rows else f"x = X_train[:, {j}:{j} + 1]",
                    f"t = target_for(y_train[{j}]).reshape({'1, -1' if rows else '-1, 1'})"]

        if s.batching == "single":
            if s.loop == "generator":
                return [f"for x, t in {gen}:"] + indent(self.step_lines() + self.apply_lines(self.rate()))
            body = sample_xt("j") + self.step_lines() + self.apply_lines(self.rate())
            if s.loop == "permutation":
                return [f"for j in {self.permutation(n)}:"] + indent(body)
            if s.loop == "while":
                return [f"order = {self.permutation(n)}", "i = 0", f"while i < {n}:"] + indent(["j = order[i]", *body, "i += 1"])
            return [f"order = {self.permutation(n)}", "for j in order:"] + indent(body)
        # the loop's head, and the lines that take a batch's indices (idx) or its (x, t) at the top of its body
        tail: list[str] = []
        if s.loop == "generator":
            out, body = [f"for {'x, t' if s.batching == 'batched' else 'xb, tb'} in {gen}:"], []
        elif s.loop == "permutation":
            out, body = [f"for idx in np.array_split({self.permutation(n)}, {n} // batch_size):"], []
        elif s.loop == "while":
            out = [f"order = {self.permutation(n)}", "start = 0", f"while start < {n}:"]
            body, tail = ["idx = order[start:start + batch_size]"], ["start += batch_size"]
        else:
            out = [f"order = {self.permutation(n)}", f"for start in range(0, {n}, batch_size):"]
            body = ["idx = order[start:start + batch_size]"]
        if s.batching == "batched":
            if s.loop == "generator":
                pass
            elif lists:
                body += ["batch = [train_set[k] for k in idx]",
                         f"x = np.array([xs for xs, _ in batch]{dt})" if rows
                         else f"x = np.hstack([np.array(xs{dt}) for xs, _ in batch])",
                         "t = np.array([label for _, label in batch])" if self.int_labels else
                         "t = np.array([target_for(label) for _, label in batch])" + ("" if rows else ".T")]
            else:
                body += ["x = X_train[idx]" if rows else "x = X_train[:, idx]",
                         "t = y_train[idx]" if self.int_labels else
                         "t = np.array([target_for(label) for label in y_train[idx]])" + ("" if rows else ".T")]
            body += self.step_lines() + self.apply_lines(self.rate())
        else:
            if s.grads == "returned":
                body.append("sums = None")
            if s.loop == "generator":
                count = "len(xb)" if rows else "xb.shape[1]"
                body.append(f"for k in range({count}):")
                pick = ["x = xb[k:k + 1]", "t = tb[k:k + 1]"] if rows else ["x = xb[:, k:k + 1]", "t = tb[:, k:k + 1]"]
                if self.int_labels:
                    pick[1] = "t = tb[k:k + 1]"
            else:
                count = "len(idx)"
                body.append("for j in idx:")
                pick = sample_xt("j")
            body += indent(pick + self.step_lines(per_sample_sum=True))
            scale = self.rate() if self.is_bug("summed-gradient") else f"{self.rate()} / {count}"
            if s.adaptive != "none":  # the sum made a mean; the rate is the optimizer's own (see adaptive_lines)
                scale = f"1.0 / {count}"
            body.append(f"scale = {scale}")
            body += self.apply_lines("scale", per_sample_sum=True)
        return out + indent(body + tail)

    def accuracy_lines(self) -> list[str]:
        s = self.s
        axis = 1 if s.layout == "rows" else 0
        if s.container in ("layers", "dict_cache") and s.output == "returned":
            get = [f"out = {self.call('forward', 'X')}"]
        elif s.output == "returned":
            get = [f"out = {self.call('forward', 'X')}[{len(self.caches()) - 1}]"]
        else:
            where = f'{self.root("params")}["A{s.depth}"]' if s.container == "dict_cache" else f"{self.state()}.out"
            get = [self.call("forward", "X"), f"out = {where}"]
        if s.api == "fit":
            return [self.sig("predict", "X")] + ["    " + g for g in get] + [f"    return np.argmax(out, axis={axis})", "",
                    self.sig("score", "X, labels"), "    return float(np.mean(self.predict(X) == labels))"]
        return [self.sig("accuracy", "X, labels")] + ["    " + g for g in get] + [
            f"    return float(np.mean(np.argmax(out, axis={axis}) == labels))"]

    # the whole program -----------------------------------------------------------------------------------
    def preamble(self) -> list[str]:
        s, rows = self.s, self.s.layout == "rows"
        lines = ["import sys", ""]
        if s.place == "thread":
            lines = ["import sys", "import threading", ""]
        if s.loader == "csv":
            lines = ["import csv", *lines]
        lines += ["import numpy as np", "", "DATA = sys.argv[1]", f"lr = {s.lr}"]
        if self.momentum:
            lines.append(f"mu = {s.mu}")
        if s.decay == "l2":
            lines.append(f"wd = {WEIGHT_DECAY}")
        lines += [f"epochs = {s.epochs}", f"batch_size = {s.batch_size}", f"hidden = {s.hidden}"]
        if s.depth == "3":
            lines.append(f"hidden2 = {s.hidden2}")
        lines.append(f"n_train = {N_TRAIN}")
        if s.stop == "early":
            lines += [f"n_val = {N_VAL}", f"patience = {PATIENCE}"]
        if not self.int_labels:
            lines += [f"smoothing = {SMOOTHING}", f"EYE = np.eye({N_CLASSES}{self.dtype_arg()})"]
        if s.shuffle == "global":
            lines.append(f"np.random.seed({s.seed})")
        lines += ["", ""]
        if not self.int_labels:
            lines += ["def target_for(label):", '    """The one-hot target smoothed toward the class prior of the training labels."""']
            if self.is_bug("mutated-constant"):
                lines += ["    t = EYE[int(label)]", "    t *= 1.0 - smoothing"]
            else:
                lines += ["    t = EYE[int(label)] * (1.0 - smoothing)"]
            lines += ["    t += smoothing * PRIOR", "    return t", "", ""]
        acts = {"tanh": ("np.tanh(z)", "1.0 - a ** 2"), "sigmoid": ("1.0 / (1.0 + np.exp(-z))", "a * (1.0 - a)"),
                "relu": ("np.maximum(z, 0.0)", "(z > 0).astype(float)")}[s.act]
        if s.relu == "leaky":
            acts = ("np.where(z > 0, z, 0.01 * z)", "np.where(z > 0, 1.0, 0.01)")
        ax = 1 if rows else 0
        lines += ["def act(z):", f"    return {acts[0]}", "", "", "def act_prime(z, a):", f"    return {acts[1]}", "", "",
                  "def softmax(z):", f"    e = np.exp(z - z.max(axis={ax}, keepdims=True))",
                  f"    return e / e.sum(axis={ax}, keepdims=True)", "", ""]
        if self.uses_loss():
            n = "out.shape[0]" if rows else "out.shape[1]"
            lines += ["def loss_of(out, t):"]
            if self.int_labels:
                lines += ['    """The batch\'s mean loss; the integer labels t made one-hot here."""', "    " + self.one_hot("T", "t")]
            else:
                lines += ['    """The batch\'s mean loss against the targets t."""', "    T = t"]
            lines += [f"    return float(-np.sum(T * np.log(out + 1e-12)) / {n})" if s.loss == "ce"
                      else f"    return float(0.5 * np.sum((out - T) ** 2) / {n})", "", ""]
        lines += self.adaptive_helpers()
        if s.params == "tuples" or s.adaptive != "none":
            pass
        elif s.update == "helper" and self.momentum:
            lines += ["def momentum(p, v, g, scale):", "    v *= mu", "    v -= scale * g",
                      "    p = p + v" if self.is_bug("frozen-parameters") else "    p += v", "", ""]
        elif s.update == "helper" and s.stepper == "plain":
            body = "    p = p - scale * g" if self.is_bug("frozen-parameters") \
                else "    p -= scale * g"
            lines += ["def sgd(p, g, scale):", body, "", ""]
        if s.stepper == "object":
            lines += ["class SGD:", '    """Gradient descent on a list of parameter arrays, updated in place."""', "",
                      "    def __init__(self, params, lr):", "        self.params = params", "        self.lr = lr", "",
                      "    def step(self, grads):", "        for p, g in zip(self.params, grads):",
                      "            p = p - self.lr * g" if self.is_bug("frozen-parameters") else "            p -= self.lr * g",
                      "", ""]
        if s.clip == "norm":
            lines += ["def clip_norm(grads, max_norm):", '    """The gradients scaled to a global norm of at most max_norm."""',
                      "    norm = np.sqrt(sum(np.sum(g * g) for g in grads))", "    if norm > max_norm:",
                      "        return [g * (max_norm / norm) for g in grads]", "    return grads", "", ""]
        if s.loop == "generator":
            lines += self.generator_lines()
        lines += self.data_lines()
        return lines

    def uses_loss(self) -> bool:
        """Whether the program computes its loss (to print it, or in ``loss_and_grads``)."""
        return self.s.log == "loss" or self.s.combined != "none"

    def permutation(self, n: str) -> str:
        return f"{'rng' if self.s.shuffle == 'rng' else 'np.random'}.permutation({n})"

    def generator_lines(self) -> list[str]:
        """``def batches(...)``: a generator of shuffled (inputs, targets) batches (loop ``generator``)."""
        rows, t = self.s.layout == "rows", "" if self.s.layout == "rows" else ".T"
        target, targets = ("label", "y[idx]") if self.int_labels else ("target_for(label)", f"np.array([target_for(label) for label in y[idx]]){t}")
        if self.int_labels:
            t = ""
        if self.s.data == "lists":
            x = f"np.array([xs for xs, _ in batch]{self.dtype_arg()})" if rows \
                else f"np.hstack([np.array(xs{self.dtype_arg()}) for xs, _ in batch])"
            return ["def batches(train_set, batch_size, rng):", '    """Shuffled batches of (inputs, targets)."""',
                    f"    order = {self.permutation('len(train_set)')}",
                    "    for start in range(0, len(train_set), batch_size):",
                    "        batch = [train_set[k] for k in order[start:start + batch_size]]",
                    f"        yield {x}, np.array([{target} for _, label in batch]){t}", "", ""]
        return ["def batches(X, y, batch_size, rng):", '    """Shuffled batches of (inputs, targets)."""',
                f"    order = {self.permutation('len(y)')}", "    for start in range(0, len(y), batch_size):",
                "        idx = order[start:start + batch_size]",
                f"        yield {'X[idx]' if rows else 'X[:, idx]'}, {targets}",
                "", ""]

    def data_lines(self) -> list[str]:
        s, rows = self.s, self.s.layout == "rows"
        ct = self.is_bug("constant-targets")
        wrong_col = self.variant == "wrong-column"
        early = s.stop == "early"
        test_from = "n_train + n_val" if early else "n_train"
        counted = ["n_out = int(y_train.max()) + 1"] if s.labels == "counted" and s.api != "fit" else []
        if s.data == "arrays":
            label = "data[:n_train, 0].astype(int)"
            if ct:
                label = "data[:n_train, 1].astype(int)" if wrong_col else "scaled[:n_train, 0].astype(int)"
                if s.prep == "standard" and not wrong_col:
                    label = "(data[:n_train, 0] / 255.0).astype(int)"
            scaled = "(data / 255.0).astype(np.float32)" if s.dtype == "float32" else "data / 255.0"
            read = {"default": ['data = np.loadtxt(DATA, delimiter=",")'],
                    "genfromtxt": ['data = np.genfromtxt(DATA, delimiter=",")'],
                    "csv": ['with open(DATA, newline="") as f:',
                            "    data = np.array([[float(v) for v in row] for row in csv.reader(f)])"]}[s.loader]
            t = "" if rows else ".T"
            if s.prep == "scale":
                inputs = [f"scaled = {scaled}"]
                part = "scaled[{}, 1:]"
            else:
                # standardised with the training rows' mean and std, the std floored (a pixel constant over the
                # training rows would divide by zero)
                raw = "data[:, 1:]" if s.prep == "standard" else "scaled[:, 1:]"
                if s.dtype == "float32" and s.prep == "standard":
                    raw = "data[:, 1:].astype(np.float32)"
                floor = "1.0" if s.prep == "standard" else "0.05"
                inputs = ([f"scaled = {scaled}"] if s.prep == "both" else []) + [
                    f"pixels = {raw}", "mean = pixels[:n_train].mean(axis=0)",
                    f"std = np.maximum(pixels[:n_train].std(axis=0), {floor})", "standard = (pixels - mean) / std"]
                part = "standard[{}]"
            val = [part.format("n_train:n_train + n_val") + t, "data[n_train:n_train + n_val, 0].astype(int)"]
            return [*read, *inputs, f"X_train = {part.format(':n_train')}{t}", f"y_train = {label}",
                    *([f"X_val = {val[0]}", f"y_val = {val[1]}"] if early else []),
                    f"X_test = {part.format(test_from + ':')}{t}", f"y_test = data[{test_from}:, 0].astype(int)", *counted,
                    *([] if self.int_labels else [f"PRIOR = np.bincount(y_train, minlength={N_CLASSES}) / len(y_train)"]),
                    "", ""]
        label = "int(row[0])"
        if ct:
            label = "int(row[1])" if wrong_col else "int(sample[0])"
        x = "sample[1:]" if rows else "[[v] for v in sample[1:]]"
        read = {"default": ["with open(DATA) as f:", '    rows = [[float(v) for v in line.split(",")] for line in f]'],
                "genfromtxt": ['rows = np.genfromtxt(DATA, delimiter=",").tolist()'],
                "csv": ['with open(DATA, newline="") as f:', "    rows = [[float(v) for v in row] for row in csv.reader(f)]"]}
        if s.labels == "counted":
            counted = ["n_out = max(label for _, label in train_set) + 1"]

        def held(name: str, part: str) -> list[str]:
            return [f"X_{name} = np.array([[v / 255.0 for v in row[1:]] for row in rows[{part}]]{self.dtype_arg()})"
                    + ("" if rows else ".T"), f"y_{name} = np.array([int(row[0]) for row in rows[{part}]])"]

        return [*read[s.loader], "train_set = []", "for row in rows[:n_train]:", "    sample = [v / 255.0 for v in row]",
                f"    train_set.append(({x}, {label}))", *(held("val", "n_train:n_train + n_val") if early else []),
                *held("test", test_from + ":"), *counted,
                *([] if self.int_labels else
                  [f"PRIOR = np.bincount([label for _, label in train_set], minlength={N_CLASSES}) / len(train_set)"]),
                "", ""]

    def before_epochs(self) -> list[str]:
        """Lines before the epoch loop, in its scope: the optimizer object; the best accuracy so far (keep ``best``)."""
        s, out = self.s, []
        if s.stepper == "object":
            out.append(f"opt = SGD([{', '.join(self.P(k) for k in s.keys)}], lr)")
        if s.keep == "best":
            out.append("best_acc, best = -1.0, None")
        if s.adaptive == "adam":
            out.append("n_steps = 0")
        if s.stop == "early":
            out.append("best_val, waited = -1.0, 0")
        return out

    def report_lines(self, report: str, acc_call: str) -> list[str]:
        """The end of an epoch: its test accuracy printed (log ``loss``: the epoch's mean loss; ``none``: nothing;
        keep ``best``: and a copy of the parameters kept when it is the best so far; stop ``early``: the loop left
        after ``patience`` epochs without a better validation accuracy, saying so)."""
        s = self.s
        printed = [report % ("acc" if s.keep == "best" else acc_call)] if s.log == "accuracy" else []
        if s.log == "loss":
            printed = ['print(f"epoch {epoch + 1}: loss {np.mean(losses):.4f}", flush=True)']
        out = printed
        if s.keep == "best":
            out = [f"acc = {acc_call}", *printed, "if acc > best_acc:", "    best_acc = acc",
                   f"    best = [{', '.join(self.P(k) + '.copy()' for k in s.keys)}]"]
        if s.stop == "early":
            val = acc_call.replace("X_test, y_test", "X_val, y_val")
            out += [f"val_acc = {val}", "if val_acc > best_val:", "    best_val, waited = val_acc, 0", "else:",
                    "    waited += 1", "    if waited >= patience:",
                    f'        print(f"{EARLY_STOP} {{epoch + 1}}", flush=True)', "        break"]
        return out

    def after_epochs(self) -> list[str]:
        """Lines after the epoch loop (keep ``best``: the best parameters written back in place)."""
        if self.s.keep != "best":
            return []
        return [f"for p, saved in zip(({', '.join(self.P(k) for k in self.s.keys)}), best):", "    p[...] = saved"]

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
        funcs = self.forward_lines() + [""] + self.backward_lines() + [""] + self.combined_lines() + self.accuracy_lines()
        epoch = self.epoch_lines()
        report = 'print(f"epoch {epoch + 1}: test accuracy {%s:.4f}", flush=True)'
        acc_call = self.call(self.acc_fn(), "X_test, y_test")
        tuples = s.params == "tuples"
        if s.api == "fit":
            lines += self.fit_class(funcs, epoch, report, acc_call)
        elif s.place == "class":
            lines += ["class Network:", "    def __init__(self, rng):"]
            lines += ["        " + x for x in self.init_lines()]
            lines += [""] + ["    " + f if f else "" for f in funcs]
            lines += ["", "    def train(self, train_data, rng):"] + (
                ["        train_set = train_data"] if s.data == "lists" else ["        X_train, y_train = train_data"])
            lines += ["        " + b for b in self.before_epochs()]
            lines += ["        for epoch in range(epochs):"] + ["            " + e for e in epoch]
            lines += ["            " + r for r in self.report_lines(report, acc_call)]
            lines += ["        " + a for a in self.after_epochs()]
            lines += ["", "", f"rng = np.random.default_rng({s.seed})", "model = Network(rng)",
                      f"model.train({'train_set' if s.data == 'lists' else '(X_train, y_train)'}, rng)",
                      'print(f"final test accuracy {model.accuracy(X_test, y_test):.4f}")']
        elif s.place == "closure":
            lines += ["def make_model(rng):"]
            if stores_state:
                lines += ["    class State:", "        pass", "", "    state = State()"]
            lines += ["    " + x for x in self.init_lines()]
            lines += [""] + ["    " + f if f else "" for f in funcs]
            lines += ["", f"    def train({self.train_data_args()}):"] + (["        nonlocal layers"] if tuples else [])
            lines += ["        " + b for b in self.before_epochs()]
            lines += ["        for epoch in range(epochs):"]
            lines += ["            " + e for e in epoch] + ["            " + r for r in self.report_lines(report, acc_call)]
            lines += ["        " + a for a in self.after_epochs()]
            lines += ["", "    return train, accuracy", "", "",
                      f"rng = np.random.default_rng({s.seed})", "train_model, accuracy = make_model(rng)",
                      f"train_model({self.train_data_args()})",
                      'print(f"final test accuracy {accuracy(X_test, y_test):.4f}")']
        elif s.place == "functions":
            lines += funcs + ["", "", self.sig("train", self.train_data_args() + ", rng"),
                              *self.globals_decl(epoch), *("    " + b for b in self.before_epochs()),
                              "    for epoch in range(epochs):"]
            lines += ["        " + e for e in epoch] + ["        " + r for r in self.report_lines(report, acc_call)]
            lines += ["    " + a for a in self.after_epochs()] + (["    return layers"] if tuples else [])
            lines += ["", "", "def main():", f"    rng = np.random.default_rng({s.seed})"]
            if s.container == "globals":
                lines += ["    global " + ", ".join(self.global_names())]
            lines += ["    " + x for x in self.init_lines()]
            lines += [f"    {'layers = ' if tuples else ''}{self.call('train', self.train_data_args() + ', rng')}",
                      f'    print(f"final test accuracy {{{acc_call}:.4f}}")', "", "",
                      'if __name__ == "__main__":', "    main()"]
        else:  # module level or a thread, the model in module globals
            lines += [f"rng = np.random.default_rng({s.seed})"] + self.init_lines() + ["", ""] + funcs + ["", ""]
            if s.place == "module":
                lines += [*self.before_epochs(), "for epoch in range(epochs):"] + ["    " + e for e in epoch]
                lines += ["    " + r for r in self.report_lines(report, acc_call)] + self.after_epochs()
            else:
                lines += ["def train():", *self.globals_decl(epoch), *(["    global layers"] if tuples else []),
                          *("    " + b for b in self.before_epochs()),
                          "    for epoch in range(epochs):"]
                lines += ["        " + e for e in epoch] + ["        " + r for r in self.report_lines(report, acc_call)]
                lines += ["    " + a for a in self.after_epochs()]
                lines += ["", "", "worker = threading.Thread(target=train)", "worker.start()", "worker.join()"]
            lines += [f'print(f"final test accuracy {{{acc_call}:.4f}}")']
        return lines

    def acc_fn(self) -> str:
        """The name of the accuracy function: ``score`` of a ``fit``/``predict`` class."""
        return "score" if self.s.api == "fit" else "accuracy"

    def fit_class(self, funcs: list[str], epoch: list[str], report: str, acc_call: str) -> list[str]:
        """A scikit-learn-like ``Classifier``: ``fit(X, y)`` creates the parameters from the data's shapes and
        trains, ``predict(X)`` returns labels and ``score(X, y)`` the accuracy (api ``fit``)."""
        s = self.s
        n_in = "X_train.shape[1]" if s.layout == "rows" else "X_train.shape[0]"
        lines = ["class Classifier:", '    """A two-layer network with a scikit-learn-like interface."""', "",
                 "    def __init__(self, seed):", "        self.rng = np.random.default_rng(seed)", "",
                 "    def fit(self, X_train, y_train):", "        rng = self.rng", f"        n_in = {n_in}"]
        if s.labels == "counted":
            lines.append("        n_out = int(y_train.max()) + 1")
        lines += ["        " + x for x in self.init_lines()] + ["        " + b for b in self.before_epochs()]
        lines += ["        for epoch in range(epochs):"] + ["            " + e for e in epoch]
        lines += ["            " + r for r in self.report_lines(report, acc_call)]
        lines += ["        " + a for a in self.after_epochs()] + ["        return self", ""]
        lines += ["    " + f if f else "" for f in funcs]
        lines += ["", "", f"model = Classifier({s.seed}).fit(X_train, y_train)",
                  'print(f"final test accuracy {model.score(X_test, y_test):.4f}")']
        return lines

    def global_names(self) -> list[str]:
        keys = self.s.keys
        names = list(keys)
        if self.s.grads == "buffers":
            names += [self.G(k) for k in keys]
        if self.s.reset == "template":
            names += [self.Z(k) for k in keys]
        if self.momentum:
            names += [self.V(k) for k in keys]
        names += [self.moment(m, k) for m in {"none": [], "adam": ["m", "v"], "rmsprop": ["v"]}[self.s.adaptive] for k in keys]
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
    tier = "w" if style.wild else "t" if style.tutorial else "x" if style.extended else ""
    name = f"np{tier}{style.seed:04d}_{bug or 'healthy'}"
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


def plan(n_styles: int, bugs_per_style: int = 3, start: int = 0, bugs: tuple[str, ...] = tuple(BUGS),
         extended: bool = False, tutorial: bool = False, wild: bool = False) -> list[Program]:
    """Programs for a sweep: ``n_styles`` styles drawn from seeds ``start, start + 1, ...``, each as its healthy
    twin followed by ``bugs_per_style`` planted bugs, the least used applicable ones first (so every bug is
    planted about equally often and in every kind of style). ``extended``: the styles also draw the axes of
    :data:`EXTENDED_AXES` (the same styles and bugs otherwise); ``tutorial`` those of :data:`TUTORIAL_AXES` too,
    ``wild`` those of :data:`WILD_AXES` too."""
    used = dict.fromkeys(bugs, 0)
    out: list[Program] = []
    for seed in range(start, start + n_styles):
        style = sample_style(seed, extended=extended, tutorial=tutorial, wild=wild)
        out.append(write(style))
        fits = sorted((b for b in bugs if applicable(style, b)), key=lambda b: (used[b], random.Random(f"{seed}{b}").random()))
        for bug in fits[:bugs_per_style]:
            used[bug] += 1
            out.append(write(style, bug))
    return out
