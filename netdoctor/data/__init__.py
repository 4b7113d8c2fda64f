"""Image-classification data: CSV, IDX and ``.npz`` files, a cache, a summary.

:func:`load` returns a :class:`Dataset`; :func:`load_sample` the bundled
2,000 MNIST digits (see ``README.md`` in this folder for their licence).
Inside: ``csvparse``, ``idx`` (binary formats), ``cache`` and ``summary``.
"""

from typing import TYPE_CHECKING

from netdoctor._lazy import lazy_face

if TYPE_CHECKING:
    from netdoctor.data.loader import Dataset, load, load_sample, sample_path
    from netdoctor.data.summary import DataSummary, summarise

_EXPORTS = {
    "Dataset": "loader",
    "load": "loader",
    "load_sample": "loader",
    "sample_path": "loader",
    "DataSummary": "summary",
    "summarise": "summary",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_face(__name__, _EXPORTS)
