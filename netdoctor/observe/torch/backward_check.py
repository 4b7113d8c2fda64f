"""Hand-written backward code in a PyTorch program, against finite differences of the module that runs it.

Built-in autograd computes the derivative of what the forward computed; a custom
``torch.autograd.Function`` brings its own ``backward``, written by hand, and
nothing checks that it is the derivative of its ``forward``. On a sampled
training step (a :attr:`TorchWatch.forward_listeners
<netdoctor.observe.torch.watch.TorchWatch.forward_listeners>` listener, so
every module call with gradients on is seen, innermost first), the autograd
graph below each module's output is walked back to the module's inputs; a node
of a custom Function (``BackwardCFunction``) found there belongs to the
innermost module whose region holds it. That module is then checked, once, by
:func:`netdoctor.gradients.gradcheck` on a float64 copy in eval mode (the
program's module, tensors and random state are left as they were): autograd's
gradient of ``sum(r * module(x))`` (through the hand-written backward) against
central differences, at a few sampled entries of each parameter and input.

What it records is evidence (:class:`~netdoctor.rules.backprop.ModuleBackwardCheck`);
:func:`~netdoctor.rules.backprop.gradient_mismatch_in_modules` words it. A model
made of built-in operations only gets one note saying that nothing was checked.

Cost: one graph walk per module call on the first :data:`LOOK_STEPS` sampled
steps (each node is visited once per step: a module's walk jumps over the regions
of the modules inside it), then nothing; a check per module with a custom
Function, at most :data:`MAX_CHECKS` per run, :data:`MAX_COORDS` entries per tensor.
"""

from __future__ import annotations

import copy
import inspect
import sys
import time
from dataclasses import field
from typing import TYPE_CHECKING, Any

from netdoctor._lazy import dataclass
from netdoctor.observe.isolation import kept, namespaces_of, quietly

if TYPE_CHECKING:  # imported where a check runs: the rules' import cost 20-40 ms at every hook install
    from netdoctor.rules.backprop import ModuleBackwardCheck

__all__ = ["BackwardCheck", "MAX_CHECKS", "MAX_COORDS", "LOOK_STEPS"]

MAX_CHECKS = 3
"""Modules checked per run (each once)."""
MAX_COORDS = 6
"""Entries sampled per tensor: a hand-written backward that is wrong is wrong at almost every entry."""
LOOK_STEPS = 3
"""Sampled steps whose graphs are walked; a model without a custom Function by then gets its note."""
MAX_NODES = 20_000
"""Nodes walked per step at most (a very large graph is looked at in part, and the note says so)."""


@dataclass
class _Step:
    """The graph walk of one step: nodes already claimed by an inner module, and each module's region edge."""

    number: int
    seen: set[int] = field(default_factory=set)
    edges: dict[int, list[Any]] = field(default_factory=dict)
    """id of a module output's grad_fn -> the grad_fns of that module's inputs (where its region ends)."""
    walked: int = 0


class BackwardCheck:
    """Finds modules that run custom autograd Functions and checks each once (see the module docstring).

    Args:
        watch: the PyTorch observer (its ``busy`` flag is set while the check runs the copy, its ``names()``
            name the modules, its ``sites`` tell the user's files).
    """

    def __init__(self, watch: Any) -> None:
        self.watch = watch
        self.records: list[ModuleBackwardCheck] = []
        self.seconds = 0.0
        self.looked = 0
        """Sampled steps whose graphs were walked."""
        self.partial = False
        """A graph was larger than :data:`MAX_NODES`."""
        self._step: _Step | None = None
        self._checked: set[int] = set()
        self._found: dict[int, tuple[Any, tuple[str, ...], str]] = {}
        """id(module) -> (module, Function names, where the first is defined), found but not yet checked."""
        self._failed: list[str] = []

    # -- the listener ----------------------------------------------------------------------------
    def listen(self, module: Any, args: tuple, kwargs: dict, output: Any) -> None:
        """A module call of a sampled step with gradients on (innermost modules first)."""
        if self.looked > LOOK_STEPS and not self._found:
            return
        t0 = time.perf_counter()
        try:
            self._listen(module, args, kwargs, output)
        except Exception as exc:  # noqa: BLE001 - our error: the check stops, the program goes on
            self._failed.append(f"{type(exc).__name__}: {exc}")
            self.looked = LOOK_STEPS + 1
            self._found.clear()
        finally:
            self.seconds += time.perf_counter() - t0

    def _listen(self, module: Any, args: tuple, kwargs: dict, output: Any) -> None:
        torch = self.watch.torch
        if self._step is None or self._step.number != self.watch.steps:
            self._step = _Step(self.watch.steps)
            self.looked += 1
        step = self._step
        if self.looked <= LOOK_STEPS:
            found = self._walk(step, [a for a in args if issubclass(type(a), torch.Tensor)], output)
            if found and id(module) not in self._checked and id(module) not in self._found:
                names = tuple(dict.fromkeys(type(n)._forward_cls.__name__ for n in found))
                self._found[id(module)] = (module, names, self._defined_at(type(found[0])._forward_cls))
        entry = self._found.get(id(module))
        if entry is None or len(self.records) >= MAX_CHECKS:
            return
        del self._found[id(module)]
        self._checked.add(id(module))
        self.records.append(self._check(module, args, kwargs, entry[1], entry[2]))

    def _walk(self, step: _Step, inputs: list[Any], output: Any) -> list[Any]:
        """The custom-Function nodes in this module's region of the graph not claimed by a module inside it."""
        torch = self.watch.torch
        custom = torch.autograd.function.BackwardCFunction
        outs = [o for o in (output if issubclass(type(output), (tuple, list)) else [output]) if issubclass(type(o), torch.Tensor)]
        stop = {id(t.grad_fn) for t in inputs if t.grad_fn is not None}
        roots = [o.grad_fn for o in outs if o.grad_fn is not None]
        stack = list(roots)
        found: list[Any] = []
        edge: list[Any] = [t.grad_fn for t in inputs if t.grad_fn is not None]
        while stack:
            node = stack.pop()
            i = id(node)
            if i in stop or i in step.seen and i not in step.edges:
                continue
            if i in step.edges:  # the output of a module inside this one: go on below its region
                stack.extend(step.edges.pop(i))
                continue
            step.seen.add(i)
            step.walked += 1
            if step.walked > MAX_NODES:
                self.partial = True
                break
            if isinstance(node, custom) and _users(type(node)._forward_cls, self.watch.sites.is_user_file):
                found.append(node)
            stack.extend(n for n, _ in node.next_functions if n is not None)
        for r in roots:
            step.edges[id(r)] = edge
        return found

    def _defined_at(self, cls: type) -> str:
        """``file:line`` of the Function's ``backward`` (its class name when the source is not at hand)."""
        try:
            fn = vars(cls).get("backward", cls)
            fn = getattr(fn, "__func__", fn)  # a staticmethod
            lines, line = inspect.getsourcelines(fn)
            path = inspect.getsourcefile(fn)
            line += next((k for k, row in enumerate(lines) if row.lstrip().startswith("def ")), 0)  # past decorators
        except (OSError, TypeError):
            return cls.__qualname__
        return self.watch.sites.name(path, line) if path else cls.__qualname__

    # -- the check -----------------------------------------------------------------------------
    def _check(self, module: Any, args: tuple, kwargs: dict, functions: tuple[str, ...], defined: str
               ) -> ModuleBackwardCheck:
        from netdoctor.gradients import gradcheck
        from netdoctor.rules.backprop import ModuleBackwardCheck

        name = self.watch.names()[1].get(id(module), type(module).__name__)
        if kwargs:
            return ModuleBackwardCheck(name, functions, defined, None, note="called with keyword arguments: not checked")
        self.watch.busy = True  # our calls of the copy are not the program's
        try:
            work = copy.deepcopy(module).eval()  # dropout off: a random forward has no finite differences
            # what the copy's forward prints, logs, writes or draws never reaches the program (observe.isolation)
            with self.watch.torch.random.fork_rng(devices=[]), quietly(), kept(namespaces_of({}, list(work.modules()))):
                result = gradcheck(work, tuple(args), max_coords=MAX_COORDS, seed=0)
        except Exception as exc:  # noqa: BLE001 - a module we cannot copy or run again is not checked
            return ModuleBackwardCheck(name, functions, defined, None,
                                       note=f"could not be run again on a copy ({type(exc).__name__}: {exc})")
        finally:
            self.watch.busy = False
        comparison = result.evidence()
        return ModuleBackwardCheck(name, functions, defined, comparison,
                                   coords=sum(t.n_checked for t in comparison.tensors),
                                   surrogate=tuple(t.name for t in comparison.tensors if _flat(t)))

    # -- what the report says --------------------------------------------------------------------
    def notes(self) -> list[str]:
        """One sentence: what was checked, or that the model uses built-in autograd only."""
        out: list[str] = []
        checked = [r for r in self.records if r.comparison is not None]
        if checked:
            coords = sum(r.coords for r in checked)
            fns = ", ".join(dict.fromkeys(f for r in checked for f in r.functions))
            out.append(f"backward check: {len(checked)} module(s) with custom autograd Functions ({fns}) compared with "
                       f"finite differences on a float64 copy ({coords} sampled entries; {self.seconds:.2f} s)")
        for r in self.records:
            if r.comparison is None:
                out.append(f"backward check of {r.module} not run: {r.note}")
        if not self.records and self.looked and not self._failed:
            out.append("backward check: built-in autograd only (no custom autograd.Function in the model's "
                       f"forward on {min(self.looked, LOOK_STEPS)} sampled step(s)"
                       + ("; the graph was walked in part" if self.partial else "") + "): nothing hand-written to check")
        out += [f"backward check stopped on an error of its own ({e})" for e in self._failed[:1]]
        return out


def _flat(t: Any) -> bool:
    """Every sampled derivative ~0 where the backward passes a gradient: a flat forward (rounding, sign)
    with a surrogate gradient on purpose (straight-through), not a mismatch."""
    return bool(t.worst) and t.n_failed == t.n_checked and all(
        abs(e.numeric) <= 1e-9 * max(abs(e.analytic), 1e-300) for e in t.worst)


def _users(cls: type, is_user: Any) -> bool:
    """Whether a Function class is the program's (defined in one of its files), not a library's."""
    mod = sys.modules.get(cls.__module__)
    path = getattr(mod, "__file__", None)
    return bool(path) and bool(is_user(path))


