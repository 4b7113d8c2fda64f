"""One set of thresholds and one severity policy for every finding code.

Every number a rule compares a measurement with lives here, next to where it
comes from (the healthy-run measurements are in ``docs/findings.md``). The
recorders of ``check`` (:mod:`netdoctor.monitor`), the update probe
(:mod:`netdoctor.buffers.probe`) and the two observers of ``run``
(:mod:`netdoctor.observe.numpy`, :mod:`netdoctor.observe.torch`) never compare
with a threshold themselves: they hand their numbers to the rules in this
package, which do.
"""

from __future__ import annotations

import enum
import math

from netdoctor.findings import Severity

__all__ = ["Framework", "severity_by_share"]


class Framework(enum.Enum):
    """Whose code a fix is written for: the fix's spelling is data, the rule is the same."""

    CHECK = "check"
    """A model under ``netdoctor check`` (the reference MLP or a hand-written net: plain NumPy arrays)."""
    NUMPY = "numpy"
    """A NumPy program under ``netdoctor run``."""
    TORCH = "torch"
    """A PyTorch program (``run``) or module (``check --model``)."""


def severity_by_share(share: float, error_at: float) -> Severity:
    """The one severity policy for shares of a layer, a batch or a run: an error from ``error_at`` on, a warning below."""
    return Severity.ERROR if share >= error_at else Severity.WARNING


# -- activations (rules/activations.py) ---------------------------------------------------
SATURATION_WARN = 0.5
"""Share of hidden tanh/sigmoid entries in the flat ends; healthy runs stay below ~0.2."""
SATURATION_ERROR = 0.9
INIT_SCALE_BLAMED = 3.0
"""How many times the 1/sqrt(fan_in) scale the std of the weights feeding a saturated layer must be before the
finding names their initialisation as the cause (saturating initialisations draw 14-40x it)."""
SATURATION_FLOWS = 0.5
"""Ratio of the relative motion of the weights feeding a saturated layer to that of the next layer's weights (see
:class:`~netdoctor.rules.evidence.LayerFlow`) from which the gradient is taken to pass through it: saturated planted
bugs measured 0.001-0.2, a healthy sigmoid net saturated by its data 0.8, unsaturated nets 0.15-1.3."""
DEAD_WARN = 0.5
"""Share of hidden units that never vary (or never fire) over the window."""
DEAD_ERROR = 0.95
MIN_ACTIVITY_ROWS = 32
"""Rows a window of activations needs before its dead / saturated share is judged (a fixed probe batch is exempt)."""

# -- outputs (rules/outputs.py) ------------------------------------------------------------
CONSTANT_SPREAD = 1e-4
"""Output std across inputs, relative to max(1, mean |output|); healthy nets start at ~1e-2."""
COLLAPSE_SHARE = 0.9
"""Share of predictions on one label (or on a few, see :data:`COLLAPSE_FEW`) that counts as collapse."""
COLLAPSE_FEW = 2
"""At most this many labels (or a third of the classes, if more) receiving :data:`COLLAPSE_SHARE` of the
predictions is a collapse onto a few classes, when the other labels' rows are :data:`COLLAPSE_MISSED` of the data."""
COLLAPSE_MISSED = 0.3
COLLAPSE_ABOVE_TARGETS = 0.1
"""When the targets' spread is known, the collapsed label's predicted share must exceed its share among the
targets by this much (imbalanced data: predicting the 85% class 92% of the time is not a collapse)."""
BINARY_COLLAPSE_SHARE = 0.99
"""With two classes only a complete collapse counts (the majority class may well be 90% of the data)."""
MIN_PREDICTIONS = 64
"""Predictions a window needs before it is judged for collapse (a healthy PyTorch loop's first 40 steps
sample fewer rows than this and can still favour one class)."""
NO_LEARNING_MARGIN = 0.1
"""An accuracy within this share of the gap between the majority label's share and 100% counts as chance
(19% with ten balanced classes); healthy 1-3 epoch runs on the test data are far above it."""
NO_LEARNING_ROWS = 200
"""Rows (evaluated, or training rows in the last statistics window) before an accuracy is judged as chance."""
PERMUTATION_MIN_DIAGONAL = 0.5
"""Mean row share on the permuted 'diagonal' for a confusion matrix to count as a permutation."""
PLATEAU_ACC = 0.005
"""Accuracy change (absolute) across the last epochs below which accuracy is flat."""
PLATEAU_LOSS = 0.005
"""Relative change of the mean step loss between the last two half-epochs that counts as flat."""
PLATEAU_MAX_ACC = 0.5
"""A flat curve above this accuracy is convergence, not a plateau worth a finding."""

# -- modes (rules/modes.py, PyTorch only) -----------------------------------------------------
EVAL_MODE_STEPS = 2
"""Optimizer steps with the model's mode read before ``eval-mode-training`` is judged."""
EVAL_MODE_SHARE = 0.5
"""Share of those steps in eval mode that makes it a finding (a healthy loop evaluates between epochs and switches back)."""
UNLEARNED_EVALUATIONS = 2
"""Forward passes of a train-mode model never followed by a backward pass that count as evaluations (one may be a
shape check)."""

# -- batches (rules/batches.py) -------------------------------------------------------------------
UNSHUFFLED_SHARE = 0.5
"""Median classes per training batch at most this share of what batches of that size drawn at random would hold
(sorted rows fed in order: 1-2 classes per batch where a shuffled batch of 16 from ten balanced classes holds ~8)."""
UNSHUFFLED_BATCHES = 8
"""Training batches read before ``unshuffled-data`` is judged."""
UNSHUFFLED_EXPECTED = 3.0
"""Classes a random batch must be expected to hold for the comparison to mean anything (not tiny batches, not two classes)."""

# -- the tiny-batch experiment (rules/overfit.py, check) --------------------------------------------
OVERFIT_LOSS_SHARE = 0.05
"""Loss on the 16 memorised rows below this share of its start (with every row right) counts as fitted."""

# -- the reference comparison (rules/reference.py, check --model) -------------------------------------
REFERENCE_GAP = 0.20
"""Accuracy gap (reference minus user, absolute) that puts the problem in the user's code."""
NEAR_MAJORITY = 0.03
"""User accuracy within this of the majority label's share counts as 'predicts one label'."""
REFERENCE_LEARNS = 0.20
"""The reference must beat the majority share by this much for the comparison to blame the user's code."""
COMPARABLE_GAP = 0.05
"""Gap below which the two runs count as comparable (seed-to-seed spread of 3-epoch MNIST runs is ~1-3 points)."""

# -- does the run learn (rules/learning.py) -----------------------------------------------------
LEARNS_SHARE = 0.5
"""A run learns when its late training accuracy covers at least this share of the way from chance (the most frequent
class's share of the targets) to every row right: ``tiny_init`` (4 classes) goes from 27% to 100%; a learning rate
100x too high stays at 10-18% on 10 classes. Weight growth alone is no explosion in such a run."""
LEARNS_WELL_SHARE = 0.8
"""The stricter bar under which a saturation share stays a warning: ``pure_params`` (3 classes, 61% of its sigmoids
saturated) reaches 94%, 0.91 of the way; a saturating initialisation of 10 classes trains to about 0.5-0.8 of it."""
LEARNS_ERROR_FELL = 0.75
"""... and its share of training rows wrong must have fallen to at most this share of the early window's: a stale
accumulator (``global_grads_stale``) holds 78% -> 75% while its weights blow up and its units saturate."""
LEARNS_MIN_ROWS = 64
"""Training rows each window needs before the run is said to learn."""

# -- stability (rules/stability.py) ----------------------------------------------------------
def working_scale(shape: tuple[int, ...], *, fan: str = "smaller") -> float:
    """The root-mean-square entry of a usual initialisation of a weight tensor: ``1 / sqrt(fan)`` (Xavier's scale
    without its factor), for one of its two fans, ``shape[0]`` and the product of the rest (which one is the fan-in
    depends on the layout).

    ``fan="smaller"`` gives the largest such scale: weights below it have not blown up, however much they grew. A
    layer that learns settles above the scale of its larger fan: a blog's ``randn(512, 6) / 512`` softmax layer (RMS
    0.002) learning to 98% grows 29x to RMS 0.057, past ``1 / sqrt(512)`` = 0.044 and far under ``1 / sqrt(6)`` = 0.41;
    a blow-up passes both (the forum program's ``N(0, 1)`` weights start at RMS 1).

    ``fan="larger"`` gives the smallest: a step is measured against weights at least that large. A tiny
    initialisation's first steps are many times its own size while the net learns (``randn(400, 6) / 400``: 50% of
    the weights per step, 1% of ``1 / sqrt(400)``), while He's initialisation of a narrow output layer (``(16, 4)``:
    RMS 0.35) is above ``1 / sqrt(16)`` and keeps its own size as the measure.
    """
    fans = (shape[0], math.prod(shape[1:])) if len(shape) >= 2 else (shape[0] if shape else 1,)
    chosen = min(fans) if fan == "smaller" else max(fans)
    return 1.0 / math.sqrt(max(chosen, 1))



EXPLODING_WEIGHT_GROWTH = 10.0
"""Weight norm growth (final / initial) that counts as exploding; healthy 3-epoch runs grow < 3x."""
EXPLODING_GRAD_GROWTH = 100.0
EXPLODING_LOSS_FELL = 0.5
"""Weight growth alone is no explosion when the loss meanwhile fell to at most this share of its start: a linear head
on fixed features trained by Adam at 1e-2 grows 10x (1.84 -> 18.6) while its loss falls from 2.3 and its gradient
stays (1.2x); weights that blow up make the loss rise or go non-finite, and their gradients grow."""
VANISHING_RATIO = 1e-4
"""||dL/dW|| / ||W|| of a weight tensor below which gradients have vanished (healthy ~1e-2)."""
VANISHING_LOSS_LEFT = 0.2
"""Tiny gradients count only while the loss is still above this share of its initial value (converged runs are fine)."""

VANISHING_REACH = 0.02
"""Share of the output's error that the weight matrices above the first pass back to it (the product of their
factors, :class:`~netdoctor.rules.evidence.LayerReach`) below which the first layer's gradient has vanished: Xavier or
He weights pass about 1 per layer; ``randn * 0.01`` passes 0.01 sqrt(fan_in), 0.06 for 32 units, 0.004 through two
such layers."""
VANISHING_STEP = 1e-3
"""``|ΔW| / |W|`` of the first weight matrix's first updates below which it barely moves (healthy first steps ~1e-2)."""
VANISHING_SPREAD = 1e-2
"""The first weight matrix's first steps (``|ΔW| / |W|``) below this share of the last matrix's also say that the error
does not reach it: a rate high enough to move a tiny W1 by 0.3% per step moves the output layer by 70% (a deep net of
healthy weights: within 50x)."""

# -- learning rate (rules/updates.py) -----------------------------------------------------------
LR_HIGH_UPDATE = 0.3
"""Update/weight ratio of one step above which the step is too large (healthy first steps ~2e-2)."""
ADAPTIVE_LR_HIGH = 1.0
"""First-update/weight ratio above which an Adam-like optimizer's learning rate is too high: their first steps move
every entry by about lr whatever the gradient, 30-50% of a small layer at lr 1e-2, a setting that trains well."""
ADAPTIVE_ENTRY_HIGH = 1.0
"""An adaptive rule's step per entry (the entries it moved; about the learning rate whatever the gradient's scale)
over the root mean square of a weight matrix's entries above which its learning rate is too high: every step may then
move each weight by more than its own size. Healthy RMSProp, Adam and Adagrad programs: 0.01-0.18 (generated twins
npw1102, npw1104, npw1111, npw1120, npw1156 at lr 2e-3; the corpus's rmsprop_dict, adam_scratch, adagrad_lists,
rmsprop_step_list); their rates 100x too high: 1.5-2.7 (npw1102: 0.63 per entry against W2's entries of 0.24, at
chance; rmsprop_lists_module_fast: 0.32 against 0.21)."""
LR_FIRST_HUGE = 10.0
"""An update among the first five this many times the weights is too large on its own."""
LR_SETTLED_GROWTH = 5.0
"""Growth of a weight matrix's norm over the run up to which first steps larger than the weights (below
:data:`LR_FIRST_HUGE`) count as a start that settled, when the later steps are below the limit and the gradient
still flows: healthy NumPy runs grow their weight matrices 1.0-2.8x (``pure_params``: first steps 1.4x, 2.6x, 1.2x
the weights, then 2.5%); a learning rate 100x too high whose later steps are small grew them 18-170x (its units
saturated or dead, passing a gradient of 0-8e-4 of the weights; seeds 1000-1124)."""
LR_HIGH_DIVERGE = 1.5
"""A loss above this multiple of the initial loss at the end means training diverged."""
LR_HIGH_LEARNS = 0.5
"""Final accuracy above which a large first step without divergence is not reported (the run learns)."""
LR_LOW_UPDATE = 3e-4
"""Update/weight ratio below which learning is too slow to see in a few epochs."""
LOW_LR_GRADIENT = 1e-2
"""Mean gradient / weights at or above which tiny updates are the learning rate's fault (healthy runs: 0.01-0.8;
runs that converged on constant targets: below 0.004)."""
LR_LOW_LEARNS = 0.9
"""Final accuracy above which small updates are not reported (the run learns)."""
LR_LOW_LOSS_LEFT = 0.9
LR_LOW_TOTAL = 0.15
"""Typical update/weight ratio x the updates of the run below which the weights cannot have moved by more than this
share of their size over the whole run (healthy generated NumPy runs: 0.5-9; a learning rate 1000x too small: 0.007-0.07,
the most where the base rate is large and the run long: np1063, lr 1.25 / 1000 over 200 updates of 3.5e-4 each). Near
the geometric middle of the two ranges, 3x under the healthy least."""
LR_LOW_MIN_STEPS = 20
"""Updates a run must have applied before its total movement is judged."""
"""Without accuracies: small updates count only while the loss stays above this share of its start."""
LR_DECAYED = 1e-3
"""A learning rate below this share of its largest value counts as decayed to ~0."""
LR_DECAYED_SHARE = 0.25
"""Share of the optimizer's steps run at a decayed rate that makes a schedule a finding (cosine and one-cycle
schedules end near 0 for their last ~3% of steps only)."""

# -- the update (rules/updates.py) -------------------------------------------------------------
FIT_OK = 0.2
"""Relative residual below which an update counts as read as a combination of gradients."""
STALE_DECAY = 0.97
"""Buffer carry-over (history weight) per update at or above which accumulation counts as stale (momentum 0.9 stays below)."""
STALE_WEIGHT = 0.5
"""Weight with which the previous step's gradient is still in ``.grad`` at the next backward: an error from here
on (cleared: exactly 0); a warning from 0.05 (scaled, not emptied)."""
STALE_SCALED = 0.05
"""Carry-over below which what is left in a buffer is rounding or momentum-like noise, not a stale gradient."""
BLOWN_UP_GROWTH = 100.0
"""Norm of a weight matrix at a checked step / its norm when watching began from which the weights had blown up there
(healthy runs from a 0.01 x N(0, 1) init grow 15-52x over a whole run). A loss saturated by weights that large (a
clipped log, a softmax at exactly 0 or 1) has finite differences of 0 where the program's formula is not: a mismatch
read only on such steps says nothing about the gradient."""
BLOWN_UP_STEP = 1.0
"""An update / the norm of the weights it moved from which the weights had blown up after it (3x past the
learning-rate rule's own limit; healthy first steps: 1e-4..0.1)."""
SCALE_TOL = 0.15
"""Relative tolerance when comparing the effective learning rate with lr and lr * batch_size."""
SUMMED_BIAS_RATIO = (0.5, 2.0)
"""Output-bias gradient / (batch size x batch mean of output - target) that says the loss is summed over the rows."""
SUMMED_STEP_RATIO = (0.5, 2.5)
"""Step per row (the update check's factor against the batch's summed loss, times the rows) / batch size that says the
step is the sum over the rows: 1 for a sum (2 for a squared error without its 1/2), at most 2 / batch size for a mean."""
SUMMED_MIN_ROWS = 8
"""Rows per batch below which a summed loss is not told apart from a mean."""
SUMMED_SCALE = 2.0
"""Gradient at the loss input / that of the mean-reduced loss above which the loss is summed (mean: exactly 1)."""
SUMMED_UPDATE = 0.03
"""A weight update/weight ratio above this (healthy SGD steps: 1e-4..1e-2) says the summed loss's step is too large, in a
run not known to learn; in a run that learns, a summed loss's step is too large above :data:`LR_HIGH_UPDATE`, the limit
of the learning-rate rule (a sum at lr / batch is the mean's step at lr: generated healthy twins 4-8% at the first step)."""

# -- data and targets (rules/inputs.py, rules/targets.py) ---------------------------------------------
UNSCALED_MAX = 10.0
"""Largest |x| beyond which inputs are unscaled (0-255 pixels instead of [0, 1])."""
INIT_LOSS_HIGH = 1.5
"""Initial loss above this multiple of the expected ln C (or MSE expectation) means a bad start."""
INIT_LOSS_LOW = 0.5
MIN_TARGETS = 30
"""Targets seen before their spread over classes is judged (and at least 3 per output class)."""
MIN_TARGET_ROWS = 64
"""Rows the loss must have seen before targets or predictions are judged (PyTorch loss calls)."""
SOFTMAX_SHARE = 0.9
"""Share of sampled loss calls whose inputs are probabilities (rows in [0, 1] summing to 1) or log-probabilities."""
