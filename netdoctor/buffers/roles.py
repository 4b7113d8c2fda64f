"""What an attribute path's names say it holds: a buffer, a parameter, a constant.

Hand-written networks name their arrays in a handful of ways
(``weight_updates``, ``nabla_w``, ``dW1``, ``grads['W1']``, ``weights[0]``,
``weight_templates``, ``X_train``). The shared-buffer scan and the training
probe read these names to decide how bad a finding is: a gradient buffer
sharing memory with a weight is an error, two views of one data array are
sharing by construction.
"""

from __future__ import annotations

import re

__all__ = ["path_role", "is_template", "is_constant", "container", "tokens"]

# Name tokens that mark gradient/update buffers and templates, parameters, constants.
_BUFFER = re.compile(r"grad|nabla|update|delta|accum|buffer|veloc|momentum|templat|zero|sums?$|^sum", re.I)
_DNAME = re.compile(r"^d(?:[A-Z]|_|[wb]\d*$|[wb]_)")
_PARAM = re.compile(r"^(weights?|biases?|params?|parameters|kernels?|[Ww]\d*|[bB]\d*|layers?|coefs?_?|intercepts?_?)$")
_TEMPLATE = re.compile(r"templat|zero", re.I)
_CONSTANT = re.compile(r"(?i:templat|zero|const|initial|^init|_init)|^(X|Y|y|X_train|y_train|x_train|data|inputs|targets|labels|images)$")
"""Name tokens of arrays that training must not write: templates, initial values, data."""
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


def tokens(path: str) -> list[str]:
    """The identifiers in a path: ``grads['W1'].x`` -> ``['grads', 'W1', 'x']``."""
    return _TOKEN.findall(path)


def path_role(path: str) -> str:
    """``"buffer"``, ``"param"`` or ``"other"`` for an attribute path like ``grads['W1']``.

    A buffer name anywhere in the path wins (``optimizer.velocity['W1']`` is a
    buffer); otherwise any parameter-like name makes it a parameter.
    """
    toks = tokens(path)
    if any(_BUFFER.search(t) or _DNAME.match(t) for t in toks):
        return "buffer"
    if any(_PARAM.match(t) for t in toks):
        return "param"
    return "other"


def is_template(path: str) -> bool:
    """True for a "zero template" name (``weight_templates``, ``zeros_b``): meant to be copied, never written."""
    return bool(_TEMPLATE.search(path))


def is_constant(path: str) -> bool:
    """True when some name in the path marks an array training must not write (template, initial value, data)."""
    return any(_CONSTANT.search(tok) for tok in tokens(path))


def container(path: str) -> str:
    """``weight_updates[1]`` -> ``weight_updates``: report a list of layers once."""
    return re.sub(r"(\[[^\]]*\])+$", "", path) or path
