"""The records of NumPy discovery: where arrays live, what each did, and the network found.

:mod:`netdoctor.observe.numpy.discovery` fills :class:`Root`, :class:`PathStats` and :class:`FuncStats` while the
program runs; :mod:`netdoctor.observe.numpy.classify` turns them into a :class:`Network`, whose :class:`Param`
records the observer (:mod:`netdoctor.observe.numpy.backend`) follows from then on.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import field
from types import CodeType
from typing import Any

import numpy as np

from netdoctor._lazy import dataclass
from netdoctor.buffers.roles import is_constant
from netdoctor.observe.numpy.arrays import Containers, FrameLocals, Path, array_role

__all__ = ["CACHE_TRIES", "COORDS", "FuncStats", "Network", "Param", "PathStats", "Root", "param_like", "unnamed_param"]

COORDS = 64
"""Sampled coordinates per array for update fits (enough for a 2-coefficient least squares to 1e-3)."""
CACHE_TRIES = 3
"""Writes of an array judged before it is taken as not a cache (a cache is one at every forward pass)."""


@dataclass
class Root:
    """Where arrays are found: an object, a dict, a module's globals, or a running function's locals."""

    obj: Any
    prefix: str
    globals_root: bool = False
    skip: frozenset[str] = frozenset()
    """Names bound only inside loops (of the module, or of the function whose locals these are): loop variables
    and per-step temporaries, never parts of the network."""
    scan: dict[Path, tuple[int, bytes]] = field(default_factory=dict)
    idx: dict[Path, np.ndarray] = field(default_factory=dict)
    paths: list[Path] | None = None
    """The arrays' paths found by the last full walk (looked at between walks)."""
    walks: int = 0
    """Full walks of this root so far (a root found late is walked at each of its first scans too)."""
    sizes: list[tuple[Any, int]] = field(default_factory=list)
    """The root and the containers holding its arrays, with their numbers of items (or attributes) at the last walk:
    a new key (``params['A1'] = h`` written by the first forward) is walked at once, at the return of the function
    that wrote it, not at the next periodic walk."""
    signature: bytes | None = None
    """The compiled scan's reading of :attr:`paths` at the end of the last scan (ids and sampled entries; see
    :meth:`~netdoctor.observe.numpy.discovery.Discovery._unchanged`), or None where C cannot read them."""
    signed: tuple[list[Path], list[Any], list[np.ndarray]] | None = None
    """What :attr:`signature` was read from: :attr:`paths` (the list object), them as the compiled scan reads them
    (0 an item, 1 an attribute) and their sampled positions."""
    replaced: int = 0
    """Times the name this root stands for was bound to a new container (a tuple or dict of gradients built anew
    at every step): such a root cannot be followed once discovery ends, so it is never the network's."""

    @property
    def place(self) -> str:
        """Where the arrays live, for the report's header: ``params``, ``weights, biases``, ``globals``, ``the locals of main()``."""
        if issubclass(type(self.obj), Containers):
            return ", ".join(self.obj)
        if issubclass(type(self.obj), FrameLocals):
            return f"the locals of {self.obj.frame.f_code.co_name}()"
        return self.prefix or "globals"


@dataclass
class PathStats:
    """What one array path did while discovering."""

    shape: tuple[int, ...]
    text: str
    changes: int = 0
    inplace: int = 0
    rebound: int = 0
    where: Counter = field(default_factory=Counter)
    busy: bool = False
    unnamed_param: bool = False
    idx: np.ndarray | None = None
    values: np.ndarray | None = None
    ratios: list = field(default_factory=list)
    """(function, |change| / |array|) of the first changes of a 2-D array (sampled entries)."""
    working_ratios: list = field(default_factory=list)
    """The same changes against the array's size or, when it is smaller, the size the smallest usual initialisation
    gives it (:func:`~netdoctor.rules.policy.working_scale` of the larger fan): a step is large against weights that
    are large enough to work, not against a tiny initialisation that the first steps are meant to grow."""
    cache: bool = False
    """Rewritten by the forward pass (an activation or pre-activation of a layer): neither a parameter nor a buffer."""
    cache_tries: int = 0
    started_zero: bool = False
    """All its sampled entries were zero when first seen: a buffer (or a zero-initialised layer) before training."""
    drawn: float | None = None
    """The root mean square of its sampled entries when first seen, if that was before any array moved like a
    parameter: the scale it was drawn at, before the first step (None: first seen once training had begun)."""
    obj: int = 0
    """``id`` of the array the path held at the latest scan (two paths to one array are one array)."""
    steps: int = 0
    """Changes that were a step of an update rule: the moved amount proportional to another array the step could
    read (``p -= lr * g``: a gradient, a buffer, a velocity), and not to the array's own value (``W *= 30``, a reset)."""
    rewrites: int = 0
    """Times it was rebound to an array of equal values (not a change; the forward rebuilding a constant cache)."""
    rewritten_in: Counter = field(default_factory=Counter)
    """The functions at whose returns those rebinds were seen (code -> times): the forward rebinding its output, or an
    update rebinding a parameter to itself when its step is zero."""
    accumulations: int = 0
    """Changes that added another array as it is (``g += dW``): a gradient summed into a buffer, not a step."""
    read_by: list[PathStats] = field(default_factory=list)
    """The arrays whose steps were proportional to this one's values (the first few): what an update reads (a
    gradient buffer, a momentum's velocity) is never a parameter. Read as :attr:`read`, because an array may be
    found to be a cache after its change looked like a step (``Z2 = W2 @ A1 + b2`` with ``A1`` all zero)."""
    resets: int = 0
    """Changes that set it back to zero from nonzero values (``g[...] = 0``, ``g = np.zeros_like(g)``): a buffer."""
    decays: int = 0
    """Changes that kept a share of its own values and added a multiple of another array (``v = 0.9 * v - lr * g``,
    ``m = b1 * m + (1 - b1) * g``): a momentum's velocity or a moving average, a buffer (see
    :func:`~netdoctor.observe.numpy.steps.decayed_toward`)."""
    divisor: int = 0
    """Steps of an adaptive rule that divided by its square root (``p -= lr * m / (sqrt(v) + eps)``: ``v``): a running
    scale of the gradients (RMSProp's mean square, Adam's second moment), never where the gradients go."""
    numerator: int = 0
    """Steps of an adaptive rule that read it over such a scale (``m``: Adam's first moment, or RMSProp's gradient)."""
    undecided: int = 0
    """Changes the numbers could not judge: it started at zero and its values before were a multiple of another array
    the change could read (a bias and its velocity, at their second update: both lie in the span of the first two
    gradients, so any change of one is a combination of the others). Discovery waits for a change it can judge."""

    @property
    def read(self) -> int:
        """Steps of arrays that are not caches that read this one (see :attr:`read_by`)."""
        return sum(not r.cache for r in self.read_by)

    @property
    def read_by_update(self) -> bool:
        """What the update reads or what is emptied after it (see :attr:`read`, :attr:`resets`): a buffer by behaviour.

        Not an array every change of which (two or more) was a step itself: that is a parameter, whatever moved in
        proportion to it (a cache that copies a bias, ``Z2 = W2 @ A1 + b2`` with ``A1`` all zero). Always what an
        adaptive step read as its moments (:attr:`numerator`, :attr:`divisor`), however its own changes looked: those
        of a moment of three entries pass for steps (any change of three numbers lies in the span of two arrays)."""
        if self.resets or self.decays or self.divisor or self.numerator:
            return True
        return bool(self.read) and not (self.changes >= 2 and self.steps >= self.changes)

    @property
    def stepped(self) -> bool:
        """Moved by an update rule at most of its changes, and never read by another array's step nor reset: a
        parameter by behaviour. (Adam's first moment starts at zero, so its first change is a multiple of the
        gradient; its later ones mix the old moment in, and it is not taken for a parameter.)"""
        return self.steps >= 1 and 2 * self.steps >= self.changes and not self.read_by_update and not self.cache


ARG_SHAPES = 8
"""How many shapes of its array arguments a function's :attr:`FuncStats.kinds` keeps."""


@dataclass
class FuncStats:
    """What one function of the program did while discovering."""

    code: CodeType
    calls: int = 0
    grad_returns: int = 0
    step_returns: int = 0
    """Returns of arrays made after the parameters had moved once: a builder of the first values makes none, a full-batch
    backward called once per update makes one before discovery ends (see ``Classify._gradient_returner``)."""
    shapes: tuple = ()
    returned: tuple = ()
    """Weak references to the arrays of its latest return (:func:`weak`): their ids would outlive them."""
    args: list = field(default_factory=list)
    """The array (or list) arguments of the latest call, held by reference."""
    kinds: dict = field(default_factory=dict)
    """One array argument per shape it was handed (up to :data:`ARG_SHAPES` shapes), held by reference: a method shared
    by every layer (``Layer_Dense.forward(inputs)``) is handed the network's input only at the first layer's call."""
    grad_calls: int = 0
    """Returns at which it had computed arrays shaped like the network's persistent arrays (gradients)."""
    grad_shapes: set[tuple[int, ...]] = field(default_factory=set)
    """The shapes of those arrays."""
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    """Per argument name, the values of the small integer vectors it was handed at those returns, counted
    (``np.bincount``; see :func:`~netdoctor.observe.numpy.discovery.count_labels`): the labels of a network whose
    gradient computations were all made while it was being found."""


@dataclass
class Param:
    """One array of the network, followed by its path."""

    path: Path
    text: str
    shape: tuple[int, ...]
    idx: np.ndarray
    fp_idx: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    quick: tuple[int, ...] = ()
    buffer: Path | None = None
    buffer_text: str = ""
    grad_key: tuple | None = None
    found_text: str = ""
    """The path discovery followed it by, when :attr:`text` names it from the layers that hold it instead
    (:func:`~netdoctor.observe.numpy.naming.layer_holder`): discovery's records are kept under this one."""
    drawn: float | None = None
    """The root mean square of its sampled entries as drawn, before the first step (:attr:`PathStats.drawn`)."""
    bias: bool = False
    """A layer's bias: named so, a vector, or a row or column beside the layer matrices (``self.c`` of shape
    ``(1, n)``), not one of the matrices the layers chain through."""


@dataclass
class Network:
    """What discovery found: the network's root and arrays, and the functions that train it."""

    root: Root
    params: list[Param]
    layout: tuple[str, list[int]] | None
    updater: CodeType | None
    """The function that moves the parameters (None when they never moved)."""
    contributor: CodeType | None
    """The function that computes the gradients (into buffers, returned, or applied inline)."""
    style: str
    """``accumulate`` / ``overwrite`` (buffers), ``returns`` (gradients returned), or "" (applied inline)."""
    grad_map: list[int | None]
    """For ``returns``: returned array k -> index of its parameter."""
    cache_paths: list[Path]
    discovery_ratios: list[list[float]]
    updates: int
    """Updates applied while discovering (each parameter array changed once per update by the updater)."""
    discovery_calls: int
    """Calls of the contributor made while discovering (their samples were not seen)."""
    constants: list[tuple[Path, str]]
    """Arrays of the root that training must not write (templates, data), by path."""
    functions: dict[CodeType, FuncStats]
    frozen: bool = False
    """Found as frozen: nothing moved while the program kept computing gradients for these arrays."""
    holder: Root | None = None
    """The root the parameters are named from when it is not :attr:`root` (a model holding the layers an optimizer's
    lists point into, see :func:`~netdoctor.observe.numpy.naming.layer_holder`)."""
    moved: frozenset[int] = frozenset()
    """Parameters (by index) that the update in progress when discovery ended has moved: when it moves the
    others next, that is still the same update."""


def param_like(st: PathStats) -> bool:
    """Moved by an update rule (:attr:`PathStats.stepped`), or else named like a parameter, or a matrix that changed
    without a name saying otherwise; never a cache, nor what an update reads or what is reset after it (behaviour
    decides before names: ``grads['b1']`` is a buffer when the step of ``params['b1']`` reads it)."""
    if st.cache or st.read_by_update:
        return False
    return st.stepped or array_role(st.text) == "param" or unnamed_param(st)

def unnamed_param(st: PathStats) -> bool:
    """A matrix (both sides > 1) that changed, named neither like a parameter nor like a buffer or a constant."""
    return (array_role(st.text) == "other" and len(st.shape) == 2 and min(st.shape) > 1 and not is_constant(st.text)
            and st.changes >= 1 and not st.cache and not st.read_by_update)
