"""Hand-written networks in many styles, healthy and with planted bugs, for the detector tests.

Each module has ``build(bug=None, **settings)`` (small sizes for fast tests) and
``mnist(bug=None, seed=...)``, the author's own MNIST configuration (784
inputs, 10 classes, its own learning rate and batch size as attributes), with
no-argument factories ``mnist`` and ``mnist_<bug>`` for ``netdoctor check
--model tests/user_nets/STYLE.py:mnist``; the environment variable
``USER_NET_SEED`` re-seeds the initialisation. :func:`load` builds one as a
protocol model (adapting raw networks the way ``load_user_model`` does).
"""

from pathlib import Path

HERE = Path(__file__).parent

# style -> bugs it can plant (None = healthy)
STYLES = {
    "row_dict": [None, "grad-view", "frozen", "template"],
    "per_sample_loop": [None, "stale", "summed"],
    "momentum": [None, "no-decay", "velocity-is-params"],
    "column_lists": [None, "assign-template", "repeat", "summed"],
    "textbook": [None, "frozen"],
    "inplace": [None, "frozen-bias"],
    "scaled_template": [None, "assign-template"],
    "layer_objects": [None, "accumulate", "no-relu-mask"],
}

# probe batch size per style: per-sample SGD nets take one sample per update
BATCH = {"inplace": 1}

# What each style is like, for the reliability table (docs/reliability.md).
KIND = {
    "row_dict": "rows, dict params, batched, returned gradients (protocol model)",
    "per_sample_loop": "rows, dict params, per-sample loop accumulating into a fresh dict (protocol model)",
    "momentum": "rows, dict params, batched, velocity buffers updated in place (protocol model)",
    "column_lists": "column vectors, lists, per-sample backprop accumulating into buffers (adapter)",
    "textbook": "column vectors, lists, per-sample backprop returning gradients (adapter, raw net)",
    "inplace": "column vectors, lists, per-sample in-place updates, no gradient exposed (adapter)",
    "scaled_template": "column vectors, lists, accumulated buffers scaled in place by lr (adapter)",
    "layer_objects": "rows, layer objects with forward/backward and their own gradient buffers (protocol model)",
}

# The bugs each style can plant at MNIST size (784 inputs, 10 classes; "repeat" needs equal widths).
MNIST_BUGS = {style: [b for b in bugs if b is not None and not (style == "column_lists" and b == "repeat")]
              for style, bugs in STYLES.items()}


def factory_name(bug=None):
    """The module-level factory ``check --model`` calls: ``mnist`` (healthy) or ``mnist_<bug>``."""
    return "mnist" if bug is None else "mnist_" + bug.replace("-", "_")


def load(style, bug=None):
    """Build ``style`` with ``bug`` planted, as a protocol model."""
    import importlib.util

    from netdoctor.adapters.handwritten import adapt

    spec = importlib.util.spec_from_file_location(f"user_net_{style}", HERE / f"{style}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.build(bug)
    return model if hasattr(model, "params") else adapt(model)
