"""The typed evidence records the rules read.

Each record is what one recorder measured, in plain numbers, and says where
it was measured (``window``: "across the 64-row probe batch", "over the last
640 samples the program computed"; ``site``: the user's ``file:line`` when
known). Recorders build records; rules (one per finding code, in this
package) turn them into findings. What differs between a NumPy and a PyTorch
program (the spelling of a fix) comes in as :class:`~netdoctor.rules.policy.Framework`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import field

from netdoctor._lazy import dataclass
from netdoctor.data.oddities import OddPlaces
from netdoctor.rules.policy import Framework

__all__ = [
    "InitScale", "LayerActivity", "LayerFlow", "Predictions", "OutputSpread", "NormTrace", "GradientScale", "LayerReach", "NonFinite", "LearningRateHistory", "UpdateSizes", "largest_growth", "CarryOver", "BatchScale", "TargetBuilder", "TargetCounts", "OddValues", "LossInputs", "Mutation", "SharedMemory", "BatchCoupling", "FrozenGroup", "FrozenParameters", "UpdateFit", "InputRange", "InitialLoss", "Confusion", "AccuracyTrace", "TrainingCurve",
]


@dataclass(frozen=True)
class InitScale:
    """How a weight matrix started: its entries' standard deviation and its fan-in."""

    tensor: str
    std: float
    fan_in: int
    site: str = ""
    """The ``file:line`` where the weights are initialised, when known."""
    after: int = 0
    """Updates applied before the weights were measured (0: their initial values)."""

    @property
    def scale(self) -> float:
        """``std`` in units of 1/sqrt(fan_in), the scale that keeps tanh and sigmoid in their linear range (1 there)."""
        return self.std * math.sqrt(self.fan_in)


@dataclass(frozen=True)
class LayerActivity:
    """One hidden layer's activations over a window of rows."""

    where: str
    """The layer as the report places it (``layer 1 (tanh)``, ``fc1 (Linear)``, with ``file:line`` when known)."""
    layer: str
    """The layer as a sentence names it (``layer 1``, ``hidden layer 1``, ``fc1``)."""
    activation: str
    """The function: ``tanh``, ``sigmoid``, ``relu``, ``leaky_relu``, ``gelu`` ..."""
    units: int
    saturation: float | None
    """Share of the entries in the flat ends (tanh |a| > 0.99; sigmoid outside [0.01, 0.99]); None for relu-like."""
    dead: float | None
    """Share of the units that never fire (relu family) or do not vary over the window."""
    window: str
    """Where the rows come from: ``across the probe batch``, ``over the last 640 samples seen``."""
    framework: Framework
    rows: int | None = None
    """Rows in the window; None for the fixed probe batch of ``check``."""
    saturation_at_start: float | None = None
    dead_at_start: float | None = None
    start_after: int = 0
    """Updates applied before the "at the start" rows were computed (0: before any update)."""
    first_seen: int | None = None
    """Step at which the saturation was first at or above the warning level."""
    init: InitScale | None = None
    """The starting scale of the weights that feed the layer (the NumPy observer knows it)."""
    others: dict[str, float] = field(default_factory=dict)
    """The other layers' shares past the warning level, by name (evidence only)."""
    flow: LayerFlow | None = None
    """How fast the weights that feed the layer move beside those of the next layer (the NumPy observer knows it)."""
    guessed: bool = False
    """:attr:`activation` is a guess from the range of the values alone (no pre-activation was seen beside them): a
    leaky relu whose outputs stay under 1 has the range of a tanh. :attr:`where` then marks it (``layer 1 (tanh?)``)."""


@dataclass(frozen=True)
class LayerFlow:
    """Whether the gradient still passes back through a layer, read from how its weights move.

    ``ratio`` is ``m_in / m_out`` with ``m = median over the updates of |ΔW| / |W|`` (sampled entries), ``W_in`` the
    weights that feed the layer and ``W_out`` those that read it. The gradient reaching ``W_in`` is the one reaching
    ``W_out``'s input times the activation's derivative: where the layer sits in its flat ends that derivative is ~0
    and ``W_in`` stands still (ratios of 0.001-0.2 in saturated runs), while a layer that still passes the gradient
    moves both alike (~0.5-1.5).
    """

    feeding: str
    """The weights that feed the layer (``self.W1``)."""
    next: str
    """The weights that read its output (``self.W2``)."""
    ratio: float
    updates: int
    """Updates the medians were taken over."""


@dataclass(frozen=True)
class Predictions:
    """What the network predicted over a window of rows, beside the labels (or targets) of the same rows when known."""

    where: str
    """Where the predictions were made (``output, epoch 3``, ``evaluate()``, ``cross_entropy at train.py:40``)."""
    on: str
    """The rows, as a sentence names them: ``test data``, ``10,000 inputs evaluate() evaluated``."""
    predicted: tuple[int, ...]
    """Rows predicted as each class (argmax of the output)."""
    framework: Framework
    labels: tuple[int, ...] | None = None
    """Rows of each true label (or target class) among the same rows; None when not known."""
    evaluated: bool = True
    """An evaluation of the trained network (``check``'s epoch ends, the program's own evaluation); False for a window
    of training batches, which early in a healthy run may still favour a few classes."""
    labels_from: str = ""
    """Where the labels come from (```y_test```), when that is worth saying."""
    correct: int | None = None
    """Rows predicted right, when known."""
    label_noun: str = "rows labelled"
    """How a sentence names a label's rows (``images of digit``)."""
    tied_outputs: float | None = None
    """Share of rows whose output units are exactly equal (argmax then returns index 0)."""
    returned: float | None = None
    """What the program's own evaluation last returned (NumPy ``run``): quoted when it is the collapsed label's share."""


@dataclass(frozen=True)
class OutputSpread:
    """How much the network's output varies across the rows of a window."""

    where: str
    spread: float
    """The largest standard deviation across rows of one output unit."""
    scale: float
    """Mean |output| (the spread is judged relative to max(1, scale))."""
    window: str
    """``across the probe batch``, ``over the last 640 outputs the program computed`` ..."""
    framework: Framework
    rows: int | None = None
    spread_at_start: float | None = None
    predictions: Predictions | None = None
    """What the predictions were on the evaluation rows (``check``): says whether argmax still separates the outputs."""
    mean_output: tuple[float, ...] | None = None


@dataclass(frozen=True)
class NormTrace:
    """One parameter tensor's weight (and gradient) norms at the measured steps, in order."""

    tensor: str
    steps: tuple[int, ...]
    weight_norms: tuple[float, ...]
    grad_norms: tuple[float, ...] | None = None
    is_weight: bool = True
    """A weight matrix (not a bias): growth is judged on these first."""
    grad_floor: float = 0.0
    """Gradient growth is measured from at least this norm (a first gradient near 0 is no start to grow from)."""
    loss_start: float | None = None
    loss_end: float | None = None
    """The run's loss at its start and its end (means of a few measurements), when the recorder knows them."""
    shape: tuple[int, ...] | None = None
    """The tensor's shape, when known: weight growth counts only once the weights reach the size of a working
    initialisation (see :func:`~netdoctor.rules.stability.working_scale`)."""


@dataclass(frozen=True)
class TrainingCurve:
    """How often the network's own outputs named the class of the targets they were trained toward, on the training
    batches of an early and a late window of the run (``netdoctor run`` on NumPy: the outputs and targets the program
    itself compared). Says whether the run learns without an evaluation of the program's own."""

    where: str
    """The forward whose outputs were compared (``forward()``)."""
    early: float
    early_rows: int
    early_updates: tuple[int, int]
    """The updates the program had applied at the window's first and last rows."""
    late: float
    late_rows: int
    late_updates: tuple[int, int]
    chance: float
    """The share of the most frequent class among the late window's targets: what answering one class scores."""
    loss_early: float | None = None
    loss_late: float | None = None
    loss: str = ""
    """What the losses are (``cross-entropy``: of the output probabilities), "" when not known."""
    classes: int = 0
    """The output's width (answering 1/classes for every class scores a cross-entropy of log(classes))."""
    early_read: tuple[tuple[int, int], ...] = ()
    """The updates whose rows the early window holds, as runs of consecutive updates ``(first, last)``: one run,
    ``early_updates``, when the forward was heard at every step; the traced windows only when it ran untraced between
    them (a held step). () when not said."""
    late_read: tuple[tuple[int, int], ...] = ()
    """The same for the late window: its accuracy is that of the rows of exactly these updates."""


@dataclass(frozen=True)
class GradientScale:
    """|dL/dW| / |W| of one weight tensor at the first and the last measurement, with the loss at both."""

    tensor: str
    ratio_first: float
    ratio_last: float
    loss_first: float
    loss_last: float


@dataclass(frozen=True)
class LayerReach:
    """How much of the output's error the weights a program drew pass back to its first layer, and how far each
    weight matrix moved at the first updates (``netdoctor run`` on NumPy).

    The error reaching the input side of ``W_l`` is ``W_l^T δ_l``: for a random error ``δ_l`` its size is
    ``||W_l||_F / sqrt(fan_out_l)`` times ``|δ_l|`` (1 for Xavier's ``N(0, 1/fan_in)`` between equal widths,
    ``0.01 sqrt(fan_in)`` for ``randn * 0.01``); the error reaching ``W_1`` is the output's times the product of the
    factors of ``W_2 .. W_L``, and a tanh's or sigmoid's derivative can only shrink it further."""

    tensors: tuple[str, ...]
    """The weight matrices, from the input to the output."""
    widths: tuple[int, ...]
    """The layer widths from the input on (``len(tensors) + 1`` of them)."""
    gains: tuple[float, ...]
    """Per matrix after the first: the factor by which it scales the error passed back through it."""
    steps: tuple[float, ...]
    """Per matrix: the median of ``|ΔW| / |W|`` over the first updates that moved it (sampled entries)."""
    updates: int
    """The updates those medians are over (at most)."""
    std: tuple[float, ...] = ()
    """Per matrix: its entries' standard deviation when the measurements began."""
    after: int = 0
    """Updates applied before the weights were measured (0: their initial values)."""
    site: str = ""
    """``file:line`` where the weights are drawn, when known."""
    where: str = ""
    framework: Framework = Framework.NUMPY
    curve: TrainingCurve | None = None


@dataclass(frozen=True)
class NonFinite:
    """Where the first NaN or Inf appeared.

    ``origin`` says what was located: ``inputs`` / ``targets`` (the data
    hold NaN/Inf), ``layer`` (the first layer or module whose output is non-finite,
    with finite parameters), ``parameters`` (an earlier update made them
    non-finite), ``between`` (the code between the model and the loss),
    ``loss`` (every activation finite: the loss itself overflowed) or
    ``backward`` (gradients non-finite under a finite loss).
    """

    origin: str
    step: int
    where: str
    framework: Framework
    unit: str = "step"
    """What ``step`` counts: ``step`` (optimizer steps) or ``update`` (updates a NumPy program applied)."""
    loss: str | None = None
    """The non-finite loss value (``nan``, ``inf``)."""
    loss_site: str = ""
    """The loss function and its line (``cross_entropy at train.py:40``)."""
    layer: str = ""
    """The first layer or module with non-finite output (``layer 2``, ``fc2 (Linear) at train.py:12``)."""
    tensors: tuple[str, ...] = ()
    """The non-finite parameters (or arrays)."""
    tensors_before: tuple[str, ...] | None = None
    """Parameters already non-finite when the failing step began (``check`` with its guard copy)."""
    exact: bool | None = None
    """The layer was located with the weights the failing step started from (``check``)."""
    last_finite_loss: float | None = None
    backward_between: tuple[str, str] | None = None
    """(the module whose gradients stayed finite, the module whose did not): where the backward pass broke."""
    stopped: bool = False
    """Training was stopped at that step (``check``)."""
    details: dict = field(default_factory=dict)
    """Further numbers for the evidence."""


@dataclass(frozen=True)
class LearningRateHistory:
    """The learning rate an optimizer actually had, on the measured steps (largest over its parameter groups)."""

    where: str
    framework: Framework
    steps: tuple[int, ...]
    rates: tuple[float, ...]
    total_steps: int
    """Optimizer steps in the run."""
    optimizer: str = ""
    scheduler_site: str | None = None
    """The line of the scheduler's ``step()`` calls, when a scheduler changed it."""
    scheduler_steps: int = 0


@dataclass(frozen=True)
class UpdateSizes:
    """How large the updates were against the weights they changed, with what the run did after them."""

    where: str
    framework: Framework
    first: tuple[float, ...]
    """The first measured updates' largest |Δ| / |W| over the weight matrices, in order."""
    tensor: str = ""
    """The weight matrix the first (or typical) update changed most."""
    first_step: int | None = None
    typical: float | None = None
    """Median |Δ| / |W| of the largest weight matrix over the run (None when too few updates were measured)."""
    typical_count: int = 0
    steps: int | None = None
    """The updates the run applied (as observed), when counted: ``typical`` times ``steps`` bounds how far the weights
    moved over the whole run."""
    gradient: float | None = None
    """Typical |g| / |W| of the weight matrices: a healthy gradient makes tiny updates the learning rate's fault."""
    growth: float | None = None
    """The largest growth of a weight matrix's norm over the watched run (last / first; inf when it went non-finite),
    when measured: a rate that overshot blows the weights up, a small start taking its first large steps does not."""
    lr: float | str | None = None
    lr_name: str = "lr"
    lr_measured: bool = False
    """``lr`` was measured from the steps (the change over the array each step read; no variable holds it): ``lr_name``
    is then that array's name."""
    optimizer: str = ""
    """The optimizer's class (``SGD``), when it has one."""
    adaptive: bool = False
    """An Adam-like optimizer (its steps do not scale with the gradient)."""
    entry_step: float | None = None
    """With :attr:`adaptive`: the rule's step per entry (the entries it moved), measured on a weight matrix, about the
    learning rate whatever the gradient's scale."""
    entry_size: float | None = None
    """With :attr:`entry_step`: the root mean square of that weight matrix's entries before the step."""
    loss_first: float | None = None
    loss_last: float | None = None
    weights_nonfinite: bool = False
    """An update made the parameters NaN or Inf."""
    accuracy: float | None = None
    """The final accuracy, when the run evaluated one."""
    summed_batch: int | None = None
    """The batch size, when the model says its gradient is summed over the batch (not averaged)."""
    curve: TrainingCurve | None = None
    """The training accuracy early and late, when the recorder paired outputs with their targets."""
    climbs: bool = False
    """A check of an applied update measured it climbing the loss (gradient ascent): the weights then grow whatever
    the rate, so their growth is no evidence of a rate too high."""
    momentum: float | None = None
    """The share of the last step each step keeps (a velocity: ``v = mu * v - lr * g; p += v``), when the steps were
    measured to follow one; ``first`` and ``typical`` are then the steps plain SGD at :attr:`effective_lr` would make
    from each gradient."""
    effective_lr: float | None = None
    """The step per unit of a gradient that stays the same, measured with :attr:`momentum` (``lr / (1 - mu)``)."""
    applied_first: tuple[float, ...] = ()
    """With :attr:`momentum`: the first updates' |Δ| / |W| as the program applied them (the velocity's own steps, seen
    while discovering, before the velocity was known); () otherwise. A heavy ball's applied step is at most the
    effective rate's (its velocity builds up toward it), so one larger than the weights is a fact whatever the rate."""
    steps_saturated: LayerActivity | None = None
    """A hidden layer whose tanh or sigmoid units sit in their flat ends although the weights feeding it were drawn at
    a scale that keeps them in range (:func:`~netdoctor.rules.activations.saturated_by_steps`): the steps put them
    there, not the draw."""


def largest_growth(growths: Iterable[float]) -> float | None:
    """:attr:`UpdateSizes.growth` from each weight matrix's growth (last norm / first norm): the largest, ``inf`` when
    one went non-finite (a NaN norm compares with nothing, so it is made the largest); None when none was measured.

    >>> largest_growth([1.5, 3.0]), largest_growth([2.0, float("nan")]), largest_growth([])
    (3.0, inf, None)
    """
    return max((g if math.isfinite(g) else math.inf for g in growths), default=None)


@dataclass(frozen=True)
class CarryOver:
    """How much of one update's gradients is still in the buffers when the next update's gradients arrive.

    0 for buffers emptied after every update, 1 when the "reset" keeps
    everything (every gradient is applied again at every later update), the
    learning rate when the buffer is scaled in place by it.
    """

    where: str
    framework: Framework
    weight: float
    """The carry-over (median over the measured windows)."""
    windows: int
    """Windows (updates, steps) it was measured on."""
    buffers: tuple[str, ...] = ()
    """The buffers (or parameters whose ``.grad``) that carry gradients over."""
    momentum_possible: bool = True
    """The program's own buffers might be momentum (a decaying buffer is healthy); False for PyTorch's ``.grad``."""
    history_weight: float | None = None
    """Mean weight of all earlier gradients in an update (the probe's fit): must exceed 1/2 for stale accumulation."""
    overwritten: bool | None = None
    """What the gradient function's write did, measured (its call run again with emptied buffers): True when each
    write replaced what the buffers held (``gW[...] = x.T @ g``), False when one added to it, None unmeasured."""
    lr: float | None = None
    lr_name: str = "lr"
    unit: str = "update"
    step_site: str = ""
    """Where the optimizer steps (PyTorch), for the fix."""
    fix: str = ""
    """The fix, when the observer knows one truer of this program than the framework's usual one (a PyTorch program
    that updates its tensors by hand has no optimizer.zero_grad() to call)."""
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class BatchScale:
    """How the applied step compares with the step a batch-mean gradient would give.

    ``measured`` says how: ``probe`` (the probe's fitted step / lr),
    ``contributions`` (the step per contributed per-sample gradient / lr, and
    contributions per update), ``bias`` (output-bias gradient / the batch mean
    of output - target), ``update`` (the update check's factor against the
    batch's summed loss, per row: about 1 for a mean, the batch size for a
    sum) or ``loss-input`` (the gradient at the loss input / that of the
    mean-reduced loss).
    """

    where: str
    framework: Framework
    measured: str
    factor: float
    """The measured ratio: about ``batch`` for a summed gradient, about 1 for a mean."""
    batch: float
    """Rows (or contributions) per step."""
    windows: int = 1
    lr: float | str | None = None
    lr_name: str = "lr"
    optimizer: str = ""
    adaptive: bool = False
    divided: bool = False
    """Each contribution is already divided where it is added (``buf += g / n``)."""
    first_update: float | None = None
    """The largest first update / weight (``loss-input``: a summed loss must also move the weights visibly)."""
    update_tensor: str = ""
    blew_up: bool = False
    """The loss diverged or went non-finite."""
    learns: bool | None = None
    """``loss-input``: the run's training accuracy ends clearly above chance and not below where it started (None: not
    known)."""
    function: str = ""
    """The function that computes the gradient (``backprop``), or the loss (``cross_entropy at train.py:40``)."""
    reduction: str = ""
    """How the loss reduces over the batch, as the program asked (``'sum'``), when it says."""
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TargetBuilder:
    """The function that builds a target from a label (``vectorized_result(j)``) and the values it was called with."""

    function: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class TargetCounts:
    """The targets the network was trained on, counted per output class."""

    where: str
    framework: Framework
    counts: tuple[int, ...]
    """Targets of each output class (class index, or the argmax of a one-hot / probability target)."""
    rows: int
    distinct_vectors: int | None = None
    """Distinct target vectors (NumPy: 1 means every target is the same vector)."""
    target_vector: tuple[float, ...] | None = None
    label_counts: tuple[int, ...] | None = None
    """The labels of the data the program read, per class, when it read them."""
    labels_from: str = ""
    builder: TargetBuilder | None = None
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class BatchClasses:
    """How many classes the training batches hold, against what batches of their size drawn at random would hold."""

    where: str
    batches: int
    """Training batches read (sampled optimizer steps)."""
    rows: float
    """Median rows per batch."""
    classes: float
    """Median classes per batch."""
    expected: float
    """Classes a batch of ``rows`` rows drawn at random from the run's labels would hold on average."""
    label_counts: tuple[int, ...]
    """The labels the run trained on, per class (its steps' counters)."""
    framework: Framework
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class OddValues:
    """Cells and labels of a data file unlike all the others: the loader's :class:`~netdoctor.data.oddities.OddPlaces`
    (places named ``file:line:column``, values, counts, what was done), and how the file's scaling was chosen."""

    places: OddPlaces
    scaling: str = ""
    """How the file's scaling was chosen, in one line (the data summary's)."""
    role: str = "training"
    """``training`` or ``test``: which file of the check."""


@dataclass(frozen=True)
class LossInputs:
    """What reached a loss that applies its own softmax (sigmoid): how many of the batches checked held probabilities."""

    where: str
    loss: str
    """``cross_entropy`` or ``binary_cross_entropy_with_logits`` (other losses are not judged)."""
    batches: int
    """Batches (loss calls) checked."""
    rows: int
    """Rows per batch (the largest seen)."""
    probabilities: int = 0
    """Batches whose every row lies in [0, 1] and sums to 1."""
    log_probabilities: int = 0
    """Batches whose values are all <= 0 with every row's logsumexp 0."""
    unit_interval: int = 0
    """Batches whose values all lie in [0, 1] (sigmoid outputs)."""
    log_softmax_of_softmax: int = 0
    """Batches whose values are a log_softmax of a softmax's output (the autograd graph: ``SoftmaxBackward0`` under
    ``LogSoftmaxBackward0``), whatever loss reads them (``nll_loss`` too)."""
    values: int = 0
    """Values per batch (rows x outputs)."""
    classes: int | None = None
    producer: str = ""
    """What computed the values (``SoftmaxBackward0``, ``Net.forward``)."""
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Mutation:
    """An array the training code should only read, seen changing.

    ``kind``: ``inputs`` (the ``X``/``y`` handed to ``train_step``), ``view``
    (rows of a long-lived array handed to the gradient function twice with
    different values) or ``constant`` (a template, initial value or data array).
    """

    where: str
    kind: str
    names: tuple[str, ...]
    steps: tuple[int, ...] = ()
    """When the change was seen."""
    unit: str = "step"
    function: str = ""
    argument: str = ""
    shape: tuple[int, ...] | None = None
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SharedMemory:
    """Paths that reach one object (``same``), one object repeated in a container (``repeated``), or arrays whose bytes
    overlap (``overlap``), with what each path's name says it holds."""

    kind: str
    paths: tuple[str, ...]
    roles: tuple[tuple[str, str], ...]
    """(path, role) pairs: ``param``, ``buffer`` or ``other``."""
    object_type: str
    """``list``, ``dict``, ``ndarray`` ..."""
    where: str = ""
    templates: tuple[str, ...] = ()
    """The buffer paths whose names say template (a reset copies them)."""
    container: str = ""
    container_role: str = ""
    container_length: int = 0
    labels: tuple[str, ...] = ()
    """The container entries that are the same object (``[0]``, ``[1]``)."""
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class BatchCoupling:
    """How one example's output or loss changed when only the other examples of its batch did.

    ``kind``: ``loss`` (the summed-loss comparison of ``check``), ``module``
    (the first module whose row-0 output changed), ``batchnorm`` (that module
    is batch norm in training mode) or ``broadcast`` (input and target shapes
    of the loss that broadcast to (N, N)).
    """

    kind: str
    where: str
    rows: int = 0
    change: float = 0.0
    """The change seen (relative change of row 0's output; for ``loss`` the difference of the two loss changes)."""
    limit: float = 0.0
    """What rounding allows (``loss``)."""
    random: bool = False
    """The loss itself is random (dropout): no verdict."""
    example: int = 0
    d_batch: float = 0.0
    d_pair: float = 0.0
    inside: str = ""
    """The module in whose forward plain code mixed the rows (``module``)."""
    shapes: tuple[tuple[int, ...], ...] = ()
    """(input, target, broadcast) shapes (``broadcast``)."""
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class FrozenGroup:
    """Parameters that never changed for one reason (a key of :data:`netdoctor.rules.frozen.FROZEN_REASONS`)."""

    names: tuple[str, ...]
    reason: str
    module: str = ""
    """The module or layer the reason is about (``fc1``)."""
    site: str = ""
    """Where (``file:line`` of the module's call, the optimizer's creation, the step)."""
    numbers: dict = field(default_factory=dict)
    """What the reason's sentence quotes (steps checked, the backward pass's line ...)."""
    why: str = ""
    fix: str = ""
    """The model's own words, when it says why (``frozen_reasons`` of the model protocol) instead of a reason key."""


@dataclass(frozen=True)
class FrozenParameters:
    """What never learned, grouped by why, beside what did."""

    framework: Framework
    groups: tuple[FrozenGroup, ...]
    updated: tuple[str, ...] = ()
    """Tensors that did change."""
    steps: int = 0
    unit: str = "step"
    site: str = ""
    """Lines that apply the update, when known (NumPy)."""
    learns: bool | None = None
    """Whether the run learns (None: not judged); freezing on purpose is a note only in a run that learns."""
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class UpdateFit:
    """How the change ``train_step`` applies reads against the model's own gradient (the update probe's fit).

    ``kind``: ``fit`` (no step is a combination of the gradients: the
    residuals), ``scale`` (the fitted step per gradient against the lr
    passed) or ``tensors`` (the first step per tensor: its cosine with -g and
    its own lr factor, beside the overall factor).
    """

    kind: str
    where: str
    lr: float = 0.0
    lr_effective: float = 0.0
    batch: int = 0
    per_tensor: dict = field(default_factory=dict)
    """name -> {"cos": cosine of the step with -g, "lr_factor": the tensor's step / (lr g)}."""
    measurable: tuple[str, ...] = ()
    """Tensors whose step is above the rounding of their weights (the others carry no signal about direction)."""
    live: tuple[str, ...] = ()
    residuals: tuple[float | None, ...] = ()


@dataclass(frozen=True)
class InputRange:
    """Range and moments of (a sample of) the training inputs."""

    x_min: float
    x_max: float
    x_mean: float
    x_std: float
    whole: bool = False
    """Every value a whole number (0..255 pixels are, standardised features are not)."""


@dataclass(frozen=True)
class InitialLoss:
    """The loss before training beside what an untrained network should show (ln C for cross-entropy, ...)."""

    loss: float
    expected: float


@dataclass(frozen=True)
class Confusion:
    """The confusion matrix of an evaluation: rows true labels, columns predicted."""

    where: str
    on: str
    """The rows evaluated (``test data``)."""
    matrix: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class AccuracyTrace:
    """The accuracies of the evaluations in order, with the loss of every step and the steps per epoch."""

    accuracies: tuple[float, ...]
    step_losses: tuple[float, ...]
    steps_per_epoch: int
