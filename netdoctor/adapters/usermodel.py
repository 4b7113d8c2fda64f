"""Load a user's model from ``path/to/file.py:factory`` and check it speaks the protocol.

The file is imported as a fresh module (its directory on ``sys.path`` only
while importing), the factory is called, and the result is either a protocol
model, a hand-written network that :func:`netdoctor.adapters.handwritten.adapt` can wrap
(lists ``weights``/``biases`` and no ``params``: adapted automatically, and
``model.notes`` says so), or a PyTorch ``nn.Module`` (alone or as
``(module, optimizer[, loss_fn])``), wrapped by
:func:`netdoctor.adapters.torch_model.adapt_module`.

Errors read as one line: a missing file, a syntax error with file and line, an
exception inside the user's code with the user's own frames
(``examples/net.py line 42 in backprop: ValueError: ...``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np

from netdoctor.errors import InvalidArgument, ProtocolError, UserCodeError
from netdoctor.usercode import call_user, describe_user_error, short_path

__all__ = ["load_user_model", "verify_protocol", "require_protocol"]

_REQUIRED = {
    "params": "a dict name -> NumPy array of the weights the model computes with",
    "loss": "loss(X, y) -> (mean loss, dict of gradients named like params)",
}
_OPTIONAL = {
    "train_step": "train_step(X, y, lr): one in-place mini-batch update (training and the training probe need it)",
    "predict": "predict(X) -> labels (accuracy needs it)",
    "activations": "activations(X) -> per-layer arrays (saturation and dead-unit monitors need it)",
}


def parse_spec(spec: str) -> tuple[Path, str]:
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidArgument(f"model spec {spec!r} is empty; use 'path/to/file.py:factory'.")
    path, sep, factory = spec.rpartition(":")
    if not sep or not path or "/" in factory or "\\" in factory or factory.endswith(".py"):
        path, factory = spec, "build"  # no factory given (or a Windows drive colon): default name
    if not factory.isidentifier():
        raise InvalidArgument(f"model spec {spec!r}: {factory!r} is not a function name; use 'path/to/file.py:factory'.")
    return Path(path), factory


def _import_file(path: Path) -> Any:
    """Execute ``path`` as a fresh module (unique name), its directory on sys.path while importing."""
    if not path.is_file():
        raise InvalidArgument(f"{path}: no such file (expected a Python file defining the model factory).")
    resolved = path.resolve()
    name = f"netdoctor_user_{resolved.stem}_{hashlib.sha1(str(resolved).encode()).hexdigest()[:8]}_{id(path):x}"
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise InvalidArgument(f"{path}: cannot be imported as Python (expected a .py file).")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    folder = str(resolved.parent)
    sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        col = f", column {exc.offset}" if exc.offset else ""
        raise UserCodeError(f"{short_path(exc.filename or str(path))} line {exc.lineno}{col}: SyntaxError: {exc.msg}") from exc
    except Exception as exc:
        sys.modules.pop(name, None)
        if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] == "torch":
            from netdoctor.observe.torch.backend import INSTALL_HINT

            raise UserCodeError(f"{path} imports torch, which is not installed here; install PyTorch support with "
                                f"{INSTALL_HINT}") from exc
        raise UserCodeError(f"importing {path} failed: {describe_user_error(exc)}") from exc
    finally:
        try:
            sys.path.remove(folder)
        except ValueError:
            pass
    return module


def load_user_model(spec: str, **adapt_kwargs: Any) -> Any:
    """Import ``path/to/file.py:factory``, call the factory and return a protocol model.

    Args:
        spec: ``"path/to/file.py:factory"`` (``:build`` when omitted).
        adapt_kwargs: passed to :func:`netdoctor.adapters.handwritten.adapt` when the factory
            returns a hand-written net (``weights``/``biases`` lists, no ``params``).

    Returns:
        the model; an automatically adapted net carries ``notes`` starting with
        ``"adapted automatically"``.

    Raises:
        InvalidArgument: missing file or factory.
        UserCodeError: syntax error or exception in the user's file (user frames only).
        ProtocolError: the result is not a protocol model and cannot be adapted.
    """
    path, factory_name = parse_spec(spec)
    module = _import_file(path)
    factory = getattr(module, factory_name, None)
    if not callable(factory):
        found = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
                       and getattr(v, "__module__", None) == module.__name__)
        raise InvalidArgument(f"{path} has no function {factory_name!r}; defined there: {', '.join(found) or 'nothing callable'}.")
    model = call_user(factory, what=f"{path}:{factory_name}()")
    torch = sys.modules.get("torch")  # only a file that imported torch can return torch objects
    if torch is not None and (isinstance(model, torch.nn.Module) or (
            isinstance(model, tuple) and model and isinstance(model[0], torch.nn.Module))):
        from netdoctor.adapters.torch_model import adapt_module

        returned = type(model[0] if isinstance(model, tuple) else model).__name__
        model = call_user(adapt_module, model, what="adapting the module")
        model.notes.insert(0, f"adapted automatically: {path}:{factory_name}() returned a torch {returned}.")
    if not hasattr(model, "params") and isinstance(getattr(model, "weights", None), list) \
            and isinstance(getattr(model, "biases", None), list):
        from netdoctor.adapters.handwritten import adapt

        try:
            model = call_user(adapt, model, what="adapting the network", **adapt_kwargs)
        except ProtocolError as exc:
            raise ProtocolError(
                f"{path}:{factory_name}() returned a {type(model).__name__} with weights/biases lists; adapting it "
                f"automatically failed: {exc} Return adapt(net, ...) from the factory (see docs/adapter.md)."
            ) from exc
        model.notes.insert(0, f"adapted automatically: {type(model.net).__name__} has weights/biases lists and no "
                              f"params (style={model.style!r}, layout={model.layout!r}, loss={model.loss_name!r}).")
    require_protocol(model)
    return model


def verify_protocol(model: Any, X: Any = None, y: Any = None) -> list[str]:
    """Problems with ``model`` as a protocol model, one line each (empty when it is fine).

    Structure is always checked (``params`` a dict of arrays, ``loss`` callable,
    optional methods callable when present); with a small batch ``X, y`` the
    ``loss`` result is checked too: a float and one gradient per parameter with
    the parameter's shape.
    """
    problems = []
    for name, what in _REQUIRED.items():
        if not hasattr(model, name):
            problems.append(f"missing `{name}`: {what}.")
    for name, what in _OPTIONAL.items():
        if hasattr(model, name) and not callable(getattr(model, name)):
            problems.append(f"`{name}` is not callable; expected {what}.")
    params = getattr(model, "params", None)
    if params is not None:
        if not isinstance(params, dict) or not params:
            problems.append(f"`params` is {type(params).__name__}; expected {_REQUIRED['params']}.")
        else:
            bad = [k for k, v in params.items() if not isinstance(v, np.ndarray)]
            if bad:
                problems.append(f"params[{bad[0]!r}] is {type(params[bad[0]]).__name__}; expected a NumPy array.")
    if "loss" in dir(model) and not callable(model.loss):
        problems.append(f"`loss` is not callable; expected {_REQUIRED['loss']}.")
    if problems or X is None or not isinstance(params, dict):
        return problems
    result = call_user(model.loss, X, y, what="loss(X, y)")
    if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict)):
        return [f"loss(X, y) returned {type(result).__name__}; expected (float, dict of gradients)."]
    value, grads = result
    if np.ndim(value) != 0:
        problems.append(f"loss(X, y) returned a loss of shape {np.shape(value)}; expected one number (the batch mean).")
    for k, p in params.items():
        if k not in grads:
            problems.append(f"loss(X, y) returned no gradient for {k!r} (got {', '.join(map(repr, grads)) or 'none'}).")
        elif np.shape(grads[k]) != p.shape:
            problems.append(f"gradient {k!r} has shape {np.shape(grads[k])}; params[{k!r}] has shape {p.shape}.")
    extra = [k for k in grads if k not in params]
    if extra:
        problems.append(f"loss(X, y) returned gradients for unknown names {', '.join(map(repr, extra))}.")
    return problems


def require_protocol(model: Any, X: Any = None, y: Any = None) -> None:
    """Raise :class:`ProtocolError` (one line, all problems) unless ``model`` follows the protocol."""
    problems = verify_protocol(model, X, y)
    if problems:
        raise ProtocolError(f"{type(model).__name__} does not follow the model protocol: " + "; ".join(problems))
