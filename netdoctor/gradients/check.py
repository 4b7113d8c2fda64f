"""Gradient checks: is the gradient your code returns the derivative of its loss?

Two entry points:

* :func:`gradcheck` for a plain function ``f(x) -> float`` with ``grad(x)``;
  ``x`` is an array of any shape or a dict / list / tuple of arrays;
* :func:`check_gradients` for a model of the netdoctor protocol
  (``params`` and ``loss(X, y) -> (loss, grads)``).

Both compare the analytic gradient with a numerical one, entry by entry
(central differences or the complex step) or along random directions, and
return a :class:`~netdoctor.gradients.result.GradcheckResult`. Parameters are
restored bit for bit afterwards, also when the user's code raises; the global
NumPy random state is never used. See ``docs/gradcheck.md``.

Both accept PyTorch code too (torch functions, ``nn.Module`` s, custom
``autograd.Function`` classes; autograd gives the analytic side): they hand
it to :mod:`netdoctor.gradients.torch_check`, which is imported only then.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from netdoctor.errors import InvalidArgument, ProtocolError
from netdoctor.gradients.engine import NotAnalytic, Problem
from netdoctor.gradients.judge import checked_note, judge_directional, judge_per_coordinate
from netdoctor.gradients.options import DEFAULT_MAX_COORDS, GradcheckMethod, validate
from netdoctor.gradients.result import CoordinateCheck, DirectionCheck, GradcheckResult, TensorCheck, rel_error
from netdoctor.nn.threads import blas_threads
from netdoctor.protocol import Model
from netdoctor.usercode import call_user

__all__ = [
    "gradcheck", "check_gradients", "GradcheckResult", "TensorCheck", "CoordinateCheck", "DirectionCheck", "rel_error",
]


# -- PyTorch objects (recognised without importing torch) ------------------------------
def _is_torch(*objs: Any) -> bool:
    """True when any of ``objs`` is (or holds) a torch tensor, module or ``autograd.Function`` class.

    Only a program that imported torch can pass torch objects, so torch is looked up
    in ``sys.modules``, never imported here.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        return False
    for obj in objs:
        items = list(obj.values()) if isinstance(obj, Mapping) else list(obj) if isinstance(obj, (list, tuple)) else [obj]
        for o in items:
            if isinstance(o, (torch.Tensor, torch.nn.Module)):
                return True
            if isinstance(o, type) and issubclass(o, torch.autograd.Function):
                return True
    return False


def _torch_module(model: Any) -> tuple[Any, Any, bool | None] | None:
    """``(module, loss_fn, train)`` for an ``nn.Module`` or a netdoctor-adapted one, else None."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    if isinstance(model, torch.nn.Module):
        return model, None, None
    inner = getattr(model, "__netdoctor_torch__", None)
    if inner is not None:
        return inner
    return None


# -- plain functions ---------------------------------------------------------------
def _flatten(x: Any) -> tuple[list[str], list[np.ndarray], Callable[[list[Any]], Any], str]:
    """Names, float64 working copies, a rebuild function and the kind of ``x``'s structure."""
    if isinstance(x, Mapping):
        keys = list(x)
        if not keys:
            raise InvalidArgument("x is an empty dict; nothing to check.")
        arrays = [_leaf(x[k], str(k)) for k in keys]
        return [str(k) for k in keys], arrays, lambda v: dict(zip(keys, v)), "dict"
    if isinstance(x, (list, tuple)) and x and not np.isscalar(x[0]):
        seq = type(x)
        arrays = [_leaf(v, f"x[{i}]") for i, v in enumerate(x)]
        return [f"x[{i}]" for i in range(len(x))], arrays, lambda v: seq(v), "seq"
    return ["x"], [_leaf(x, "x")], lambda v: v[0], "single"


def _leaf(v: Any, name: str) -> np.ndarray:
    try:
        arr = np.array(v, dtype=np.float64, copy=True)
    except (TypeError, ValueError):
        raise InvalidArgument(f"{name} must be a real array or number; got {type(v).__name__}.") from None
    if arr.size == 0:
        raise InvalidArgument(f"{name} has no entries; nothing to check.")
    if not np.all(np.isfinite(arr)):
        raise InvalidArgument(f"{name} contains nan or inf; gradients can only be checked at finite points.")
    return arr


def _scalar(value: Any, what: str) -> float:
    arr = np.asarray(value)
    if arr.size != 1:
        raise ProtocolError(f"{what} returned an array of shape {arr.shape}; expected a scalar loss.")
    if np.iscomplexobj(arr):
        raise ProtocolError(f"{what} returned a complex value; expected a real scalar loss.")
    out = float(arr.reshape(()))
    if not np.isfinite(out):
        raise InvalidArgument(f"{what} returned {out}; gradients of a non-finite loss cannot be checked.")
    return out


def _copy_grads(grads: Any, names: list[str], shapes: list[tuple[int, ...]], what: str,
                kind: str = "dict") -> tuple[list[np.ndarray], list[str | None]]:
    """Float64 copies of the returned gradients (never the user's arrays), with shape problems.

    ``kind`` is the structure expected: ``"dict"`` (by name), ``"seq"`` (list/tuple) or ``"single"``.
    """
    if kind == "dict":
        if not isinstance(grads, Mapping):
            raise ProtocolError(f"{what} must return a dict of gradients keyed like the parameters; "
                                f"got {type(grads).__name__}.")
        missing = [n for n in names if n not in grads]
        if missing:
            raise ProtocolError(f"{what} returned no gradient for {', '.join(map(repr, missing))}; "
                                "expected one per parameter.")
        values = [grads[n] for n in names]
    elif kind == "seq":
        if not isinstance(grads, (list, tuple)) or len(grads) != len(names):
            raise ProtocolError(f"{what} must return a list/tuple of {len(names)} gradients, like x.")
        values = list(grads)
    else:
        values = [grads]
    out: list[np.ndarray] = []
    problems: list[str | None] = []
    for name, shape, g in zip(names, shapes, values):
        arr = np.array(g, dtype=np.float64, copy=True)
        if arr.shape == shape:
            out.append(arr)
            problems.append(None)
        elif arr.ndim == 2 and arr.shape == shape[::-1]:
            out.append(arr)
            problems.append(f"has shape {arr.shape}, the transpose of {name}'s shape {shape}: a missing .T")
        else:
            out.append(arr)
            problems.append(f"has shape {arr.shape}; {name} has shape {shape} (a sum over the wrong axis?)")
    return out, problems


def gradcheck(
    f: Callable[[Any], Any],
    x: Any,
    grad: Callable[[Any], Any] | None = None,
    *,
    method: GradcheckMethod = "auto",
    h: float | None = None,
    rtol: float | Mapping[str, float] | None = None,
    atol: float | None = None,
    max_coords: int | None = DEFAULT_MAX_COORDS,
    seed: int | np.random.Generator = 0,
    n_directions: int = 3,
) -> GradcheckResult:
    """Check ``grad`` against numerical derivatives of ``f`` at ``x``.

    Args:
        f: scalar function ``f(x) -> float``; or PyTorch code: a function of tensors,
            an ``nn.Module`` (its parameters that require grad are checked too) or a
            custom ``torch.autograd.Function`` class (called through ``apply``).
        x: the point: an array of any shape, a number, or a dict / list / tuple of arrays.
            Not modified: ``f`` and ``grad`` receive float64 copies. For PyTorch code
            a tensor, or a tuple / list / dict of arguments (``f(*x)``, ``f(**x)``).
        grad: ``grad(x)`` returning arrays in the structure of ``x``, or those
            arrays themselves (the analytic gradient's value at ``x``). Given
            as values, a disagreement at a kink (relu, abs) cannot be told
            from a wrong gradient, since the gradient is known at ``x`` only;
            the result's notes say so. Leave it out for PyTorch code: autograd
            computes the analytic side.
        method: ``"auto"`` (central differences here), ``"central"``,
            ``"complex"`` (falls back to central, saying why, if ``f`` rejects
            complex input) or ``"directional"``.
        h: central step, 1e-8 to 1e-2 (default 1e-5), scaled by ``max(1, |x_k|)``.
        rtol: relative tolerance, a number or ``{name or dtype: value}``
            (defaults: see :mod:`netdoctor.gradients.options`).
        atol: floor of the relative-error denominator (default 1e-8 for float64).
        max_coords: entries sampled per array (seeded), ``None`` for all.
        seed: seed (or Generator) for sampling and directions.
        n_directions: random directions for ``method="directional"``.

    Returns:
        a :class:`GradcheckResult`.

    Raises:
        InvalidArgument: bad knobs or a bad point. ProtocolError: ``f``/``grad``
        return the wrong kind of value. UserCodeError: ``f`` or ``grad`` raised.
    """
    opts = validate(method=method, h=h, rtol=rtol, atol=atol, max_coords=max_coords, seed=seed,
                    n_directions=n_directions)
    if _is_torch(f, x):
        if grad is not None:
            raise InvalidArgument("grad is not used for PyTorch code: autograd computes the analytic gradient; "
                                  "call gradcheck(f, x) without it.")
        from netdoctor.gradients.torch_check import check_function

        return check_function(f, x, opts, _run)
    if grad is None:
        raise InvalidArgument("grad is missing: pass grad(x) -> arrays like x, or the gradient's value at x "
                              "(only PyTorch code gets its gradient from autograd).")
    if not callable(f):
        raise InvalidArgument(f"f must be a callable f(x) -> float; got {type(f).__name__}.")
    names, arrays, rebuild, kind = _flatten(x)
    shapes = [a.shape for a in arrays]
    point = rebuild(arrays)  # the arrays inside are the live working copies
    def evaluate() -> float:
        return _scalar(call_user(f, point, what="f(x)"), "f(x)")

    def evaluate_complex(k: int, carr: np.ndarray) -> complex:
        values = list(arrays)
        values[k] = carr
        return f(rebuild(values))

    f0 = evaluate()
    gradient: Callable[[], list[np.ndarray]] | None = None
    if callable(grad):
        analytic, problems = _copy_grads(call_user(grad, rebuild([a.copy() for a in arrays]), what="grad(x)"),
                                         names, shapes, "grad(x)", kind)

        def gradient() -> list[np.ndarray]:
            return _copy_grads(call_user(grad, rebuild([a.copy() for a in arrays]), what="grad(x)"),
                               names, shapes, "grad(x)", kind)[0]
    else:
        # Given as its value at x: without the gradient beside x the kink analysis is not possible.
        analytic, problems = _copy_grads(grad, names, shapes, "the gradient given", kind)

    problem = Problem(names, arrays, evaluate, evaluate_complex, gradient, subject="f")
    chosen = "central" if opts.method == "auto" else opts.method
    with blas_threads(1):
        result = _run(problem, analytic, problems, f0, opts, chosen, [], batch_size=None, dtype="float64")
    if gradient is None:
        result.notes.insert(0, "the gradient was given as an array (its value at x): a disagreement at a kink (relu, abs, "
                               "max) cannot be told from a wrong gradient; pass grad as a function to have kinks recognised.")
    if opts.method == "auto":
        result.notes.insert(0, checked_note("auto chose central differences", result.tensors, opts.max_coords,
                                            "; pass method='complex' for exact derivatives of analytic functions."))
    return result


# -- models ----------------------------------------------------------------------------
def check_gradients(
    model: Model,
    X: Any,
    y: Any,
    *,
    method: GradcheckMethod = "auto",
    h: float | None = None,
    rtol: float | Mapping[str, float] | None = None,
    atol: float | None = None,
    max_coords: int | None = DEFAULT_MAX_COORDS,
    seed: int | np.random.Generator = 0,
    n_directions: int = 3,
) -> GradcheckResult:
    """Check a protocol model's gradients (``params`` + ``loss(X, y) -> (loss, grads)``).

    An ``nn.Module`` is checked as ``cross_entropy(module(X), y)`` over its parameters
    that require grad, on a float64 copy (see :mod:`netdoctor.gradients.torch_check`);
    a module adapted by :func:`netdoctor.adapters.torch_model.adapt_module` with its own loss.

    For the reference :class:`~netdoctor.nn.mlp.MLP` every entry can be checked at
    once (see :mod:`netdoctor.gradients.mlp_fast`); other models are perturbed entry
    by entry in place. ``method="auto"`` picks the complex step for the MLP when
    all its activations are analytic, central differences otherwise, and says so
    in ``result.notes``. Float32 parameters are copied to float64 for the check
    when the model computes with the copies; otherwise the check runs in float32
    with a larger step and looser tolerances (noted).

    Args:
        model: the model; its ``params`` are restored bit for bit afterwards.
        X: inputs (N, D). y: integer labels (N,).
        method, h, rtol, atol, max_coords, seed, n_directions: as in :func:`gradcheck`.

    Returns:
        a :class:`GradcheckResult`; ``.findings`` has one ``gradient-mismatch``
        error per failing tensor.
    """
    from netdoctor.gradients.model import run_model_check

    opts = validate(method=method, h=h, rtol=rtol, atol=atol, max_coords=max_coords, seed=seed,
                    n_directions=n_directions)
    torch_model = _torch_module(model)
    if torch_model is not None:
        from netdoctor.gradients.torch_check import check_module

        module, loss_fn, train = torch_model
        if len(X) != len(y):
            raise InvalidArgument(f"X has {len(X)} rows but y has {len(y)} labels; they must match.")
        return check_module(module, X, y, opts, _run, loss_fn=loss_fn, train=train)
    params = getattr(model, "params", None)
    if not isinstance(params, Mapping) or not params:
        raise ProtocolError(
            f"model.params must be a non-empty dict of name -> numpy array; got {type(params).__name__}."
        )
    if not callable(getattr(model, "loss", None)):
        raise ProtocolError("model has no loss(X, y) -> (loss, grads) method.")
    if len(X) != len(y):
        raise InvalidArgument(f"X has {len(X)} rows but y has {len(y)} labels; they must match.")
    with blas_threads(1):  # a check's products are small: one thread is fastest (netdoctor.nn.threads)
        return run_model_check(model, X, y, opts, _run, _copy_grads, _scalar)


# -- shared driver ---------------------------------------------------------------------
def _run(problem: Problem, analytic, problems, f0, opts, chosen, notes, *, batch_size, dtype,
         same_as=None) -> GradcheckResult:
    """Run the chosen method on a generic problem and assemble the result."""
    from netdoctor.gradients.options import DEFAULT_H, FLOAT32_H, rng_from, tolerances

    rng = rng_from(opts.seed)
    h = opts.h if opts.h is not None else (DEFAULT_H if dtype == "float64" else FLOAT32_H)
    if chosen == "complex" and dtype != "float64":
        notes.append("complex step not possible in float32; fell back to central differences.")
        chosen = "central"
    directions: list[DirectionCheck] = []
    tensors: list[TensorCheck] = []
    if chosen == "directional":
        directions, localise = judge_directional(problem, analytic, problems, opts, rng, h=h, dtype=dtype)
        kinked = sum(d.skipped is not None for d in directions)
        if localise:
            notes.append("a random direction disagreed; localised with a sampled per-coordinate central pass."
                         if any(not d.ok for d in directions) or kinked < len(directions) else
                         "every random direction crosses a kink; checked a sample of entries one by one instead.")
            tensors = judge_per_coordinate(problem, analytic, problems, f0, opts, rng, method="central", h=h,
                                           dtype=dtype, batch_size=batch_size, same_as=same_as,
                                           max_coords=min(opts.max_coords or 25, 25))
        else:
            notes.append(f"{len(directions) - kinked} random directions agree"
                         + (f" ({kinked} more cross a kink, skipped)" if kinked else "")
                         + "; per-coordinate check not needed.")
    else:
        if chosen == "complex":
            try:
                tensors = judge_per_coordinate(problem, analytic, problems, f0, opts, rng, method="complex", h=h,
                                               dtype=dtype, batch_size=batch_size, same_as=same_as)
            except NotAnalytic as exc:
                notes.append(f"complex step not possible: {exc}; fell back to central differences.")
                chosen = "central"
                rng = rng_from(opts.seed)
        if chosen == "central":
            tensors = judge_per_coordinate(problem, analytic, problems, f0, opts, rng, method="central", h=h,
                                           dtype=dtype, batch_size=batch_size, same_as=same_as)
    rtol, atol = tolerances(opts, name="", dtype=dtype, method=chosen)
    result = GradcheckResult(
        method=chosen, tensors=tensors, directions=directions, notes=notes + problem.notes,
        rtol=rtol, atol=atol, h=1e-20 if chosen == "complex" else h,
        context={"dtype": dtype, "batch_size": batch_size, "seed": opts.seed if isinstance(opts.seed, int) else None,
                 "max_coords": opts.max_coords},
    )
    return result
