"""Gradient checks: is the gradient a program returns the derivative of its loss?

:func:`gradcheck` checks a function of arrays, :func:`check_gradients` a
protocol model; both return a :class:`GradcheckResult` that localises a wrong
backward pass to the tensor and the coordinate. Inside: ``engine`` (numerical
derivatives), ``judge`` (analytic against numeric), ``hints`` (what the error
pattern looks like), ``options`` (knobs and tolerances), ``model`` (protocol
models), ``mlp_fast`` (the reference MLP, all coordinates at once) and
``result`` (what a check saw).
"""

from typing import TYPE_CHECKING

from netdoctor._lazy import lazy_face

if TYPE_CHECKING:
    from netdoctor.gradients.check import check_gradients, gradcheck
    from netdoctor.gradients.result import CoordinateCheck, DirectionCheck, GradcheckResult, TensorCheck

_EXPORTS = {
    "check_gradients": "check",
    "gradcheck": "check",
    "CoordinateCheck": "result",
    "DirectionCheck": "result",
    "GradcheckResult": "result",
    "TensorCheck": "result",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_face(__name__, _EXPORTS)
