"""Is the update a program applied the gradient of its own loss? Finite differences of its own forward.

Given, for one update boundary of a running program,

* ``forward()``: the program's own forward pass on the batch it just trained on,
  computing with ``params`` (float64 working copies that this module perturbs
  in place and always puts back; see :mod:`netdoctor.observe.numpy.replay`),
* the targets of that batch and a loss: the program's own loss function when one
  was found, else every loss its arithmetic could match (:func:`assumed_losses`:
  squared error, cross-entropy on softmax, on probabilities or on log-softmax),
* what the program applied, in as many readings as were seen (:class:`Applied`):
  the gradient it returned, what it added to its buffers, the update divided by
  nothing (``-(after - before)``; plain SGD gives ``lr`` times the gradient), or
  arrays among the locals of the function that computed it,

:func:`check_update` measures central differences of ``loss(forward())`` at
sampled entries of every tensor (the step policy and the kink-aware judge of
:mod:`netdoctor.gradients`), reads one factor per reading from the tensors that
agree (the learning rate, a batch size, the ½ of a squared error: a factor
shared by every tensor is not a mismatch) and judges every tensor against it.
A tensor is right when one reading of it is that factor times the derivative;
momentum, weight decay and clipping change the applied update but leave the
gradient among the locals, so they are never a mismatch. What it returns is
evidence (:class:`~netdoctor.rules.backprop.UpdateCheck`); the rule
:func:`~netdoctor.rules.backprop.gradient_mismatch_in_updates` words it.

Cost: a directional pass first (:class:`_Directions`): the forward runs twice
along the signs of what each tensor applied (:data:`DIRECTIONS`), every entry
moved at once, and the central difference ``(L(w + h d) - L(w - h d)) / 2h``
is compared with ``<a, d> / 2h`` for every reading ``a``; then twice along one
random direction of every tensor at once (:class:`_Joint`), which sees
the errors the signs cannot. A step that is right everywhere (the healthy
case) is decided there (:func:`_screen`). Only
when a tensor disagrees (or the step climbs, or needs weight decay or
clipping read) does the forward run twice per sampled entry
(``max_coords`` per tensor), to say which entries are wrong and how. A
full-batch program's forward over 4,000 rows costs as much as its whole
training step, so the pass takes the check of six tensors from about 150
forwards to 14 (four tensors: 10, against 16 with a random direction of each). The outputs are cached in both passes so every
candidate loss is judged from the same evaluations. The mean over the
batch is never replaced by a subset of its rows: the program's loss is a
function of the whole batch, and a subset's gradient is another quantity.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import field, replace
from typing import Any, cast

import numpy as np

from netdoctor._lazy import dataclass
from netdoctor.buffers.peek import holds_numbers
from netdoctor.gradients.engine import NOISE_FACTOR, Problem, steps
from netdoctor.gradients.judge import judge_per_coordinate
from netdoctor.gradients.options import DEFAULT_H, Options, validate
from netdoctor.gradients.result import TensorCheck
from netdoctor.nn.stats import median
from netdoctor.rules.backprop import STEP_ADDED, TensorVerdict, UpdateCheck, WorstEntry

__all__ = [
    "DIRECTION", "DIRECTIONS", "Applied", "compared", "LossChoice", "TensorVerdict", "UpdateCheck", "assumed_losses", "check_update", "climbing", "MAX_COORDS",
    "RATIO_TOL", "MAX_DECAY", "gradient_site", "weight_decay",
]

MAX_COORDS = 12
"""Entries sampled per tensor: two forward passes each; a wrong backward pass is wrong almost everywhere."""
RATIO_TOL = 1e-3
"""Relative spread below which the ratios applied / numerical count as one factor (hand-written
float64 gradients agree with central differences to ~1e-8; float32 arithmetic to ~1e-4)."""
SILENT = (1.0, 0.0)
"""The (ratio, spread) of a tensor whose derivative and applied array are zero at every sampled entry."""
RTOL = 1e-4
"""Per-entry tolerance of the judge: the applied quantity is often a difference of two stored
arrays (buffer or weights after minus before), which loses a few digits to cancellation."""


@dataclass(frozen=True)
class Applied:
    """One reading of what the program applied, per tensor name (arrays the shapes of the parameters)."""

    kind: str
    """``"returned"``, ``"buffer"`` (added to the buffers during the call), ``"written"`` (what buffers changed in place
    hold after the call: the gradient when the call overwrote them), ``"velocity"`` (what a velocity took in
    during the call, as the step applies it: ``lr * g`` for a heavy ball, the learning rate in it as in an update),
    ``"update"`` (``-(after - before)`` of the parameters) or ``"local"`` (an array among the locals of the function
    that computed it)."""
    arrays: dict[str, np.ndarray]
    where: str = ""
    """file:line of the update or of the function that computed it."""
    names: dict[str, str] = field(default_factory=dict)
    """Tensor name -> what the program calls this array (``dW1``, ``self.weight_updates[0]``)."""
    eps: dict[str, float] = field(default_factory=dict)
    """Tensor name -> the machine epsilon of the program's array where it is coarser than float64 (an ``update``
    reading of float32 weights: ``W_before - W_after`` is exact only to about ``eps |W|`` per entry)."""


@dataclass(frozen=True)
class LossChoice:
    """A loss of the forward's output: the program's own, or one its arithmetic may match."""

    name: str
    fn: Callable[[np.ndarray], float]
    assumed: bool
    guessed: bool = False
    """The targets it compares are an array handed along with the batch that looks like no targets (not one-hot,
    class indices, codes or a distribution over the classes): which way the loss goes is not known either."""
    scale: tuple[str, float] | None = None
    """For the program's own loss: ``(name, r)`` when it is an assumed loss (a sum over the rows) divided by ``r``,
    measured on the step's output (see :func:`own_scale`): ``r`` is the batch size for a mean over the rows."""


# -- losses ---------------------------------------------------------------------------------
OWN_SCALE_TOL = 1e-3
"""Relative agreement of the two measured ratios that makes the program's loss a multiple of an assumed one."""


def own_scale(own: Callable[[np.ndarray], float], out: np.ndarray, targets: Any) -> tuple[str, float] | None:
    """The program's own loss as an assumed loss (a sum over the rows, :func:`assumed_losses`) divided by ``r``:
    ``(name, r)``, or None when it is no multiple of any.

    The two are compared on two changes of the output (``out + d1``, ``out + d2``, small random ones): for
    ``own = g / r + c`` (``c``: anything that does not depend on the output, a weight penalty) the changes of ``g``
    are ``r`` times the changes of ``own``, in both. A mean over ``n`` rows gives ``r = n`` (``2n`` against the
    squared error without its 1/2), a sum gives 1, a mean over every entry ``n x C``. Its step's scale is then read
    against the sum: what the reduction of the program's loss would otherwise leave unknown."""
    o = np.asarray(out, dtype=np.float64)
    if o.ndim != 2 or o.size < 4 or not np.isfinite(o).all():
        return None
    rng = np.random.default_rng(0)
    size = 1e-2 * (float(np.std(o)) or 1.0)
    moves = [size * rng.standard_normal(o.shape) for _ in range(2)]
    try:
        base = own(o)
        deltas = [own(o + d) - base for d in moves]
    except Exception:  # noqa: BLE001 - the program's own function, run on other values: anything may go wrong
        return None
    if not all(math.isfinite(x) and x != 0 for x in [base, *deltas]):
        return None
    for g in assumed_losses(o, targets):
        g0 = g.fn(o)
        ratios = [(g.fn(o + d) - g0) / x for d, x in zip(moves, deltas)]
        if all(math.isfinite(r) and r > 0 for r in ratios) and abs(ratios[0] - ratios[1]) <= OWN_SCALE_TOL * ratios[0]:
            return g.name, float(np.mean(ratios))
    return None


def _class_axis(out: np.ndarray, t: np.ndarray) -> int:
    """The axis of ``out`` that holds the classes: a column vector's 0, else where the targets are one-hot."""
    if out.ndim < 2:
        return -1
    if out.shape[1] == 1:
        return 0
    if out.shape[0] == 1:
        return 1
    if t.shape == out.shape:
        if np.allclose(t.sum(axis=1), 1.0) and not np.allclose(t.sum(axis=0), 1.0):
            return 1
        if np.allclose(t.sum(axis=0), 1.0) and not np.allclose(t.sum(axis=1), 1.0):
            return 0
    return 1


def _one_unit(out: np.ndarray) -> bool:
    """Whether ``out`` may be one output unit's values: a scalar, or one unit over a batch (``(B, 1)`` or ``(1, B)``)."""
    return out.size == 1 or (out.ndim == 2 and 1 in out.shape)


def _targets_like(out: np.ndarray, targets: Any) -> np.ndarray | None:
    """The targets as an array of the output's shape (class indices become one-hot), or None."""
    if not issubclass(type(targets), (np.ndarray, np.number, int, float)) and not (
            issubclass(type(targets), (list, tuple)) and holds_numbers(targets)):
        return None  # no targets, and numpy would ask the object of the program how to read it
    try:
        t = np.asarray(targets, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if t.shape == out.shape:
        return t
    if out.ndim == 1 and t.ndim == 0 and out.size > 1:  # one sample's class index, for its 1-D output
        k = float(t)
        return np.eye(out.size)[int(k)] if k == round(k) and 0 <= k < out.size else None
    if t.size == out.size:
        return t.reshape(out.shape)
    if out.ndim == 2 and t.size in out.shape and np.all(t == np.round(t)) and t.min() >= 0:
        axis = 1 if out.shape[0] == t.size and t.size != out.shape[1] else 0 if out.shape[1] == t.size else 1
        n_cls = out.shape[axis]
        if t.max() >= n_cls:
            return None
        eye = np.eye(n_cls)[t.reshape(-1).astype(int)]
        return eye if axis == 1 else eye.T
    return None


def assumed_losses(out: Any, targets: Any, *, guessed: bool = False) -> list[LossChoice]:
    """The losses the program's arithmetic could be the gradient of, for this output and these targets
    (``guessed``: the targets look like no targets, see :attr:`LossChoice.guessed`).

    Squared error always (its sum, mean and ½ differ by a factor, which is not a mismatch);
    cross-entropy on softmax of the output when the targets are one-hot, class indices or another
    distribution over the classes (soft targets),
    on the output itself when it is a probability vector, on log-softmax when it is one; binary cross-entropy
    ``-sum(t log y + (1 - t) log(1 - y))`` when the outputs are sigmoid units and the targets 0 or 1 (:func:`_binary`).
    """
    o = np.asarray(out, dtype=np.float64)
    t = _targets_like(o, targets)
    if t is None:
        return []
    def squared(y: np.ndarray, t: np.ndarray = t) -> float:
        return float(np.sum((np.asarray(y, dtype=np.float64) - t) ** 2))

    def ce_probabilities(y: np.ndarray, t: np.ndarray = t) -> float:
        return float(-np.sum(t * np.log(np.asarray(y, dtype=np.float64))))

    def ce_log_softmax(y: np.ndarray, t: np.ndarray = t) -> float:
        return float(-np.sum(t * np.asarray(y, dtype=np.float64)))

    out_losses = [LossChoice("squared error (assumed)", squared, True, guessed)]
    if _one_unit(o) and t.size and np.all(t == 0):
        # Targets of 0 beside a one-unit output read two ways: the value 0, or class index 0, whose one-hot row
        # np.eye(1)[0] is 1 (a program that counts its classes from labels that are all 0 builds one output).
        def squared_index(y: np.ndarray, t: np.ndarray = t) -> float:
            return float(np.sum((np.asarray(y, dtype=np.float64) - (t + 1.0)) ** 2))

        out_losses.append(LossChoice("squared error against the one-hot row of class 0 (assumed)", squared_index,
                                     True, guessed))
    axis = _class_axis(o, t)
    # one-hot, or soft targets that are a distribution over the classes (0.955 / 0.005 codes, label smoothing)
    onehot = bool(np.all(t >= 0) and np.allclose(t.sum(axis=axis), 1.0))
    if onehot and o.size > 1:
        def ce_softmax(y: np.ndarray, t: np.ndarray = t, axis: int = axis) -> float:
            z = np.asarray(y, dtype=np.float64)
            z = z - z.max(axis=axis, keepdims=True)
            return float(-np.sum(t * (z - np.log(np.exp(z).sum(axis=axis, keepdims=True)))))

        out_losses.append(LossChoice("cross-entropy on softmax of the output (assumed)", ce_softmax, True, guessed))
        if np.all(o > 0) and np.allclose(o.sum(axis=axis), 1.0, atol=1e-6):
            out_losses.append(LossChoice("cross-entropy on the output probabilities (assumed)", ce_probabilities, True,
                                         guessed))
        if np.all(o <= 0) and np.allclose(np.exp(o).sum(axis=axis), 1.0, atol=1e-6):
            out_losses.append(LossChoice("cross-entropy on the log-softmax output (assumed)", ce_log_softmax, True,
                                         guessed))
    if _binary(o, t, axis):
        def bce(y: np.ndarray, t: np.ndarray = t) -> float:
            p = np.asarray(y, dtype=np.float64)
            return float(-np.sum(t * np.log(p) + (1.0 - t) * np.log1p(-p)))

        out_losses.append(LossChoice("binary cross-entropy on the output probabilities (assumed)", bce, True, guessed))
    return out_losses


def _binary(o: np.ndarray, t: np.ndarray, axis: int) -> bool:
    """Whether binary cross-entropy fits: every output strictly inside (0, 1) (sigmoid units), every target 0 or 1, and
    the outputs no distribution over classes (those are softmax's: cross-entropy on the probabilities above). One
    sigmoid unit with binary labels (a course's ``A2 = sigmoid(Z2)`` and ``-(Y log A2 + (1 - Y) log(1 - A2))``), or
    several independent ones (multi-label)."""
    if o.size < 2 or not (np.all(o > 0) and np.all(o < 1) and np.all((t == 0) | (t == 1))):
        return False
    return _one_unit(o) or not np.allclose(o.sum(axis=axis), 1.0, atol=1e-6)


# -- finite differences of the forward, shared by every candidate loss -------------------------
class _Outputs:
    """The forward's outputs at ``x +- h_k e_i``, computed once and judged under every loss."""

    def __init__(self, forward: Callable[[], Any], arrays: list[np.ndarray]) -> None:
        self.forward = forward
        self.arrays = arrays
        self.cache: dict[tuple[int, float, bytes], tuple[list[np.ndarray], list[np.ndarray], np.ndarray]] = {}
        self.evaluations = 0
        self.joint = 0
        """Joint directions run (:class:`_Joint`: 1 once some loss explained every tensor along its signs)."""

    def out(self) -> np.ndarray:
        self.evaluations += 1
        return np.array(self.forward(), dtype=np.float64)

    def around(self, k: int, idx: np.ndarray, h: float) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
        key = (k, h, idx.tobytes())
        if key not in self.cache:
            flat = self.arrays[k].reshape(-1)  # the working copies are contiguous float64
            old = flat[idx].copy()
            xp, xm = steps(old, h)
            plus, minus = [], []
            try:
                for m, i in enumerate(idx):
                    flat[i] = xp[m]
                    plus.append(self.out())
                    flat[i] = xm[m]
                    minus.append(self.out())
                    flat[i] = old[m]
            finally:
                flat[idx] = old
            self.cache[key] = (plus, minus, xp - xm)
        return self.cache[key]

    def differences(self, loss: LossChoice) -> Callable[[int, np.ndarray, float], dict[str, np.ndarray]]:
        """:func:`netdoctor.gradients.engine.central`'s result for ``loss``, from the cached outputs."""

        def batched(k: int, idx: np.ndarray, h: float) -> dict[str, np.ndarray]:
            plus, minus, step = self.around(k, idx, h)
            fp = np.array([loss.fn(o) for o in plus])
            fm = np.array([loss.fn(o) for o in minus])
            noise = NOISE_FACTOR * np.finfo(np.float64).eps * np.maximum(np.abs(fp), np.abs(fm)) / step
            return {"numeric": (fp - fm) / step, "noise": noise, "fp": fp, "fm": fm, "step": step}

        return batched

    def problem(self, names: list[str], arrays: list[np.ndarray], loss: LossChoice,
                batched: Callable[[int, np.ndarray, float], dict[str, np.ndarray]]) -> Problem:
        def evaluate() -> float:
            return loss.fn(self.out())

        return Problem(names=names, arrays=arrays, evaluate=evaluate, batched=batched, subject="the program's forward")


# -- the directional pass: a few directions per tensor, entries only where they disagree ---------------
DIRECTIONS = 1
"""Directions per tensor of the directional pass (:class:`_Directions`, the applied signs): two forward passes each;
then one random direction of every tensor at once (:class:`_Joint`), two more in all."""
DIRECTION_STEP = 0.1
"""The directional pass's step, as a share of the entries' (see :class:`_Directions`)."""


class _Directions:
    """The forward's outputs at ``x +- h u`` for :data:`DIRECTIONS` directions ``u`` of each tensor, computed once and
    judged under every loss (a cheaper first pass than :class:`_Outputs`' entries; see :func:`_screen`).

    Every entry moves, by ``h max(1, |x_i|)`` as a coordinate step does (:func:`~netdoctor.gradients.engine.steps`),
    with ``h`` a tenth of the entries' step: the first direction with the signs of what the program applied (the
    gradient it computed, else its update; at an entry it left alone, a random sign), the others with random signs.
    With ``d = (x + h u) - (x - h u)`` as represented, the central difference

        ``D(u) = (L(x + h u) - L(x - h u)) / 2h = <g, d> / 2h + O(h^2)``

    is the directional derivative along ``d / 2h``, and an applied array ``a`` gives ``<a, d> / 2h`` there. An
    update ``a = c g`` gives the ratio ``c`` in every direction; ``a = c g + e`` gives ``c + <e, d> / <g, d>``,
    which an error ``e`` of any pattern moves at first order. Along the applied signs ``<g, d>`` is ``|c|^-1`` times
    the sum of ``|a_i|``-weighted terms of one sign: no cancellation makes it small. Along random signs it is a sum of
    random-signed terms, which an error cancels to ``RATIO_TOL`` by chance with probability about 1e-3.

    The step is smaller than the entries' because every entry moves at once: a unit's input moves by ``h`` times the
    norm of its inputs, and each unit that crosses a relu kink inside the step errs the difference by about its
    share; a tenth keeps that error near 1e-5 of the derivative on a batch of 4,000 columns of MNIST (at ``h`` it
    reached 3e-4, a third of the tolerance). The rounding noise grows tenfold, to about ``1e-8 |f|``.
    The working copies are put back exactly after each pair of evaluations.
    """

    def __init__(self, outputs: _Outputs, signs: list[np.ndarray | None], h: float, seed: int,
                 count: int = DIRECTIONS) -> None:
        self.outputs = outputs
        self.h = h
        self.signs = signs
        self.rngs = [np.random.default_rng([seed, k, 2]) for k in range(len(outputs.arrays))]
        """Per tensor, its private generator (the program's generators are never drawn from)."""
        self.moves: list[list[np.ndarray]] = [[] for _ in outputs.arrays]
        """Per tensor, per direction: ``d / 2h`` (the represented move over the difference's denominator)."""
        self.plus: list[list[np.ndarray]] = [[] for _ in outputs.arrays]
        self.minus: list[list[np.ndarray]] = [[] for _ in outputs.arrays]
        for k in range(len(outputs.arrays)):
            for _ in range(count):
                self.add(k)

    def add(self, k: int) -> None:
        """One more direction of tensor ``k``: the applied signs first, random signs after."""
        arr, h, rng = self.outputs.arrays[k], self.h, self.rngs[k]
        saved = arr.copy()
        try:
            u = 2.0 * rng.integers(0, 2, size=arr.shape) - 1.0
            applied = self.signs[k]
            if not self.moves[k] and applied is not None:
                u = np.where(applied != 0, np.sign(applied), u)
            u *= np.maximum(1.0, np.abs(saved))
            xp, xm = saved + h * u, saved - h * u
            np.copyto(arr, xp)
            self.plus[k].append(self.outputs.out())
            np.copyto(arr, xm)
            self.minus[k].append(self.outputs.out())
            self.moves[k].append((xp - xm) / (2 * h))
        finally:
            np.copyto(arr, saved)

    def differences(self, loss: LossChoice) -> list[dict[str, np.ndarray]]:
        """Per tensor: ``numeric`` (``D(u)`` per direction) and its rounding ``noise`` (``64 eps |f| / 2h``)."""
        out = []
        for plus, minus in zip(self.plus, self.minus):
            fp = np.array([loss.fn(o) for o in plus])
            fm = np.array([loss.fn(o) for o in minus])
            noise = NOISE_FACTOR * np.finfo(np.float64).eps * np.maximum(np.abs(fp), np.abs(fm)) / (2 * self.h)
            out.append({"numeric": (fp - fm) / (2 * self.h), "noise": noise})
        return out

    def project(self, a: np.ndarray, k: int) -> np.ndarray:
        """An applied array of tensor ``k`` along its directions: ``<a, d> / 2h`` per direction."""
        flat = np.asarray(a, dtype=np.float64)
        return np.array([float(np.sum(flat * m)) for m in self.moves[k]])


def _screen_pays(arrays: Sequence[np.ndarray], max_coords: int, count: int) -> bool:
    """Whether the directional pass costs at most half the entries' pass (``2 count`` forwards per tensor against
    ``2 min(size, max_coords)``): it is run first only then (a disagreement runs both)."""
    return count > 0 and 2 * count * len(arrays) <= sum(min(a.size, max_coords) for a in arrays)


def _screen(outputs: _Outputs, names: list[str], applied: Sequence[Applied], losses: Sequence[LossChoice], h: float,
            seed: int, count: int) -> _Reading | None:
    """The reading of the directional pass (:class:`_Directions`) when it explains every tensor, else None.

    It decides alone only a step that is right everywhere: under the loss most tensors agree with (the first on a
    tie, as the entries' pass chooses), every tensor is one factor times the derivative in some reading, with that
    reading's factor shared by the tensors that agree (:func:`_reading`, as at entries), the update itself is one
    positive factor times the derivative in every tensor it moved (:func:`_update_descends`), and the loss moves
    measurably along some direction. Anything else (a tensor that disagrees, a climb, weight
    decay or clipping to read, a loss that does not move) is looked at entry by entry, as without this pass: the
    entries' pass says where and how a tensor is wrong, this one only that none is.
    """
    order = sorted(applied, key=lambda a: a.kind == "update")  # a gradient the program computed before its update
    signs = [next((np.nan_to_num(np.asarray(a.arrays[n], dtype=np.float64)) for a in order if n in a.arrays
                   and np.shape(a.arrays[n]) == np.shape(x)), None) for n, x in zip(names, outputs.arrays)]
    directions = _Directions(outputs, signs, h * DIRECTION_STEP, seed, count)
    readings = [_reading(loss, directions.differences(loss), names, applied, directions.project) for loss in losses]
    best = max(readings, key=lambda r: r.score)  # first wins ties: the program's own, or squared error
    unread = [k for k, n in enumerate(names) if n not in best.explained]
    if unread and count == 1:
        # a tensor its signs did not decide gets a random direction too, as every tensor had: the signs may move it
        # where the loss does not change (a softmax's biases all moved alike) or show it wrong
        for k in unread:
            directions.add(k)
        readings = [_reading(loss, directions.differences(loss), names, applied, directions.project) for loss in losses]
        best = max(readings, key=lambda r: r.score)
    # one random direction of every tensor at once, judged under every loss whose reading explains every tensor along
    # the signs: a loss that fits the signs only within the factor's band (an assumed cross-entropy beside the
    # program's own) is contradicted there, as a tensor's second direction contradicted it
    whole = [r for r in readings if all(n in r.explained for n in names)]
    joint = _Joint(outputs, signs, h * DIRECTION_STEP, seed) if whole else None
    agrees = {id(r): joint is not None and r in whole and joint.agrees(r, applied, names) for r in readings}
    best = max(readings, key=lambda r: (agrees[id(r)], r.score))  # first wins ties: the program's own, or squared error
    moved = any(np.any(np.abs(d["numeric"]) > 10 * d["noise"]) for d in directions.differences(best.loss))
    if not moved or best.flipped or any(n not in best.explained for n in names) or not _update_descends(best, applied,
                                                                                                       names):
        return None
    return best if agrees[id(best)] else None


JOINT_FLOOR = 1e-3
"""Tensors whose applied array along the joint direction is below this share of the largest's do not set its scale (a
bias whose gradient has almost vanished would shrink every other tensor's move to nothing measurable)."""


class _Joint:
    """The forward's outputs at ``x +- h u`` for one random direction ``u`` of every tensor at once: the error the
    applied signs cannot see (``e`` orthogonal to them: a noise-like error in every entry cancels along them to about
    ``|e| / sqrt(n)``) moves the derivative along it at first order.

    Tensor ``k`` moves by ``h alpha_k s_k w_k`` (random signs ``s_k``, ``w_k = max(1, |x_k|)``), with
    ``alpha_k = min(1, m / |a_k w_k|)`` for ``a_k`` the array whose signs its own direction took and ``m`` the smallest
    ``|a_k w_k|`` (of the tensors above :data:`JOINT_FLOOR` of the largest): each tensor adds a term of about the same
    size to ``D = (L(x + h u) - L(x - h u)) / 2h``, so an error of relative size ``eps`` in any one of ``K`` tensors
    moves ``D`` by about ``eps / sqrt(K)`` of it, as the tensor's own random direction would by ``eps``. No tensor moves
    more than its own direction would. Two forwards, shared by every candidate loss."""

    def __init__(self, outputs: _Outputs, signs: list[np.ndarray | None], h: float, seed: int) -> None:
        moves, sizes = [], []
        for k, (arr, a) in enumerate(zip(outputs.arrays, signs)):
            rng = np.random.default_rng([seed, k, 3])  # private: the program's generators are never drawn from
            u = (2.0 * rng.integers(0, 2, size=arr.shape) - 1.0) * np.maximum(1.0, np.abs(arr))
            moves.append(u)
            sizes.append(float(np.linalg.norm(a * u)) if a is not None else 0.0)
        top = max(sizes, default=0.0)
        m = min((n for n in sizes if n > JOINT_FLOOR * top), default=0.0)
        saved = [arr.copy() for arr in outputs.arrays]
        outputs.joint += 1
        try:
            for u, n in zip(moves, sizes):
                u *= min(1.0, m / n) if n > 0 and m > 0 else 1.0
            for arr, x, u in zip(outputs.arrays, saved, moves):
                np.copyto(arr, x + h * u)
            self.plus = outputs.out()
            for arr, x, u in zip(outputs.arrays, saved, moves):
                np.copyto(arr, x - h * u)
            self.minus = outputs.out()
        finally:
            for arr, x in zip(outputs.arrays, saved):
                np.copyto(arr, x)
        self.h = h
        self.moves = [((x + h * u) - (x - h * u)) / (2 * h) for x, u in zip(saved, moves)]
        """Per tensor: ``d / 2h``, the move as represented over the difference's denominator."""

    def agrees(self, reading: _Reading, applied: Sequence[Applied], names: list[str]) -> bool:
        """Whether the derivative along the direction, under ``reading``'s loss, is what its readings predict: each
        tensor's explaining array over its own ratio along its signs (within 10 RATIO_TOL of the shared factor, as
        :func:`_reading` allows; the direction must agree with it as a tensor's two directions had to), to
        :data:`RATIO_TOL` of the derivative. A derivative within 100 times its rounding noise decides nothing (False:
        the entries decide)."""
        predicted = 0.0
        for name, d in zip(names, self.moves):
            j = reading.explained[name]
            a = np.asarray(applied[j].arrays[name], dtype=np.float64)
            r = reading.ratios[(j, name)][0]
            if a.shape != d.shape or not (math.isfinite(r) and r != 0):
                return False
            predicted += float(np.sum(a * d)) / r
        fp, fm = reading.loss.fn(self.plus), reading.loss.fn(self.minus)
        measured = (fp - fm) / (2 * self.h)
        noise = NOISE_FACTOR * np.finfo(np.float64).eps * max(abs(fp), abs(fm)) / (2 * self.h)
        if not (math.isfinite(measured) and math.isfinite(predicted)) or abs(measured) <= 100 * noise:
            return False
        return abs(predicted - measured) <= RATIO_TOL * abs(measured)


def _update_descends(best: _Reading, applied: Sequence[Applied], names: list[str]) -> bool:
    """Whether the update itself was seen and is, in every tensor it moved, one positive factor times the derivative.

    Without the update, which way the step applies what was read is not known yet (the sign watch of
    :mod:`~netdoctor.observe.numpy.update_sign` reads it later and may call the step a climb, naming the entries it
    was checked at); with one tensor's update a negative multiple while its gradient is right, the step adds that
    gradient (:func:`_partly_climbing`, at entries). The directional pass leaves both to the entries."""
    j = next((i for i, a in enumerate(applied) if a.kind == "update"), None)
    c = best.factors.get(j, math.nan) if j is not None else math.nan
    if j is None or not math.isfinite(c) or c <= 0:
        return False
    ratios = [best.ratios[(j, n)] for n in names if (j, n) in best.ratios and best.ratios[(j, n)] != SILENT]
    return all(spread <= RATIO_TOL and abs(r - c) <= 10 * RATIO_TOL * abs(c) for r, spread in ratios)


# -- reading the ratios ---------------------------------------------------------------------
def _ratio(a: np.ndarray, n: np.ndarray, noise: np.ndarray | None = None) -> tuple[float, float]:
    """Median of ``a / n`` where the derivative is clearly nonzero, and the spread of those ratios.

    ``noise``: the rounding noise of each central difference (``64 eps |f| / step``); an entry whose
    derivative is within a hundred times of it (saturated units: a derivative of 1e-10 on a loss of 2)
    has a ratio off by up to a percent and gives no factor; it must only agree within its noise.
    """
    noise = np.zeros_like(n) if noise is None else noise
    scale = max(float(np.abs(n).max(initial=0.0)), 1e-300)
    big = (np.abs(n) > 1e-6 * scale) & (np.abs(n) > 100 * noise)
    if not big.any() or scale < 1e-12:
        if np.all(a == 0):
            return SILENT  # both zero: nothing to disagree about
        return math.nan, math.inf
    r = a[big] / n[big]
    med = float(median(r))
    spread = float(np.max(np.abs(r - med)) / max(abs(med), 1e-300))
    # Entries where the derivative is ~0 must be ~0 in the applied array too (a constant term is not a factor).
    rest = ~big
    if rest.any() and np.any(np.abs(a[rest] - med * n[rest]) > abs(med) * (1e-3 * scale + 100 * noise[rest]) + 1e-12):
        spread = max(spread, 1.0)
    return med, spread


def _mode(values: list[float], spreads: list[float] | None = None) -> float:
    """The value most others agree with to ``RATIO_TOL`` (ties: the last, the output side's tensor); within that
    agreeing group, the value nearest the group's median (ties: the tightest ratios, ``spreads``), so that one tensor
    moved by what else the update holds (a weight decay adds ``c * W`` to a weight's ratio, never to a bias's) does not
    set it."""
    best, votes = math.nan, 0
    for v in values:
        if not math.isfinite(v) or v == 0:
            continue
        n = sum(1 for w in values if math.isfinite(w) and abs(w - v) <= 10 * RATIO_TOL * abs(v))
        if n >= votes:
            best, votes = v, n
    if spreads is None or not math.isfinite(best):
        return best
    group = [(s, v) for v, s in zip(values, spreads) if math.isfinite(v) and abs(v - best) <= 10 * RATIO_TOL * abs(best)]
    if not group:
        return best
    # the group's median, as the member nearest to it (the tightest on a tie): one tensor's ratio read from a single
    # entry has spread 0 and may still be a decayed weight's
    mid = float(median([v for _, v in group]))
    return min(group, key=lambda sv: (abs(sv[1] - mid), sv[0]))[1]


@dataclass
class _Reading:
    """Ratios of every reading's arrays, per tensor, under one loss."""

    loss: LossChoice
    numeric: list[np.ndarray]
    ratios: dict[tuple[int, str], tuple[float, float]]  # (reading, tensor) -> (ratio, spread)
    factors: dict[int, float]
    """Reading -> the factor its agreeing tensors share."""
    explained: dict[str, int]  # tensor -> the reading that explains it
    flipped: list[str] = field(default_factory=list)
    """Tensors whose applied update is one common *negative* multiple of the derivative: the update climbs the loss."""
    silent: list[str] = field(default_factory=list)
    """Tensors explained only because nothing moved at their sampled entries (:data:`SILENT`)."""

    @property
    def score(self) -> int:
        """How many tensors this loss accounts for, as a descent or as a whole update with its sign flipped."""
        return max(len(self.explained), len(self.flipped))


def _preferred(r: _Reading) -> tuple[int, int, int]:
    """The order of the readings under the candidate losses: the most tensors accounted for, then the fewest climbing
    (one output unit fed one sample reads any target as a consistent factor whose sign is the target's: a loss the
    update descends beats one it climbs by as many tensors), then the fewest explained by a negative factor (the same
    for the gradients a velocity takes in, where the update is no reading)."""
    return r.score, -len(r.flipped), -sum(r.factors.get(j, 0.0) < 0 for j in r.explained.values())


def _read(loss: LossChoice, outputs: _Outputs, names: list[str], idx: list[np.ndarray], h: float,
          applied: Sequence[Applied]) -> _Reading:
    """The ratios of every reading at the sampled entries ``idx`` (central differences per entry)."""
    batched = outputs.differences(loss)
    diffs = [batched(k, idx[k], h) for k in range(len(names))]
    return _reading(loss, diffs, names, applied,
                    lambda a, k: np.asarray(a, dtype=np.float64).reshape(-1)[idx[k]])


def _reading(loss: LossChoice, diffs: list[dict[str, np.ndarray]], names: list[str], applied: Sequence[Applied],
             project: Callable[[np.ndarray, int], np.ndarray]) -> _Reading:
    """The ratios, factors and explained tensors of every reading, from the derivatives measured for each tensor
    (``diffs[k]``: ``numeric`` and its ``noise``, one value per measurement) and ``project(a, k)``: what an applied
    array of tensor ``k`` gives in the same measurements (its entries there, or its inner products with the
    directions moved along)."""
    numeric = [d["numeric"] for d in diffs]
    ratios: dict[tuple[int, str], tuple[float, float]] = {}
    factors: dict[int, float] = {}
    for j, app in enumerate(applied):
        for k, name in enumerate(names):
            if name in app.arrays:
                ratios[(j, name)] = _ratio(project(app.arrays[name], k), numeric[k], diffs[k]["noise"])
        # a tensor whose derivative and applied array are both zero at every sampled entry agrees with any
        # factor: it has no vote (a dead layer's three zero tensors outvoted the output bias's learning rate)
        voters = [ratios[(j, n)] for n in names if (j, n) in ratios and ratios[(j, n)][1] <= RATIO_TOL
                  and ratios[(j, n)] != SILENT]
        factors[j] = _mode([r for r, _ in voters], [s for _, s in voters])
    explained: dict[str, int] = {}
    for name in names:
        for j in range(len(applied)):
            r = ratios.get((j, name))
            if r == SILENT:
                continue
            c = factors.get(j, math.nan)
            # a negative factor explains a gradient (its sign is the program's convention: t - out added with
            # W += lr * g), never the update itself (that climbs the loss: see ``flipped``)
            if r is None or not math.isfinite(c) or c == 0 or c < 0 and applied[j].kind == "update":
                continue
            if r[1] <= RATIO_TOL and abs(r[0] - c) <= 10 * RATIO_TOL * abs(c):
                explained[name] = j
                break
    # The applied update itself one negative factor times the derivative: gradient ascent (the output
    # error's sign flipped). Only the update counts: a returned "gradient" of the negated loss that the
    # program adds (``W += lr * g``) is a descent, and its update says so.
    silent: list[str] = []
    votes = {j: sum(1 for v in explained.values() if v == j) for j in range(len(applied))}
    for name in names:  # explained by silence: by the reading the others agree with
        by = max((j for j in range(len(applied)) if ratios.get((j, name)) == SILENT
                  and math.isfinite(factors.get(j, math.nan))), key=lambda j: votes[j], default=None)
        if name not in explained and by is not None:
            explained[name] = by
            silent.append(name)
    flipped: list[str] = []
    for j, app in enumerate(applied):
        c = factors.get(j, math.nan)
        if app.kind == "update" and math.isfinite(c) and c < 0:
            flipped = [n for n in names if (j, n) in ratios and ratios[(j, n)][1] <= RATIO_TOL
                       and abs(ratios[(j, n)][0] - c) <= 10 * RATIO_TOL * abs(c)]
            break
    return _Reading(loss, numeric, ratios, factors, explained, flipped, silent)


def _clipped(a_full: np.ndarray, n: np.ndarray, idx: np.ndarray) -> float | None:
    """The bound (in the applied array's units) when it is a multiple of the derivative clipped by value
    (``lr * np.clip(g, -c, c)``), else None.

    Entries below the bound must be one multiple ``r > 0`` of the derivative (found from them; the
    learning rate); entries at the bound (the largest magnitude of the whole tensor, hit by at least two
    entries) must have the derivative's sign and a derivative at least ``bound / r``.
    """
    flat = a_full.reshape(-1)
    bound = float(np.abs(flat).max(initial=0.0))
    if bound == 0 or int(np.sum(np.abs(np.abs(flat) - bound) <= 1e-9 * bound)) < 2:
        return None
    a = flat[idx]
    at = np.abs(np.abs(a) - bound) <= 1e-9 * bound
    below = ~at & (np.abs(n) > 0)
    if below.sum() >= 2:
        r = float(median(a[below] / n[below]))
        if r <= 0 or np.any(np.abs(a[below] - r * n[below]) > 1e-4 * np.maximum(np.abs(a[below]), 1e-12)):
            return None
    else:
        # every sampled entry at the bound: the factor is not measurable, only the signs are
        r = bound / float(np.min(np.abs(n[at]))) if at.any() and np.all(n[at] != 0) else 0.0
        if r <= 0:
            return None
    clipped = np.all((np.sign(a[at]) == np.sign(n[at])) & (np.abs(n[at]) * r >= bound * (1 - 1e-6)))
    return bound if clipped else None


MAX_DECAY = 0.1
"""Largest share of a weight an update may take away as weight decay (``lr * c``) for ``c * W`` to be read as one."""
DECAY_PREFIX = "weight decay "
"""How the pattern of a tensor whose update was read as its gradient plus weight decay begins."""


def weight_decay(a: np.ndarray, n: np.ndarray, w: np.ndarray, noise: np.ndarray | None = None) -> float | None:
    """The coefficient ``c`` when the applied array is the derivative plus ``c`` times the weights, else None.

    ``a``: the applied array divided by the factor (the learning rate), ``n``: the derivative, ``w``: the weights, at
    the same sampled entries. The residual ``r = a - n`` is fitted by least squares on ``w``:
    ``c = (r . w) / (w . w)``; the fit must explain every entry to the tolerance a matching gradient is held to
    (:data:`RATIO_TOL` of the entry's size, plus the rounding noise of its central difference), and ``c`` must be
    positive (an update that pushes the weights away from zero is no decay). A residual that is no multiple of the
    weights (a wrong derivative, with or without decay) gives None; so do a reading that is the derivative already
    (``r`` within the tolerance: nothing to read) and one pointing against it (``cos(a, n) < -1/2``: ascent).
    """
    a, n, w = (np.asarray(v, dtype=np.float64).reshape(-1) for v in (a, n, w))
    noise = np.zeros_like(n) if noise is None else np.asarray(noise, dtype=np.float64).reshape(-1)
    ww = float(w @ w)
    if ww == 0 or int(np.count_nonzero(w)) < 2 or not (np.all(np.isfinite(a)) and np.all(np.isfinite(n))):
        return None
    # an update pointing against the derivative is gradient ascent, whatever small c the fit finds: when the central
    # differences are noisy (a loss grown large) the noise term of the tolerance would otherwise pass the residual -2n
    if float(a @ n) < -0.5 * float(np.linalg.norm(a) * np.linalg.norm(n)):
        return None
    r = a - n
    c = float(r @ w) / ww
    if not c > 0:
        return None
    scale = max(float(np.abs(a).max(initial=0.0)), float(np.abs(n).max(initial=0.0)))
    tol = RATIO_TOL * np.maximum(np.abs(a), np.abs(n)) + 1e-3 * RATIO_TOL * scale + 100 * noise
    if bool(np.all(np.abs(r) <= tol)):
        # the reading is the derivative already: a fitted c (1e-9, any sign) is the rounding's, no decay (a right
        # gradient returned beside an update that climbs must not excuse the update)
        return None
    return c if bool(np.all(np.abs(r - c * w) <= tol)) else None


def _decay_note(verdicts: list[TensorVerdict], loss: LossChoice) -> str:
    """The note on the tensors whose update was read as their gradient plus weight decay, or ""."""
    decayed = [v for v in verdicts if v.pattern.startswith(DECAY_PREFIX)]
    if not decayed:
        return ""
    # the coefficient is in the units of the loss compared (a mean over the batch gives a batch size times less)
    said = " or ".join(dict.fromkeys(v.pattern[len(DECAY_PREFIX):].split(" (")[0] for v in decayed))
    shares = " or ".join(dict.fromkeys(v.pattern.split("takes ")[1].split(" of")[0] for v in decayed))
    return (f"weight decay read on {', '.join(v.name for v in decayed)}: the update is the gradient of "
            f"{loss.name.replace(' (assumed)', '')} plus {said} x W, each step taking {shares} of every weight "
            "(L2 regularisation, part of the objective: the gradient is right)")


def _pattern(name: str, a: np.ndarray, ratio: float, spread: float, factor: float,
             a_sample: np.ndarray | None = None, n: np.ndarray | None = None) -> str:
    """What the wrong entries of one tensor look like, in words (``a_sample``, ``n``: applied and derivative
    at the sampled entries)."""
    if a.size > 1 and np.ptp(a) <= 1e-6 * np.abs(a).max():  # equal up to the rounding of w - lr * s
        return (f"every entry of {name}'s update is the same number ({a.reshape(-1)[0]:.3g}): one scalar for the "
                "whole tensor, not a gradient per weight")
    if math.isfinite(ratio) and spread <= RATIO_TOL:
        r = ratio / factor
        if abs(r + 1) <= 10 * RATIO_TOL:
            return f"{name}'s update has the sign of the gradient flipped (ratio -1): it climbs the loss"
        return f"{name}'s update is {r:.4g}x the gradient while the other tensors get 1x: a factor wrong in this tensor only"
    if n is not None and a_sample is not None:
        both = (np.abs(n) > 0) & (np.abs(a_sample) > 0)
        opposite = int(np.sum(both & (np.sign(a_sample) != np.sign(n))))
        if both.sum() and opposite >= 0.75 * both.sum():
            return (f"{name}'s update has the opposite sign of the derivative in {opposite} of {int(both.sum())} entries "
                    "(it climbs the loss), and its size is off too: a sign flipped together with a wrong derivative "
                    "(an activation's derivative taken for another activation)")
    return (f"the ratio to the derivative varies across {name}: the derivative itself is wrong (an activation's "
            "derivative missing or taken at the wrong point, the wrong layer's activations, or weights used after "
            "their own update)")



def _only_biases_right(verdicts: list[TensorVerdict], names: list[str], biases: set[str]) -> list[TensorVerdict]:
    """The verdicts, with the pattern of every failing weight whose ratio varies told as "only the biases are
    right" when all the weights fail and no bias does."""
    failing = {v.name for v in verdicts if not v.ok}
    if not (failing and biases and failing.isdisjoint(biases) and len(failing) == len(set(names) - biases)):
        return verdicts
    only = ("only the biases are right: the weights' gradients multiply the right deltas with the wrong "
            "activations (or the wrong layer's)")
    return [v if v.ok or "varies" not in v.pattern else TensorVerdict(
        v.name, v.kind, v.ratio, v.spread, v.ok, v.n_checked, v.n_failed, v.worst, v.hint, only, v.local_name,
        v.bias, v.source) for v in verdicts]

def gradient_site(applied: Sequence[Applied]) -> str:
    """The function that returned the gradients, or held them in its locals: it computed them, the update only applies
    them. A reading with a weight matrix's gradient only (a per-sample forward returns rows of the biases' shapes too)."""
    return next((a.where for a in applied if a.kind in ("returned", "local") and a.where and any(
        x.ndim == 2 and min(x.shape) > 1 for x in a.arrays.values())), "")


def check_update(
    forward: Callable[[], Any],
    params: dict[str, np.ndarray],
    applied: Sequence[Applied],
    losses: Sequence[LossChoice],
    *,
    where: str = "",
    max_coords: int = MAX_COORDS,
    h: float = DEFAULT_H,
    seed: int = 0,
    biases: Sequence[str] = (),
    adaptive: bool = False,
    along: float | None = None,
    velocity: str = "",
    directions: int = DIRECTIONS,
) -> UpdateCheck:
    """Check one update against finite differences of ``loss(forward())`` (see the module docstring).

    Args:
        forward: the program's forward on the batch, computing with the arrays of ``params``.
        params: name -> float64 working copy; perturbed in place and restored exactly.
        applied: the readings of what the program applied (at least one; tensors absent from a
            reading are judged on the others).
        losses: the program's own loss (one, ``assumed=False``), or the candidates of
            :func:`assumed_losses`; the one most tensors agree with is taken.
        where: file:line of the update, for messages.
        max_coords: entries sampled per tensor. h: base step (scaled by ``max(1, |x|)``).
        seed: the sampling generator's seed (private; the program's generators are never drawn from).
        biases: names of the bias tensors (for the "only the biases are right" pattern).
        adaptive: the update rule is adaptive (Adam-like: each step ~ ``m / sqrt(v)``) or reads a velocity (momentum,
            Nesterov: each step a decayed sum of gradients): the parameters' change is
            no multiple of the derivative, so it is not judged as one; only its direction tells whether a gradient
            of the opposite sign (a negative factor) is subtracted (a climb) or added (see :func:`_direction`).
        along: for a momentum rule, the sign of the steps along the gradients the program returned, measured exactly
            while discovering (:meth:`~netdoctor.observe.numpy.steps.Steps.momentum_sign`: -1 when ``p += v`` with
            ``v = mu * v - lr * g``); with the returned gradients a positive multiple of the derivative, +1 is a climb.
        velocity: the velocity's name and line, for the finding.
        directions: directions per tensor of the directional pass run first (:func:`_screen`), when it costs
            at most half the entries' pass; 0: entries only.

    Returns:
        an :class:`UpdateCheck`; its ``note`` says why nothing was judged when that is so.
    """
    names = list(params)
    arrays = [params[n] for n in names]
    outputs = _Outputs(forward, arrays)
    # an adaptive rule's change is no multiple of the derivative: it is not a reading, only its direction counts
    update, applied = _split_update(applied) if adaptive else (None, list(applied))
    if update is not None and not applied:
        return UpdateCheck(where, "", True, math.nan, "", note="not checked: a step of the rule (adaptive, or with "
                           "momentum) is no multiple of its batch's gradient, and only the update was seen")
    if not losses or not applied or not names:
        why = "no loss to compare with" if not losses else "nothing applied was seen" if not applied else "no parameters"
        return UpdateCheck(where, "", True, math.nan, "", note=f"not checked: {why}")
    # (without the update among the readings, the pass could not decide: see _update_descends)
    sweep = _screen_pays(arrays, max_coords, directions) and any(a.kind == "update" for a in applied)
    screened = _screened_check(outputs, names, applied, losses, h, seed, directions, where, set(biases)) if sweep \
        else None
    if screened is not None:
        return _finish(screened, update, along, velocity)
    swept = directions * len(names) + outputs.joint if sweep else 0
    idx = [_entries(a.size, max_coords, _entry_rng(seed, k), [r.arrays[n] for r in applied if n in r.arrays])
           for k, (n, a) in enumerate(zip(names, arrays))]
    readings = [_read(loss, outputs, names, idx, h, applied) for loss in losses]
    best = max(readings, key=_preferred)  # first wins ties: the program's own, or squared error
    loss = best.loss
    diffs = outputs.differences(loss)
    if not any(np.any(np.abs(d["numeric"]) > 10 * d["noise"]) for d in (diffs(k, idx[k], h) for k in range(len(names)))):
        return UpdateCheck(where, loss.name, loss.assumed, math.nan, "", coords=int(sum(len(i) for i in idx)),
                           directions=swept, evaluations=outputs.evaluations,
                           note=f"the loss did not move measurably at any sampled entry: {VANISHED}, nothing to compare")
    # The reading the failures are judged on: the one most tensors agree with (a per-sample gradient
    # returned inside a batch's window says more than the batch's update), the applied update on ties.
    agree = {j: sum(1 for n in names if best.explained.get(n) == j and n not in best.silent) for j in range(len(applied))}
    top = max(range(len(applied)), key=lambda j: (agree[j], -j))
    # The update itself one negative multiple of the derivative in most tensors: it climbs the loss, whatever
    # the gradients computed on the way say (a returned t - out "gradient" subtracted is still a climb).
    climbs = len(best.flipped) >= max(1, (len(names) + 1) // 2)
    if climbs:  # every tensor judged on the update, against the size of its own (negative) factor
        top = next(j for j, a in enumerate(applied) if a.kind == "update")
        best = _Reading(best.loss, best.numeric, best.ratios, best.factors, {}, best.flipped)
    primary = applied[top]
    factor = best.factors.get(top, math.nan)
    if climbs:
        factor = -factor
    elif not math.isfinite(factor) or factor == 0 or factor < 0 and primary.kind == "update":
        # No tensor of that reading agrees: judge against the factor another reading found (or 1).
        factor = next((f for f in best.factors.values() if math.isfinite(f) and f > 0), 1.0)
    verdicts = _judge(outputs, names, idx, applied, best, top, factor, h=h, seed=seed, max_coords=max_coords,
                      biases=set(biases))
    verdicts = _partly_climbing(_only_biases_right(verdicts, names, set(biases)), applied, best, names, idx, climbs)
    decay = "" if climbs else _decay_note(verdicts, loss)  # (a climb's tensors: no gradient is called right)
    judged = {v.name for v in verdicts}
    check = UpdateCheck(where, loss.name, loss.assumed, factor, primary.kind, verdicts,
                        coords=int(sum(len(i) for i in idx)), directions=swept, evaluations=outputs.evaluations,
                        note=_assumed_note(loss), readings=[a.kind for a in applied], climbs=climbs,
                        targets_guessed=loss.guessed, decay=decay, own_scale=loss.scale,
                        unjudged=[n for n in names if n not in judged])
    if update is not None and check.ok and factor < 0:
        # a gradient of the opposite sign (t - out): an adaptive step taken along it climbs the loss when it moves
        # the weights up the derivative's slope
        return _adaptive_climb(check, update, [diffs(k, idx[k], h)["numeric"] for k in range(len(names))], names, idx)
    return _finish(check, update, along, velocity)


def compared(checks: Sequence[UpdateCheck]) -> str:
    """What the checks compared, for the report's note: the directions of the directional pass, and the sampled entries
    of the checks in which a tensor disagreed along them (or that had too few entries for the pass to pay)."""
    swept = [c for c in checks if c.directions]
    entries = [c for c in checks if c.coords]
    parts = [f"along {DIRECTIONS} direction{'s' if DIRECTIONS > 1 else ''} per tensor and one of all tensors at once, "
             "every entry moved"] if swept else []
    if entries:
        where = f" in {len(entries)} of {len(checks)}, which the directions did not settle" if swept else ""
        parts.append(f"{'/'.join(map(str, sorted({c.coords for c in entries})))} sampled entries each{where}")
    return "; ".join(parts)


def _assumed_note(loss: LossChoice) -> str:
    """The check's note on the loss compared: what an assumed loss stands for, nothing for the program's own."""
    return (f"the program's loss was not seen; its gradient matches {loss.name.replace(' (assumed)', '')}"
            if loss.assumed else "")


def _screened_check(outputs: _Outputs, names: list[str], applied: Sequence[Applied], losses: Sequence[LossChoice],
                    h: float, seed: int, count: int, where: str, biases: set[str]) -> UpdateCheck | None:
    """The check decided by the directional pass alone (every tensor right along its directions: one factor, no entry
    to name; see :func:`_screen`), or None when the entries must be compared."""
    best = _screen(outputs, names, applied, losses, h, seed, count)
    if best is None:
        return None
    # the reading the factor is read on: the one most tensors agree with, the first on ties (as at entries)
    agree = {j: sum(1 for n in names if best.explained.get(n) == j and n not in best.silent) for j in range(len(applied))}
    top = max(range(len(applied)), key=lambda j: (agree[j], -j))
    verdicts = [_screened_verdict(name, best, applied, count, biases) for name in names]
    return UpdateCheck(where, best.loss.name, best.loss.assumed, best.factors[top], applied[top].kind, verdicts, coords=0,
                       directions=count * len(names) + outputs.joint, evaluations=outputs.evaluations,
                       note=_assumed_note(best.loss),
                       readings=[a.kind for a in applied], targets_guessed=best.loss.guessed, own_scale=best.loss.scale)


def _screened_verdict(name: str, best: _Reading, applied: Sequence[Applied], count: int,
                      biases: set[str]) -> TensorVerdict:
    """A tensor the directional pass explained (:func:`_screen`): right, on the reading that explains it, its ratio
    and spread over its ``count`` directions."""
    j = best.explained[name]
    app = applied[j]
    ratio, spread = best.ratios[(j, name)]
    return TensorVerdict(name, app.kind, ratio, spread, True, count, 0, (), None, "", app.names.get(name, ""),
                         name in biases, app.where)


def _finish(check: UpdateCheck, update: Applied | None, along: float | None, velocity: str) -> UpdateCheck:
    """``check`` as a climb through the velocity when the rule's steps move along gradients that are right."""
    if update is not None and check.ok and along is not None and along > 0 and check.kind in ("returned", "local") \
            and check.factor > 0:
        # the gradients are right (a positive multiple of the derivative), but the velocity takes them in with the sign
        # that moves the weights along them: every step climbs, whatever a single step's direction says (a healthy
        # heavy ball overshooting a valley also moves up the slope for a step or two). (Gradients of the opposite
        # sign taken in by a right velocity are the gradients' error, told by the direction below.)
        return _velocity_climb(check, velocity)
    return check


VANISHED = "the gradient has vanished (saturated units)"
"""Why a loss that moves at no sampled entry was not compared, unless the observer knows better (one output unit)."""

DIRECTION = 0.2
"""|cosine| between an adaptive update and the derivative above which its direction tells descent from climb (a
step ~ m / sqrt(v) follows the gradient's signs, not its proportions: healthy ones measure 0.5 to 0.9)."""


def _split_update(applied: Sequence[Applied]) -> tuple[Applied | None, list[Applied]]:
    """The update reading (``-(after - before)``) apart from the others."""
    return next((a for a in applied if a.kind == "update"), None), [a for a in applied if a.kind != "update"]


def _adaptive_climb(check: UpdateCheck, update: Applied, numeric: list[np.ndarray], names: list[str],
                    idx: list[np.ndarray]) -> UpdateCheck:
    """``check`` (gradients a negative multiple of the derivative) as a climb when the adaptive update moved the
    weights up the derivative's slope (see :data:`DIRECTION`), else as it is."""
    cos = _direction(update, numeric, names, idx)
    if cos >= -DIRECTION:
        return check
    return replace(climbing(check), note=f"the steps move up the loss's slope (cosine {cos:.2f} with the "
                                         "derivative)")


def _velocity_climb(check: UpdateCheck, velocity: str) -> UpdateCheck:
    """``check`` (every gradient a multiple of the derivative) once the velocity is known to add them to the weights:
    every tensor climbs, through the velocity."""
    verdicts = [TensorVerdict(v.name, v.kind, v.ratio, v.spread, False, v.n_checked, v.n_checked, v.worst, v.hint,
                              f"{v.name} moves along its derivative: the velocity takes the gradient in with the sign "
                              "that climbs", v.local_name, v.bias, v.source) for v in check.tensors]
    return replace(check, tensors=verdicts, climbs=True, added=True, velocity=velocity)


def _direction(update: Applied, numeric: list[np.ndarray], names: list[str], idx: list[np.ndarray]) -> float:
    """The cosine between the update applied (``-(after - before)``) and the derivative, over the sampled entries of
    every tensor: positive for a descent, negative for a climb."""
    a = np.concatenate([np.asarray(update.arrays[n], dtype=np.float64).reshape(-1)[i] if n in update.arrays
                        else np.zeros(len(i)) for n, i in zip(names, idx)])
    g = np.concatenate(numeric)
    norm = float(np.linalg.norm(a) * np.linalg.norm(g))
    return float(a @ g) / norm if norm > 0 and math.isfinite(norm) else 0.0


def _partly_climbing(verdicts: list[TensorVerdict], applied: Sequence[Applied], best: _Reading, names: list[str],
                     idx: list[np.ndarray], climbs: bool) -> list[TensorVerdict]:
    """``verdicts`` with the tensors whose own update climbs the loss failed: in the update reading, one consistent
    *negative* multiple of the derivative, while the update's factor (most tensors') is positive, and the gradient
    the program computed for them right (their verdict on another reading passed). Gradient ascent on those tensors
    alone (``W1 += lr * dW1`` beside ``W2 -= lr * dW2``): the step adds a right gradient. A wrong gradient applied
    the right way keeps its own verdict; the whole update climbing (``climbs``) is :func:`climbing`'s."""
    j = next((i for i, a in enumerate(applied) if a.kind == "update"), None)
    c = best.factors.get(j, math.nan) if j is not None else math.nan
    if climbs or j is None or not math.isfinite(c) or c <= 0:
        return verdicts
    right = {v.name for v in verdicts if v.ok and v.kind != "update"}
    up = {n for n in names if (r := best.ratios.get((j, n))) is not None and r != SILENT and r[1] <= RATIO_TOL
          and r[0] < 0 and math.isfinite(r[0]) and n in right}
    if not up or len(up) == len(names):
        return verdicts
    out = []
    for v in verdicts:
        if v.name not in up:
            out.append(v)
            continue
        k = names.index(v.name)
        full = np.asarray(applied[j].arrays[v.name], dtype=np.float64)
        step = full.reshape(-1)[idx[k]] / c
        numeric = best.numeric[k]
        order = np.argsort(-np.abs(step - numeric))[:3]
        worst = tuple(WorstEntry(tuple(int(i) for i in np.unravel_index(int(idx[k][i]), full.shape)), float(step[i]),
                                 float(numeric[i]), 1.0) for i in order)
        ratio = best.ratios[(j, v.name)][0] / c
        out.append(TensorVerdict(
            v.name, "update", ratio, 0.0, False, len(idx[k]), len(idx[k]), worst, STEP_ADDED,
            f"{v.name}'s update moves along its derivative ({ratio:+.3g} times the step the other tensors take "
            f"against theirs): it climbs the loss (the step adds the gradient, W += lr * dW, where the others subtract "
            f"it)", v.local_name, v.bias, applied[j].where or v.source))
    return out


def climbing(check: UpdateCheck) -> UpdateCheck:
    """``check`` (a gradient that was one negative factor times the derivative, its sign the program's
    convention) once the program was seen *subtracting* it: the whole update climbs the loss."""
    verdicts = [TensorVerdict(v.name, v.kind, v.ratio, v.spread, False, v.n_checked, v.n_checked,
                              tuple(WorstEntry(w.index, -w.applied, w.derivative, 1.0) for w in v.worst), v.hint,
                              f"{v.name}'s step has the sign of the gradient flipped (ratio -1): it climbs the loss",
                              v.local_name, v.bias, v.source) if v.ratio < 0 else v for v in check.tensors]
    return replace(check, factor=-check.factor, tensors=verdicts, climbs=True)


def _decay_in_readings(applied: Sequence[Applied], factors: dict[int, float], j: int, c: float, name: str,
                       idx: np.ndarray, n: np.ndarray, w: np.ndarray, noise: np.ndarray) -> tuple[float, float] | None:
    """``(c, share)``: the weight decay read in one of the readings of tensor ``name`` (:func:`weight_decay`: the
    reading over its factor is the derivative plus ``c * W``), and the share of every weight a step takes
    (``c`` times the update's factor), else None.

    The gradients the program computed (returned, buffered, local) first, then the update (the reading judged,
    ``j``, with its factor ``c``, before the others): a float32 update ``W_after - W_before`` keeps only the bits of the
    step that ``W``'s rounding leaves (a relative error of ``eps32 |W| / |step|``, 1e-3 to 1e-2 for small steps), too
    coarse for the fit or for its coefficient, while the float32 gradient itself is exact to ``eps32``.
    """
    step_factor = next((factors[i] for i, a in enumerate(applied) if a.kind == "update"
                        and math.isfinite(factors.get(i, math.nan)) and factors[i] > 0), None)
    order = sorted(range(len(applied)), key=lambda i: (applied[i].kind in ("update", "velocity"), i != j))
    for i in order:
        f = c if i == j else factors.get(i, math.nan)
        if name not in applied[i].arrays or not math.isfinite(f) or f <= 0:
            continue
        a = np.asarray(applied[i].arrays[name], dtype=np.float64).reshape(-1)[idx] / f
        decay = weight_decay(a, n, w.reshape(-1)[idx], noise)
        share = None if decay is None else decay * (f if applied[i].kind == "update" or step_factor is None
                                                    else step_factor)
        if decay is not None and share is not None and 0 < share < MAX_DECAY:
            return decay, share
    return None


def _judge(outputs: _Outputs, names: list[str], idx: list[np.ndarray], applied: Sequence[Applied], best: _Reading,
           top: int, factor: float, *, h: float, seed: int, max_coords: int, biases: set[str]) -> list[TensorVerdict]:
    """Each tensor through the gradient judge (kink-aware, at the entries already evaluated) against its reading."""
    arrays = outputs.arrays
    loss = best.loss
    primary = applied[top]
    opts: Options = validate(method="central", h=h, rtol=RTOL, atol=None, max_coords=max_coords, seed=seed, n_directions=1)
    differences = outputs.differences(loss)
    f0 = loss.fn(outputs.out())
    verdicts: list[TensorVerdict] = []
    # a function's locals that are the derivative (times one factor) for some tensors are its gradients: the local it
    # holds for another tensor is that tensor's gradient too (a momentum step in the same function applies them all)
    explaining = set(best.explained.values())
    for k, name in enumerate(names):
        j = best.explained.get(name)
        if j is None:  # judged on the reading chosen above, or on the first applied one that has this tensor
            j = top if name in primary.arrays else next(
                (i for i, a in enumerate(applied) if name in a.arrays and a.kind != "local"), None)
            if j is None or applied[j].kind == "local" and j not in explaining and not any(
                    name in a.arrays for a in applied if a.kind != "local"):
                continue  # only a local of the tensor's shape was seen: a guess at what was applied, not judged
        app = applied[j]
        c = best.factors.get(j, math.nan) if name in best.explained else factor
        c = c if math.isfinite(c) and c != 0 else factor
        a_full = np.asarray(app.arrays[name], dtype=np.float64) / c

        def batched_k(_k: int, i: np.ndarray, hh: float, k: int = k) -> dict[str, np.ndarray]:
            return differences(k, i, hh)

        one = outputs.problem([name], [arrays[k]], loss, batched_k)
        # The judge draws the entries sampled above and finds them cached.
        check = judge_per_coordinate(one, [a_full], [None], f0, opts, cast(np.random.Generator, _Chosen(idx[k])),
                                     method="central", h=h,
                                     dtype="float64", batch_size=None, same_as=None)[0]
        ratio, spread = best.ratios.get((j, name), (math.nan, math.inf))
        ok = name in best.explained or check.ok
        n_k = differences(k, idx[k], h)["numeric"]
        pattern = "" if ok else _pattern(name, np.asarray(app.arrays[name]), ratio, spread, factor,
                                         a_full.reshape(-1)[idx[k]], n_k)
        if not ok and _rounding_only(app, name, c, a_full.reshape(-1)[idx[k]], n_k, arrays[k].reshape(-1)[idx[k]],
                                     differences(k, idx[k], h)):
            # a float32 program: the entries that disagree do so by no more than its own rounding (saturated units),
            # not by a wrong derivative
            ok, pattern = True, ""
        if not ok:
            clip = _clipped(a_full, n_k, idx[k])
            if clip is not None:  # clipping changes the update, not the gradient: not a mismatch
                ok, pattern = True, f"clipped by value at +-{clip * c:.3g} (the update rule, not the gradient)"
            decay = None if clip is not None or name in biases else _decay_in_readings(
                applied, best.factors, j, c, name, idx[k], n_k, arrays[k], differences(k, idx[k], h)["noise"])
            if decay is not None:  # L2 regularisation is part of the objective
                ok, pattern = True, f"{DECAY_PREFIX}{decay[0]:.3g} (each step takes {decay[1]:.3g} of every weight)"
        verdicts.append(TensorVerdict(name, app.kind, ratio, spread, ok, check.n_checked, check.n_failed,
                                      _worst(check), check.hint, pattern, app.names.get(name, ""), name in biases,
                                      app.where))
    return verdicts


def _rounding_only(app: Applied, name: str, c: float, a: np.ndarray, n: np.ndarray, w: np.ndarray,
                   diffs: dict[str, np.ndarray]) -> bool:
    """Whether what a float32 (or coarser) program applied agrees with the derivative ``n`` at every sampled entry up
    to the precision of its own arithmetic.

    ``a`` is the applied array divided by its factor ``c``, ``w`` the weights before the step, ``diffs`` the central
    differences at the entries (``fp``, ``fm``, ``step``). Two roundings are allowed, and nothing else:

    * an update read as ``W_before - W_after`` is exact only to ``eps (|W| + |c a|)`` (``W_after`` is stored rounded),
      divided by ``|c|``;
    * a derivative below ``eps max(|f(w+h)|, |f(w-h)|) / (2h)`` is one the program's own float32 forward cannot
      resolve: a loss of 1 moves by no less than ``eps`` (saturated units, where ``1 - a`` of a sigmoid keeps a few
      bits), so its gradient there is rounding too; such an entry must be that small on both sides.

    Anywhere else the entry must agree to the judge's relative tolerance :data:`RTOL`. A wrong derivative is off by a
    share of a derivative the forward resolves, and stays a mismatch.
    """
    eps = app.eps.get(name)
    if eps is None or not math.isfinite(c) or c == 0 or a.shape != n.shape:
        return False
    off = np.abs(a - n)
    ok = off <= RTOL * np.maximum(np.abs(a), np.abs(n))
    if app.kind == "update":
        ok |= off <= eps * (np.abs(w) + np.abs(c * a)) / abs(c)
    with np.errstate(all="ignore"):
        resolution = eps * np.maximum(np.abs(diffs["fp"]), np.abs(diffs["fm"])) / np.abs(diffs["step"])
    ok |= (np.abs(n) <= resolution) & (np.abs(a) <= resolution)
    return bool(ok.all())


def _worst(check: TensorCheck) -> tuple[WorstEntry, ...]:
    return tuple(WorstEntry(c.index, c.analytic, c.numeric, c.rel_error) for c in check.worst[:3])


def _entries(size: int, max_coords: int, rng: np.random.Generator, readings: list[np.ndarray]) -> np.ndarray:
    """Sorted flat indices of one tensor to compare: three in four among the entries some reading moved, the
    rest anywhere.

    A weight whose input is a constant 0 (an MNIST border pixel, a dead unit) has a zero derivative and a zero
    update: an entry there agrees with every factor and says nothing, and in MNIST's first layer most entries
    are such. The entries drawn anywhere keep an update that leaves moving entries alone in view.
    """
    if size <= max_coords:
        return np.arange(size)
    moved = np.zeros(size, dtype=bool)
    for r in readings:
        a = np.asarray(r).reshape(-1)
        if a.size == size:  # 1e-72 (a saturated unit's gradient) moves nothing measurable
            mag = np.abs(np.where(np.isfinite(a), a, 0.0))
            moved |= mag > 1e-6 * mag.max(initial=0.0)
    where = np.flatnonzero(moved)
    n_moved = min(len(where), max_coords - max_coords // 4)
    picked = rng.choice(where, size=n_moved, replace=False) if n_moved else where[:0]
    rest = np.setdiff1d(np.arange(size), picked, assume_unique=True)
    extra = rng.choice(rest, size=max_coords - n_moved, replace=False)
    return np.sort(np.concatenate([picked, extra]).astype(np.intp))


class _Chosen:
    """Stands in for a generator where the gradient judge samples: it draws the entries chosen already."""

    def __init__(self, idx: np.ndarray) -> None:
        self.idx = idx

    def choice(self, a: int, size: int | None = None, replace: bool = False, **_: Any) -> np.ndarray:
        return self.idx


def _entry_rng(seed: int, k: int) -> np.random.Generator:
    """The private generator that samples tensor ``k``'s entries (one per tensor, so a judge can draw them again)."""
    return np.random.default_rng([seed, k])
