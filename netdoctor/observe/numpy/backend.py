"""Observe a NumPy training program as it runs: find its network, measure its updates, targets and activations.

Two phases, both driven by the call/return events of the user's own
functions (:class:`~netdoctor.observe.tracer.CallTracer`):

*Discovery* (:mod:`netdoctor.observe.numpy.discovery`, classified by
:mod:`netdoctor.observe.numpy.classify`): at the events of the user's code,
the float arrays reachable from the frames that run (``self``, module
globals, containers handed around or closed over, a long-running function's
locals) are fingerprinted and each change is attributed to the function that
made it, until the parameters, buffers, caches and the functions that train
are told apart by what they do. The tracer follows the loops of the functions
that may train inline meanwhile (module-level code, entry functions, frequent
callers: :class:`~netdoctor.observe.tracer.CallTracer`).

*Watching.* Only the events of those functions are handled, with cheap work:
parameter fingerprints at each contributor call (an update is a change),
sampled coordinates (at most :data:`COORDS` per array, drawn with a private
generator) of parameters and buffers at window boundaries, target vectors and
predictions as class counts and a few distinct values, activations of a
sample of calls kept in fixed-size rings. Nothing of the program's is
written, and its random generators are never drawn from.

:mod:`netdoctor.observe.numpy.verdicts` turns what was recorded into findings.
"""

from __future__ import annotations

import math
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from types import CodeType, FrameType
from typing import Any

import numpy as np

from netdoctor.buffers.peek import is_array
from netdoctor.nn.stats import median
from netdoctor.observe.collector import hand_back, set_aside
from netdoctor.observe.loops import Coverage, LoopProgress
from netdoctor.observe.numpy.activations import (
    RING,
    _activations,
    _as_input,
    _chains_to,
    _computes_layer,
    _input_of,
    _inputs_near,
    _kept_by_objects,
    _kept_paths,
    _layers_found,
    _output_among,
    _record_activations,
    _users_class,
)
from netdoctor.observe.numpy.arrays import ArrayMemo, Path, path_reader, resolve, weak
from netdoctor.observe.numpy.counting import _count_ahead, _count_plan, _count_through, _counted, _counted_updates
from netdoctor.observe.numpy.discovery import Discovery
from netdoctor.observe.numpy.error_targets import ERROR_AFTER, targets_in_error
from netdoctor.observe.numpy.holding import StepHold
from netdoctor.observe.numpy.learning import TrainingAccuracy
from netdoctor.observe.numpy.network import COORDS, FuncStats, Network, Param, Root
from netdoctor.observe.numpy.order import BlockClasses
from netdoctor.observe.numpy.outputs import (
    _close_segments,
    _evaluator_returned,
    _forward_return,
    _helper_call,
    _holds_batch,
    _output_nonfinite,
    _output_rows,
    _probe_call,
    _probe_return,
    _returns_gradients,
    _stored_output,
    stored_output,
)
from netdoctor.observe.numpy.resets import BufferResets, reset_factor
from netdoctor.observe.numpy.roles import Role
from netdoctor.observe.numpy.sharing import SharedBuffers
from netdoctor.observe.numpy.steps import Steps, velocity_text
from netdoctor.observe.numpy.tallies import ClassTally
from netdoctor.observe.numpy.targets import (
    MADE_TRIES,
    BuiltTargets,
    ScalarLabels,
    SoftRows,
    _adopt_built_targets,
    _built_target,
    _compared,
    _count_labels,
    _count_one_target,
    _count_targets,
    _errors_from_locals,
    _inline_targets,
    _is_output,
    _label_row,
    _labels_at_end,
    _labels_from,
    _probabilities_beside,
    _scalar_label_return,
    _soft_read,
    _targets_beside,
    _targets_by_comparison,
    _targets_from,
    _targets_seen,
    error_handed,
    error_of_output_before,
    labels_made_inside,
)
from netdoctor.observe.numpy.update_check import VANISHED
from netdoctor.observe.numpy.update_recorder import TrackedArray, UpdateCheckRecorder
from netdoctor.observe.numpy.updates import (
    _arrays,
    _buffer_arrays,
    _buffer_call,
    _buffer_tick,
    _buffers_replaced,
    _check_reset,
    _check_update,
    _continue_update,
    _count_still,
    _count_update,
    _find_lr,
    _find_lr_named,
    _fingerprints,
    _hold_buffers,
    _light_nonfinite,
    _norms,
    _note_nonfinite,
    _note_touched,
    _on_update,
    _quick,
    _quick_finite,
    _quick_moved,
    _restored,
    _sample_buffers,
    _sample_params,
    _sample_returned,
    _watch_resets,
    _watched_constant,
)
from netdoctor.observe.numpy.views import _forward_inputs, _name_of, _network_array, _served_view, _table_row, _table_under
from netdoctor.observe.numpy.writes import BufferWrites
from netdoctor.observe.options import ObserveOptions
from netdoctor.observe.tracer import CallTracer, StopObserving, caller_of, loop_heads, sampled
from netdoctor.rules.learning import updates_read_text
from netdoctor.usercode import short_path

__all__ = ["NumpyBackend", "COORDS", "RING"]

# plain ints in the handlers: an IntFlag's ``&`` and ``|`` run Python code of the enum module (about 1 us each, several
# per event)
_CONTRIB, _FORWARD, _HELPER, _UPDATER, _EVALUATOR, _PROBE, _TABLE = (
    int(Role.CONTRIB), int(Role.FORWARD), int(Role.HELPER), int(Role.UPDATER), int(Role.EVALUATOR), int(Role.PROBE),
    int(Role.TABLE))

STAND_DOWN_EVENTS = 1_000
"""Calls of the user's functions without any NumPy parameter change after which a program that imported torch
is left to the PyTorch observer (the NumPy tracer stands down)."""


_TAKES_NO_BATCH = re.compile(r"update check not run: (\w+)\(\) does not take the batch of (\w+)\(\)")


def _no_targets_note(note: str) -> str:
    """The update check's note when no targets were seen in the run: what was missing is the targets, not a forward
    that takes the step's batch."""
    m = _TAKES_NO_BATCH.fullmatch(note)
    if m is None:
        return note
    return (f"update check not run: the targets of {m.group(2)}()'s steps were never seen, so the output of "
            f"{m.group(1)}() had nothing to be compared with")


class NumpyBackend:
    """Observer of NumPy training code (see the module docstring).

    Its state is declared in :meth:`__init__`; the events and the step from discovery to watching are here, the work
    of each kind of record in a module of its own: the updates (:mod:`~netdoctor.observe.numpy.updates`),
    the targets and labels (:mod:`~netdoctor.observe.numpy.targets`), the forward's outputs and the probing of
    functions not yet known (:mod:`~netdoctor.observe.numpy.outputs`), the hidden layers' activations
    (:mod:`~netdoctor.observe.numpy.activations`) and the rows of data tables handed around
    (:mod:`~netdoctor.observe.numpy.views`): functions of the backend (``self: NumpyBackend``), bound below as its
    methods under their own names.
    """

    name = "numpy"

    # -- the work of each kind of record, one module each (see the class docstring) ---------------------------
    # updates: observe/numpy/updates.py
    _arrays = _arrays
    _fingerprints = _fingerprints
    _sample_params = _sample_params
    _sample_buffers = _sample_buffers
    _buffer_arrays = _buffer_arrays
    _note_touched = _note_touched
    _sample_returned = _sample_returned
    _quick = _quick
    _quick_moved = _quick_moved
    _check_update = _check_update
    # updates counted in C: observe/numpy/counting.py
    _count_ahead = _count_ahead
    _count_plan = _count_plan
    _count_through = _count_through
    _counted = _counted
    _counted_updates = _counted_updates
    _continue_update = _continue_update
    _restored = _restored
    _note_nonfinite = _note_nonfinite
    _light_nonfinite = _light_nonfinite
    _quick_finite = _quick_finite
    _count_update = _count_update
    _check_reset = _check_reset
    _buffer_tick = _buffer_tick
    _buffer_call = _buffer_call
    _watch_resets = _watch_resets
    _count_still = _count_still
    _hold_buffers = _hold_buffers
    _buffers_replaced = _buffers_replaced
    _on_update = _on_update
    _watched_constant = _watched_constant
    _norms = _norms
    _find_lr = _find_lr
    _find_lr_named = _find_lr_named
    # targets and labels: observe/numpy/targets.py
    _targets_from = _targets_from
    _targets_in_error = targets_in_error
    _probabilities_beside = _probabilities_beside
    _targets_beside = _targets_beside
    _targets_by_comparison = _targets_by_comparison
    _compared = _compared
    _inline_targets = _inline_targets
    _soft_read = _soft_read
    _is_output = _is_output
    _count_labels = _count_labels
    _count_one_target = _count_one_target
    _count_targets = _count_targets
    _built_target = _built_target
    _adopt_built_targets = _adopt_built_targets
    _labels_at_end = _labels_at_end
    _labels_from = _labels_from
    _errors_from_locals = _errors_from_locals
    _scalar_label_return = _scalar_label_return
    _label_row = _label_row
    _targets_seen = _targets_seen
    # the forward's outputs, functions not yet known, helpers that build targets: observe/numpy/outputs.py
    _helper_pending: float | None = None
    _helper_site: tuple[str, int, str] = ("", 0, "")
    _output_rows = _output_rows
    _forward_return = _forward_return
    _output_nonfinite = _output_nonfinite
    _close_segments = _close_segments
    _evaluator_returned = _evaluator_returned
    _probe_call = _probe_call
    _holds_batch = _holds_batch
    _returns_gradients = _returns_gradients
    _probe_return = _probe_return
    _stored_output = _stored_output
    _helper_call = _helper_call
    # the hidden layers' activations: observe/numpy/activations.py
    _activations = _activations
    _record_activations = _record_activations
    _output_among = _output_among
    _kept_by_objects = _kept_by_objects
    _users_class = _users_class
    _kept_paths = _kept_paths
    _inputs_near = _inputs_near
    _as_input = _as_input
    _input_of = _input_of
    _computes_layer = _computes_layer
    _layers_found = _layers_found
    _chains_to = staticmethod(_chains_to)
    # rows of data tables: observe/numpy/views.py
    _served_view = _served_view
    _forward_inputs = _forward_inputs
    _table_under = staticmethod(_table_under)
    _table_row = _table_row
    _network_array = _network_array
    _name_of = _name_of

    @classmethod
    def applies(cls, script: str, source: str) -> bool:
        """Always: a program without NumPy arrays just gives "nothing to observe"."""
        return True

    def __init__(self, options: ObserveOptions | None = None) -> None:
        """Every piece of state the backend keeps between the program's calls, one line each.

        Long because it is a list of declarations: splitting it would scatter where each attribute is introduced.
        """
        self.options = options or ObserveOptions()
        self.rng = np.random.default_rng(0x6E6574)  # private: the program's generators are never touched
        self.tracer = CallTracer(self._on_call, self._on_return, on_tick=self._on_tick, is_user=self.options.is_user)
        self.started = time.perf_counter()
        self._set_aside = False
        """Whether :meth:`install` set the objects alive then aside from the cyclic collector (handed back at the end)."""
        self.events = 0
        self.phase = "discover"
        self.user_files: set[str] = set()
        self.notes: list[str] = []
        self.discovery = Discovery(self.options, self.tracer, self.rng)
        """Finds the network (see :mod:`netdoctor.observe.numpy.discovery`); its tables are dropped once it has."""
        self._funcs: dict[CodeType, FuncStats] = {}
        self.frozen = False
        """The network was found as frozen: its arrays never moved while gradients were computed for them."""
        self.phase_ended_at_end = False
        """Discovery ended only when the program did (every gradient computation was seen while discovering)."""
        # watching
        self.net_root: Root | None = None
        self.holder: Root | None = None
        """The root the parameters are named from when it is not the network's (see :attr:`Network.holder`)."""
        self.params: list[Param] = []
        self.layout: tuple[str, list[int]] | None = None
        self.contributor: CodeType | None = None
        self.updater: CodeType | None = None
        self.forward: set[CodeType] = set()
        self.style = ""
        self._roles: dict[CodeType, int] = {}
        self._fp: list[tuple[int, bytes]] = []
        self._q: list[tuple[Any, ...] | None] = []
        self._P_prev: np.ndarray | None = None
        self._B_start: np.ndarray | None = None
        self._B_last: np.ndarray | None = None
        self._B_held: list[Callable[[], Any]] | None = None
        """The buffers as the last contribution left them, when it left them at zero (:meth:`_buffers_replaced`)."""
        self._G_sum: np.ndarray | None = None
        self._window_calls = 0
        self._window_rows = 0
        self._B_at_call: np.ndarray | None = None
        self._window_touched: list[frozenset[int]] = []
        self._starts: tuple[list[Param], np.ndarray | None, int] | None = None
        """The parameters and where each one's sampled entries begin in a sample of all (see ``_sample_starts``)."""
        """Per contribution of a window heard deep: the parameters whose sampled buffer entries it changed."""
        self._fresh = True
        self.updates = 0
        self.windows: list[dict[str, Any]] = []
        self.early: list[dict[str, Any]] = []
        self.discovery_ratios: list[list[float]] = []
        self.lr: float | None = None
        self.lr_name = ""
        self.lr_measured: float | None = None
        """The learning rate the parameters' steps applied while discovering (their change over the array each step
        read, :meth:`Steps.step_size <netdoctor.observe.numpy.steps.Steps.step_size>`), whatever its spelling."""
        self.lr_read = ""
        """What those steps read, as the program names it (``dW1``), when it has a name."""
        self.adaptive: float | None = None
        """The size per entry of the parameters' steps when they followed an adaptive rule while discovering (each
        step elementwise proportional to ``m / sqrt(v)``: Adam, RMSProp; see
        :meth:`~netdoctor.observe.numpy.steps.Steps.adaptive_size`), else None."""
        self.adaptive_entries: tuple[float, float] | None = None
        """Those steps' size per entry on a weight matrix and the size of its entries (see
        :meth:`~netdoctor.observe.numpy.steps.Steps.adaptive_entries_size`), or None."""
        self.momentum: float | None = None
        """The share of the last step each step keeps through a velocity, measured while discovering (see
        :meth:`~netdoctor.observe.numpy.steps.Steps.momentum_decay`), or None."""
        self.decaying: set[str] = set()
        """The arrays seen decaying while discovering (``v = mu * v + g``: velocities, moving averages), by their text."""
        self.norms_first: dict[str, float] = {}
        self.norms_last: dict[str, float] = {}
        self.norm_reads: list[tuple[int, dict[str, float]]] = []
        """``(update, norms)``: the parameters' norms as watching began and after the updates of a fixed schedule (see
        :func:`~netdoctor.observe.numpy.updates._norms_at_update`), by their text."""
        self._changed_n: list[int] = []
        """Per parameter (by index): the updates that moved it (see :attr:`changed`)."""
        self.nonfinite: dict[str, Any] | None = None
        # targets, labels, outputs
        self._targets = ClassTally()
        self.block_classes = BlockClasses()
        """Rows and classes per block of consecutive training rows (``unshuffled-data``)."""
        """The classes of the targets (see :attr:`targets`)."""
        self._labels_valued: set[int] = set()
        self.target_values: dict[bytes, int] = {}
        self.target_samples = 0
        self.single_output_targets: dict[bytes, int] = {}
        """A network of one output unit: its target columns' distinct values (as bytes of float64) and their rows. Kept
        apart from the class tallies (one unit names no class to count, and regression targets vary)."""
        self.single_beside: tuple[Callable[[], Any], int] | None = None
        """The labels last tallied for a one-unit output from the caller of its gradient's function, and the update it
        was at (a ``backward`` per layer reads the same labels once per update)."""
        self.target_arg = ""
        self.target_helper: CodeType | None = None
        self.helper_args: list[float] = []
        self.helper_calls: list[tuple[str, int, str]] = []
        self._helper_last: dict[int, tuple[Callable[[], Any], float | None, str, int, str]] = {}
        self.built_targets = BuiltTargets()
        self.scalar_labels = ScalarLabels()
        """The argument of the gradient's function that hands the sample's class as one integer, once told."""
        self._label_rows: dict[int, np.ndarray] = {}
        """What the target builder returned, taken as the targets when the training step was never handed any."""
        self.soft_rows = SoftRows()
        """Target rows of many values seen so far (a label smoothing toward the prior), read once they come back."""
        self._last_out: tuple[Callable[[], Any], np.ndarray] | None = None
        """The forward's last output, weakly, with a copy of its first row (C,): never read as targets."""
        self.label_sets: dict[int, dict[str, Any]] = {}
        self.input_mutations: list[str] = []
        self.first_rows: dict[int, list[np.ndarray]] = {}
        self.rows: dict[int, list[np.ndarray]] = {}
        self._rows_held: dict[int, int] = {}
        """Rows in each layer's ring of :attr:`rows` (a per-sample program's ring is 512 arrays of one row)."""
        self.pre_rows: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        """Per hidden layer, (output rows, pre-activation rows) of a few samples whose output was recognised against
        the pre-activation of the weights it was compared with: the function is named from them."""
        self.kinds: dict[int, str] = {}
        self.out_rows: list[np.ndarray] = []
        self._out_rows_n = 0
        self.learning = TrainingAccuracy()
        """The forward's outputs paired with their step's targets, early and late: the training accuracy."""
        """Rows held in ``out_rows`` (a running count: summing the ring at every output would cost a loop over it)."""
        self.predictions: dict[CodeType, Counter] = {}
        self.eval_segments: list[dict[str, Any]] = []
        self._eval_open: dict[int, tuple[CodeType, ClassTally, int, str]] = {}
        self._per_sample_evaluators: set[int] = set()
        """Evaluators (ids of their code) called once per sample: their segments close at updates and at the end only
        (see :func:`~netdoctor.observe.numpy.outputs._evaluator_returned`)."""
        """id of a function whose calls of the forward are being tallied -> (its code, the tally, the updates counted
        when its first output came, the forward's name). Keyed by id: a
        module's code object hashes its nested code objects at every lookup (8-12 us in CPython 3.11), and a
        module-level training loop calls the forward from its module's code at every step."""
        self._evaluators: set[int] = set()
        """ids of the functions given the role ``_EVALUATOR`` (the test of :meth:`_forward_return`, without a hash)."""
        self.returns: dict[CodeType, list[float]] = {}
        self.sharing = SharedBuffers(self.tracer.user_code)
        self.writes = BufferWrites()  # whether the gradient function adds to its buffers or replaces them
        """Buffers found to be one object with a second name the program keeps (a template they are reset to)."""
        self.stopped_because = ""
        self.train_labels_key: int | None = None
        self.contrib_calls = 0
        self.held_window_calls = 0
        """Calls of the gradient function heard in windows that ended held (the call a hold began at, heard before
        it): :meth:`_samples_trained` counts those windows' computations with the held ones, not twice."""
        self.first_window_calls = 0
        """Calls of the gradient function heard in the window under way when discovery ended, after it ended."""
        self.heard_windows: Counter[tuple[int, int]] = Counter()
        """``(computations, target rows)`` -> the update windows heard whole (none of their calls held) that had them
        (see :func:`~netdoctor.observe.numpy.updates._calls_closed`)."""
        self.still_updates = 0
        self.still_nonfinite = 0
        """Of :attr:`still_updates`, those counted after the weights went NaN or infinite (``self.nonfinite``): an update
        of weights that no step moves any more, seen from the buffers it emptied, is no step too small."""
        self._states: dict[int, int] = {}
        """A hash of the parameters' fingerprint bytes after each change -> the update that left them so."""
        self.restores: list[tuple[int, int]] = []
        """``(after update, back to update)``: the parameters set back to values they had before (not counted)."""
        self._moving: set[int] = set()
        """The parameters the update in progress has moved so far (by index)."""
        self._moved_updates = 0
        self._updates_before = 0
        self.norms_first_at = 0
        """Updates applied before ``norms_first`` was measured (those of discovery)."""
        """Updates seen only by the buffers they reset: their step moved no sampled weight."""
        self._unrecorded = False
        self.discovery_calls = 0
        """Calls of the contributor made before it was known (while discovering): their samples were not seen."""
        self._cache_paths: list | None = None
        self._act_calls = 0
        """Looks at the hidden layers' outputs asked for by returns of the forward and the gradient's function."""
        self._act_ticks = 0
        """Looks asked for by loop iterations of followed frames (a forward written inline has no return to look at)."""
        self._act_by_calls = False
        """Whether a look asked for by a return found a layer's output (loop iterations are then not looked at)."""
        self.samples_as_columns: bool | None = None
        """Whether the program's batches hold a sample per column (``W @ x``) or per row (``x @ W``, ``x @ W.T``), as
        the batch a layer's output was found computed from showed it; None before. Not the weights' layout: weights
        kept ``(out, in)`` are applied to batches of rows as often as to columns."""
        self._user_classes: dict[type, bool] = {}
        """Classes seen holding arrays, by whether the program's own files define them."""
        self._views: dict[tuple, bytes] = {}
        self._view_idx: dict[tuple, np.ndarray] = {}
        self._view_bases: dict[int, np.ndarray] = {}
        self._base_data: dict[int, int] = {}
        """The address of each table held in ``_view_bases`` (its ``ctypes.data``, read once)."""
        self.mutated_views: dict[int, dict[str, Any]] = {}
        self._row_sets: dict[int, tuple[np.ndarray, np.ndarray] | None] = {}
        """Per array whose rows are compared: its rows as a set (see :func:`row_set`), when first seen."""
        self._pending_T: np.ndarray | None = None
        self._out: Callable[[], Any] | None = None
        """The output array the forward returned last, weakly (see :func:`weak`): a call handed it compares it with the
        targets. Never its id: a temporary output freed before the next call leaves its address to the next array
        (the batch sliced for the next step), and a match by address counted targets no output was compared with."""
        self._pending_raw: np.ndarray | None = None
        """The batch's targets as the program wrote them (0.01/0.99 codes), beside their one-hot ``_pending_T``."""
        self._targets_compared = False
        self.comparer: CodeType | None = None
        """The function handed the forward's output and its targets (``loss(out, y)``), when the targets were read there:
        where the program computes its output error."""
        self._inline_names: dict[CodeType, frozenset[str]] = {}
        """Per followed code: the names its loops bind (loop variables, per-step temporaries), where a loop that
        compares output and targets inline keeps its targets (:meth:`_inline_targets`)."""
        self._inline_at = 0
        """The update count when targets were last read at a loop head."""
        self._inline_name = ""
        """The name the loop keeps its targets under, once found (only it is read from then on)."""
        self._inline_tries = 0
        """Loop heads looked at without finding targets (the look stops after :data:`INLINE_TRIES`)."""
        self._error_source: tuple[int, str] | None = None
        """Where the output the program builds its output error from was found, once it gave the targets (see
        :func:`~netdoctor.observe.numpy.error_targets.targets_in_error`): its caller's depth and name."""
        self._error_code: CodeType | None = None
        """The function handed that output error (the output layer's ``backward``)."""
        self._error_tries = 0
        self._error_rows = 0
        """Target rows counted from the output error."""
        self._beside_name = ""
        """The name the gradient function's caller keeps its targets under, beside an output waiting for them
        (:meth:`_targets_beside`), once found."""
        self.made_labels = ""
        """The argument of the gradient's function whose labels it makes one-hot itself (:func:`labels_made_inside`)."""
        self.made_tries = 0
        self.beside_targets: tuple[str, CodeType] | None = None
        """``_beside_name`` and the function whose local it is (where the program computes its output error)."""
        self._compare_left = 0
        """Calls after the forward's output that may still be the comparison (then it is looked for again at the next
        output); a program that compares inline never pays for more than a few calls per output."""
        self._compare_misses = 0
        """Outputs after which no call was handed the output: after 64 of them, comparisons are no longer looked for."""
        self._beside_misses = 0
        self._beside_found = False
        """Looks for the output's probability rows beside the targets that found none, and whether one ever found them
        (the look stops after :data:`~netdoctor.observe.numpy.targets.BESIDE_TRIES` misses with none found)."""
        self._D_sum: np.ndarray | None = None
        self._error_wait: np.ndarray | None = None
        """The forward's last output less the targets a call compared it with, when the output reads as no
        probabilities: recorded as the output error once the gradient's function is handed a multiple of it."""
        self._D_rows = 0
        self._constants: list = []
        self.mutated: dict[str, int] = {}
        self._grad_map: list[int | None] = []
        self._probe_left: dict[CodeType, int] = {}
        self._probe_inputs: dict[int, bool] = {}
        self._probe_attrs: dict[int, dict[tuple[str, str], Callable[[], Any]]] = {}
        self.cache_paths: list[Path] = []
        """Arrays of the network's root that the forward pass rewrites (activations, pre-activations, its input)."""
        self.output_attr: dict[CodeType, tuple[str, str]] = {}
        """Forwards that keep their output on an object instead of returning it: the global holding the object ("" for
        ``self``) and the attribute's name (see :func:`~netdoctor.observe.numpy.outputs.stored_output`)."""
        self._deep = True
        """Whether the current update window is watched in full (else only counted; see ``CallTracer.budget``)."""
        self._prev_deep = False
        self._resets: BufferResets | None = None
        """In a program that accumulates into buffers: their resets seen at the step's loop heads (the updates that move
        no weight, counted in windows whose gradient function runs held)."""
        self._deep_updates = 0
        self._quick_plan: list[tuple[Callable[[Any], Any], int, int, int, int, np.ndarray]] = []
        """Per parameter: its path's reader (:func:`~netdoctor.observe.numpy.arrays.path_reader`), the three entries
        :meth:`_quick` reads (the last repeated for an array of fewer), the largest sampled position (plain ints), the
        fingerprint's positions."""
        self._quick_arrays: list[Any] = []
        self._quick_c: tuple[list[Any], list[Any], list[np.ndarray]] | None = None  # (updates._quick_paths)
        self._quick_where: tuple[list[Any], list[tuple[int, int, int]]] | None = None  # (counting._quick_places)
        self._buffers_c: tuple[list[Param], list[Any], list[np.ndarray], int] | None = None  # (updates._buffer_paths)
        """The parameters as :meth:`_quick` resolved them last (its fingerprints are taken from these)."""
        self._tracked_list: list[TrackedArray] | None = None
        self._tracked_for: list[Param] | None = None
        self._forward_calls = 0
        self._forward_returns = 0
        self._helper_returns = 0
        self._view_returns = 0
        """Counts of the calls and returns of the functions with these roles: what is sampled among them is decided by
        these counts (never by ``events``, which also counts loop-head ticks and the calls of unclassified code)."""
        self._where = ""
        """The updater as the update check names it (``train() at file.py:12``), once."""
        self._target_codes: dict[bytes, int] = {}
        """One target vector's bytes (dtype, shape and values) -> its class, or -1 when it encodes none: a per-sample
        program hands the same few target vectors over and over, each is decoded once."""
        self.target_memo = ArrayMemo()
        """What the values of a large target array handed again unchanged were found to be (class codes, one class per
        row): a full-batch program hands the same 4,000 rows at every step."""
        self._codes_back: set[str] = set()
        """The arguments that handed the gradient's function one target vector a second time: read from then on."""
        self.hold = StepHold(self.tracer)
        """Which windows run the step's forward and gradient functions untraced (see :meth:`_next_window`)."""
        self._count_refused = False
        """Whether the compiled filter could not read this network's parameters (no update is counted in C then)."""
        self._count_head = (0, 0)
        self._count_cache: tuple[Any, list[Any], list[tuple]] | None = None
        """The last plan handed to the compiled filter, with the root and arrays it was made for."""
        self.counted_in_c = 0
        self.targets_unread = 0
        """Updates of windows not held counted in C whose inline targets were not read (the header says so)."""
        self._count_armed = (-1, -1)
        """The update count and :attr:`counted_in_c` when counting in C was last asked for."""
        self._count_misses = 0
        self._count_retry = 0
        """The update count from which counting in C is asked for again (after four counts ended at their first tick)."""
        """Updates counted by the compiled filter alone, heard afterwards (:mod:`~netdoctor.observe.numpy.counting`)."""
        """The loop head (id of the code, line) whose updates are counted in C now (:meth:`_count_ahead`)."""
        self.update_checks = UpdateCheckRecorder(updates=lambda: self.updates)  # a few steps against finite differences
        self.progress = LoopProgress(self.tracer.user_code)
        """The loops around the updates, read at a few of them: the program's own update count (the header's "of M")."""

    @property
    def changed(self) -> Counter[str]:
        """How many of the updates observed moved each parameter (by its text; parameters never moved are absent)."""
        return Counter({prm.text: n for prm, n in zip(self.params, self._changed_n) if n})

    @property
    def held_updates(self) -> int:
        """Updates counted while the gradient function ran untraced (its calls in their windows not seen): held, or,
        in a program that accumulates into buffers, listened to (:attr:`StepHold.listen
        <netdoctor.observe.numpy.holding.StepHold.listen>`: its calls in a held window look at the buffers and are not
        counted as computations), also when the forward is the one function held (the gradient function applies the
        updates itself: closure_layers)."""
        code = self.contributor
        hold = self.hold
        return hold.held_updates if code is not None and (code in hold.held_codes or code is hold.listen) else 0

    @property
    def targets(self) -> Counter[int]:
        """How many of the targets the program trained on encode each class (every target seen is counted)."""
        return self._targets.counter()

    def _settle(self) -> None:
        """The evaluation segments' class counts as the rules read them (``counts``, a Counter), from their tallies."""
        for seg in self.eval_segments:
            if "counts" not in seg:
                seg["counts"] = seg["tally"].counter()

    @property
    def root(self) -> Root:
        """The network's root; only read once discovery has found it (``params`` are non-empty then)."""
        if self.net_root is None:
            raise RuntimeError("the network's root is read before discovery found it")
        return self.net_root

    # -- a read-only view for the rules' evidence (observe/numpy/verdicts.py) -------------
    def code_named(self, name: str) -> CodeType | None:
        """A function of the program seen while observing, by its name (None when none was)."""
        return next((code for code in list(self._roles) + list(self._funcs) if code.co_name == name), None)

    def called_again(self) -> list[CodeType]:
        """The program's functions called more than once while discovering (the helpers of the steps; a constructor
        of one object runs once, before the training)."""
        return [code for code, stats in self._funcs.items() if stats.calls > 1]

    @property
    def gradient_computations(self) -> int:
        """Calls of the contributor seen in all, those made while discovering included (a network found as frozen is
        found from them)."""
        return self.contrib_calls + (0 if self.phase_ended_at_end else self.discovery_calls)

    def sampled_params(self) -> tuple[np.ndarray, np.ndarray]:
        """``(when watching began, now)``: the sampled entries of every parameter, laid out like ``params``."""
        return self.P_first, self._sample_params()

    # -- protocol -------------------------------------------------------------------
    def install(self) -> None:
        """Start watching calls of the user's code; the objects alive now are set aside from the cyclic collector
        until :meth:`uninstall` (:func:`~netdoctor.observe.collector.set_aside`)."""
        self.started = time.perf_counter()
        self._set_aside = set_aside()
        self.tracer.install()

    def uninstall(self) -> None:
        """Stop watching; the previous trace function is restored. An update applied after the last call seen counts."""
        self.tracer.uninstall()
        if self._set_aside:
            self._set_aside = False
            hand_back()
        if self.phase == "discover" and self.tracer.failed is None:
            found = self.discovery.at_end()  # parameters that never moved in a run too short to tell before
            if found is not None:
                self._start_watching(found)
                self.contrib_calls = found.discovery_calls  # the gradient computations were all seen while discovering
                self.phase_ended_at_end = True
        if self.phase == "watch" and self.tracer.failed is None and self.params:
            try:
                if not self._check_update(None):
                    self._check_reset(None)
            except Exception as exc:  # noqa: BLE001 - as in the tracer: our error is reported, never raised
                self.tracer.failed = exc
        for key in [k for k in self._eval_open if k in self._per_sample_evaluators]:
            self._close_segments(self._eval_open[key][0])  # a per-sample evaluation ran to the end
        for _, counts, opened, forward in self._eval_open.values():  # segments still open: checked, not closed
            if self.nonfinite is None and not counts.finite():
                self._output_nonfinite(opened, forward)
        self._adopt_built_targets()
        self._labels_at_end()

    def observer_seconds(self) -> float:
        """Seconds the program spent in this observer's handlers (measured by its tracer)."""
        return self.tracer.budget.spent

    def verdict_ready(self) -> bool:
        """True once the network is found and enough updates were measured for the update findings."""
        return self.phase == "watch" and self.updates >= 20 and self.target_samples >= 200

    @property
    def network_found(self) -> bool:
        """Whether discovery found a network (else there is nothing to judge, and the rules are not even imported)."""
        return bool(self.params)

    def other_training(self, what: str) -> None:
        """Another observer recognised the program's training (``what``: its first PyTorch optimizer step): unless
        NumPy arrays were seen being trained, the NumPy tracer stands down at once (see :meth:`_stand_down`)."""
        if self.phase == "discover" and not self.discovery.param_events and self.tracer.installed:
            self._stand_down(what)

    def findings(self):
        """What was seen (see :mod:`netdoctor.observe.numpy.verdicts`)."""
        if not self.network_found:
            return []
        from netdoctor.observe.numpy.verdicts import findings_from, step_at
        from netdoctor.rules.backprop import gradient_mismatch_in_updates

        self._settle()
        fwd = sorted(f"{c.co_name}()" for c in self.forward)
        step_at(self, self.update_checks.checks)
        return findings_from(self) + gradient_mismatch_in_updates(
            self.update_checks.checks, curve=self.learning.curve(", ".join(fwd) or "the forward"),
            start_norms=self.norms_first, blown_at=self._blown_at())

    def _blown_at(self) -> int | None:
        """The update after which the weights had blown up: the first one discovery measured moving a parameter by
        :data:`~netdoctor.rules.policy.BLOWN_UP_STEP` of its norm or more (updates 1, 2, ... in order); None when
        none did."""
        from netdoctor.rules.policy import BLOWN_UP_STEP

        steps = max(map(len, self.discovery_ratios), default=0)
        return next((i + 1 for i in range(steps) if any(
            len(r) > i and math.isfinite(r[i]) and r[i] >= BLOWN_UP_STEP for r in self.discovery_ratios)), None)

    def _orientation(self) -> str:
        """How the model line says the network is laid out: a sample per row or per column, as the weights' layout
        reads it, and the weights' own layout too where the batches seen say otherwise (``x @ W.T``: rows of samples,
        weights kept (out, in), was called "columns")."""
        if self.layout is None:
            return ""
        out_in = self.layout[0] == "columns"
        cols = self.samples_as_columns
        if cols is None or cols == out_in:
            return self.layout[0]
        return f"{'columns' if cols else 'rows'}, weights {'(out, in)' if out_in else '(in, out)'}"

    def sections(self) -> dict[str, Any]:
        """Per-layer activations, predictions and update measurements for the report."""
        if not self.network_found:
            return {}
        from netdoctor.observe.numpy.verdicts import sections_from

        self._settle()
        return sections_from(self)

    @property
    def _place(self) -> str:
        """Where the parameters live, for the header: the holder they are named from, else the network's root."""
        return (self.holder or self.root).place

    def context(self) -> dict[str, Any]:
        """The network found and what was observed of it."""
        ctx: dict[str, Any] = {"observer": self.name}
        if self.params:
            if self.layout:
                ctx["model"] = f"{' -> '.join(map(str, self.layout[1]))} ({self._orientation()}), {len(self.params)} arrays in {self._place}"
            else:
                ctx["model"] = f"{len(self.params)} arrays in {self._place}"
            ctx["training"] = self._training(ctx)
        ctx["updates_observed"] = self.updates + (self._coverage().before if self.params else 0)
        ctx.update(self._expected())
        # (a one-unit output's targets are tallied by value: counted too)
        ctx["samples_observed"] = self.target_samples or sum(self.single_output_targets.values())
        ctx["windows_sampled"] = self._deep_updates  # update windows sampled in full (the tracer's Budget schedule)
        notes = list(self.notes) + self.update_checks.notes(layout_known=bool(self.layout))
        if self.layout and self.layout[1][-1] == 1:
            # one output unit (sized from labels of one class): a softmax over it is 1 whatever the weights; the loss
            # cannot move, and nothing vanished
            notes = [n.replace(VANISHED, "the network has a single output unit (a softmax over one unit is 1 "
                                         "whatever the weights; else its units saturated)") for n in notes]
        if not self.target_samples:
            # no targets seen in the whole run: the forward may well take the batch, there was nothing to compare its
            # output with (say what was not seen)
            notes = [_no_targets_note(n) for n in notes]
        if self.frozen:
            computed = self.gradient_computations
            ctx["gradient_computations"] = computed  # what was observed of a network that never moved
            if self.updates == 0 or ctx.get("updates_expected") is None:
                # steps of zero are counted only from the buffers they empty: without them, or without the loops to
                # hold the count against, the steps were not (all) seen
                counted = f"; {self.updates:,} of its steps were seen emptying the gradient buffers" if self.updates else ""
                notes.append(f"updates not observed: the network's arrays never moved in the {computed:,} gradient "
                             f"computations seen (found from the gradients computed for them){counted}")
            if not ctx["samples_observed"]:
                notes.append(self._frozen_unread())
        for after, back in self.restores[:3]:
            notes.append(f"after update {after:,} the weights were set back to the values they had after update "
                         f"{back:,} (saved weights restored): not counted as an update" if back < after else
                         f"after update {after:,} the weights were bound to copies of their own values outside the "
                         "training loops (saved weights restored): not counted as an update")
        stopped = self._counting_stopped()
        if stopped:
            notes.append(stopped)
        if self.params and self.updates:
            coverage = self._coverage()
            if coverage.note:
                notes.append(coverage.note)
        if self.tracer.stood_down:
            notes.append(self.tracer.stood_down)
        failed = self._failure()
        if failed:
            notes.append(failed)
        if notes:
            ctx["notes"] = notes
        return ctx

    def _frozen_unread(self) -> str:
        """The note of a network that never moved and whose targets were never read: why nothing moved is then not
        judged (targets of one class, a one-unit output, are a cause no rule could see), and why they were not read."""
        why = (f"the program ended before the network was found: its {self.gradient_computations:,} gradient "
               "computations were all made while netdoctor was still finding it, where no targets are read"
               if self.phase_ended_at_end else "no argument of the gradient computations read as targets")
        one = (" (the network has a single output unit: a softmax over one unit is 1 whatever the weights, so a "
               "network sized from labels of one class gets no gradient)" if self.layout and self.layout[1][-1] == 1 else "")
        return (f"targets not seen: {why}; the rules that compare the output with its targets (constant or scaled "
                f"targets) could not run, so why nothing moved was not judged from them{one}")

    def _failure(self) -> str:
        """The note of an observer that stopped early on an error of its own (where it was raised), or ""."""
        failed = self.tracer.failed
        if failed is None:
            return ""
        import traceback

        last = traceback.extract_tb(failed.__traceback__)[-1]
        return (f"the observer stopped early on an error of its own ({type(failed).__name__}: {failed} at "
                f"{os.path.basename(last.filename)}:{last.lineno}); the program ran on unobserved")

    def _training(self, ctx: dict[str, Any]) -> str:
        """The header's ``training`` row: the updates observed (of the program's own count), the samples whose targets
        were seen (of those trained on: put into ``ctx["samples_trained"]``), the learning rate."""
        coverage = self._coverage()
        expected, total = coverage.expected, self.updates + coverage.before
        seen = (f"{total} updates observed" if expected is None or total > expected
                else f"{total} of {expected} updates observed")
        said = []
        if self.frozen and not self.updates:
            # no step can be counted where none moves a weight and no buffer is seen emptied; what was seen is the
            # gradient computations the network was found from, and the targets they were handed
            who = f" of {self.contributor.co_name}()" if self.contributor is not None else ""
            seen = f"0 updates observed (no weight moved in the {self.gradient_computations:,} gradient computations{who} seen)"
        if self.frozen and self.updates:
            said.append("steps of zero: none moved a weight; counted from the gradient buffers each one emptied")
        elif self.still_updates:
            if self.still_updates > self.still_nonfinite:
                said.append(f"{self.still_updates - self.still_nonfinite} of them too small to change any sampled weight")
            if self.still_nonfinite:
                said.append(f"{self.still_nonfinite} of them applied to weights already NaN or infinite, counted from "
                            "the gradient buffers each one emptied")
        if coverage.before:
            said.append(f"{coverage.before} made before the network was found and not seen there, counted from "
                        "where its loops were then")
        if said:
            seen += f" ({'; '.join(said)})"
        trained = self._samples_trained()
        # (targets read elsewhere than in the held functions: all counted)
        held = (0 if self.hold.targets_held else self.hold.held_updates) + self.targets_unread
        # (the windows whose targets were read: a held window's were not, nor those of a window counted in C)
        sampled = (f" (read in {min(self.learning.windows, self.updates):,} of the {self.updates:,} update windows, "
                   "the others counted only)" if held else "")
        if trained is not None:
            ctx["samples_trained"] = trained[0]
            seen += (f", targets of {self.target_samples:,} of {'the' if trained[1] else 'about'} "
                     f"{trained[0]:,} samples trained on{sampled}")
        elif self.target_samples:
            seen += f", targets of {self.target_samples:,} samples seen{sampled}"
        elif self.single_output_targets:  # (a one-unit output's targets, tallied by value)
            seen += f", targets of {sum(self.single_output_targets.values()):,} samples seen"
        if self.lr is not None:
            seen += f", {self.lr_name}={self.lr:g}"
        elif self.lr_measured is not None:  # no variable holds it: what the steps applied
            seen += f", learning rate {self.lr_measured:.4g} (measured: each step over {self.lr_read or 'the array it read'})"
        if self.adaptive is not None:
            seen += f", an adaptive update rule (each step ~ m / sqrt(v): {self.adaptive:.2g} per entry)"
        curve = self.learning.curve("the forward")
        if curve is not None:  # the outputs against their own step's targets: does the run learn
            seen += (f"; training accuracy {100 * curve.early:.0f}% -> {100 * curve.late:.0f}% (first "
                     f"{curve.early_rows:,} rows, {updates_read_text(curve.early_updates, curve.early_read)}; last "
                     f"{curve.late_rows:,} rows, {updates_read_text(curve.late_updates, curve.late_read)}; one class "
                     f"for all: {100 * curve.chance:.0f}%)")
        return seen

    def _samples_trained(self) -> tuple[int, bool] | None:
        """``(samples, exact)``: the samples the program trained on, from its gradient computations that fed an update
        (:meth:`_fed_computations`; else all those heard, those made while discovering included) and the rows each was
        handed (from the windows whose targets were seen); exact when every window's computations were handed the same
        rows and none ran held (its rows unseen). None when the targets of fewer than 90% of the computations watched
        were seen: the rows of the others are not known."""
        fed = self._fed_computations()
        calls, k, extra_calls, extra_rows = fed if fed is not None else (self.gradient_computations, 0, 0, 0)
        # (not the window under way when discovery ended: its first computations were counted there, their targets
        # may have been read here; nor one that also computed for no update)
        per = [(w["rows"], w["calls"]) for w in self.windows
               if w.get("calls") and w.get("rows") and w["update"] > self._updates_before + 1
               and (not k or w["calls"] <= k)]
        if self.held_updates and fed is None:  # the windows whose step ran untraced: as many computations as the others
            every = [w["calls"] for w in self.windows if w.get("calls")]
            if every:  # (the calls heard in those windows are among them: smoothed_prior counted 8,450 for 8,000)
                calls += round(self.held_updates * float(median(every))) - self.held_window_calls
        if not calls or not self.target_samples or self.contrib_calls <= extra_calls:
            return None
        # with steps held, the rows per computation of all the computations heard: a window where the hold began or
        # ended heard the computation of a step whose targets ran held, or the targets of one it did not hear
        # with targets read outside the held functions (the loop's own variables), every step's targets were read
        # but the computations of the held steps were not heard: the targets over the calls heard overstate the rows
        # per computation (stored_layers_train_fn: 5,975 targets over 194 calls, 14,784 for 6,000); the windows heard
        # whole say it (their median: a window where the hold began or ended is off)
        rate = (sum(r for r, _ in per) / sum(c for _, c in per) if per and not self.held_updates
                else float(median([r / c for r, c in per])) if per and self.hold.targets_held
                else (self.target_samples - extra_rows) / (self.contrib_calls - extra_calls))
        if self.target_samples < 0.9 * self.contrib_calls * rate:
            return None
        if per and len({r / c for r, c in per}) == 1 and per[0][0] % per[0][1] == 0:
            # exact only when every window's rows were seen: a held window's are not (adam_per_sample's last batch of
            # each epoch has 16 rows, not 32: 7,255 was said exact for 7,200)
            return calls * (per[0][0] // per[0][1]), not self.held_updates
        return round(calls * rate), False

    def _fed_computations(self) -> tuple[int, int, int, float] | None:
        """``(computations, k, unapplied, their rows)``: the gradient computations whose gradient an update applied, the
        computations ``k`` a window makes for its update, and the computations heard that fed none with the target rows
        they read; from the update windows heard whole (none of their calls held). None when none was, or no count of
        computations is that of at least half of them.

        An update applies what the computations of its window computed: ``k`` of them, the count most windows heard
        whole have. A window of ``c > k`` also computed for something no update took (a test set handed to the same
        loss-and-gradient function between epochs: pytree_params counted 4,308 samples for 3,840): it counts ``k``,
        and its rows beyond those of ``k`` computations (at the rate of the windows of at most ``k``) are no update's.
        The windows not heard whole (held) count as many as those heard whole on average; those of discovery and of
        the window under way when it ended, as they were heard. After the last update, ``k`` to ``max(3 k, 10)``
        computations are an evaluation at the end (no update's, nor are their rows); fewer are the rest of the last step
        (closure_dict_outputs computes once before its update and three times after it); more, or any after the
        weights went non-finite, are steps whose updates could not be seen (counted)."""
        heard = Counter({c: 0 for c, _ in self.heard_windows})
        for (c, _), n in self.heard_windows.items():
            heard[c] += n
        k, n = max(((c, m) for c, m in heard.items() if c), key=lambda cm: cm[1], default=(0, 0))
        rated = [(c, r, m) for (c, r), m in self.heard_windows.items() if 0 < c <= k and r]
        if not k or 2 * n < sum(m for c, m in heard.items() if c) or not rated:
            return None
        # (the window under way when discovery ended: its computations heard since, the others among discovery's)
        unheard = max(self.updates - self._updates_before - sum(heard.values()) - 1, 0)
        fed = sum(min(c, k) * m for c, m in heard.items())
        calls = round(fed + unheard * fed / sum(heard.values())) + self.discovery_calls + (
            self.first_window_calls if self.updates > self._updates_before else 0)
        steady = sum(r * m for _, r, m in rated) / sum(c * m for c, _, m in rated)
        after = self._window_calls
        # (computations after the last update: an evaluation at the end when k or more, the rest of the last step
        # when fewer; and steps still made when the weights went non-finite or many times k: steps no one could see)
        trailing = k <= after <= max(3 * k, 10) and self.updates > self._updates_before and self.nonfinite is None
        calls += 0 if trailing else after
        extra_calls = sum((c - k) * m for (c, _), m in self.heard_windows.items() if c > k)
        extra_rows = sum(max(r - k * steady, 0) * m for (c, r), m in self.heard_windows.items() if c > k)
        return calls, k, extra_calls + trailing * self._window_calls, extra_rows + trailing * self._window_rows

    def _coverage(self) -> Coverage:
        """The updates observed against the program's own count, read from its loops (see
        :meth:`LoopProgress.coverage <netdoctor.observe.loops.LoopProgress.coverage>`)."""
        cut = bool(self.stopped_because or self.tracer.failed is not None or self.tracer.stood_down)
        return self.progress.coverage(self.updates, cut=cut)

    def _expected(self) -> dict[str, Any]:
        """``updates_expected`` (the program's own update count, when the observation is held against it) and
        ``loops`` (what it was read from, or why it was not)."""
        if not self.params:
            return {}
        coverage = self._coverage()
        return {"updates_expected": coverage.expected, "loops": coverage.loops}

    def _counting_stopped(self) -> str:
        """Why the update count may be short of the program's: weights that are NaN or Inf stay so under any
        update (``nan - lr * g`` is ``nan``), so an update after that moves nothing the count can see."""
        nf = self.nonfinite
        if nf is None or not self.params or self.updates - int(nf["update"]) > 2:
            # none, or the count went on past it (some weights still finite and moving)
            return self._gradients_after_last_update()
        with np.errstate(all="ignore"):
            bad = [prm.text for prm, a in zip(self.params, self._arrays())
                   if is_array(a) and a.dtype.kind in "fc" and not np.isfinite(a).all()]
        if not bad:
            return ""
        return (f"from update {self.updates:,} on, updates were not counted: the weights became non-finite "
                f"({', '.join(bad[:3])}{', ...' if len(bad) > 3 else ''}: NaN or Inf first seen at update {nf['update']:,} in "
                f"{'the weights' if nf.get('where') == 'update' else 'the output of ' + str(nf.get('where'))}), and a NaN weight "
                "stays NaN, "
                "so a later update changes nothing to see; the program may have made more")

    def _gradients_after_last_update(self) -> str:
        """Gradients computed after the last update counted, many times as many as an update took before: the
        program went on stepping, and its steps stopped changing the weights (too small for their float
        resolution once they grew large, or zero)."""
        per = [w["calls"] for w in self.windows if w.get("calls")]
        typical = float(median(per)) if per else 0.0
        if not per and self._updates_before:
            # every update counted was seen while discovering: the computations made until discovery ended are an
            # upper bound of those an update took
            per, typical = [self.discovery_calls], self.discovery_calls / self._updates_before
        after = self._window_calls
        if self.contributor is None or not per or after < 10 or after <= 3 * typical:
            return ""
        grown = {k: self.norms_last[k] / v for k, v in self.norms_first.items() if v > 0 and k in self.norms_last}
        worst = max(grown, key=lambda k: grown[k], default=None)
        why = (f"the weights grew to norm {self.norms_last[worst]:.3g} ({worst}, {grown[worst]:.3g}x its first), where "
               "a step below their float resolution changes nothing" if worst is not None and grown[worst] > 1e3 else
               "the steps it applied changed no sampled weight (zero, or below the weights' float resolution)")
        coverage = self._coverage()
        unread = (f"; its own count could not be read from its loops ({coverage.loops})" if coverage.expected is None
                  else "")
        return (f"from update {self.updates:,} on, updates were not counted: {self.contributor.co_name}(), which "
                f"computes the gradient, ran {after:,} times after it ({typical:.3g} per update before) and {why}; the "
                f"program may have made more updates{unread}")

    # -- events --------------------------------------------------------------------
    def _on_call(self, frame: FrameType) -> bool:
        self.events += 1
        code = frame.f_code
        self.user_files.add(code.co_filename)
        if self.phase == "discover":
            found = self.discovery.on_call(frame)
            if found is not None:
                self._start_watching(found, frame)
            elif self.events >= STAND_DOWN_EVENTS and not self.discovery.param_events and "torch" in sys.modules:
                self._stand_down(f"the {self.events:,}th call of the program's functions")
                return False
            return True
        self.hold.call(code)
        if code is self.contributor and self._resets is not None and self._buffer_call(frame):
            return False  # (held but for its call: see StepHold.listen)
        role = self._roles.get(code)
        if role is None:
            role = self._roles[code] = _PROBE  # first seen after discovery: a few calls tell what it is
        checking = self._update_check_call(frame, bool(role & _FORWARD))
        if self._out is not None and not role & (_CONTRIB | _FORWARD) and self._targets_by_comparison():
            self._compared(frame)
        if not role:
            self._error_call(frame)
            if not checking and code is not self._error_code and self._ignorable(code):
                self.tracer.ignore(code)  # its calls cost what a library's do from now on
            return checking
        self._limits()
        if role & _FORWARD:
            self._forward_calls += 1
            if self._forward_calls % 4 == 1:
                self._forward_inputs(frame)
        if role & (_CONTRIB | _UPDATER | _PROBE) or (role & _FORWARD and self._forward_calls % 8 == 0):
            if self._check_update(frame):
                if role & _CONTRIB:  # (an update applied before the forward whose output waits: counted only now)
                    self.learning.counted_late(self.updates, self.contrib_calls)
            elif role & _CONTRIB:
                self._check_reset(frame)
            if role & _CONTRIB and self.tracer.holding and code is self.hold.listen:
                return False  # (the update just counted here began a held window: this call is its first, held)
        if role & _CONTRIB:
            self._contrib_call(frame)
        if not role & _FORWARD:
            self._error_call(frame)  # (after the contributor's own arguments were read: they may hold the targets)
        if role & _HELPER:
            self._helper_call(frame)
        if role & _PROBE:
            self._probe_call(frame)
        return True

    def _on_return(self, frame: FrameType, value: Any) -> None:
        if self.phase == "discover":
            found = self.discovery.on_return(frame, value)
            if found is not None:
                self._start_watching(found, frame)
            return
        if self.update_checks.busy:
            self.update_checks.on_return(frame, value)
        code = frame.f_code
        role = self._roles.get(code, 0)
        if role & _CONTRIB:
            self._contrib_return(frame, value)
            if not role & _FORWARD and self.update_checks.pending and issubclass(type(value), np.ndarray):
                self._contributor_output(frame, value)
        if role & _FORWARD:
            stored = self.output_attr.get(code)
            if value is None and stored:
                value = stored_output(frame, stored)
            self._forward_return(frame, value)
        if role & _HELPER:
            self._helper_last[id(value)] = (weak(value), self._helper_pending, *self._helper_site)
            self._helper_returns += 1
            self._built_target(value)
            if issubclass(type(value), np.ndarray) and value.base is not None and self._helper_returns % 2 == 0:
                self._served_view("", value, frame, table=2)  # a row of a table returned again: the same values
        elif role & (_CONTRIB | _UPDATER | _PROBE | _TABLE) and not role & _FORWARD and issubclass(type(value), np.ndarray) and (
                value.base is not None):
            # rows of a long-lived table returned by any other function of the program (a target helper taken for the
            # step because it runs while the parameters move, an output error computed on a row in place): the same
            # rows must come back with the same values
            self._view_returns += 1
            if self._view_returns % 2 == 0:
                self._served_view("", value, frame, table=2)
        if role & _EVALUATOR:
            self._evaluator_returned(code)
            if issubclass(type(value), (int, float, np.number)) and not issubclass(type(value), bool):
                self.returns.setdefault(code, []).append(float(value))
        if role & _PROBE:
            self._probe_return(frame, value)

    def _on_tick(self, frame: FrameType) -> None:
        """A followed frame (module-level code, a function that keeps calling the user's functions) starts a loop
        iteration: updates applied inline there, between calls or without any, are seen here."""
        self.events += 1
        if self.phase == "discover":
            found = self.discovery.on_tick(frame)
            if found is not None:
                self._start_watching(found, frame)
            return
        hold = self.hold
        if not hold.recording:
            hold.ticks += 1  # (the fast way of a window neither deep nor held: StepHold.tick's count alone)
        elif not hold.tick(frame):
            return  # a loop head of the held step between two updates
        self._limits()
        moved = self._check_update(frame)
        if self._resets is not None:
            self._buffer_tick(frame)
        if self.updates > self._inline_at and not self.target_arg:  # an update since the last loop head: its targets
            self._inline_at = self.updates
            self._inline_targets(frame)
        if not self._act_by_calls:  # a forward written inline in the loop: its outputs are among the frame's locals
            self._act_ticks += 1
            if sampled(self._act_ticks):
                self._record_activations(frame, None)
        if moved and self.tracer.compiled and self._resets is None:
            # the next updates at this head counted in C, when each would do what this did (not in a program that
            # accumulates into buffers: a step of zero is seen from the buffers, at the gradient function's calls)
            self._count_ahead(frame)

    def _ignorable(self, code: CodeType) -> bool:
        """Whether a function found to have no role (probed, see :meth:`_probe_return`) can run untraced from now on.

        Its calls matter only to the update check (while a check may still open: the call handed the batch, the
        calls in its window), to the targets read from comparisons (a ``loss(out, t)`` of no other role), and as
        loop-head ticks when it loops: none of these may still need it. Decided by what was observed, never by time.
        """
        checks = self.update_checks
        if checks.busy or checks.may_want() or loop_heads(code):
            return False
        return not (self._compare_misses < 64 and self.contributor is not None
                    and (self.contrib_calls < 8 or self._targets_by_comparison()))

    def _update_check_call(self, frame: FrameType, forward: bool) -> bool:
        """Feed the update check (:mod:`netdoctor.observe.numpy.update_recorder`); True while it wants every return."""
        checks = self.update_checks
        if checks.idle(self.updates):
            return False  # (every test below is False, and nothing is asked of the check)
        if checks.busy:
            checks.on_call(frame)  # may close a window: the call handing the next batch can open the next one
        if checks.window is None and self.params and self.layout and checks.wants(self.updates):
            site = self.updater
            if site is not None and not self._where:
                self._where = f"{site.co_name}() at {short_path(site.co_filename)}:{site.co_firstlineno}"
            checks.offer(frame, self._tracked, self.layout[1][0], self._where, root=self.root.obj)
        # the forward's call site is the check's template for a step that computes its forward inline: the last one
        # before a window opens is the one used, so it is taken from two updates before a window may open (and while
        # a check waits for it), not at every forward call of the run
        if forward and checks.window is None and (checks.pending or checks.template is None
                                                  or checks.near(self.updates + 2)):
            checks.saw_forward(frame)
        return checks.busy

    def _tracked(self) -> list[TrackedArray]:
        """The parameters and their buffers as the update check reads them (by path: rebinding is followed).

        Built once per network (the update check asks at every call handed a batch); a fresh list each time.
        """
        if self._tracked_list is None or self._tracked_for is not self.params:
            root = self.root.obj
            self._tracked_for = self.params
            self._tracked_list = [TrackedArray(prm.text, partial(resolve, root, prm.path), prm.bias,
                                               partial(resolve, root, prm.buffer) if prm.buffer is not None else None,
                                               prm.buffer_text if prm.buffer is not None else "")
                                  for prm in self.params]
        return list(self._tracked_list)

    def _stand_down(self, after: str) -> None:
        """A PyTorch program in which no NumPy array was seen being trained (``after``: by when): its training is the
        PyTorch observer's; tracing every Python call (a ``Dataset.__getitem__`` per sample) would only slow it down."""
        self.tracer.stand_down(f"the NumPy observer stood down at {after}: none of the {self.events:,} calls of the "
                               "program's functions seen until then changed a NumPy array (the program trains with PyTorch)")

    def _limits(self) -> None:
        o = self.options
        if o.max_updates is not None and self.updates >= o.max_updates:
            self.stopped_because = f"stopped after {self.updates} updates (--max-updates)"
            raise StopObserving(self.stopped_because)
        if o.max_seconds is not None and self.events % 64 == 0 and time.perf_counter() - self.started > o.max_seconds:
            self.stopped_because = f"stopped after {o.max_seconds:g} s (--max-seconds)"
            raise StopObserving(self.stopped_because)

    def _next_window(self) -> None:
        """An update was counted: the next window is deep (everything traced) or only counted, its step's forward and
        gradient functions then held untraced (:class:`~netdoctor.observe.numpy.holding.StepHold`)."""
        hold = self.hold
        self.update_checks.deep = self._deep  # (the update check opens windows in deep windows only)
        if self._deep or hold.recording or (hold.step and (not hold.refused or hold.asks())):
            hold.next(self._deep, self._holdable, self._quiet_in_step)  # (else nothing to hold and nothing to count: StepHold.next's fast way)

    def _holdable(self) -> list[CodeType]:
        """The step's forward and gradient functions, when their calls may go unheard in a window only counted: its
        updates are seen without them (the function that applies them, never held, is heard at every step) and nothing
        still waits for their calls (the update check, the buffers' second names). Not in a program that accumulates
        into buffers: a step too small to move a weight is counted there from the buffers the gradient function's
        next call finds emptied."""
        checks = self.update_checks
        resets = self._resets
        if (self.style == "accumulate" and not (resets is not None and resets.trusted) or checks.busy or checks.window is not None or checks.wants(self.updates)
                or self.sharing.waits(self.updates) or not self.hold.heard(self.updater)):
            return []
        updater = self.updater
        # a step waiting for the program's forward to be called (its own forward is inline) keeps that forward heard
        kept = _UPDATER | _PROBE | _HELPER | (_FORWARD if checks.pending else 0)
        held = [code for code, role in self._roles.items()
                if role & (_CONTRIB | _FORWARD) and not role & kept and code is not updater]
        # the gradient function among them, or nothing; or the forward alone when the function that computes the
        # gradient also applies it (never held) and is handed the targets: the forward's outputs, like a held step's,
        # are then read in deep windows only (targets compared with the output, bce(probs, t), would be too)
        alone = held and self.contributor is updater and not self._targets_by_comparison()
        return held if self.contributor in held or alone else []

    def _quiet_in_step(self) -> list[CodeType]:
        """The program's functions of no role that every window of the step called (a layer's forward called by the
        network's, an activation, its derivative): beneath a held function they need not be heard (their calls only
        feed what a deep window reads)."""
        step = self.hold.step
        return [code for code, role in self._roles.items() if role == 0 and id(code) in step]

    def _step_codes(self) -> list[CodeType]:
        """The step's forward and gradient functions that a window only counted may hold (never the function that
        applies the updates, nor one still probed or building targets)."""
        updater = self.updater
        return [code for code, role in self._roles.items()
                if role & (_CONTRIB | _FORWARD) and not role & (_UPDATER | _PROBE | _HELPER) and code is not updater]

    # -- from discovery to watching ---------------------------------------------------
    def _read_momentum(self, steps: Steps, params: list[str]) -> None:
        """What discovery saw of a velocity the parameters' steps read, for the update check and the rules."""
        self.update_checks.momentum = steps.momentum(params)
        self.momentum = self.update_checks.momentum_decay = steps.momentum_decay(params)
        self.update_checks.decays, self.decaying = steps.velocity_decays(), set(steps.decays)
        sign = steps.momentum_sign(params)
        self.update_checks.momentum_sign, self.update_checks.velocity = (sign[0], velocity_text(sign[1])) if sign else (None, "")

    def _start_watching(self, net: Network, frame: FrameType | None = None) -> None:
        """Only the network's root is scanned now, functions get their roles, and the parameters' first samples,
        norms and the constants' fingerprints are taken (``frame``: where the program is, whose loops say how far it
        has come)."""
        self.net_root = best = net.root
        self.holder = net.holder
        self.params = net.params
        self.layout = net.layout
        self.updater, self.contributor, self.style = net.updater, net.contributor, net.style
        self._grad_map = net.grad_map
        self.cache_paths = net.cache_paths
        self.discovery_ratios = net.discovery_ratios
        self.updates = net.updates
        self.discovery_calls = net.discovery_calls
        if frame is not None:
            self.progress.at_start(frame, net.updates)
        self._funcs = net.functions
        self.frozen = net.frozen
        steps = self.discovery.steps
        found = [prm.found_text or prm.text for prm in net.params]  # (discovery's records are under its own names)
        self.lr_measured, self.adaptive = steps.step_size(found), steps.adaptive_size(found)
        self.adaptive_entries = steps.adaptive_entries_size(found) if self.adaptive is not None else None
        self.update_checks.adaptive = self.adaptive is not None
        self.update_checks.updater = self.updater  # (a window reads the buffers as its call finds them)
        # the update check's boundaries (update counts) are deep windows: a check opens in a deep window only
        self.tracer.budget.deep_at(b - 1 - self.updates + self.tracer.budget.asked for b in self.update_checks.check_at)
        self._read_momentum(steps, found)
        self.lr_read = next((steps.read[t] for t in found if t in steps.read), "")
        self.discovery = Discovery(self.options, self.tracer, self.rng)  # its tables are not needed any more
        self.phase = "watch"
        self._roles = {}
        self._evaluators = set()
        if self.contributor is not None:
            self._roles[self.contributor] = _CONTRIB
        if self.updater is not None:
            self._roles[self.updater] = self._roles.get(self.updater, 0) | _UPDATER
        # functions given arrays: watched for gradients returned, outputs, targets; the gradient's function too, which
        # may return the output beside the gradients (``loss, grads, logits = loss_and_grads(params, x, y)``)
        for code in self._funcs:
            if code not in self._roles or code is self.contributor and code is not self.updater:
                self._roles[code] = self._roles.get(code, 0) | _PROBE
        self._probe_left = {}
        self._quick_plan = []
        self._count_refused, self._count_cache = False, None
        for prm in self.params:
            i, j, k = (int(n) for n in (prm.quick + prm.quick[-1:] * 2)[:3])
            self._quick_plan.append((path_reader(prm.path), i, j, k, int(prm.idx[-1]), prm.fp_idx))
        self._fp = self._fingerprints()
        self._quick()
        self._changed_n = [0] * len(self.params)
        self._moving = set(net.moved)
        self._moved_updates = 0
        self._updates_before = self.updates  # seen while discovering
        self._P_prev = self.P_first = self._sample_params()
        self._norms(first=True)
        self.norms_first_at = self.updates
        self._watch_constants(best, net)
        self.mutated = {}
        self._watch_resets()
        if net.frozen and self.style == "accumulate":
            # found at the return of a gradient computation: what it left in the buffers is what the next (zero) step
            # empties, which is then counted like every later one (see _check_reset)
            self._B_last, self._fresh = self._sample_buffers(), False

    # -- watching: gradient contributions and targets ---------------------------------

    def _watch_constants(self, best: Root, net: Network) -> None:
        """Watch the arrays named like constants (templates, initial values, data) that are neither a parameter nor
        its buffer: a name of constants reaching one (``out._parents[1].data`` of an autograd tape) is another path
        to an array the update writes."""
        self._constants = []
        written = {id(resolve(best.obj, prm.buffer)) for prm in self.params if prm.buffer is not None}
        written |= {id(resolve(best.obj, prm.path)) for prm in self.params}
        for p, text in net.constants:
            a = resolve(best.obj, p)
            if issubclass(type(a), np.ndarray) and id(a) not in written:
                self._constants.append(self._watched_constant(p, text, a))
    def _contrib_call(self, frame: FrameType) -> None:
        if self._error_wait is not None:
            error_handed(self, frame)
        self._window_calls += 1
        self.contrib_calls += 1
        self.progress.at_gradient(frame, self.updates)
        if self._fresh and self.style == "accumulate" and (self._deep or self._prev_deep):
            B = self._sample_buffers()
            if B is not None and self.windows and self._B_last is not None and not self._unrecorded and self._prev_deep:
                self.windows[-1]["B_next_start"] = B  # the window just recorded was the one before this
            if B is not None and self._B_last is not None and self._prev_deep and self._resets is not None:
                # the window before was heard whole: did its loop heads see the reset this call finds (or its absence)?
                self._resets.verify(reset_factor(self._B_last, B))
                self._resets.skip = frozenset(id(code) for code in self._step_codes())
            self._B_start = B
        if self._deep and self.style == "accumulate":
            self._B_at_call = self._B_start if self._fresh else self._B_last
        if self.style == "accumulate" and not self.writes.done:
            self.writes.at_call(frame, self._buffer_arrays())
        if self._fresh and self.sharing.pending(self.updates):
            self.sharing.at_window_start(frame, self.root, self.params, self.cache_paths, self.updates)
        self._fresh = False
        self._unrecorded = False
        self._targets_from(frame)
        if self._pending_T is not None:
            error_of_output_before(self)
        back = caller_of(frame)
        if back is not None and not self.target_arg and self.forward:
            self._targets_beside(back)
        if back is not None:
            if id(back.f_code) not in self.label_sets:
                self._labels_from(back, back.f_code)
            self.train_labels_key = id(back.f_code)  # also when an evaluation in the same function found them first

    def _error_call(self, frame: FrameType) -> None:
        """A layer stepping itself in ``backward(d, lr)`` (of any role: the output layer's may have none), handed only
        the output error the program built from the targets: read them back from it while they are nowhere else."""
        if self.updates >= ERROR_AFTER and self._no_targets_source() and self._error_code in (None, frame.f_code):
            self._targets_in_error(frame)

    def _no_targets_source(self) -> bool:
        """Whether no call, caller, loop or target builder was found to hold the targets, and none were counted but
        those read from the output error (they may be there alone)."""
        return not (self.target_arg or self._beside_name or self._inline_name or self.scalar_labels.name
                    or self.scalar_labels.beside or self.built_targets.samples or self.single_output_targets
                    or self.target_samples > self._error_rows)

    def _contributor_output(self, frame: FrameType, value: np.ndarray) -> None:
        """The gradient's function returned the network's output for a batch of inputs (cs231n's ``loss(X, y=None)``
        -> scores, called by ``predict`` after training): it is the program's forward too, the template the steps that
        computed their forward inside it wait for."""
        if not self.layout or self._output_rows(value) is None:
            return
        n_in, code = self.layout[1][0], frame.f_code
        if any(is_array(v) and n_in in v.shape for v in map(frame.f_locals.get, code.co_varnames[: code.co_argcount])):
            self.update_checks.saw_forward(frame)

    def _contrib_return(self, frame: FrameType, value: Any) -> None:
        if self.made_tries < MADE_TRIES and self._no_targets_source():  # (never a second reading of the same targets)
            labels_made_inside(self, frame)
        if self.scalar_labels.pending is not None:
            self._scalar_label_return(frame, value)
        if self.sharing.pending(self.updates):
            self.sharing.at_return(frame, self.root, self.updates)
        if self.writes.waiting:
            self.writes.at_return(frame, self._buffer_arrays())
        if not self._deep:
            self._pending_T = None
            if self.style == "accumulate":
                self._B_last = self._sample_buffers()  # what an update too small to move a weight resets (_check_reset)
                self._hold_buffers()
            self._activations(frame, value)
            return
        if self._pending_T is not None:
            self._errors_from_locals(frame)
        if not self.forward and (waiting := self.learning.waiting(self.updates)):
            # no forward function: the output rows are looked for where the gradient's function left them (read at
            # its return, when a forward it ran itself has run too)
            self._probabilities_beside(frame.f_locals, waiting, self.updates)
        if self.style in ("accumulate", "overwrite"):
            self._B_last = self._sample_buffers()
            if self.style == "accumulate":
                self._hold_buffers()
                self._note_touched()
        elif self.style == "returns":
            g = self._sample_returned(value)
            if g is not None:
                self._G_sum = g if self._G_sum is None else self._G_sum + g
        self._activations(frame, value)


