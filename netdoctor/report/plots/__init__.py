"""Plots of a diagnosis with matplotlib: one function per picture, each returning a Figure.

* :func:`plot_history`: loss and accuracy per epoch (chance level marked);
* :func:`plot_activations`: per layer, the activation histogram at every probe
  over training (a column per probe; mass piling up in the top and bottom
  rows is saturation) beside the saturated and dead shares;
* :func:`plot_gradients`: per tensor, the gradient norm and the update/weight
  ratio ``||W_after - W_before|| / ||W_before||`` over training, with the
  healthy band of update ratios shaded;
* :func:`plot_confusion`: the confusion matrix (rows true, columns predicted);
* :func:`plot_gradcheck`: the gradient check's relative error per tensor
  against its limit.

Every function takes a :class:`~netdoctor.findings.Report`, the dict of
``Report.to_dict()`` (e.g. a saved ``netdoctor check --json``) or its
``sections``. The curves over training come from the monitor's probes: pass
``monitor=`` (a :class:`~netdoctor.monitor.callback.TrainingMonitor`, the live view of
:func:`netdoctor.notebook.watch`, or a list of probe records), else the
report's ``sections["probes"]`` when present; without either only the last
probe (``sections["layers"]``) is drawn.

Figures are built with :class:`matplotlib.figure.Figure`, not pyplot: no global
figure registry, no backend switch, nothing shown behind the caller's back.
matplotlib is an optional extra (``pip install 'netdoctor[notebook]'``) and is
imported only when a plot is made.

The pieces: ``figures`` (the plots of one report, ``plot_report``, ``write_plots``),
``training`` (the plots over training), ``probes`` (reading reports and probe records)
and ``backend`` (the matplotlib extra); their public names are exported here.

``python -m netdoctor.report.plots REPORT.json DIR`` draws the plots of a saved JSON
report into DIR.
"""

from typing import TYPE_CHECKING

from netdoctor._lazy import lazy_face

if TYPE_CHECKING:
    from netdoctor.report.plots.backend import INSTALL_HINT, MissingExtra, empty_figure, figure_png, matplotlib_figure
    from netdoctor.report.plots.figures import main, plot_confusion, plot_gradcheck, plot_history, plot_report, write_plots
    from netdoctor.report.plots.probes import compact_probes, context_of, probe_records, sections_of, tensor_series, to_float
    from netdoctor.report.plots.training import UPDATE_BAND, plot_activations, plot_gradients

_EXPORTS = {
    **{name: "backend" for name in ("INSTALL_HINT", "MissingExtra", "empty_figure", "figure_png", "matplotlib_figure")},
    **{name: "figures" for name in ("main", "plot_confusion", "plot_gradcheck", "plot_history", "plot_report", "write_plots")},
    **{name: "probes" for name in ("compact_probes", "context_of", "probe_records", "sections_of", "tensor_series", "to_float")},
    **{name: "training" for name in ("UPDATE_BAND", "plot_activations", "plot_gradients")},
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_face(__name__, _EXPORTS)
