"""Tools > Tune learning rates: a fair race, each visible entry at the learning rate a search found.

Racing rules at hand-picked rates races the picks. The dialog runs :func:`gdviz.core.tune.tune`
for the visible entries on the window's map worker (:class:`gdviz.ui.map_worker.MapRunner`, slot
``"tune"``): off the GUI thread, one entry at a time so that progress is shown and a cancel stops
between two entries (one entry's search is one compiled, batched program: ~2 s, mostly its
compile, on a loaded 2-core machine; it cannot be stopped halfway). Each entry is searched alone
on the scene as it was opened, so tuning them one by one gives exactly ``tune(scene)``'s rates.

When it is done the dialog shows a table (entry, rate now, tuned rate, final loss) and the tuning
curves: final loss against learning rate, log-log, per entry in its colour, a star at the chosen
rate and a cross (on the plot's top edge) at each rate whose run diverged. *Apply* sets the rates
with the controller's learning-rate setter: the rate is a traced value, nothing recompiles.
*Cancel* changes nothing. An entry whose every run diverged keeps its rate, and says so.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont, QFontMetrics
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gdviz.core.basins import Cancelled
from gdviz.core.scene import Scene
from gdviz.core.tune import COARSE, FINE, OBJECTIVES, Objective, TuneCurve, tune
from gdviz.ui.controller import Controller
from gdviz.ui.map_worker import MapJob, MapRunner
from gdviz.ui.plots import format_number
from gdviz.ui.theme import LIGHT, Theme

SLOT = "tune"
"""The map worker's slot for a tuning job (one at a time; a new one replaces the old)."""

OBJECTIVE_TEXT: dict[Objective, str] = {
    "final_loss": "Lowest loss at the last step",
    "steps_to": "Fewest steps to reach a loss of",
}


@dataclass(frozen=True)
class Tuned:
    """What the search found for the scene it was started on (the dialog tunes one entry at a
    time, for progress and cancelling; :class:`TuneResult` holds the tuned scene instead).

    Attributes:
      scene: the scene searched (the dialog's snapshot).
      curves: the tuning curve per label (its ``best`` is the rate chosen).
      objective, threshold: what was minimised.
    """

    scene: Scene
    curves: dict[str, TuneCurve]
    objective: Objective
    threshold: float | None

    @property
    def rates(self) -> dict[str, float]:
        """The rate :func:`tune` chose per label."""
        return {label: curve.best for label, curve in self.curves.items()}

    def applicable(self) -> dict[str, float]:
        """The rates Apply sets: every label but those that diverged at every rate."""
        return {label: c.best for label, c in self.curves.items() if not c.diverged}


def tune_job(
    scene: Scene,
    labels: list[str],
    objective: Objective,
    threshold: float | None,
    grid_sizes: tuple[int, int],
) -> MapJob:
    """A worker job tuning ``labels`` one after the other; ``progress(done, total)`` before each."""
    coarse, fine = grid_sizes

    def compute(_pass, should_stop, progress) -> Tuned:  # noqa: ANN001
        curves: dict[str, TuneCurve] = {}
        for done, label in enumerate(labels):
            if should_stop():
                raise Cancelled
            progress(done, len(labels))
            result = tune(scene, [label], objective, threshold, coarse=coarse, fine=fine)
            curves[label] = result.curves[label]
        progress(len(labels), len(labels))
        return Tuned(scene, curves, objective, threshold)

    # One pass (the "resolution" of a map job has no meaning here).
    return MapJob(SLOT, (id(scene), tuple(labels), objective, threshold), compute, (1,), "tuning")


def _default_threshold(controller: Controller) -> float:
    """1% of the way from the best loss known (the problem's, else the best run's) back to the
    starting loss: a target every reasonable rate should reach, 2 significant digits."""
    paths = [
        controller.results[e.label]
        for e in controller.scene.optimizers
        if e.visible and e.label in controller.results
    ]
    if not paths:
        return 1e-3
    start = float(max(p.loss[0] for p in paths))
    best = controller.problem.best_loss
    if best is None:
        best = float(min(p.loss[-1] for p in paths))
    value = best + 0.01 * (start - best)
    if not math.isfinite(value) or value == 0:
        return 1e-3
    digits = 1 - math.floor(math.log10(abs(value)))
    return round(value, digits)


class TuneDialog(QDialog):
    """Tune the visible entries' learning rates, show the result, apply it or not.

    Args:
      controller: the window's controller; read when the dialog opens, written only by Apply.
      runner: the worker that runs the search (the window's map runner).
      theme: colours for the tuning plot (the entries' colours under it).
    """

    def __init__(
        self,
        controller: Controller,
        runner: MapRunner,
        parent: QWidget | None = None,
        theme: Theme = LIGHT,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Tune learning rates")
        self.setModal(True)
        self.controller = controller
        self.runner = runner
        self.theme = theme
        self.scene = controller.scene
        self.labels = [e.label for e in self.scene.optimizers if e.visible]
        self.colors = controller.colors(theme)
        self.grid_sizes = (COARSE, FINE)  # rates in the coarse and the fine grid (tune's own)
        self.job: MapJob | None = None
        self.result: Tuned | None = None

        layout = QVBoxLayout(self)
        names = ", ".join(self.labels) if self.labels else "none"
        intro = QLabel(
            f"Each visible entry ({names}) is run alone over a log grid of learning rates, then a "
            f"finer grid around the best; everything else stays as it is. Seeded (seed "
            f"{self.scene.seed}): the same scene tunes to the same rates."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)

        form = QFormLayout()
        row = QHBoxLayout()
        self.objective = QComboBox()
        for name in OBJECTIVES:
            self.objective.addItem(OBJECTIVE_TEXT[name], name)
        self.threshold = pg.SpinBox(
            value=_default_threshold(controller),
            dec=True,
            step=0.5,
            minStep=1e-12,
            decimals=4,
            compactHeight=False,
        )
        self.threshold.setToolTip("The loss to reach (for “fewest steps”)")
        self.threshold.setMinimumWidth(110)
        row.addWidget(self.objective, 1)
        row.addWidget(self.threshold)
        form.addRow("Choose the rate with the", row)
        layout.addLayout(form)
        self.objective.currentIndexChanged.connect(self._objective_changed)

        run_row = QHBoxLayout()
        self.tune_button = QPushButton("Tune")
        self.tune_button.setDefault(True)
        self.tune_button.clicked.connect(self.start)
        self.progress = QProgressBar()
        self.progress.setRange(0, max(len(self.labels), 1))
        self.progress.setValue(0)
        run_row.addWidget(self.tune_button)
        run_row.addWidget(self.progress, 1)
        layout.addLayout(run_row)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)

        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(
            ["Entry", "Rate now", "Tuned rate", "Final loss", "Steps to reach"]
        )
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.table)
        self._fit_table()

        self.plot = pg.PlotWidget(background=theme.background)
        self.plot.setMinimumHeight(260)
        item = self.plot.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        item.showGrid(x=True, y=True, alpha=0.25)
        font = QFont()
        font.setPointSize(max(theme.plot_font_pt - 2, 8))
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setTickFont(font)
            axis.setPen(pg.mkPen(theme.foreground))
            axis.setTextPen(pg.mkPen(theme.foreground))
        style = {"color": theme.foreground, "font-size": f"{max(theme.plot_font_pt - 1, 8)}pt"}
        item.setLabel("bottom", "learning rate η", **style)
        item.setLabel("left", "loss at the last step", **style)
        # Room for "10⁻³⁰" and the label beside it (the log axis under-measures superscripts).
        item.getAxis("left").setWidth(QFontMetrics(font).horizontalAdvance("10⁻³⁰") + 36)
        # Bottom left: the curves are high at small rates, the diverged crosses top right.
        self.legend = item.addLegend(offset=(10, -10), labelTextColor=theme.foreground)
        self.floor: float | None = None  # where a loss of 0 is drawn on a log axis
        layout.addWidget(self.plot, 1)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.chosen: dict[str, pg.PlotDataItem] = {}  # the star at the chosen rate
        self.diverged: dict[str, pg.PlotDataItem] = {}  # crosses at the rates that diverged

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Apply | QDialogButtonBox.StandardButton.Cancel
        )
        self.apply_button = self.buttons.button(QDialogButtonBox.StandardButton.Apply)
        self.apply_button.setEnabled(False)
        self.apply_button.clicked.connect(self.apply)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        runner.progress.connect(self._on_progress)
        runner.produced.connect(self._on_produced)
        runner.failed.connect(self._on_failed)
        self._objective_changed()
        self.resize(760, 720)
        if not self.labels:
            self.tune_button.setEnabled(False)
            self.status.setText("No entry is visible: show the ones to tune first.")

    # --- choosing -------------------------------------------------------------------------------

    def chosen_objective(self) -> Objective:
        return self.objective.currentData()

    def _objective_changed(self) -> None:
        self.threshold.setEnabled(self.chosen_objective() == "steps_to")
        self.table.setColumnHidden(4, self.chosen_objective() != "steps_to")
        if self.result is not None and self.result.objective != self.chosen_objective():
            self._clear("The objective changed: tune again to see its rates.")

    def _clear(self, message: str) -> None:
        self.result = None
        self.apply_button.setEnabled(False)
        self.table.setRowCount(0)
        self._fit_table()
        for items in (self.curves, self.chosen, self.diverged):
            for item in items.values():
                self.plot.removeItem(item)
            items.clear()
        self.legend.clear()
        self.status.setText(message)

    # --- running --------------------------------------------------------------------------------

    def start(self) -> None:
        """Search the visible entries' rates on the worker (replacing a search under way)."""
        if not self.labels:
            return
        objective = self.chosen_objective()
        threshold = float(self.threshold.value()) if objective == "steps_to" else None
        if threshold is not None and not math.isfinite(threshold):
            self.status.setText("The loss to reach must be a finite number.")
            return
        self._clear("")
        self.job = tune_job(self.scene, self.labels, objective, threshold, self.grid_sizes)
        self.progress.setValue(0)
        self.tune_button.setEnabled(False)
        self.objective.setEnabled(False)
        self.threshold.setEnabled(False)
        self.status.setText(f"Tuning {self.labels[0]} (1 of {len(self.labels)})…")
        self.runner.submit(self.job)

    def _on_progress(self, job: MapJob, _pass: int, done: int, total: int) -> None:
        if job is not self.job:
            return
        self.progress.setValue(done)
        if done < total:
            self.status.setText(f"Tuning {self.labels[done]} ({done + 1} of {total})…")

    def _on_failed(self, job: MapJob, message: str) -> None:
        if job is not self.job:
            return
        self.job = None
        self._ready()
        self.status.setText(f"Could not tune: {message}")

    def _on_produced(self, job: MapJob, _pass: int, result: object) -> None:
        if job is not self.job or not isinstance(result, Tuned):
            return
        self.job = None
        self._ready()
        self.result = result
        self._fill_table(result)
        self._draw_curves(result)
        applicable = result.applicable()
        self.apply_button.setEnabled(bool(applicable))
        given_up = [label for label in result.rates if label not in applicable]
        message = "Apply sets the tuned rates; Cancel keeps the rates as they are."
        if given_up:
            message = (
                f"{', '.join(given_up)} diverged at every rate tried: "
                f"{'it keeps its' if len(given_up) == 1 else 'they keep their'} rate. " + message
            )
        self.status.setText(message)

    def _ready(self) -> None:
        self.tune_button.setEnabled(True)
        self.tune_button.setText("Tune again")
        self.objective.setEnabled(True)
        self.threshold.setEnabled(self.chosen_objective() == "steps_to")

    # --- showing --------------------------------------------------------------------------------

    def _fill_table(self, result: Tuned) -> None:
        self.table.setRowCount(len(result.rates))
        steps = result.scene.steps
        for row, (label, rate) in enumerate(result.rates.items()):
            entry = result.scene.entry(label)
            now = float(entry.hyperparams.get("learning_rate", rate))
            name = QTableWidgetItem(f"■ {label}")
            name.setForeground(QColor(self.colors.get(label, self.theme.foreground)))
            diverged = result.curves[label].diverged
            loss, reach = result.curves[label].at_best()
            if diverged:
                texts = ["— (keeps its rate)", "diverged at every rate", "—"]
            else:
                reached = f"{int(reach)}" if reach <= steps else f"not within {steps}"
                texts = [f"{rate:.4g}", _show_loss(loss), reached]
            cells = [name, QTableWidgetItem(f"{now:.4g}"), *map(QTableWidgetItem, texts)]
            for column, cell in enumerate(cells):
                self.table.setItem(row, column, cell)
        self._fit_table()

    def _fit_table(self) -> None:
        """As tall as its rows (one empty row's room before there are any): the plot below
        takes the rest."""
        height = self.table.horizontalHeader().sizeHint().height() + 2 * self.table.frameWidth()
        rows = [self.table.rowHeight(r) for r in range(self.table.rowCount())]
        height += sum(rows) if rows else self.table.verticalHeader().defaultSectionSize()
        self.table.setFixedHeight(height + 2)

    def _draw_curves(self, result: Tuned) -> None:
        finite = np.concatenate(
            [c.final_loss[np.isfinite(c.final_loss)] for c in result.curves.values()]
        )
        # Log-log when no loss is negative; a loss of exactly 0 (Newton on Rosenbrock reaches
        # it) is drawn a decade under the least positive one, on the bottom edge.
        positive = finite[finite > 0]
        log_y = bool(positive.size) and bool((finite >= 0).all())
        self.floor = float(positive.min()) / 10 if log_y else None
        self.plot.getPlotItem().setLogMode(x=True, y=log_y)
        # Diverged runs sit on the top edge, a little above the highest finite loss.
        if finite.size:
            top = finite.max() * 3 if log_y else finite.max() + 0.1 * (np.ptp(finite) or 1.0)
        else:
            top = 1.0
        for label, curve in result.curves.items():
            color = self.colors.get(label, self.theme.foreground)
            ok = np.isfinite(curve.final_loss)
            if ok.any():
                line = pg.PlotDataItem(
                    curve.rates,
                    np.where(ok, self._shown(curve.final_loss), np.nan),
                    pen=pg.mkPen(color, width=2.5),
                    symbol="o",
                    symbolSize=5,
                    symbolBrush=color,
                    symbolPen=None,
                    connect="finite",
                    name=label,
                )
                self.plot.addItem(line)
                self.curves[label] = line
            if (~ok).any():
                crosses = pg.PlotDataItem(
                    curve.rates[~ok],
                    np.full(int((~ok).sum()), top),
                    pen=None,
                    symbol="x",
                    symbolSize=12,
                    symbolBrush=color,
                    symbolPen=pg.mkPen(color, width=1.2),
                    # Named (in the legend) when they are all there is of the entry.
                    name=None if ok.any() else f"{label} (diverged)",
                )
                self.plot.addItem(crosses)
                self.diverged[label] = crosses
            if not curve.diverged:
                loss, _ = curve.at_best()
                star = pg.PlotDataItem(
                    [curve.best],
                    [self._shown(np.array(loss))],
                    pen=None,
                    symbol="star",
                    symbolSize=22,
                    symbolBrush=color,
                    symbolPen=pg.mkPen(self.theme.foreground, width=1.2),
                )
                self.plot.addItem(star)
                self.chosen[label] = star
        self.plot.getPlotItem().enableAutoRange()

    def _shown(self, loss: np.ndarray) -> np.ndarray:
        """Losses as plotted: zeros lifted to the floor on a log axis."""
        if self.floor is None:
            return loss
        return np.where(loss > 0, loss, self.floor)

    # --- closing --------------------------------------------------------------------------------

    def apply(self) -> None:
        """Set every tuned rate (the entries whose every run diverged keep theirs) and close."""
        if self.result is None:
            return
        labels = {e.label for e in self.controller.scene.optimizers}
        for label, rate in self.result.applicable().items():
            if label in labels:
                self.controller.set_hyperparam(label, "learning_rate", rate)
        self._disconnect()
        self.accept()

    def reject(self) -> None:
        """Cancel: stop a search under way (between two entries) and change nothing."""
        if self.job is not None:
            self.runner.cancel(SLOT)
            self.job = None
        self._disconnect()
        super().reject()

    def _disconnect(self) -> None:
        for signal, slot in (
            (self.runner.progress, self._on_progress),
            (self.runner.produced, self._on_produced),
            (self.runner.failed, self._on_failed),
        ):
            with contextlib.suppress(RuntimeError, TypeError):  # disconnected already
                signal.disconnect(slot)


def _show_loss(value: float) -> str:
    """4 significant digits; 10 to a power outside 0.001 … 10⁵."""
    if not math.isfinite(value):
        return "diverged"
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        return f"{value:.4g}"
    return format_number(float(f"{value:.3g}"))
