"""What ``netdoctor check`` does, step by step, once the flags are parsed.

Kept apart from :mod:`netdoctor.cli` so that argument parsing stays small and
this flow can be called from Python with a namespace of options.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import time
from typing import TYPE_CHECKING, Any

from netdoctor.errors import InvalidArgument

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

__all__ = ["run_check", "build_model", "DEFAULT_LR"]

DEFAULT_LR = 0.1
"""``--lr`` when it is not given (and the model does not bring its own)."""


class ProgressDisplay:
    """Training callback: a rich progress bar over steps and one line per epoch (on stderr).

    The bar is redrawn from the training loop itself (every 20 steps, at most
    10 times a second), not by rich's refresh thread: a second Python thread
    that wakes 10 times a second has to win the GIL back from the training
    loop, and beside other busy processes each hand-over waits for a
    scheduler slice.
    """

    REFRESH_SECONDS = 0.1

    def __init__(self, console: Any, label: str) -> None:
        self.console = console
        self.label = label
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._drawn = 0.0

    def on_start(self, model: Any, run: dict) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
            auto_refresh=False,
        )
        total = run["epochs"] * run["steps_per_epoch"]
        self._task = progress.add_task(self.label, total=total, loss="-")
        progress.start()
        self._draw(force=True)

    def _draw(self, *, force: bool = False) -> None:
        # Only the display waits for the clock; nothing the diagnosis decides does.
        now = time.monotonic()
        if self._progress is not None and (force or now - self._drawn >= self.REFRESH_SECONDS):
            self._drawn = now
            self._progress.refresh()

    def on_step(self, model, run, step, Xb, yb, loss) -> None:
        if (step % 20 == 0 or step == 1) and self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=step, loss=f"{loss:.4g}")
            self._draw()

    def on_epoch(self, model, run, record) -> None:
        if self._progress is None or self._task is None:
            return
        self._progress.update(self._task, completed=record["epoch"] * run["steps_per_epoch"])
        parts = [f"epoch {record['epoch']}/{run['epochs']}", f"loss {record['loss']:.4f}"]
        for key, name in (("train_accuracy", "train"), ("test_accuracy", "test")):
            if record.get(key) is not None:
                parts.append(f"{name} {100 * record[key]:.2f}%")
        self._progress.console.print(f"  {self.label}: " + "  ".join(parts))
        self._draw(force=True)

    def on_end(self, model, run) -> None:
        if self._progress is not None:
            self._progress.stop()


def build_model(args: Any, n_features: int, n_classes: int):
    """The reference MLP that the flags describe."""
    from netdoctor.nn.mlp import MLP

    hidden = [w for group in (args.hidden or [[64]]) for w in group]
    return MLP(
        [n_features, *hidden, n_classes],
        activation=args.activation,
        output_activation=args.output_activation,
        loss=args.loss,
        init=args.init,
        sigma=args.sigma,
        momentum=args.momentum,
        reduce=args.reduce,
        dtype=args.dtype,
        seed=args.seed,
    )


def _user_model_name(spec: str, model: Any) -> str:
    """``SeedAdapter from models.py:seed``: the user's class (the adapted net's, if adapted) and factory."""
    from pathlib import Path

    from netdoctor.adapters.usermodel import parse_spec
    from netdoctor.buffers.reach import unwrap

    path, factory = parse_spec(spec)
    inner = unwrap(model)
    style = getattr(model, "style", None)  # hand-written nets adapted by adapt(); a PyTorch module's adapter has none
    what = type(inner).__name__ if inner is model or style is None else f"{type(inner).__name__} (adapted, style {style!r})"
    return f"{what} from {Path(path).name}:{factory}"


def _load_data(args: Any):
    from netdoctor.data.loader import load, load_sample, load_split, sample_path

    if args.test:
        dataset = load_sample() if args.data is None else load(args.data, label_column=args.label_column)
        # The test file goes on the training file's scale (the same offsets and divisors).
        train, test = dataset, load(args.test, label_column=args.label_column, scaling=dataset.scaling)
        if test.X.shape[1] != train.X.shape[1]:
            raise InvalidArgument(
                f"{args.test} has {test.X.shape[1]} features per row; the training data has {train.X.shape[1]}."
            )
        return dataset.summary, test.summary, dataset.scaling, train, test
    if not 0.0 < args.test_fraction < 1.0:
        raise InvalidArgument(f"--test-fraction {args.test_fraction} must be between 0 and 1, e.g. 0.2.")
    # Loaded straight into its split (Dataset.split's rows, without a copy of the whole file's X);
    # the summary is the whole file's.
    if args.data is None:
        train, test, summary = load_split(sample_path(), args.test_fraction, seed=args.seed, label_column="first",
                                          cache=False)
    else:
        train, test, summary = load_split(args.data, args.test_fraction, seed=args.seed, label_column=args.label_column)
    return summary, None, train.scaling, train, test


def check_outputs(*, json: str | None = None, html: str | None = None, plots: str | None = None) -> None:
    """Fail at once (before any training or any script runs) when an output could not or must not be written.

    Raises:
        InvalidArgument: one line naming the flag, the path and the reason.
    """
    from netdoctor.fileio import check_report_path

    if json and json != "-":
        check_report_path(json, "json", "--json")
    if html:
        check_report_path(html, "html", "--html")
    if plots and os.path.exists(plots) and not os.path.isdir(plots):
        raise InvalidArgument(f"cannot write --plots {plots}: it is not a directory")


def write_outputs(report: Any, *, json: str | None = None, html: str | None = None, plots: str | None = None) -> None:
    """Write the JSON and HTML reports (see :func:`netdoctor.fileio.write_report`) and the PNG plots.

    Raises:
        InvalidArgument: one line naming the flag and the path that could not be written.
    """
    from netdoctor.fileio import write_report

    flag, path = "", ""
    try:
        if json and json != "-":
            flag, path = "--json", json
            write_report(json, report.to_json(), "json")
        if html:
            from netdoctor.report.html import report_html

            flag, path = "--html", html
            write_report(html, report_html(report), "html")
        if plots:
            from netdoctor.report.plots import write_plots

            flag, path = "--plots", plots
            write_plots(report, plots)
    except OSError as exc:
        raise InvalidArgument(f"cannot write {flag} {path}: {exc.strerror or exc}") from None


def _choose_model(args: Any, user_model: Any, n_inputs: int, n_classes: int) -> tuple[Any, str, str | None]:
    """The model to diagnose, its label in progress lines, and its name in the header (user models only)."""
    if user_model is not None:
        return user_model, "your model", _user_model_name(args.model, user_model)
    # X stays float32 even for a float64 model: each mini-batch is converted
    # when it is used, and a float64 copy of 60,000 images would cost 376 MB
    # for a few per cent of speed.
    return build_model(args, n_inputs, n_classes), "reference MLP", None


def _print_outputs(report: Any, args: Any, out: Any) -> None:
    """The JSON (``--json -``) or the terminal report first, then the files: a file that cannot be written never costs the report."""
    if args.json == "-":
        out.file.write(report.to_json() + "\n")
        out.file.flush()
    else:
        # The data summary was printed before training; the terminal report
        # need not repeat it (the JSON and HTML reports keep it).
        shown = report.sections.copy()
        shown.pop("data", None)
        out.print(dataclasses.replace(report, sections=shown))
    write_outputs(report, json=args.json, html=args.html, plots=args.plots)


def run_check(args: Any, *, out: Any, err: Any) -> int:
    """Load, train with monitors, diagnose, print; returns the exit code."""
    from netdoctor.diagnosis.pipeline import diagnose

    started = time.perf_counter()
    check_outputs(json=args.json, html=args.html, plots=args.plots)
    user_model = None
    if args.model:  # fail on a bad --model before spending time on the data
        from netdoctor.adapters.usermodel import load_user_model

        user_model = load_user_model(args.model)
    summary, test_summary, scaling, train, test = _load_data(args)
    if args.json != "-":
        out.print(summary)
        if test_summary is not None and test_summary.notes:
            # The test file's odd values (the training file's summary says nothing of them).
            for note in test_summary.notes:
                out.print(f"note ({args.test}): {note}", markup=False, highlight=False)
    X_train, X_test = train.X, test.X
    if args.raw_pixels and scaling is not None:
        # The model scales its input itself: undo the loader's scaling (a division by 255 for pixels).
        X_train, X_test = scaling.undo(X_train), scaling.undo(X_test)
    n_classes = max(10 if summary.kind == "images" else 2, int(max(train.y.max(), test.y.max())) + 1)

    model, label, model_name = _choose_model(args, user_model, X_train.shape[1], n_classes)

    from netdoctor.diagnosis.settings import resolve_settings

    # Resolved here too (diagnose would do the same) so that the reference run
    # of --model is trained with the settings the user's model declares.
    settings = resolve_settings(model, lr=args.lr, batch_size=args.batch_size)
    report = diagnose(
        model,
        X_train,
        train.y,
        X_test=X_test,
        y_test=test.y,
        epochs=args.epochs,
        lr=settings["lr"].value if args.lr is None else args.lr,
        batch_size=int(settings["batch_size"].value) if args.batch_size is None else args.batch_size,
        given_as={"lr": "--lr" if args.lr is not None else settings["lr"].source,
                  "batch_size": "--batch-size" if args.batch_size is not None else settings["batch_size"].source},
        model_name=model_name,
        seed=args.seed,
        gradcheck=not args.no_gradcheck,
        experiments=not args.quick,
        progress=ProgressDisplay(err, label),
        data=summary,
        test_data=test_summary,
        baseline=(lambda: build_model(args, X_train.shape[1], n_classes)) if args.model else None,
    )
    report.context["seconds"] = round(time.perf_counter() - started, 2)
    report.context["command"] = shlex.join(["netdoctor", *getattr(args, "argv", ["check"])])
    if args.ignore:
        report = report.without(args.ignore)
    _print_outputs(report, args, out)
    if report.partial:
        return 130
    return 0 if report.ok else 1
