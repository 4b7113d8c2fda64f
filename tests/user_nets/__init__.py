"""Hand-written networks in many styles, healthy and with planted bugs, for the detector tests.

Each module has ``build(bug=None)``; :func:`load` builds one as a protocol
model (adapting raw networks the way ``load_user_model`` does).
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
}

# probe batch size per style: per-sample SGD nets take one sample per update
BATCH = {"inplace": 1}


def load(style, bug=None):
    """Build ``style`` with ``bug`` planted, as a protocol model."""
    import importlib.util

    from netdoctor.adapters.handwritten import adapt

    spec = importlib.util.spec_from_file_location(f"user_net_{style}", HERE / f"{style}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.build(bug)
    return model if hasattr(model, "params") else adapt(model)
