"""Loss against step, and the data view (the fitted model moving with playback)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont

from gdviz.core.surface import predictions
from gdviz.ui.controller import Controller
from gdviz.ui.items import cache_axes, cache_static, set_pen_color
from gdviz.ui.rate import Throttle
from gdviz.ui.theme import LIGHT, Theme, entry_color


def _style(plot: pg.PlotItem, theme: Theme, title: str, bottom: str, left: str) -> None:
    font = QFont()
    font.setPointSize(theme.plot_font_pt - 2)
    style = {"font-size": f"{theme.plot_font_pt}pt", "color": theme.foreground}
    plot.setTitle(title, size=f"{theme.plot_font_pt + 1}pt", color=theme.foreground)
    plot.setLabel("bottom", bottom, **style)
    plot.setLabel("left", left, **style)
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setTickFont(font)
        axis.setPen(pg.mkPen(theme.foreground))
        axis.setTextPen(pg.mkPen(theme.foreground))
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.showGrid(x=True, y=True, alpha=0.25)
    cache_axes(plot)


class LossPlot(pg.PlotWidget):
    """Full-batch loss of every optimizer against step (log y), with a cursor at the playback step."""

    def __init__(self, controller: Controller, theme: Theme = LIGHT) -> None:
        super().__init__(background=theme.background)
        self.controller = controller
        self.theme = theme
        self.plot = self.getPlotItem()
        _style(self.plot, theme, "Loss", "step", "loss")
        # The moving parts ignore bounds: otherwise every frame re-runs auto-range, which changes
        # the view transform and throws away every cached curve (a 5x slower frame).
        self.cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen("#444444", width=1.5))
        self.plot.addItem(self.cursor, ignoreBounds=True)
        self.heads = pg.ScatterPlotItem(pxMode=True)
        self.plot.addItem(self.heads, ignoreBounds=True)
        # PlotDataItem, not PlotCurveItem: only data items follow the plot's log mode.
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._log: bool | None = None
        self._layout_changed = True
        controller.entries_changed.connect(self.rebuild)
        controller.scene_changed.connect(self._restyle)
        self.throttle = Throttle(self.update_curves, parent=self)
        controller.results_changed.connect(self.throttle)
        controller.step_changed.connect(self.update_cursor)
        self.rebuild()

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.setBackground(theme.background)
        _style(self.plot, theme, "Loss", "step", "loss")
        self.cursor.setPen(pg.mkPen(theme.foreground, width=1.5))
        self.rebuild()

    def rebuild(self) -> None:
        self._layout_changed = True
        for curve in self.curves.values():
            self.plot.removeItem(curve)
        self.curves.clear()
        for i, entry in enumerate(self.controller.scene.optimizers):
            curve = pg.PlotDataItem(
                pen=pg.mkPen(
                    entry_color(i, entry.color, self.theme), width=self.theme.trail_width - 1.5
                )
            )
            cache_static(curve.curve)  # still during playback: only the cursor and heads move
            self.plot.addItem(curve)
            self.curves[entry.label] = curve
        self.update_curves()

    def _restyle(self) -> None:
        for i, entry in enumerate(self.controller.scene.optimizers):
            curve = self.curves.get(entry.label)
            if curve is not None:
                set_pen_color(
                    curve, entry_color(i, entry.color, self.theme), self.theme.trail_width - 1.5
                )
                if curve.isVisible() != entry.visible:
                    curve.setVisible(entry.visible)

    def update_curves(self) -> None:
        results = self.controller.results
        lows = [float(p.loss.min()) for p in results.values()]
        log = bool(lows) and min(lows) > 0
        if log != self._log:
            self._log = log
            self._layout_changed = True
            self.plot.setLogMode(y=log)
        for entry in self.controller.scene.optimizers:
            curve = self.curves.get(entry.label)
            path = results.get(entry.label)
            if curve is None:
                continue
            if path is None:
                curve.setData([], [])
                continue
            end = path.steps if path.diverged_at is None else path.diverged_at - 1
            curve.setData(np.arange(end + 1), path.loss[: end + 1])
            curve.setVisible(entry.visible)
        # Ranges are set here, not by auto-range, and only when the data leave them or fill
        # less than half: every range change costs pyqtgraph a second paint, and a drag moves
        # the curves a little on every mouse move.
        self.plot.setXRange(0, self.controller.steps, padding=0.02)
        shown = [
            p.loss
            for e in self.controller.scene.optimizers
            if e.visible and (p := results.get(e.label)) is not None
        ]
        if shown:
            low = min(float(v.min()) for v in shown)
            high = max(float(v.max()) for v in shown)
            if log:
                low, high = float(np.log10(low)), float(np.log10(high))
            (y0, y1) = self.plot.getViewBox().viewRange()[1]
            span = max(high - low, 1e-9)
            if self._layout_changed or low < y0 or high > y1 or (y1 - y0) > 2.0 * span:
                self._layout_changed = False
                self.plot.setYRange(low - 0.05 * span, high + 0.05 * span, padding=0)
        self.update_cursor(self.controller.step)

    def update_cursor(self, step: int) -> None:
        self.cursor.setValue(step)
        spots, brushes = [], []
        for i, entry in enumerate(self.controller.scene.optimizers):
            path = self.controller.results.get(entry.label)
            if path is None or not entry.visible:
                continue
            k = min(step, path.steps)
            loss = float(path.loss[k])
            spots.append((k, np.log10(loss) if self._log else loss))
            brushes.append(pg.mkBrush(entry_color(i, entry.color, self.theme)))
        if spots:
            self.heads.setData(
                pos=np.array(spots), brush=brushes, size=11, pen=pg.mkPen("#FFFFFF", width=1.5)
            )
        else:
            self.heads.setData([])


class DataView(pg.PlotWidget):
    """The data and each optimizer's current model, for problems that fit data."""

    GRID = 120

    def __init__(self, controller: Controller, theme: Theme = LIGHT) -> None:
        super().__init__(background=theme.background)
        self.controller = controller
        self.theme = theme
        self.plot = self.getPlotItem()
        _style(self.plot, theme, "Data and fitted model", "x", "y")
        self.points = pg.ScatterPlotItem(
            pxMode=True,
            size=9,
            brush=pg.mkBrush(90, 90, 90, 150),
            pen=pg.mkPen(255, 255, 255, 200, width=1),
        )
        cache_static(self.points)
        self.plot.addItem(self.points)
        self.lines: dict[str, pg.PlotCurveItem] = {}
        self._xs = np.linspace(0.0, 1.0, self.GRID)
        controller.entries_changed.connect(self.rebuild)
        controller.scene_changed.connect(self._on_scene_changed)
        self.throttle = Throttle(self.update_lines, parent=self)
        controller.results_changed.connect(self.throttle)
        controller.step_changed.connect(lambda _: self.update_lines())
        self._data_id: int | None = None
        self.rebuild()

    @property
    def applicable(self) -> bool:
        return self.controller.problem.predict_fn is not None

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.setBackground(theme.background)
        _style(self.plot, theme, "Data and fitted model", "x", "y")
        grey = 200 if theme.dark else 90
        self.points.setBrush(pg.mkBrush(grey, grey, grey, 160))
        self.rebuild()
        self.update_lines()

    def rebuild(self) -> None:
        for line in self.lines.values():
            self.plot.removeItem(line)
        self.lines.clear()
        for i, entry in enumerate(self.controller.scene.optimizers):
            line = pg.PlotCurveItem(
                pen=pg.mkPen(entry_color(i, entry.color, self.theme), width=self.theme.trail_width)
            )
            self.plot.addItem(line)
            self.lines[entry.label] = line
        self._on_scene_changed()

    def _on_scene_changed(self) -> None:
        problem = self.controller.problem
        for i, entry in enumerate(self.controller.scene.optimizers):
            line = self.lines.get(entry.label)
            if line is not None:
                set_pen_color(line, entry_color(i, entry.color, self.theme), self.theme.trail_width)
        if problem.x is None or problem.y is None or id(problem) == self._data_id:
            return  # the lines follow results_changed
        self._data_id = id(problem)
        self.points.setData(problem.x, problem.y)
        lo, hi = float(problem.x.min()), float(problem.x.max())
        pad = 0.05 * (hi - lo)
        self._xs = np.linspace(lo - pad, hi + pad, self.GRID)
        ylo, yhi = float(problem.y.min()), float(problem.y.max())
        ypad = 0.15 * (yhi - ylo)
        self.plot.setRange(xRange=(lo - pad, hi + pad), yRange=(ylo - ypad, yhi + ypad), padding=0)
        self.update_lines()

    def update_lines(self) -> None:
        if not self.applicable:
            return
        ctl = self.controller
        shown = [(e, ctl.results[e.label]) for e in ctl.scene.optimizers if e.label in ctl.results]
        if not shown:
            for line in self.lines.values():
                line.setData([], [])
            return
        params = np.array([path.params[min(ctl.step, path.steps)] for _, path in shown])
        ys = predictions(ctl.problem, params, self._xs)
        for (entry, _), y in zip(shown, ys, strict=True):
            line = self.lines[entry.label]
            line.setData(self._xs, y)
            line.setVisible(entry.visible)
