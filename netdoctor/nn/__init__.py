"""The reference network: activations, losses, the MLP and its training loop.

The MLP shows what healthy training looks like on the user's data; the loop
(:func:`train`) trains any model that follows the protocol.
"""

from typing import TYPE_CHECKING

from netdoctor._lazy import lazy_face

if TYPE_CHECKING:
    from netdoctor.nn.activations import ACTIVATIONS, get_activation
    from netdoctor.nn.losses import LOSSES, encode_targets
    from netdoctor.nn.mlp import INITS, MLP
    from netdoctor.nn.threads import blas_threads, threads_for, threads_for_model
    from netdoctor.nn.training import History, StopTraining, accuracy, train

_EXPORTS = {
    "ACTIVATIONS": "activations",
    "get_activation": "activations",
    "LOSSES": "losses",
    "encode_targets": "losses",
    "INITS": "mlp",
    "MLP": "mlp",
    "blas_threads": "threads",
    "threads_for": "threads",
    "threads_for_model": "threads",
    "History": "training",
    "StopTraining": "training",
    "accuracy": "training",
    "train": "training",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_face(__name__, _EXPORTS)
