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
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from types import CodeType, FrameType, ModuleType
from typing import Any

import numpy as np

from netdoctor.monitor.layer_stats import infer_kind
from netdoctor.nn.threads import norm_one_thread, one_blas_thread
from netdoctor.observe.loops import Coverage, LoopProgress
from netdoctor.observe.numpy.arrays import (
    LR_NAME,
    FrameLocals,
    Path,
    array_role,
    entries,
    fingerprint,
    path_text,
    resolve,
    sample_index,
    walk_arrays,
    weak,
)
from netdoctor.observe.numpy.discovery import Discovery
from netdoctor.observe.numpy.network import COORDS, FuncStats, Network, Param, Root
from netdoctor.observe.numpy.roles import (
    Role,
    bounded,
    class_rows,
    code_like,
    flat_arrays,
    one_hot,
    one_top,
    rises_with,
    scalar_of,
)
from netdoctor.observe.numpy.sharing import SharedBuffers, row_set, same_rows
from netdoctor.observe.numpy.tallies import ClassTally
from netdoctor.observe.numpy.update_recorder import TrackedArray, UpdateCheckRecorder
from netdoctor.observe.numpy.writes import BufferWrites
from netdoctor.observe.options import ObserveOptions
from netdoctor.observe.source import function_loop_names, loop_names
from netdoctor.observe.tracer import CallTracer, StopObserving, caller_of, loop_heads, sampled
from netdoctor.usercode import short_path

__all__ = ["NumpyBackend", "COORDS", "RING"]

# plain ints in the handlers: an IntFlag's ``&`` and ``|`` run Python code of the enum module (about 1 us each, several
# per event)
_CONTRIB, _FORWARD, _HELPER, _UPDATER, _EVALUATOR, _PROBE, _TABLE = (
    int(Role.CONTRIB), int(Role.FORWARD), int(Role.HELPER), int(Role.UPDATER), int(Role.EVALUATOR), int(Role.PROBE),
    int(Role.TABLE))

RING = 512
"""Rows kept per layer for activation statistics (the latest ones), and the first rows seen."""
STAND_DOWN_EVENTS = 1_000
"""Calls of the user's functions without any NumPy parameter change after which a program that imported torch
is left to the PyTorch observer (the NumPy tracer stands down)."""
WINDOWS = 64
"""Update windows kept in full (sampled vectors); older ones only in running summaries."""
MOVED_SIGNS = 0.05
"""Share of the entries with a positive pre-activation that a layer's output may have below 0 when the weights moved
since the forward pass (entries near 0 cross it; a delta has about half)."""
STALE_PRE_ACTIVATION = 0.05
"""Mean distance from the pre-activation (over its spread) below which an array that follows it only up to noise is
taken for the pre-activation itself, cached by the forward before the weights moved (a tanh in its linear range is
as near: not saturated either way)."""


@dataclass
class BuiltTargets:
    """The class codes the program's target builder returned (a function given a label that returns a one-hot or
    softened code row: ``target_for(label)``), tallied apart from the targets handed to the training step: they
    stand for the targets trained on when no call of the step was seen handed any (the step's function only applies
    the update, ``sgd(W, dW, lr)``; the loss is computed inline)."""

    counts: Counter = field(default_factory=Counter)
    """Rows per class (the code's largest entry)."""
    values: dict[bytes, int] = field(default_factory=dict)
    """Distinct code rows (at most 64), with how often each was seen."""
    samples: int = 0
    args: list[float] = field(default_factory=list)
    """The labels the builder was given (its scalar argument), at most 512."""
    calls: list[tuple[str, int, str]] = field(default_factory=list)
    """Where the builder was called from: (file, line, function), at most 4."""
    codes: dict[bytes, int] = field(default_factory=dict)
    """One returned vector's bytes (dtype, shape, values) -> its class, or -1 when it encodes none (decoded once)."""


class NumpyBackend:
    """Observer of NumPy training code (see the module docstring)."""

    name = "numpy"

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
        self.params: list[Param] = []
        self.layout: tuple[str, list[int]] | None = None
        self.contributor: CodeType | None = None
        self.updater: CodeType | None = None
        self.forward: set[CodeType] = set()
        self.style = ""
        self._roles: dict[CodeType, int] = {}
        self._fp: list[tuple[int, bytes]] = []
        self._q: list[Any] = []
        self._P_prev: np.ndarray | None = None
        self._B_start: np.ndarray | None = None
        self._B_last: np.ndarray | None = None
        self._G_sum: np.ndarray | None = None
        self._window_calls = 0
        self._window_rows = 0
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
        """The median size per entry of the parameters' steps when they followed an adaptive rule while discovering
        (each step elementwise proportional to ``m / sqrt(v)`` of two buffers: Adam), else None."""
        self.norms_first: dict[str, float] = {}
        self.norms_last: dict[str, float] = {}
        self._changed_n: list[int] = []
        """Per parameter (by index): the updates that moved it (see :attr:`changed`)."""
        self.nonfinite: dict[str, Any] | None = None
        # targets, labels, outputs
        self._targets = ClassTally()
        """The classes of the targets (see :attr:`targets`)."""
        self._labels_valued: set[int] = set()
        self.target_values: dict[bytes, int] = {}
        self.target_samples = 0
        self.target_arg = ""
        self.target_helper: CodeType | None = None
        self.helper_args: list[float] = []
        self.helper_calls: list[tuple[str, int, str]] = []
        self._helper_last: dict[int, tuple[Callable[[], Any], float | None, str, int, str]] = {}
        self.built_targets = BuiltTargets()
        """What the target builder returned, taken as the targets when the training step was never handed any."""
        self.label_sets: dict[int, dict[str, Any]] = {}
        self.input_mutations: list[str] = []
        self.first_rows: dict[int, list[np.ndarray]] = {}
        self.rows: dict[int, list[np.ndarray]] = {}
        self.kinds: dict[int, str] = {}
        self.out_rows: list[np.ndarray] = []
        self._out_rows_n = 0
        """Rows held in ``out_rows`` (a running count: summing the ring at every output would cost a loop over it)."""
        self.predictions: dict[CodeType, Counter] = {}
        self.eval_segments: list[dict[str, Any]] = []
        self._eval_open: dict[int, tuple[CodeType, ClassTally, int, str]] = {}
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
        self.still_updates = 0
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
        self._inline_names: dict[CodeType, frozenset[str]] = {}
        """Per followed code: the names its loops bind (loop variables, per-step temporaries), where a loop that
        compares output and targets inline keeps its targets (:meth:`_inline_targets`)."""
        self._inline_at = 0
        """The update count when targets were last read at a loop head."""
        self._inline_name = ""
        """The name the loop keeps its targets under, once found (only it is read from then on)."""
        self._inline_tries = 0
        """Loop heads looked at without finding targets (the look stops after :data:`INLINE_TRIES`)."""
        self._compare_left = 0
        """Calls after the forward's output that may still be the comparison (then it is looked for again at the next
        output); a program that compares inline never pays for more than a few calls per output."""
        self._compare_misses = 0
        """Outputs after which no call was handed the output: after 64 of them, comparisons are no longer looked for."""
        self._D_sum: np.ndarray | None = None
        self._D_rows = 0
        self._constants: list = []
        self.mutated: dict[str, int] = {}
        self._grad_map: list[int | None] = []
        self._probe_left: dict[CodeType, int] = {}
        self._probe_inputs: dict[int, bool] = {}
        self._probe_attrs: dict[int, dict[str, Callable[[], Any]]] = {}
        self.cache_paths: list[Path] = []
        """Arrays of the network's root that the forward pass rewrites (activations, pre-activations, its input)."""
        self.output_attr: dict[CodeType, str] = {}
        """Forwards that keep their output on ``self`` instead of returning it: the attribute's name."""
        self._deep = True
        """Whether the current update window is watched in full (else only counted; see ``CallTracer.budget``)."""
        self._prev_deep = False
        self._deep_updates = 0
        self._quick_plan: list[tuple[Path, tuple[int, ...], int]] = []
        """Per parameter: its path, the entries :meth:`_quick` reads, the largest sampled position (plain ints)."""
        self._quick_arrays: list[Any] = []
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
        self.update_checks = UpdateCheckRecorder(updates=lambda: self.updates)  # a few steps against finite differences
        self.progress = LoopProgress(self.tracer.user_code)
        """The loops around the updates, read at a few of them: the program's own update count (the header's "of M")."""

    @property
    def changed(self) -> Counter[str]:
        """How many of the updates observed moved each parameter (by its text; parameters never moved are absent)."""
        return Counter({prm.text: n for prm, n in zip(self.params, self._changed_n) if n})

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
        """Start watching calls of the user's code."""
        self.started = time.perf_counter()
        self.tracer.install()

    def uninstall(self) -> None:
        """Stop watching; the previous trace function is restored. An update applied after the last call seen counts."""
        self.tracer.uninstall()
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
        for _, counts, opened, forward in self._eval_open.values():  # segments still open: checked, not closed
            if self.nonfinite is None and not counts.finite():
                self._output_nonfinite(opened, forward)
        self._adopt_built_targets()

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
        from netdoctor.observe.numpy.verdicts import findings_from
        from netdoctor.rules.backprop import gradient_mismatch_in_updates

        self._settle()
        return findings_from(self) + gradient_mismatch_in_updates(self.update_checks.checks)

    def sections(self) -> dict[str, Any]:
        """Per-layer activations, predictions and update measurements for the report."""
        if not self.network_found:
            return {}
        from netdoctor.observe.numpy.verdicts import sections_from

        self._settle()
        return sections_from(self)

    def context(self) -> dict[str, Any]:
        """The network found and what was observed of it."""
        ctx: dict[str, Any] = {"observer": self.name}
        if self.params:
            if self.layout:
                ctx["model"] = f"{' -> '.join(map(str, self.layout[1]))} ({self.layout[0]}), {len(self.params)} arrays in {self.root.place}"
            else:
                ctx["model"] = f"{len(self.params)} arrays in {self.root.place}"
            expected = self._coverage().expected
            seen = (f"{self.updates} updates observed" if expected is None or self.updates > expected
                    else f"{self.updates} of {expected} updates observed")
            if self.frozen and self.updates:
                seen += " (steps of zero: none moved a weight; counted from the gradient buffers each one emptied)"
            elif self.still_updates:
                seen += f" ({self.still_updates} of them too small to change any sampled weight)"
            if self.contrib_calls and self.target_samples:
                # the gradient computations made while discovering, at the rows per computation seen since
                trained = self.target_samples + round(self.discovery_calls * self.target_samples / self.contrib_calls)
                seen += f", targets of {self.target_samples:,} of the {trained:,} samples trained on"
                ctx["samples_trained"] = trained
            if self.lr is not None:
                seen += f", {self.lr_name}={self.lr:g}"
            elif self.lr_measured is not None:  # no variable holds it: what the steps applied
                seen += f", learning rate {self.lr_measured:.4g} (measured: each step over {self.lr_read or 'the array it read'})"
            if self.adaptive is not None:
                seen += f", an adaptive update rule (each step ~ m / sqrt(v): {self.adaptive:.2g} per entry)"
            ctx["training"] = seen
        ctx["updates_observed"] = self.updates
        ctx.update(self._expected())
        ctx["samples_observed"] = self.target_samples
        ctx["windows_sampled"] = self._deep_updates  # update windows sampled in full (the tracer's Budget schedule)
        notes = list(self.notes) + self.update_checks.notes()
        if self.frozen:
            computed = self.gradient_computations
            ctx["gradient_computations"] = computed  # what was observed of a network that never moved
            if self.updates == 0 or ctx.get("updates_expected") is None:
                # steps of zero are counted only from the buffers they empty: without them, or without the loops to
                # hold the count against, the steps were not (all) seen
                counted = f"; {self.updates:,} of its steps were seen emptying the gradient buffers" if self.updates else ""
                notes.append(f"updates not observed: the network's arrays never moved in the {computed:,} gradient "
                             f"computations seen (found from the gradients computed for them){counted}")
        stopped = self._counting_stopped()
        if stopped:
            notes.append(stopped)
        if self.params and self.updates:
            coverage = self._coverage()
            if coverage.note:
                notes.append(coverage.note)
        if self.tracer.stood_down:
            notes.append(self.tracer.stood_down)
        failed = self.tracer.failed
        if failed is not None:
            import traceback

            last = traceback.extract_tb(failed.__traceback__)[-1]
            notes.append(f"the observer stopped early on an error of its own ({type(failed).__name__}: {failed} at "
                         f"{os.path.basename(last.filename)}:{last.lineno}); the program ran on unobserved")
        if notes:
            ctx["notes"] = notes
        return ctx

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
                   if isinstance(a, np.ndarray) and a.dtype.kind in "fc" and not np.isfinite(a).all()]
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
        typical = float(np.median(per)) if per else 0.0
        after = self._window_calls
        if self.contributor is None or not per or after < 10 or after <= 3 * typical:
            return ""
        grown = {k: self.norms_last[k] / v for k, v in self.norms_first.items() if v > 0 and k in self.norms_last}
        worst = max(grown, key=lambda k: grown[k], default=None)
        why = (f"the weights grew to norm {self.norms_last[worst]:.3g} ({worst}, {grown[worst]:.3g}x its first), where "
               "a step below their float resolution changes nothing" if worst is not None and grown[worst] > 1e3 else
               "the steps it applied changed no sampled weight (zero, or below the weights' float resolution)")
        return (f"from update {self.updates:,} on, updates were not counted: {self.contributor.co_name}(), which "
                f"computes the gradient, ran {after:,} times after it ({typical:g} per update before) and {why}; the "
                "program may have made more updates")

    # -- events --------------------------------------------------------------------
    def _on_call(self, frame: FrameType) -> bool:
        self.events += 1
        code = frame.f_code
        self.user_files.add(code.co_filename)
        if self.phase == "discover":
            found = self.discovery.on_call(frame)
            if found is not None:
                self._start_watching(found)
            elif self.events >= STAND_DOWN_EVENTS and not self.discovery.param_events and "torch" in sys.modules:
                self._stand_down(f"the {self.events:,}th call of the program's functions")
                return False
            return True
        role = self._roles.get(code)
        if role is None:
            role = self._roles[code] = _PROBE  # first seen after discovery: a few calls tell what it is
        checking = self._update_check_call(frame, bool(role & _FORWARD))
        if self._out is not None and not role & (_CONTRIB | _FORWARD) and self._targets_by_comparison():
            self._compared(frame)
        if not role:
            if not checking and self._ignorable(code):
                self.tracer.ignore(code)  # its calls cost what a library's do from now on
            return checking
        self._limits()
        if role & _FORWARD:
            self._forward_calls += 1
            if self._forward_calls % 4 == 1:
                self._forward_inputs(frame)
        if role & (_CONTRIB | _UPDATER | _PROBE) or (role & _FORWARD and self._forward_calls % 8 == 0):
            if not self._check_update(frame) and role & _CONTRIB:
                self._check_reset(frame)
        if role & _CONTRIB:
            self._contrib_call(frame)
        if role & _HELPER:
            self._helper_call(frame)
        if role & _PROBE:
            self._probe_call(frame)
        return True

    def _on_return(self, frame: FrameType, value: Any) -> None:
        if self.phase == "discover":
            found = self.discovery.on_return(frame, value)
            if found is not None:
                self._start_watching(found)
            return
        if self.update_checks.busy:
            self.update_checks.on_return(frame, value)
        code = frame.f_code
        role = self._roles.get(code, 0)
        if role & _CONTRIB:
            self._contrib_return(frame, value)
        if role & _FORWARD:
            stored = self.output_attr.get(code)
            if value is None and stored:
                value = getattr(frame.f_locals.get("self"), stored, None)
            self._forward_return(frame, value)
        if role & _HELPER:
            self._helper_last[id(value)] = (weak(value), self._helper_pending, *self._helper_site)
            self._helper_returns += 1
            self._built_target(value)
            if isinstance(value, np.ndarray) and value.base is not None and self._helper_returns % 2 == 0:
                self._served_view("", value, frame, table=2)  # a row of a table returned again: the same values
        elif role & (_CONTRIB | _UPDATER | _PROBE | _TABLE) and not role & _FORWARD and isinstance(value, np.ndarray) and (
                value.base is not None):
            # rows of a long-lived table returned by any other function of the program (a target helper taken for the
            # step because it runs while the parameters move, an output error computed on a row in place): the same
            # rows must come back with the same values
            self._view_returns += 1
            if self._view_returns % 2 == 0:
                self._served_view("", value, frame, table=2)
        if role & _EVALUATOR:
            self._close_segments(code)
            if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
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
                self._start_watching(found)
            return
        self._limits()
        self._check_update(frame)
        if self.updates > self._inline_at and not self.target_arg:  # an update since the last loop head: its targets
            self._inline_at = self.updates
            self._inline_targets(frame)
        if not self._act_by_calls:  # a forward written inline in the loop: its outputs are among the frame's locals
            self._act_ticks += 1
            if sampled(self._act_ticks):
                self._record_activations(frame, None)

    def _ignorable(self, code: CodeType) -> bool:
        """Whether a function found to have no role (probed, see :meth:`_probe_return`) can run untraced from now on.

        Its calls matter only to the update check (while a check may still open: the call handed the batch, the
        calls in its window), to the targets read from comparisons (a ``loss(out, t)`` of no other role), and as
        loop-head ticks when it loops: none of these may still need it. Decided by what was observed, never by time.
        """
        checks = self.update_checks
        if checks.busy or checks.wants(sys.maxsize) or loop_heads(code):
            return False
        return not (self._compare_misses < 64 and self.contributor is not None
                    and (self.contrib_calls < 8 or self._targets_by_comparison()))

    def _update_check_call(self, frame: FrameType, forward: bool) -> bool:
        """Feed the update check (:mod:`netdoctor.observe.numpy.update_recorder`); True while it wants every return."""
        checks = self.update_checks
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
        if forward and checks.window is None and (checks.pending is not None or checks.template is None
                                                  or checks.wants(self.updates + 2)):
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
                                               partial(resolve, root, prm.buffer) if prm.buffer is not None else None)
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

    # -- from discovery to watching ---------------------------------------------------
    def _start_watching(self, net: Network) -> None:
        """Only the network's root is scanned now, functions get their roles, and the parameters' first samples,
        norms and the constants' fingerprints are taken."""
        self.net_root = best = net.root
        self.params = net.params
        self.layout = net.layout
        self.updater, self.contributor, self.style = net.updater, net.contributor, net.style
        self._grad_map = net.grad_map
        self.cache_paths = net.cache_paths
        self.discovery_ratios = net.discovery_ratios
        self.updates = net.updates
        self.discovery_calls = net.discovery_calls
        self._funcs = net.functions
        self.frozen = net.frozen
        steps = self.discovery.steps
        self.lr_measured = steps.step_size(prm.text for prm in net.params)
        self.adaptive = steps.adaptive_size(prm.text for prm in net.params)
        self.update_checks.adaptive = self.adaptive is not None
        self.update_checks.momentum = steps.momentum(prm.text for prm in net.params)
        self.lr_read = next((steps.read[prm.text] for prm in net.params if prm.text in steps.read), "")
        self.discovery = Discovery(self.options, self.tracer, self.rng)  # its tables are not needed any more
        self.phase = "watch"
        self._roles = {}
        self._evaluators = set()
        if self.contributor is not None:
            self._roles[self.contributor] = _CONTRIB
        if self.updater is not None:
            self._roles[self.updater] = self._roles.get(self.updater, 0) | _UPDATER
        # functions given arrays: watched for gradients returned, outputs, targets
        for code in self._funcs:
            if code not in self._roles:
                self._roles[code] = _PROBE
        self._probe_left = {}
        self._quick_plan = [(prm.path, tuple(int(i) for i in prm.quick), int(prm.idx[-1])) for prm in self.params]
        self._fp = self._fingerprints()
        self._q = self._quick()
        self._changed_n = [0] * len(self.params)
        self._moving = set(net.moved)
        self._moved_updates = 0
        self._updates_before = self.updates  # seen while discovering
        self._P_prev = self.P_first = self._sample_params()
        self._norms(first=True)
        self.norms_first_at = self.updates
        self._constants = []
        buffers = {id(resolve(best.obj, prm.buffer)) for prm in self.params if prm.buffer is not None}
        for p, text in net.constants:
            a = resolve(best.obj, p)
            if isinstance(a, np.ndarray) and id(a) not in buffers:
                self._constants.append(self._watched_constant(p, text, a))
        self.mutated = {}
        if net.frozen and self.style == "accumulate":
            # found at the return of a gradient computation: what it left in the buffers is what the next (zero) step
            # empties, which is then counted like every later one (see _check_reset)
            self._B_last, self._fresh = self._sample_buffers(), False

    # -- watching: updates -----------------------------------------------------------
    def _arrays(self) -> list[np.ndarray | None]:
        root = self.root.obj
        return [resolve(root, prm.path) for prm in self.params]

    def _fingerprints(self, arrays: list[Any] | None = None) -> list[tuple[int, bytes]]:
        """Each parameter's fingerprint (``arrays``: the parameters as resolved just now, if they were)."""
        out = []
        for prm, a, (_, _, last) in zip(self.params, self._arrays() if arrays is None else arrays, self._quick_plan):
            out.append(fingerprint(a, prm.fp_idx) if isinstance(a, np.ndarray) and a.size > last else (0, b""))
        return out

    def _sample_params(self) -> np.ndarray:
        parts = []
        for prm, a in zip(self.params, self._arrays()):
            parts.append(entries(a, prm.idx).astype(float) if isinstance(a, np.ndarray) and a.size > prm.idx[-1] else np.full(len(prm.idx), np.nan))
        return np.concatenate(parts) if parts else np.zeros(0)

    def _sample_buffers(self) -> np.ndarray | None:
        """Sampled buffer entries laid out like :meth:`_sample_params` (NaN for parameters without a buffer)."""
        root = self.root.obj
        parts = []
        for prm in self.params:
            b = resolve(root, prm.buffer) if prm.buffer is not None else None
            if isinstance(b, np.ndarray) and b.size > prm.idx[-1]:
                parts.append(entries(b, prm.idx).astype(float))
            else:
                parts.append(np.full(len(prm.idx), np.nan))
        return np.concatenate(parts) if parts else None

    def _buffer_arrays(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each float buffer array now, with its parameter's sampled positions (one array under two paths once)."""
        out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for prm in self.params:
            b = resolve(self.root.obj, prm.buffer) if prm.buffer is not None else None
            if isinstance(b, np.ndarray) and b.dtype.kind == "f" and b.size > prm.idx[-1]:
                out.setdefault(id(b), (b, prm.idx))
        return list(out.values())

    def _sample_returned(self, value: Any) -> np.ndarray | None:
        arrays = flat_arrays(value)
        if len(arrays) != len(self._grad_map):
            return None
        parts = [np.full(len(p.idx), np.nan) for p in self.params]
        for a, i in zip(arrays, self._grad_map):
            if i is not None and a.shape == self.params[i].shape:
                parts[i] = entries(a, self.params[i].idx).astype(float)
        return np.concatenate(parts)

    def _quick(self) -> list[Any]:
        """Each parameter's identity and three of its fingerprint entries as Python floats (a few hundred
        nanoseconds per array): a change here is what makes the full fingerprint worth taking."""
        out: list[Any] = []
        append = out.append
        root = self.root.obj
        if type(root) is FrameLocals:
            root = root.frame.f_locals  # one copy of a running function's locals for all (each read copies them all)
        self._quick_arrays = arrays = [resolve(root, path) for path, _, _ in self._quick_plan]
        for a, (_, quick, last) in zip(arrays, self._quick_plan):
            if isinstance(a, np.ndarray) and a.size > last:
                append(id(a))
                item = a.item
                for i in quick:
                    append(item(i))
            else:
                append(None)
        return out

    def _check_update(self, frame: FrameType | None) -> bool:
        """Whether the parameters changed since the last look (an update was applied): it is recorded then."""
        q = self._quick()
        if q == self._q:
            return False
        self._q = q
        fp = self._fingerprints(self._quick_arrays)
        if fp == self._fp:
            return False
        moved = {i for i, (a, b) in enumerate(zip(fp, self._fp)) if a != b}
        self._fp = fp
        counts = self._changed_n
        for i in moved:
            counts[i] += 1
        # an update moves each parameter once: layers that update themselves one call each make one update,
        # which ends when an array it moved moves again
        if self._moving and not self._moving & moved:
            self._moving |= moved
            self._continue_update(moved)
            return True
        self._moved_updates += 1
        self._moving = moved
        if self._deep:
            self._on_update(frame, moved)
        else:
            self._count_update()
        self.progress.at_update(frame, self.updates)
        # the next window: watched in full (sampled parameters, buffers, gradients) or only counted, at a bounded rate
        self._prev_deep, self._deep = self._deep, self.tracer.budget.deep()
        if self._deep and self._P_prev is None:
            self._P_prev = self._sample_params()
        return True

    def _continue_update(self, moved: set[int]) -> None:
        """The rest of an update applied tensor by tensor (``sgd(W1, g1)``, then ``sgd(b1, gb1)``, ...): part of the
        window its first tensor closed, not a window of its own. The budget is asked once per update, so that a
        deep window is one whole update and the next window's start is sampled after it (the buffers' carry-over)."""
        if not (self._deep or self._prev_deep):
            return
        P = self._sample_params()
        last = self.windows[-1] if self.windows else None
        if self._prev_deep and last is not None and "delta" in last and self._P_prev is not None:
            last["delta"] = last["delta"] + (P - self._P_prev)  # the window's step: every tensor's share of it
            last["w"] = P
        self._P_prev = P
        self._note_nonfinite(P, moved)

    def _note_nonfinite(self, P: np.ndarray, moved: set[int]) -> None:
        """The first update after which a sampled parameter is NaN or Inf (which arrays, from the whole arrays)."""
        if self.nonfinite is None and not np.isfinite(P).all():
            arrays = self._arrays()
            bad = [prm.text for prm, a in zip(self.params, arrays) if isinstance(a, np.ndarray) and not np.isfinite(a).all()]
            self.nonfinite = {"update": self.updates, "arrays": bad or [self.params[i].text for i in sorted(moved)],
                              "where": "update"}

    def _count_update(self) -> None:
        """An update of a window that was only counted: the light counters, and a fresh start for the next window."""
        self.updates = self._updates_before + self._moved_updates + self.still_updates
        self._P_prev = None
        self._B_start = None
        self._D_sum, self._D_rows = None, 0
        self._window_calls = self._window_rows = 0
        self._G_sum = None
        self._close_segments()
        self._fresh = True

    def _check_reset(self, frame: FrameType | None) -> None:
        """An update too small to move any sampled weight still resets (or rescales) the buffers it applied.

        Between two contributions only the update touches accumulated buffers: when they come back as a
        multiple ``k`` in [0, 1) of what the last contribution left (zeros, or scaled in place by the learning
        rate), an update was applied whose step was below the weights' float resolution (vanishing gradients).
        It is counted; no update window is recorded for it (it moved nothing to measure).
        """
        if self.style != "accumulate" or self._B_last is None or self._fresh:
            return
        B = self._sample_buffers()
        if B is None:
            return
        last = self._B_last
        ok = np.isfinite(last) & np.isfinite(B)
        with np.errstate(all="ignore"):
            norm = float(np.dot(last[ok], last[ok]))
            if norm == 0.0:
                return
            k = float(np.dot(B[ok], last[ok])) / norm
            if not (0.0 <= k < 1.0 - 1e-9) or float(np.linalg.norm(B[ok] - k * last[ok])) > 1e-6 * math.sqrt(norm):
                return
        self.still_updates += 1
        self._moving = set()
        self.updates = self._updates_before + self._moved_updates + self.still_updates
        self.progress.at_update(frame, self.updates)
        self._unrecorded = True
        self._window_calls = self._window_rows = 0
        self._G_sum = None
        self._D_sum, self._D_rows = None, 0
        self._close_segments()
        self._fresh = True

    def _on_update(self, frame: FrameType | None, moved: set[int]) -> None:
        self.updates = self._updates_before + self._moved_updates + self.still_updates
        self._deep_updates += 1
        P = self._sample_params()
        delta = P - self._P_prev if self._P_prev is not None else None
        self._P_prev = P
        if self.lr is None:
            self._find_lr(frame)
        window: dict[str, Any] = {"update": self.updates, "calls": self._window_calls, "rows": self._window_rows}
        if delta is not None:
            window["delta"] = delta
            window["w"] = P
        if self.style == "accumulate" and self._B_last is not None and self._B_start is not None:
            window["B_start"], window["B_end"] = self._B_start, self._B_last
            window["contrib"] = self._B_last - self._B_start
        elif self.style == "overwrite" and self._B_last is not None:
            window["contrib"] = self._B_last
        elif self._G_sum is not None:
            window["contrib"] = self._G_sum
        self.windows.append(window)
        if len(self.early) < 10:
            self.early.append(window)
        if len(self.windows) > WINDOWS:
            self.windows.pop(0)
        if self._D_sum is not None:
            window["dsum"], window["drows"] = self._D_sum, self._D_rows
        self._D_sum, self._D_rows = None, 0
        self._window_calls = self._window_rows = 0
        self._G_sum = None
        self._close_segments()
        self._fresh = True
        self._B_last_prev = self._B_last
        if self._deep_updates in (1, 2, 4, 8) or self._deep_updates % 16 == 0:
            self._norms(first=False)
        self._note_nonfinite(P, moved)
        for i, (p, text, idx, seen, rows, held) in enumerate(self._constants):
            a = resolve(self.root.obj, p)
            if text in self.mutated or not isinstance(a, np.ndarray):
                continue
            if a is not held:
                # the name was bound to another array (``net.inputs = X[idx]`` at every step): nothing was written
                # into the one it held, so the new one is watched from now on
                self._constants[i] = self._watched_constant(p, text, a)
                continue
            if a.size > idx[-1] and entries(a, idx).tobytes() != seen:
                if rows is not None and same_rows(rows, row_set(a)):
                    # the same rows in another order (shuffled in place): nothing was written into them
                    self._constants[i] = (p, text, idx, entries(a, idx).tobytes(), rows, held)
                    continue
                self.mutated[text] = self.updates

    def _watched_constant(self, p: Path, text: str, a: np.ndarray) -> tuple:
        """What a constant's watch keeps: its path and name, a few sampled entries and their bytes, its rows (to tell a
        shuffle from a write), and the array itself (held: identity by ``is``, never by a reusable id)."""
        idx = sample_index(a.size, 8, self.rng)
        return (p, text, idx, entries(a, idx).tobytes(), row_set(a), a)

    def _norms(self, first: bool) -> None:
        for prm, a in zip(self.params, self._arrays()):
            if isinstance(a, np.ndarray):
                with np.errstate(all="ignore"):
                    n = norm_one_thread(a)
                if first:
                    self.norms_first[prm.text] = n
                self.norms_last[prm.text] = n

    def _find_lr(self, frame: FrameType | None) -> None:
        self._find_lr_named(frame, strict=True)
        if self.lr is None:
            self._find_lr_named(frame, strict=False)

    def _find_lr_named(self, frame: FrameType | None, *, strict: bool) -> None:
        ok = (lambda k: LR_NAME.match(k) and k.lower() not in ("alpha", "rate")) if strict else LR_NAME.match
        f, depth = frame, 0
        while f is not None and depth < 4:
            for k, v in f.f_locals.items():
                if ok(k) and isinstance(v, (float, int, np.floating)) and not isinstance(v, bool) and 0 < v < 1000:
                    self.lr, self.lr_name = float(v), k
                    return
            for v in list(f.f_locals.values()) + [getattr(f.f_locals.get("self"), k, None) for k in
                                                   getattr(f.f_locals.get("self"), "__dict__", {})]:
                if type(v).__name__ in ("Namespace", "SimpleNamespace") or (
                        hasattr(v, "__dict__") and not isinstance(v, type) and self.discovery.user_class(v)):
                    for k, x in vars(v).items():
                        if ok(k) and isinstance(x, (float, int, np.floating)) and not isinstance(x, bool) and 0 < x < 1000:
                            self.lr, self.lr_name = float(x), k
                            return
            me = f.f_locals.get("self")
            if me is not None:
                for k, v in getattr(me, "__dict__", {}).items():
                    if ok(k) and isinstance(v, (float, int, np.floating)) and not isinstance(v, bool) and 0 < v < 1000:
                        self.lr, self.lr_name = float(v), f"self.{k}"
                        return
            f, depth = f.f_back, depth + 1
        for k, v in (frame.f_globals.items() if frame is not None else ()):
            if ok(k) and isinstance(v, (float, int, np.floating)) and not isinstance(v, bool) and 0 < v < 1000:
                self.lr, self.lr_name = float(v), k
                return

    # -- watching: gradient contributions and targets ---------------------------------
    def _contrib_call(self, frame: FrameType) -> None:
        self._window_calls += 1
        self.contrib_calls += 1
        self.progress.at_gradient(frame, self.updates)
        if self._fresh and self.style == "accumulate" and (self._deep or self._prev_deep):
            B = self._sample_buffers()
            if B is not None and self.windows and self._B_last is not None and not self._unrecorded and self._prev_deep:
                self.windows[-1]["B_next_start"] = B  # the window just recorded was the one before this
            self._B_start = B
        if self.style == "accumulate" and not self.writes.done:
            self.writes.at_call(frame, self._buffer_arrays())
        if self._fresh and self.sharing.pending(self.updates):
            self.sharing.at_window_start(frame, self.root, self.params, self.cache_paths, self.updates)
        self._fresh = False
        self._unrecorded = False
        self._targets_from(frame)
        back = caller_of(frame)
        if back is not None:
            if id(back.f_code) not in self.label_sets:
                self._labels_from(back, back.f_code)
            self.train_labels_key = id(back.f_code)  # also when an evaluation in the same function found them first

    def _errors_from_locals(self, frame: FrameType) -> None:
        """Output error of the batch from the contributor's own forward pass: its probabilities or log-probabilities."""
        T = self._pending_T
        self._pending_T = None
        if T is None:
            return  # no targets seen since the last batch
        n, c = T.shape
        raw = self._pending_raw
        for v in frame.f_locals.values():
            if not (isinstance(v, np.ndarray) and v.shape == (n, c) and v.dtype.kind == "f" and np.isfinite(v).all()):
                continue
            if raw is not None and np.array_equal(v, raw) or np.array_equal(v, T):
                continue  # the targets themselves (0.005/0.955 codes sum to 1 like probabilities)
            with np.errstate(all="ignore"):
                if v.min() >= 0 and np.allclose(v.sum(axis=1), 1.0, atol=1e-6):
                    P = v
                elif v.max() <= 0 and np.allclose(np.exp(v).sum(axis=1), 1.0, atol=1e-6):
                    P = np.exp(v)
                else:
                    continue
            self._D_sum = (P - T).sum(axis=0) + (0 if self._D_sum is None else self._D_sum)
            self._D_rows += n
            return
        E = _linear_error(frame.f_locals, self._pending_raw)
        self._pending_raw = None
        if E is not None:
            self._D_sum = E.sum(axis=0) + (0 if self._D_sum is None else self._D_sum)
            self._D_rows += n

    def _contrib_return(self, frame: FrameType, value: Any) -> None:
        if self.sharing.pending(self.updates):
            self.sharing.at_return(frame, self.root, self.updates)
        if self.writes.waiting:
            self.writes.at_return(frame, self._buffer_arrays())
        if not self._deep:
            self._pending_T = None
            if self.style == "accumulate":
                self._B_last = self._sample_buffers()  # what an update too small to move a weight resets (_check_reset)
            self._activations(frame, value)
            return
        if self._pending_T is not None:
            self._errors_from_locals(frame)
        if self.style in ("accumulate", "overwrite"):
            self._B_last = self._sample_buffers()
        elif self.style == "returns":
            g = self._sample_returned(value)
            if g is not None:
                self._G_sum = g if self._G_sum is None else self._G_sum + g
        self._activations(frame, value)

    def _served_view(self, name: str, v: np.ndarray, frame: FrameType, *, table: int = 10) -> None:
        """Rows of a long-lived array handed to the contributor again must hold the same values as the first time.

        ``table``: how many times the view's size the array behind it must be (a view of a temporary of about its own
        size is no table); a target helper's code table has only as many rows as classes."""
        base = self._table_under(v, table)
        if base is None:
            return  # not a view, or a view of a temporary of its own size
        # the view's place in the table: its address less the table's (``ctypes.data``, 2 us, against 4.5 us for each
        # ``__array_interface__`` dict; a table held already has its address kept)
        start = self._base_data[id(base)] if self._view_bases.get(id(base)) is base else base.ctypes.data
        key = (id(base), v.ctypes.data - start, v.shape, v.strides)
        idx = self._view_idx.get(v.shape)
        if idx is None:
            idx = self._view_idx[v.shape] = sample_index(v.size, 64, self.rng)
        values = entries(v, idx).tobytes()
        old = self._views.get(key)
        if old is None:
            if len(self._views) < 20_000 and (id(base) in self._view_bases or len(self._view_bases) < 8):
                if id(base) not in self._view_bases:
                    if self._network_array(base):
                        return  # a parameter, buffer or cache: written by training, no table
                    self._row_sets[id(base)] = row_set(base)
                self._view_bases[id(base)] = base  # held: the id must not be reused while we compare
                self._base_data[id(base)] = start
                self._views[key] = values
        elif old != values and id(base) not in self.mutated_views:
            now = row_set(base)
            if now is not None and same_rows(self._row_sets.get(id(base)), now):
                # the same rows in another order (a data set shuffled in place between epochs): nothing was written
                # into them; its positions are compared afresh from here
                self._views = {k: b for k, b in self._views.items() if k[0] != id(base)}
                return
            self.mutated_views[id(base)] = {"argument": name, "function": frame.f_code.co_name, "update": self.updates,
                                            "shape": list(base.shape), "base": self._name_of(base, frame)}

    def _forward_inputs(self, frame: FrameType) -> None:
        """Rows of a data set handed to the forward as a view (``forward(X[s:s + 20])``, the batches a generator
        slices from the data) must hold the same values whenever they come back: a training loop written inline
        hands its data to no gradient function, and a batch scaled in place (``x /= 255``) rewrites the data set."""
        code = frame.f_code
        loc = frame.f_locals
        for name in code.co_varnames[: code.co_argcount]:
            v = loc.get(name)
            if isinstance(v, np.ndarray) and v.base is not None and v.dtype.kind == "f":
                self._served_view(name, v, frame)

    @staticmethod
    def _table_under(v: np.ndarray, table: int) -> np.ndarray | None:
        """The array at the root of view ``v`` when it holds at least ``table`` times ``v``'s entries (a table, not a
        temporary of about ``v``'s own size), else None (``v`` is no view, or is empty)."""
        base = v
        while isinstance(base.base, np.ndarray):
            base = base.base
        if base is v or v.size == 0 or base.size < table * v.size:
            return None
        return base

    def _table_row(self, v: np.ndarray) -> bool:
        """Whether ``v`` is a view of a long-lived array at least twice its size that is not the network's."""
        base = self._table_under(v, 2)
        return base is not None and not self._network_array(base)

    def _network_array(self, a: np.ndarray) -> bool:
        """Whether ``a`` is a parameter, a gradient buffer or a forward cache of the network (arrays training writes)."""
        root = self.root.obj
        paths = [prm.path for prm in self.params] + [prm.buffer for prm in self.params if prm.buffer is not None]
        return any(resolve(root, p) is a for p in paths + list(self.cache_paths or ()))

    def _name_of(self, a: np.ndarray, frame: FrameType | None) -> str:
        """A name the program uses for array ``a`` (its globals, the network, the running frames), or ""."""
        root = self.root.obj
        for p, x in walk_arrays(root, globals_root=self.root.globals_root, max_depth=2, max_items=64, skip=self.root.skip):
            if x is a:
                return path_text(p, self.root.prefix)
        f, depth = frame, 0
        while f is not None and depth < 6:
            for scope in (f.f_locals, f.f_globals):
                for k, x in scope.items():
                    if x is a:
                        return k
            f, depth = f.f_back, depth + 1
        return ""

    def _targets_from(self, frame: FrameType) -> None:
        sizes = self.layout[1] if self.layout else None
        if not sizes:
            return
        n_out, n_in = sizes[-1], sizes[0]
        code = frame.f_code
        loc = frame.f_locals
        if self.contrib_calls % 4 == 1:
            for name in code.co_varnames[: code.co_argcount]:
                v = loc.get(name)
                if isinstance(v, np.ndarray) and v.base is not None:
                    self._served_view(name, v, frame)
        for name in code.co_varnames[: code.co_argcount]:
            v = loc.get(name)
            if isinstance(v, np.ndarray) and v.size and v.dtype.kind in "fiub":
                if v.size == n_out and v.ndim <= 2 and n_out != n_in:
                    # one target vector (a per-sample program): decoded once per distinct vector
                    key = f"{v.dtype.str}{v.shape}".encode() + v.tobytes()
                    top = self._target_codes.get(key)
                    if top is None:
                        rows = class_rows(v, n_out, n_in)
                        top = -1 if rows is None or not _encodes_classes(rows) else int(np.argmax(rows[0]))
                        if len(self._target_codes) < 4096:
                            self._target_codes[key] = top
                    if top < 0:
                        continue
                    self.target_arg = name
                    self._count_one_target(top, v)
                elif v.ndim == 1 and v.dtype.kind in "iu" and n_out != n_in and n_out >= 2:
                    # a batch of integer labels: bincount both counts them and checks them (0 <= label < n_out)
                    try:
                        counts = np.bincount(v.astype(np.intp, copy=False), minlength=n_out)
                    except ValueError:
                        continue  # a negative label
                    if len(counts) != n_out:
                        continue
                    self.target_arg = name
                    self._count_labels(v, counts)
                    if len(v) > 1 and self._deep:  # the output error is recorded for deep windows only
                        self._pending_T = one_hot(v, n_out)
                        self._pending_raw = None
                else:
                    rows = class_rows(v, n_out, n_in)
                    if rows is None or not _encodes_classes(rows):
                        continue
                    self.target_arg = name
                    self._count_targets(rows, v)
                    if len(rows) > 1 and self._deep:  # the output error is recorded for deep windows only
                        self._pending_T = one_hot(rows, n_out)
                        self._pending_raw = rows.astype(float) if rows.ndim == 2 else None
                helper = self._helper_last.pop(id(v), None)
                if helper is not None and helper[0]() is v:  # the helper's own return, not an array at its old address
                    _, arg, fname, line, func = helper
                    if arg is not None and len(self.helper_args) < 512:
                        self.helper_args.append(arg)
                    if len(self.helper_calls) < 4 and (fname, line, func) not in self.helper_calls:
                        self.helper_calls.append((fname, line, func))
                return

    def _targets_by_comparison(self) -> bool:
        """Whether targets are read from the calls handed the forward's output: the gradient's function was never
        handed any (its argument is a backpropagated delta; the program compares output and targets elsewhere)."""
        return self.contrib_calls >= 8 and (not self.target_arg or self._targets_compared)

    def _compared(self, frame: FrameType) -> None:
        """A call handed the forward's last output (``backward(layers, t, out)``, ``loss(out, t)``): its other
        arguments that encode a class per row are the targets the output is compared with."""
        code = frame.f_code
        loc = frame.f_locals
        names = code.co_varnames[: code.co_argcount]
        ref, self._out = self._out, None  # one comparison per output
        out = ref() if ref is not None else None
        if out is None:  # freed before any call was handed it: compared inline, if at all
            self._compare_misses += 1
            return
        if not any(loc.get(n) is out for n in names):
            self._compare_left -= 1
            if self._compare_left > 0:
                self._out = ref
            else:
                self._compare_misses += 1
            return
        sizes = self.layout[1] if self.layout else None
        if not sizes:
            return
        for name in names:
            v = loc.get(name)
            if not (isinstance(v, np.ndarray) and v.size and v.dtype.kind in "fiub") or v is out:
                continue
            rows = class_rows(v, sizes[-1], sizes[0])
            if rows is None or rows.dtype.kind == "f" and (len(np.unique(rows)) > 3 or not one_top(rows)):
                continue
            self.target_arg, self._targets_compared = name, True
            self._count_targets(rows, v)
            return

    def _inline_targets(self, frame: FrameType) -> None:
        """At a loop head after an update, when no call was ever handed the targets (the loop computes the output
        error inline: ``t = np.zeros(C); t[y[i]] = 1``, ``for x, y in batches(...)``): the targets among the names the
        loop binds. A class code per row (two values a row: one-hot, +-1, 0.01/0.99) or integer labels below the
        output's width; never an output or an error (their rows have as many values as entries)."""
        sizes = self.layout[1] if self.layout else None
        if not sizes or sizes[-1] < 2 or (not self._inline_name and self._inline_tries >= INLINE_TRIES):
            return
        code = frame.f_code
        names = self._inline_names.get(code)
        if names is None:
            names = self._inline_names[code] = (loop_names(code.co_filename) if code.co_name == "<module>" else
                                                function_loop_names(code.co_filename, code.co_firstlineno))
        loc = frame.f_locals
        n_out, n_in = sizes[-1], sizes[0]
        self._inline_tries += not self._inline_name
        for name in (self._inline_name,) if self._inline_name in names else sorted(names):
            v = loc.get(name)
            if not (isinstance(v, np.ndarray) and v.size and v.dtype.kind in "fiub") or n_out == n_in:
                continue
            if v.size == n_out and v.ndim <= 2 and v.dtype.kind == "f":
                # one target vector (a per-sample loop): decoded once per distinct vector, as a handed one is
                key = f"{v.dtype.str}{v.shape}".encode() + v.tobytes()
                top = self._target_codes.get(key)
                if top is None:
                    lo, hi = float(v.min()), float(v.max())
                    two = hi > lo and bool(((v == lo) | (v == hi)).all()) and int((v == hi).sum()) == 1
                    top = int(np.argmax(v)) if two else -1
                    if top >= 0 and len(self._target_codes) < 4096:  # codes only: an output never comes back
                        self._target_codes[key] = top
                if top >= 0:
                    self._inline_name = name
                    self._count_one_target(top, v)
                    return
                continue
            if v.ndim == 1 and v.dtype.kind in "iu" and v.size != n_out:
                counts = np.bincount(v.astype(np.intp, copy=False), minlength=n_out) if v.min() >= 0 else None
                if counts is not None and len(counts) == n_out:
                    self._inline_name = name
                    self._count_labels(v, counts)
                    return
                continue
            rows = class_rows(v, n_out, n_in)
            if rows is None or rows.dtype.kind != "f" or rows.ndim != 2:
                continue
            low, high = rows.min(axis=1), rows.max(axis=1)
            two = ((rows == low[:, None]) | (rows == high[:, None])).all() and bool((high > low).all())
            if two and one_top(rows):
                self._inline_name = name
                self._count_targets(rows, v)
                return

    def _count_labels(self, labels: np.ndarray, counts: np.ndarray) -> None:
        """A batch of integer labels (``counts``: their ``np.bincount``)."""
        n = len(labels)
        self._window_rows += n
        self.target_samples += n
        self._targets.add_counts(counts, n)
        if len(self.target_values) >= 64 or len(self._labels_valued) >= len(counts):
            return  # every value a label can take (0 <= label < len(counts)) was seen already
        present = counts.nonzero()[0][:8]  # the distinct values, as the labels' own dtype writes them
        if not self._labels_valued.issuperset(present.tolist()):
            for r in present.tolist():
                self._labels_valued.add(r)
                if len(self.target_values) < 64:
                    self.target_values.setdefault(np.asarray(labels.dtype.type(r)).tobytes(), 0)

    def _count_one_target(self, top: int, v: np.ndarray) -> None:
        """One target vector of class ``top`` (:meth:`_count_targets` of a single row, without its array work)."""
        self._window_rows += 1
        self.target_samples += 1
        self._targets.add_one(top)
        key = v.tobytes()  # one row: the bytes of the row itself, whichever way the vector stands
        if key in self.target_values:
            self.target_values[key] += 1
        elif len(self.target_values) < 64:
            self.target_values[key] = 1

    def _count_targets(self, rows: np.ndarray, v: np.ndarray) -> None:
        n_out = self.layout[1][-1] if self.layout else 0
        if rows.ndim == 1:  # integer labels
            self._count_labels(rows, np.bincount(rows.astype(np.intp, copy=False), minlength=n_out))
            return
        self._window_rows += len(rows)
        self.target_samples += len(rows)
        if len(rows) == 1:
            self._targets.add_one(int(np.argmax(rows[0])))
        else:
            self._targets.add_rows(rows)  # counted with the other batches, when read
        for r in rows[:4]:
            key = r.tobytes()
            if key in self.target_values:
                self.target_values[key] += 1
            elif len(self.target_values) < 64:
                self.target_values[key] = 1

    def _built_target(self, value: Any) -> None:
        """Tally a code row the target builder returned, while the training step has not been seen handed targets."""
        if self.target_samples or not isinstance(value, np.ndarray) or not self.layout or value.dtype.kind != "f":
            return
        n_out, n_in = self.layout[1][-1], self.layout[1][0]
        built = self.built_targets
        if value.size == n_out and value.ndim <= 2:
            # one target vector (a per-sample program): decoded once per distinct vector
            key = f"{value.dtype.str}{value.shape}".encode() + value.tobytes()
            top = built.codes.get(key)
            if top is None:
                rows = class_rows(value, n_out, n_in)
                top = int(np.argmax(rows[0])) if rows is not None and rows.ndim == 2 and code_like(rows) else -1
                if len(built.codes) < 4096:
                    built.codes[key] = top
            if top < 0:
                return
            built.samples += 1
            built.counts[top] += 1
            vec = value.tobytes()
            if vec in built.values or len(built.values) < 64:
                built.values[vec] = built.values.get(vec, 0) + 1
        else:
            rows = class_rows(value, n_out, n_in)
            if rows is None or rows.ndim != 2 or not code_like(rows):
                return
            built.samples += len(rows)
            _tally_rows(rows, built.counts, built.values)
        if self._helper_pending is not None and len(built.args) < 512:
            built.args.append(self._helper_pending)
        if len(built.calls) < 4 and self._helper_site not in built.calls and self._helper_site[0]:
            built.calls.append(self._helper_site)

    def _adopt_built_targets(self) -> None:
        """At the end: when no call of the training step was handed targets, those the target builder returned are
        the targets trained on (the step applies the update only; the output error is computed inline)."""
        built = self.built_targets
        if self.target_samples or not built.samples:
            return
        self._targets = ClassTally()
        self._targets.one.update(built.counts)
        self._targets.rows = sum(built.counts.values())
        self.target_values, self.target_samples = built.values, built.samples
        self.target_arg = ""
        self.helper_args, self.helper_calls = list(built.args), list(built.calls)

    # -- watching: outputs, activations ------------------------------------------------
    def _output_rows(self, value: Any) -> np.ndarray | None:
        """The output rows (N, n_out) in a returned value: the array itself, or the last such array of a tuple."""
        if not self.layout:
            return None
        seq = [value] if isinstance(value, np.ndarray) else list(value)[::-1] if isinstance(value, (tuple, list)) and len(value) <= 8 else []
        for v in seq:
            if isinstance(v, np.ndarray) and v.dtype.kind == "f":
                rows = class_rows(v, self.layout[1][-1], self.layout[1][0], outputs=True)
                if rows is not None and rows.size:
                    return rows
        return None

    def _forward_return(self, frame: FrameType, value: Any) -> None:
        rows = self._output_rows(value)
        if rows is None:
            return
        if self._compare_misses < 64:
            out = value if isinstance(value, np.ndarray) else next(
                (v for v in value if isinstance(v, np.ndarray) and v.size == rows.size), None)
            self._out = weak(out) if out is not None else None
            self._compare_left = 8
        T = self._pending_T
        if T is not None and len(T) == len(rows) and len(rows) > 1 and self._deep:  # kept for deep windows only
            self._pending_T = None
            P = rows.astype(float)
            if infer_kind(P, output=True) not in ("softmax", "sigmoid", "tanh"):
                with np.errstate(all="ignore"):  # logits: the softmax a cross-entropy applies to them
                    e = np.exp(P - P.max(axis=1, keepdims=True))
                    P = e / e.sum(axis=1, keepdims=True)
            with np.errstate(all="ignore"):
                self._D_sum = (P - T).sum(axis=0) + (0 if self._D_sum is None else self._D_sum)
            self._D_rows += len(rows)
        self._forward_returns += 1
        if len(self.out_rows) < RING // 8 or self._forward_returns % 4 == 0:
            kept = rows[:64].astype(float)
            self.out_rows.append(kept)
            self._out_rows_n += len(kept)
            if self._out_rows_n > RING:
                self._out_rows_n -= len(self.out_rows.pop(0))
        back = caller_of(frame)  # an evaluation written as a comprehension is the function around it
        caller = back.f_code if back is not None else None
        if caller is not None:
            key = id(caller)
            open_ = self._eval_open.get(key)
            if open_ is None:
                open_ = self._eval_open[key] = (caller, ClassTally(), self.updates, frame.f_code.co_name)
            # counted when read, and checked for NaN when the segment closes (:meth:`_close_segments`): a segment pushed
            # out of the ring is never counted (a copy, 0.6 us, against 6 us for argmax, bincount and an add)
            open_[1].add_rows(rows)
            if key not in self._evaluators:
                self._evaluators.add(key)
                self._roles[caller] = self._roles.get(caller, 0) | _EVALUATOR
                self.tracer.heed(caller)  # its returns (an accuracy) are wanted now
            if back is not None:
                self._labels_from(back, caller)
        elif self.nonfinite is None and not np.isfinite(rows).all():
            self._output_nonfinite(self.updates, frame.f_code.co_name)
        self._activations(frame, value)

    def _output_nonfinite(self, update: int, forward: str) -> None:
        """The forward's output held NaN or Inf (``update``: the updates counted when it was returned)."""
        self.nonfinite = {"update": update, "arrays": ["the output"], "where": f"{forward}()"}

    def _close_segments(self, only: CodeType | None = None) -> None:
        for key in list(self._eval_open) if only is None else [id(only)]:
            open_ = self._eval_open.pop(key, None)
            if open_ is None:
                continue
            caller, counts, opened, forward = open_
            if counts:  # its Counter is made when the rules read it (_settle)
                if self.nonfinite is None and not counts.finite():
                    self._output_nonfinite(opened, forward)
                self.eval_segments.append({"code": caller, "tally": counts, "update": self.updates})
                if len(self.eval_segments) > 32:
                    self.eval_segments.pop(0)

    def _labels_from(self, frame: FrameType, caller: CodeType) -> None:
        """A labelled data array (a label column of small integers) in the caller's locals: its label counts."""
        key = id(caller)
        if key in self.label_sets or not self.layout:
            return
        n_out = self.layout[1][-1]
        for name, v in frame.f_locals.items():
            if isinstance(v, np.ndarray) and v.ndim == 2 and v.shape[0] >= 50 and v.shape[1] == self.layout[1][0] + 1:
                col = v[:, 0]
                if np.all(col == np.round(col)) and col.min() >= 0 and col.max() < n_out and len(np.unique(col)) > 1:
                    counts = np.bincount(col.astype(int), minlength=n_out)
                    self.label_sets[key] = {"name": name, "function": caller.co_name, "counts": counts.tolist(), "rows": int(v.shape[0])}
                    return
            if (isinstance(v, np.ndarray) and v.ndim == 1 and v.shape[0] >= 50 and v.dtype.kind in "iu" and v.max(initial=0) < n_out
                    and v.min(initial=0) >= 0 and len(np.unique(v)) > 1):
                counts = np.bincount(v.astype(int), minlength=n_out)
                self.label_sets[key] = {"name": name, "function": caller.co_name, "counts": counts.tolist(), "rows": int(v.shape[0])}
                return
        self.label_sets[key] = {}

    def _activations(self, frame: FrameType, value: Any) -> None:
        """Record the hidden layers' outputs the running frame can see, each checked against the layer's input.

        Asked at returns of the forward and of the gradient's function, and (:meth:`_on_tick`) at loop iterations of
        followed frames, where a forward written inline keeps its outputs among the locals. Candidates are the frame's
        locals, what it returns, the caches discovery saw the forward write and the arrays the network's layer objects
        keep; for each hidden layer, the candidate of its width that is what the layer computes from an input batch
        seen nearby (:meth:`_output_among`) is its activation. A backpropagated delta or a gradient of the layer's
        width is bounded too, but is not ordered like the pre-activation.
        """
        self._act_calls += 1
        if sampled(self._act_calls) and self._record_activations(frame, value):  # bounded in counts, not time
            self._act_by_calls = True

    def _record_activations(self, frame: FrameType, value: Any) -> bool:
        """:meth:`_activations`, every time asked; whether a layer's output was found."""
        if not self.layout or len(self.layout[1]) < 3:
            return False
        n = self._act_calls + self._act_ticks
        widths = self.layout[1][1:-1]
        skip = {id(a) for a in self._arrays()}
        root = self.root.obj
        skip |= {id(resolve(root, p.buffer)) for p in self.params if p.buffer is not None}
        # the caches discovery saw the forward pass write (``params['A1']``, ``self.hidden``) first, then the arrays
        # layers keep on themselves (`self.H = sigmoid(...)`, a Tanh layer's `self.y`), what the frame returns, and
        # its locals last (a backward's locals hold deltas of the layer's width)
        values = [resolve(root, p) for p in self.cache_paths]
        if self._cache_paths is None or n % 256 == 1:  # the arrays layers keep, re-walked now and then
            self._cache_paths = self._kept_paths()
        values += [resolve(root, p) for p in self._cache_paths]
        values.append(value)
        # gradients (dH, delta, grad_out) are bounded too: only names that are not gradient-like
        values += [v for k, v in frame.f_locals.items() if array_role(k) != "buffer" and not k.startswith("grad")]
        kept = self._kept_by_objects(frame)
        values += kept
        candidates: dict[int, list[np.ndarray]] = {}
        for v in values:
            seq = v if isinstance(v, (list, tuple)) and len(v) <= 16 else (v,)
            for a in seq:
                if not isinstance(a, np.ndarray) or a.dtype.kind != "f" or a.ndim > 2 or a.size == 0 or id(a) in skip:
                    continue
                for layer, w in enumerate(widths, start=1):
                    if w in a.shape and (a.ndim == 1 or self._batch_axis_ok(a, w)) and len(candidates.setdefault(layer, [])) < 8:
                        if all(a is not c for c in candidates[layer]) and bounded(a) and not _mask(a):
                            candidates[layer].append(a)
        if not candidates:
            return False
        inputs = self._inputs_near(frame, kept)
        found: dict[int, np.ndarray] = {}
        for layer in sorted(candidates):
            prev = inputs if layer == 1 else [found[layer - 1]] if layer - 1 in found else []
            a = self._output_among(layer, candidates[layer], prev)
            if a is None:
                continue
            found[layer] = a
            rows = a.reshape(1, -1) if a.ndim == 1 else (a.T if self.layout[0] == "columns" else a)
            first = self.first_rows.setdefault(layer, [])
            if sum(len(r) for r in first) < 64:
                first.append(np.array(rows[:64], dtype=float))
            ring = self.rows.setdefault(layer, [])
            ring.append(np.array(rows[:64], dtype=float))
            while sum(len(r) for r in ring) > RING:
                ring.pop(0)
        return bool(found)

    def _output_among(self, layer: int, candidates: list[np.ndarray], prev: list[np.ndarray]) -> np.ndarray | None:
        """The first candidate that is exactly layer ``layer``'s output; else, of those that follow its pre-activation
        up to noise (the weights moved since), the farthest from the pre-activation (a stale cached pre-activation
        is nearest), when it is farther than :data:`STALE_PRE_ACTIVATION`; else None.

        The products run on one BLAS thread: the observer's work never takes a core the program did not ask for
        (with two threads on a busy machine it also waits a scheduler slice for the second). The count is set once for
        all the candidates: setting a BLAS's threads back costs about as much as a product of a 784-64 layer."""
        best, best_far = None, STALE_PRE_ACTIVATION
        pres: dict[int, tuple[np.ndarray, np.ndarray] | None] = {}  # one product and one sort per input, not per candidate
        with one_blas_thread():
            for c in candidates:
                far = self._computes_layer(layer, c, prev, pres)
                if far == math.inf:
                    return c
                if far is not None and far > best_far:
                    best, best_far = c, far
        return best

    def _kept_by_objects(self, frame: FrameType) -> list[np.ndarray]:
        """Arrays kept on the program's own objects that the frame and up to three of its callers hold, themselves or
        in a small dict, list or tuple (a layer's ``self.x``, a ``Tanh`` object's ``self.y``, the layers of
        ``net = {"fc1": ..., "act1": ...}``): a layer object's input and output that no walk from the network's root
        reaches (the root found may be an optimizer's list of parameters). Names that read as gradients are left
        out, as for the frame's locals."""
        out: list[np.ndarray] = []
        seen: set[int] = set()
        f: FrameType | None = frame
        depth = 0
        while f is not None and depth < 4:
            for v in list(f.f_locals.values())[:128]:
                if isinstance(v, (dict, list, tuple)):
                    if len(v) > 16:
                        continue
                    objs = list(v.values()) if isinstance(v, dict) else list(v)
                else:
                    objs = [v]
                for o in objs:
                    attrs = getattr(o, "__dict__", None)
                    if (not isinstance(attrs, dict) or id(o) in seen or isinstance(o, (type, ModuleType))
                            or not self._users_class(type(o))):
                        continue
                    seen.add(id(o))
                    out += [x for k, x in list(attrs.items())[:32] if isinstance(x, np.ndarray)
                            and array_role(k) != "buffer" and not k.startswith("grad")]
            f, depth = f.f_back, depth + 1
        return out

    def _users_class(self, cls: type) -> bool:
        """Whether ``cls`` is defined in one of the program's own files (cached per class)."""
        known = self._user_classes.get(cls)
        if known is None:
            filename = getattr(sys.modules.get(cls.__module__), "__file__", None)
            known = self._user_classes[cls] = isinstance(filename, str) and self.options.is_user(filename)
        return known

    def _kept_paths(self) -> list[Path]:
        """Paths of the arrays the network's objects keep beside their parameters (``layers[0].a``, a Tanh layer's
        ``self.y``, ``net.hidden``): the root walked a few levels, or, for a module's globals, the objects holding
        the parameters and the lists of layer objects they sit in."""
        root = self.root

        def kept(p: Path) -> bool:
            return array_role(path_text(p)) != "buffer" and not str(p[-1][1]).startswith("grad")

        if not root.globals_root:
            return [p for p, _ in walk_arrays(root.obj, max_depth=3, max_items=16) if kept(p)]
        heads: dict[Path, None] = {}
        for prm in self.params:
            for cut in (1, 2):  # the layer object, and the list of layer objects it is an item of
                if len(prm.path) > cut:
                    heads.setdefault(prm.path[:-cut])
        out: dict[Path, None] = {}
        for head in heads:
            obj = resolve(root.obj, head)
            if obj is None or isinstance(obj, np.ndarray):
                continue
            for p, _ in walk_arrays(obj, max_depth=2, max_items=16):
                if kept((*head, *p)):
                    out.setdefault((*head, *p))
        return list(out)

    def _inputs_near(self, frame: FrameType, kept: list[np.ndarray] = []) -> list[np.ndarray]:  # noqa: B006 - read only
        """Batches of the network's input that the running frame and up to three of its callers hold (its arguments
        first), then those among ``kept`` (arrays the program's objects keep: a layer object's ``self.x``), laid out
        as the network's layout reads them: a layer's backward is called by a function that holds the batch, an
        update helper by the step that computed the gradients."""
        out: list[np.ndarray] = []
        first = self._input_of(frame)
        if first is not None:
            out.append(first)
        f: FrameType | None = frame
        depth = 0
        while f is not None and depth < 4 and len(out) < 8:
            for v in list(f.f_locals.values())[:128]:
                x = self._as_input(v)
                if x is not None and all(not _same_view(x, y) for y in out):
                    out.append(x)
            f, depth = f.f_back, depth + 1
        for v in kept:
            x = self._as_input(v)
            if x is not None and len(out) < 8 and all(not _same_view(x, y) for y in out):
                out.append(x)
        return out

    def _as_input(self, v: Any) -> np.ndarray | None:
        """``v`` as a batch of the network's inputs laid out as the layout reads them, or None."""
        if self.layout is None:
            return None
        n_in = self.layout[1][0]
        if isinstance(v, list) and len(v) == n_in:
            try:
                v = np.asarray(v, dtype=float)
            except (TypeError, ValueError):
                return None
        if isinstance(v, np.ndarray) and v.ndim <= 2 and v.dtype.kind in "fiu" and n_in in v.shape:
            if v.ndim == 1 or v.size == n_in:
                return v.reshape(-1, 1) if self.layout[0] == "columns" else v.reshape(1, -1)
            if self._batch_axis_ok(v, n_in):
                return v
        return None

    def _input_of(self, frame: FrameType) -> np.ndarray | None:
        """The input sample(s) among the frame's arguments, laid out as the network's layout reads them, or None."""
        code = frame.f_code
        for name in code.co_varnames[: code.co_argcount]:
            x = self._as_input(frame.f_locals.get(name))
            if x is not None:
                return x
        return None

    def _computes_layer(self, layer: int, a: np.ndarray, prev: list[np.ndarray],
                        pres: dict[int, tuple[np.ndarray, np.ndarray] | None] | None = None) -> float | None:
        """How well ``a`` is what layer ``layer`` computes from one of the input batches ``prev``: an elementwise
        non-decreasing function of ``W·prev + b`` (tanh, sigmoid, relu all are).

        A backpropagated delta has the layer's shape and is bounded too, but is not ordered like the pre-activation;
        a gradient of the layer's weights has another number of rows than the batch. The weights may have moved
        since the forward pass that computed ``a`` (an update applied inline before ``a`` is looked at: a module-level
        loop, an update inside backward or in a helper the step calls per tensor); in a saturated layer even a small
        step reorders the entries that sit within float noise of ±1, and where the pre-activation is near 0 it may
        flip their sign. Such an output still rises with the pre-activation up to that noise
        (:func:`~netdoctor.observe.numpy.roles.rises_with`).

        ``pres`` keeps each input's pre-activation and its order for the next candidate (by the input's id: the
        inputs are held by ``prev`` meanwhile).

        Returns:
            None when ``a`` is not this layer's output; ``math.inf`` when it is exactly (ordered like the
            pre-activation of the weights as they are now), or when there is nothing to compare with (no input
            seen, the layer's weights not resolved); else, for an output ordered only up to noise, its mean distance
            from the pre-activation over the pre-activation's spread: the pre-activation itself, cached by the
            forward and now stale, is the nearest such array.
        """
        if not prev or self.layout is None:
            return math.inf
        weights = [prm for prm in self.params if len(prm.shape) == 2 and not prm.bias]
        if layer > len(weights):
            return math.inf
        root = self.root.obj
        W = resolve(root, weights[layer - 1].path)
        width = self.layout[1][layer]
        b = next((resolve(root, prm.path) for prm in self.params if prm.bias and int(np.prod(prm.shape)) == width), None)
        if not isinstance(W, np.ndarray):
            return math.inf
        cols = self.layout[0] == "columns"
        loose: float | None = None
        for x in prev:
            if x.ndim == 2 and W.ndim == 2 and not self._chains_to(W, x, b, cols, a.size):
                continue  # shapes that do not chain, or another batch: told from the shapes, without the product
            known: tuple[np.ndarray, np.ndarray] | None
            if pres is not None and id(x) in pres:
                known = pres[id(x)]
            else:
                try:
                    with np.errstate(all="ignore"):
                        pre = W @ x if cols else x @ W
                        if isinstance(b, np.ndarray):
                            pre = pre + (b.reshape(-1, 1) if cols else b.reshape(1, -1))
                    known = (pre, np.argsort(pre.reshape(-1), kind="stable"))
                except ValueError:
                    known = None  # shapes that do not chain here: not this layer's input
                if pres is not None:
                    pres[id(x)] = known
            if known is None:
                continue
            pre, order = known
            if pre.size != a.size:
                continue  # another batch
            p, v = pre.reshape(-1), a.reshape(pre.shape).reshape(-1)
            if not (np.isfinite(p).all() and np.isfinite(v).all()) or p.size < 4:
                return math.inf
            if np.allclose(v, p, rtol=1e-6, atol=1e-12):
                continue  # the pre-activation itself (a layer object's cached z, small enough to look bounded)
            tol = 1e-9 * float(np.abs(v).max())  # relative to the array's own scale: a vanishing delta is still unordered
            pos = p > 0
            wrong = float(np.mean(v[pos] < -tol)) if pos.any() else 0.0
            if wrong > MOVED_SIGNS or (pos.any() and float(np.mean(v[pos] <= tol)) > 0.5):
                # tanh, sigmoid, relu and their kin are > 0 where the pre-activation is (dropout zeroes a share of
                # them): neither a relu-gated delta (either sign there) nor a buffer of zeros is such an output
                continue
            steps = np.diff(v[order])
            if not wrong and float((steps < -tol).mean()) <= 0.1:  # dropout masks break the order of a few units
                return math.inf
            if rises_with(p, v, order=order):
                spread = float(p.std())
                far = float(np.abs(v - p).mean()) / spread if spread > 0 else 0.0
                loose = far if loose is None else max(loose, far)
        return loose

    @staticmethod
    def _chains_to(W: np.ndarray, x: np.ndarray, b: Any, cols: bool, size: int) -> bool:
        """Whether ``W @ x`` (``x @ W`` for rows), plus the bias, is defined and has ``size`` entries, from the shapes
        alone: an input seen nearby may be the whole data set (a module's ``X``, 5000x784), whose product with the
        first layer's weights costs more than the step being watched."""
        if (W.shape[1] != x.shape[0]) if cols else (x.shape[1] != W.shape[0]):
            return False
        shape: tuple[int, ...] = (W.shape[0], x.shape[1]) if cols else (x.shape[0], W.shape[1])
        if isinstance(b, np.ndarray):
            try:
                shape = np.broadcast_shapes(shape, (b.size, 1) if cols else (1, b.size))
            except ValueError:
                return False
        return math.prod(shape) == size

    def _batch_axis_ok(self, a: np.ndarray, w: int) -> bool:
        if self.layout is None:
            return False  # no layer chain: nothing to say which axis is the batch
        axis = 0 if self.layout[0] == "columns" else 1
        return a.shape[axis] == w

    # -- functions not yet known: a few calls tell what they are --------------------
    def _probe_call(self, frame: FrameType) -> None:
        self._helper_call(frame)
        code = frame.f_code
        n_in = self.layout[1][0] if self.layout else -1
        # an input sample: an array with the input's width, or a list of that length (pixels, or one-element rows)
        given = self._probe_inputs[id(frame)] = any(
            (isinstance(v, np.ndarray) and n_in in v.shape) or (isinstance(v, list) and len(v) == n_in)
            for v in (frame.f_locals.get(n) for n in code.co_varnames[: code.co_argcount]))
        me = frame.f_locals.get("self")
        if not given and not code.co_argcount - 1 and isinstance(getattr(me, "__dict__", None), dict):
            # a method handed nothing (``net.forward()``): the batch the loop set on the object (``net.xb = X[idx]``),
            # an array with the input width of no parameter's shape, stands for the argument
            given = self._probe_inputs[id(frame)] = self._holds_batch(me, n_in)
        if given and me is not None and isinstance(getattr(me, "__dict__", None), dict):
            # a forward may keep its output on the object instead of returning it: what it rebinds tells
            self._probe_attrs[id(frame)] = {k: weak(v) for k, v in vars(me).items() if isinstance(v, np.ndarray)}

    def _holds_batch(self, obj: Any, width: int) -> bool:
        """Whether ``obj`` keeps among its first 64 attributes a float array with ``width`` in its shape that is no
        parameter and has no parameter's shape (a batch set on it)."""
        arrays = [t.read() for t in self._tracked()]
        ids = {id(a) for a in arrays}
        shapes = {a.shape for a in arrays if isinstance(a, np.ndarray)}
        return any(isinstance(v, np.ndarray) and v.dtype.kind == "f" and width in v.shape and id(v) not in ids
                   and v.shape not in shapes for v in list(vars(obj).values())[:64])

    def _probe_return(self, frame: FrameType, value: Any) -> None:
        """Classify a function by what it returns: the output (forward), a target vector (helper), or nothing of interest."""
        code = frame.f_code
        given_input = self._probe_inputs.pop(id(frame), False)  # per frame: a nested call must not answer for its caller
        before = self._probe_attrs.pop(id(frame), None)
        if value is None and before is not None:
            name = self._stored_output(frame, before)
            if name:
                self.output_attr[code] = name
                value = getattr(frame.f_locals["self"], name)
        left = self._probe_left.get(code, 8) - 1
        self._probe_left[code] = left
        role = self._roles.get(code, 0)
        if self.layout:
            rows = self._output_rows(value)
            if rows is not None and rows.size:
                if self._helper_pending is not None and not given_input and code_like(rows):
                    self._roles[code] = (role & ~_PROBE) | _HELPER
                    self.target_helper = code
                    self._helper_last[id(value)] = (weak(value), self._helper_pending, *self._helper_site)
                    self._built_target(value)
                    return
                if given_input:
                    self._roles[code] = (role & ~_PROBE) | _FORWARD
                    self.forward.add(code)
                    self._forward_return(frame, value)
                    return
        if isinstance(value, np.ndarray) and self._table_row(value):
            # a row of a code table (a target helper whose row fits no layout: (10,) against (10, 1) outputs): kept
            # watched, so that a row written in place is seen when it comes back (mutated-constant)
            self._roles[code] = role | _TABLE
        if left <= 0:
            self._roles[code] = self._roles[code] & ~_PROBE  # 0: ignored from now on

    def _stored_output(self, frame: FrameType, before: dict[str, Callable[[], Any]]) -> str:
        """The attribute a forward that returned nothing rebound to an array of output rows (``self.output``), or ""."""
        me = frame.f_locals.get("self")
        found = ""
        for k, v in getattr(me, "__dict__", {}).items():
            if isinstance(v, np.ndarray) and (k not in before or before[k]() is not v) and self._output_rows(v) is not None:
                found = k  # the last one written in the object's order: layers' outputs come before the network's
        return found

    # -- helpers that build targets ---------------------------------------------------
    _helper_pending: float | None = None
    _helper_site: tuple[str, int, str] = ("", 0, "")

    def _helper_call(self, frame: FrameType) -> None:
        code = frame.f_code
        arg = None
        for name in code.co_varnames[: code.co_argcount]:
            v = scalar_of(frame.f_locals.get(name))
            if v is not None:
                arg = v
                break
        self._helper_pending = arg
        back = caller_of(frame)
        self._helper_site = (back.f_code.co_filename, back.f_lineno, back.f_code.co_name) if back is not None else ("", 0, "")


INLINE_TRIES = 64
"""Loop heads after an update at which a loop's names are looked at for targets before the look stops (a loop keeping
its targets under no name of its own: ``T[idx]`` written into the expression)."""


def _mask(a: np.ndarray) -> bool:
    """Whether ``a`` holds exact 0s and 1s and nothing else: a relu's derivative or a dropout mask, ordered like the
    pre-activation but no layer's output (a sigmoid is never exactly 0; a dead relu layer is all 0s)."""
    zero = a == 0
    return bool(zero.any() and (zero | (a == 1)).all() and not zero.all())


def _same_view(x: np.ndarray, y: np.ndarray) -> bool:
    """Whether ``x`` and ``y`` show the same entries (one array, or two views of the same memory, shape and strides):
    a sample sliced from the data set (``X[j:j + 1]``) shares its base with the data set but is another input."""
    return x is y or (x.shape == y.shape and x.strides == y.strides
                      and x.__array_interface__["data"][0] == y.__array_interface__["data"][0])


def _encodes_classes(rows: np.ndarray) -> bool:
    """Whether target rows (from :func:`class_rows`) hold a code per row (one-hot, +-1, 0.01/0.99) or integer
    labels: a gradient has many values, or no single top entry per row."""
    return not (rows.ndim == 2 and rows.dtype.kind == "f" and (len(np.unique(rows)) > 3 or not one_top(rows)))


def _tally_rows(rows: np.ndarray, counts: Counter, values: dict[bytes, int]) -> None:
    """Count target rows by class (integer labels, or code rows by their largest entry) and keep a few distinct rows."""
    if rows.ndim == 1:  # integer labels
        counts.update(rows.astype(int).tolist())
        for r in np.unique(rows)[:8]:
            if len(values) < 64:
                values.setdefault(np.asarray(r).tobytes(), 0)
        return
    if len(rows) == 1:
        counts[int(np.argmax(rows[0]))] += 1
    else:
        counts.update(np.argmax(rows, axis=1).tolist())
    for r in rows[:4]:
        key = r.tobytes()
        if key in values:
            values[key] += 1
        elif len(values) < 64:
            values[key] = 1


def _linear_error(loc: dict[str, Any], targets: np.ndarray | None) -> np.ndarray | None:
    """``output - targets`` of a linear output among a function's locals: the local ``O`` (the targets' shape) for
    which another local is an exact multiple of ``O - targets`` (the output error a squared error backpropagates,
    ``d = (out - t) / n`` or ``d = out - t``); None when no such pair is there."""
    if targets is None:
        return None
    if targets.shape[0] != targets.shape[1]:  # a column layout keeps the targets as (classes, rows)
        for t in (targets, targets.T):
            E = _linear_error_as(loc, t)
            if E is not None:
                return E if t is targets else E.T
        return None
    return _linear_error_as(loc, targets)


def _linear_error_as(loc: dict[str, Any], targets: np.ndarray) -> np.ndarray | None:
    same = [v for v in list(loc.values())[:64] if isinstance(v, np.ndarray) and v.shape == targets.shape
            and v.dtype.kind == "f" and v is not targets and np.isfinite(v).all()]
    for o in same:
        with np.errstate(all="ignore"):
            E = o - targets
            ee = float(np.sum(E * E))
            if ee == 0 or not math.isfinite(ee):
                continue
            for d in same:
                if d is o:
                    continue
                k = float(np.sum(d * E)) / ee
                if k != 0 and float(np.linalg.norm(d - k * E)) <= 1e-9 * max(float(np.linalg.norm(d)), 1e-300):
                    return E
    return None
