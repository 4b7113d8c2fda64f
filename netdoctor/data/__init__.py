"""Image-classification data: CSV, IDX and ``.npz`` files, a cache, a summary.

:func:`load` returns a :class:`Dataset`; :func:`load_split` a file's
stratified train/test split, as ``load(path).split()`` gives it without the
whole file's copy; :func:`load_sample` the bundled 2,000 MNIST digits (see ``README.md`` in this folder for their licence).
Inside: ``csvparse``, ``idx`` (binary formats), ``cache`` and ``summary``.
"""

from typing import TYPE_CHECKING

from netdoctor._lazy import lazy_face

if TYPE_CHECKING:
    from netdoctor.data.loader import Dataset, load, load_sample, load_split, sample_path, split_indices
    from netdoctor.data.summary import DataSummary, summarise

_EXPORTS = {
    "Dataset": "loader",
    "load": "loader",
    "load_sample": "loader",
    "load_split": "loader",
    "split_indices": "loader",
    "sample_path": "loader",
    "DataSummary": "summary",
    "summarise": "summary",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_face(__name__, _EXPORTS)
