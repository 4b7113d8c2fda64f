"""Gradient checks of protocol models: snapshot, call, perturb, restore.

* Every parameter array is snapshotted; afterwards the dict entries are put
  back (a model may rebind them) and the original arrays get their old bytes
  back (``np.copyto``), also when the model raises.
* ``loss(X, y)`` is called twice at the same point before anything is
  perturbed: gradients that differ between identical calls mean buffers that
  accumulate across calls (``nabla = zeros_template`` then ``+=``).
* Float32 parameters are swapped for float64 copies when the model computes
  with them (its gradients come back float64 and perturbing each copy changes
  the loss); otherwise the generic check runs in float32 (step 1e-3), while
  the batched MLP path still computes its numerical side in float64 from
  copies of the float32 values; either way the note says which step, dtype
  and tolerances were used.
* The reference MLP takes the batched path of :mod:`netdoctor.gradients.mlp_fast`
  when its loss matches our float64 forward pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from netdoctor._lazy import dataclass
from netdoctor.gradients.engine import Problem
from netdoctor.gradients.judge import build_tensor, checked_note, sample
from netdoctor.gradients.options import Options, rng_from, tolerances
from netdoctor.gradients.result import GradcheckResult
from netdoctor.nn.mlp import MLP
from netdoctor.usercode import call_user

__all__ = ["run_model_check", "ParamSnapshot", "BATCHED_H"]

BATCHED_H = 1e-7


class ParamSnapshot:
    """Bit-for-bit snapshot of ``model.params`` (the dict object, its entries and their bytes)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.dict_obj = model.params
        self.items = [(k, v, np.array(v, copy=True)) for k, v in model.params.items()]

    def restore(self) -> None:
        if getattr(self.model, "params", None) is not self.dict_obj:
            try:
                self.model.params = self.dict_obj
            except AttributeError:  # a read-only property: nothing was rebound then
                pass
        for k, v, saved in self.items:
            if self.dict_obj.get(k) is not v:
                self.dict_obj[k] = v
            if isinstance(v, np.ndarray):
                np.copyto(v, saved, casting="no")


def _same_as(objs: dict[str, Any], copies: dict[str, np.ndarray]) -> dict[str, str]:
    """Tensor -> another tensor whose returned gradient is the same object or identical (nonzero) values."""
    out = {}
    names = list(objs)
    for n in names:
        for m in names:
            if m == n:
                continue
            if objs[n] is objs[m] or (copies[n].shape == copies[m].shape and copies[n].any()
                                      and np.array_equal(copies[n], copies[m])):
                out[n] = m
                break
    return out


def _mlp_fast_ok(model: Any) -> bool:
    return isinstance(model, MLP)


def run_model_check(model, X, y, opts: Options, run, copy_grads, scalar) -> GradcheckResult:
    """See :func:`netdoctor.gradients.check_gradients` (this is its body)."""
    snap = ParamSnapshot(model)
    try:
        return _check(model, X, y, opts, run, copy_grads, scalar, snap)
    finally:
        snap.restore()


def _call(model, X, y, scalar):
    out = call_user(model.loss, X, y, what="model.loss(X, y)")
    if not isinstance(out, tuple) or len(out) != 2:
        from netdoctor.errors import ProtocolError

        raise ProtocolError(f"model.loss(X, y) must return (loss, grads); got {type(out).__name__}.")
    return scalar(out[0], "model.loss(X, y)"), out[1]


@dataclass
class _AtThePoint:
    """The model's loss and gradient at the unperturbed parameters (two identical calls)."""

    f1: float
    copies: list[np.ndarray]
    """float64 copies of the first call's gradients, one per tensor."""
    problems: list[str | None]
    """Per tensor, what is wrong with the returned gradient's shape (None: nothing)."""
    changed: dict[str, float]
    """Tensors whose gradient differed on the second identical call -> the largest change."""
    same_as: dict[str, str]
    dtype: str
    """``"float64"`` (the model's own or upcast copies) or ``"float32"``."""
    f32_note_at: int | None
    """Where the float32 note goes once the path is known (None: no note)."""


def _check(model, X, y, opts, run, copy_grads, scalar, snap) -> GradcheckResult:
    """The stages: the loss at the point, then the batched MLP path when it applies, else entry-by-entry perturbation."""
    names = list(model.params)
    params = model.params
    shapes = [np.shape(params[n]) for n in names]
    notes: list[str] = []
    at_point = _at_the_point(model, X, y, params, names, shapes, opts, copy_grads, scalar, snap, notes)
    if _mlp_fast_ok(model) and opts.method != "directional" and all(p is None for p in at_point.problems):
        result = _mlp_fast(model, X, y, opts, at_point.f1, names, at_point.copies, notes, at_point.same_as, at_point.dtype)
        if result is not None:
            _note_float32(result, at_point.f32_note_at)
            return _mark_changed(result, at_point.changed, dict(zip(names, shapes)))
        notes.append("the batched MLP path was not used: the model's loss differs from the reference forward pass.")
    problem = _perturbation_problem(model, X, y, params, names, shapes, at_point.dtype, copy_grads, scalar)
    chosen = "central" if opts.method == "auto" else opts.method
    at = len(notes)
    result = run(problem, at_point.copies, at_point.problems, at_point.f1, opts, chosen, notes, batch_size=len(X),
                 dtype=at_point.dtype, same_as=at_point.same_as)
    if opts.method == "auto":
        result.notes.insert(at, checked_note("auto chose central differences", result.tensors, opts.max_coords))
    _note_float32(result, at_point.f32_note_at)
    return _mark_changed(result, at_point.changed, dict(zip(names, shapes)))


def _at_the_point(model, X, y, params, names, shapes, opts, copy_grads, scalar, snap, notes) -> _AtThePoint:
    """Call ``loss(X, y)`` twice at the point (float32 parameters as float64 copies when the model computes with them).

    Notes what the calls showed: the upcast, a loss that differs between
    identical calls, gradient arrays handed back again.
    """
    low = any(np.asarray(params[n]).dtype != np.float64 for n in names)
    if low:
        # Copy to float64 and see whether the model computes with the copies.
        for n in names:
            params[n] = np.array(params[n], dtype=np.float64)
    f1, g1 = _call(model, X, y, scalar)
    copies1, problems = copy_grads(g1, names, shapes, "model.loss(X, y)")
    upcast, f32_note_at = False, None
    if low:
        upcast = all(np.asarray(g1[n]).dtype == np.float64 for n in names) and _copies_used(model, X, y, names, f1,
                                                                                           scalar, opts)
        if upcast:
            notes.append("float32 parameters were copied to float64 for the check (the model computes with them).")
        else:
            for k, v, _ in snap.items:
                params[k] = v
            # Which step, dtype and tolerances apply depends on the path taken below: noted once known.
            f32_note_at = len(notes)
            f1, g1 = _call(model, X, y, scalar)
            copies1, problems = copy_grads(g1, names, shapes, "model.loss(X, y)")
    objs1 = {n: g1[n] for n in names}
    f2, g2 = _call(model, X, y, scalar)
    copies2, _ = copy_grads(g2, names, shapes, "model.loss(X, y)")
    changed = {}
    for n, c1, c2 in zip(names, copies1, copies2):
        if c1.shape == c2.shape and not np.allclose(c1, c2, rtol=1e-12, atol=0.0, equal_nan=True):
            changed[n] = float(np.max(np.abs(c2 - c1)))
    if f2 != f1 and abs(f2 - f1) > 1e-12 * max(abs(f1), 1.0):
        notes.append(f"loss(X, y) returned {f1!r} then {f2!r} for identical calls; a random loss (dropout, "
                     "sampling) cannot be checked by finite differences: switch the randomness off for the check.")
    if any(g2[n] is objs1[n] for n in names):
        notes.append("loss(X, y) hands back the same gradient arrays on every call (buffers that the next call "
                     "overwrites); netdoctor copies them, but code that keeps gradients across calls will see "
                     "them change.")
    return _AtThePoint(f1, copies1, problems, changed, _same_as(objs1, dict(zip(names, copies1))),
                       "float64" if (upcast or not low) else "float32", f32_note_at)


def _perturbation_problem(model, X, y, params, names, shapes, dtype, copy_grads, scalar) -> Problem:
    """The loss as a function of the model's own arrays, perturbed in place (complex copies for the complex step)."""
    arrays = [params[n] for n in names]
    if isinstance(model, MLP):
        evaluate = lambda: scalar(model.loss_value(X, y), "model.loss_value(X, y)")  # noqa: E731

        def evaluate_complex(k, carr):
            return model.loss_value(X, y, params={**params, names[k]: carr})
    else:
        evaluate = lambda: _call(model, X, y, scalar)[0]  # noqa: E731

        def evaluate_complex(k, carr):
            live = params[names[k]]
            params[names[k]] = carr
            try:
                return model.loss(X, y)[0]
            finally:
                params[names[k]] = live
    eps = float(np.finfo(np.float64 if dtype == "float64" else np.float32).eps)

    def gradient():
        return copy_grads(_call(model, X, y, scalar)[1], names, shapes, "model.loss(X, y)")[0]

    return Problem(names, arrays, evaluate, evaluate_complex, gradient, eps=eps, scale=1.0, subject="the model")


def _sci(x: float) -> str:
    """``1e-7``, ``2.5e-4``: shortest scientific form, as a person would write it."""
    return np.format_float_scientific(x, trim="-", exp_digits=1)


def _note_float32(result: GradcheckResult, at: int | None) -> None:
    """Insert at ``at`` (None: nothing to say) how float32 gradients that could not be upcast were checked.

    Says what the result really used: the dtype of the numerical side (float64 on the batched MLP
    path, which recomputes the loss from float64 copies of the float32 values; float32 otherwise),
    the step and the tolerances (the per-tensor limits, which may come from an ``rtol`` dict).
    """
    if at is None:
        return
    batched = result.context.get("path") == "batched reference MLP"
    numeric_dtype = result.context.get("dtype", "float64" if batched else "float32")
    kind = {"complex": "the complex step", "directional": "directional differences"}.get(result.method,
                                                                                         "central differences")
    step = f"{'h' if result.method == 'complex' else 'step'} {_sci(result.h)}"
    limits = sorted({t.limit for t in result.tensors if t.problem is None} or {result.rtol})
    rtol = _sci(limits[0]) if len(limits) == 1 else f"{_sci(limits[0])} to {_sci(limits[-1])} (per tensor)"
    tol = f"rtol {rtol}, atol {_sci(result.atol)}"
    lead = "the model does not compute with float64 copies of its float32 parameters; "
    if batched:
        text = (f"checked against {numeric_dtype} {kind} with {step}, batched on the reference MLP from float64 "
                f"copies of the float32 values; the float32 gradients are judged with {tol}.")
    else:
        text = f"checked in {numeric_dtype}: {kind} with {step}, {tol}."
    result.notes.insert(at, lead + text)


def _copies_used(model, X, y, names, f1, scalar, opts) -> bool:
    """True when perturbing each float64 copy in ``model.params`` changes the loss."""
    rng = rng_from(12345)  # fixed private probe, independent of the user's seed
    for n in names:
        arr = model.params[n]
        saved = arr.copy()
        scale = 1e-2 * (float(np.sqrt(np.mean(saved * saved))) + 1e-2)
        try:
            arr += scale * rng.standard_normal(arr.shape)
            changed = _call(model, X, y, scalar)[0] != f1
        finally:
            np.copyto(arr, saved)
        if not changed:
            return False
    return True


def _mark_changed(result: GradcheckResult, changed: dict[str, float], shapes: dict[str, tuple] | None = None
                  ) -> GradcheckResult:
    from netdoctor.gradients.result import TensorCheck

    present = {t.name for t in result.tensors}
    for name in changed:
        if name not in present:  # e.g. a directional check that did not need per-entry checks
            result.tensors.append(TensorCheck(name, tuple((shapes or {}).get(name, ())), 0, 0, 0, 0.0, 0.0,
                                              limit=result.rtol))
    for t in result.tensors:
        if t.name in changed and t.problem is None:
            t.problem = (
                f"loss(X, y) returned a different gradient on a second identical call (max change "
                f"{changed[t.name]:.2e}): gradient buffers accumulate across calls"
            )
            t.hint = ("reset the gradient buffers to fresh zeros every call (np.zeros_like, not an assignment "
                      "from a shared template list, which makes both names point at one list)")
    return result


def _mlp_fast(model: MLP, X, y, opts, f1, names, analytic, notes, same_as, dtype) -> GradcheckResult | None:
    from netdoctor.gradients.mlp_fast import mlp_forward_loss, mlp_numeric

    # The model casts X to its own dtype before use (MLP._as_input); do the same so both see one function.
    X64 = np.asarray(X).astype(model.dtype).astype(np.float64)
    y_int = np.asarray(y).astype(np.intp)
    p64 = {n: np.array(model.params[n], dtype=np.float64) for n in names}
    ref = mlp_forward_loss(model, X64, y_int, p64)[0]
    if abs(ref - f1) > 1e-9 * max(1.0, abs(ref)):
        return None
    analytic_ok = all(model.layer_activation(l).analytic for l in range(1, model.n_layers + 1))
    method = opts.method
    if method == "auto":
        method = "complex" if analytic_ok else "central"
    elif method == "complex" and not analytic_ok:
        notes.append(f"complex step not possible: {model.activation} has a kink at 0 (not analytic); fell back "
                     "to central differences.")
        method = "central"
    rng = rng_from(opts.seed)
    # The batched differences have no cancellation, so their roundoff does not grow as h shrinks;
    # a smaller default step makes the O(h^2) truncation error negligible (1e-14 relative).
    h = opts.h if opts.h is not None else BATCHED_H
    coords = {n: sample(p64[n].size, opts.max_coords, rng) for n in names}
    num = mlp_numeric(model, X64, y_int, p64, coords, method=method, h=h)
    tensors = []
    # The numerical side is float64 here, but gradients a model computed in float32 carry float32
    # roundoff (~eps32 times the size of the terms summed): judge them with float32 tolerances.
    for k, n in enumerate(names):
        rtol, atol = tolerances(opts, name=n, dtype=dtype, method=method)
        idx = coords[n]
        r = num[n]
        floor = np.maximum(atol, r["noise"] / rtol)
        skipped = np.where(r["kink"], r["kink_reason"], np.array(None, dtype=object))
        tensors.append(build_tensor(n, p64[n].shape, idx, analytic[k].reshape(-1)[idx], r["numeric"], floor,
                                    skipped, rtol=rtol, analytic_full=analytic[k], batch_size=len(X),
                                    same_as=same_as.get(n), values=p64[n].reshape(-1)[idx]))
    if opts.method == "auto":
        why = ("every activation is analytic, so the complex step is exact to rounding" if analytic_ok else
               f"{model.activation} has a kink at 0, so the complex step does not apply")
        notes.append(checked_note(f"auto chose {'the complex step' if analytic_ok else 'central differences'} "
                                  f"({why}), batched on the reference MLP", tensors, opts.max_coords))
    rtol, atol = tolerances(opts, name="", dtype=dtype, method=method)
    return GradcheckResult(method=method, tensors=tensors, notes=notes, rtol=rtol, atol=atol,
                           h=1e-20 if method == "complex" else h,
                           context={"dtype": "float64", "batch_size": len(X), "max_coords": opts.max_coords,
                                    "seed": opts.seed if isinstance(opts.seed, int) else None,
                                    "path": "batched reference MLP"})
