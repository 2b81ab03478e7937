"""Loss against step, and the data view (the fitted model moving with playback)."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontMetrics, QMouseEvent
from PySide6.QtWidgets import QGraphicsItem, QGraphicsLinearLayout, QGraphicsWidget

from gdviz.core.simulate import learning_rates
from gdviz.core.surface import predictions
from gdviz.ui.controller import Controller
from gdviz.ui.items import Curve, Heads, Scatter, cache_axes, cache_static, set_pen_color
from gdviz.ui.rate import Throttle, follow_drags
from gdviz.ui.theme import LIGHT, Theme


def _style(plot: pg.PlotItem, theme: Theme, title: str, bottom: str, left: str) -> None:
    font = QFont()
    font.setPointSize(theme.plot_font_pt - 1)
    style = {"font-size": f"{theme.plot_font_pt}pt", "color": theme.foreground}
    plot.setTitle(title, size=f"{theme.plot_font_pt + 1}pt", color=theme.foreground)
    plot.setLabel("bottom", bottom, **style)
    plot.setLabel("left", left, **style)
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setTickFont(font)
        axis.setPen(pg.mkPen(theme.foreground))
        axis.setTextPen(pg.mkPen(theme.foreground))
        # Plain numbers on every axis: "loss (x0.001)" with ticks 3 ... 10 reads as a riddle.
        # (pyqtgraph's enableAutoSIPrefix(False) still computes a prefix once: no ranges for it.)
        axis.setSIPrefixEnableRanges(((math.inf, math.inf),))
        axis.enableAutoSIPrefix(False)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    # Room for the last tick label ("300", "2.0") inside the widget, not on the window's edge.
    pad = round(0.9 * theme.plot_font_pt)
    plot.layout.setContentsMargins(4, 4, pad + 6, 4)
    plot.showGrid(x=True, y=True, alpha=0.25)
    cache_axes(plot)


Scale = Literal["linear", "log", "symlog"]


def choose_scale(lows: list[float]) -> Scale:
    """Log when every loss is positive; symmetric log when some go to zero or below."""
    if not lows:
        return "linear"
    return "log" if min(lows) > 0 else "symlog"


def symlog(y: np.ndarray, c: float) -> np.ndarray:
    """``sign(y) log10(1 + |y| / c)``: logarithmic far from 0, linear within ``c`` of it."""
    return np.sign(y) * np.log10(1.0 + np.abs(y) / c)


def symlog_inverse(t: np.ndarray, c: float) -> np.ndarray:
    return np.sign(t) * c * (10.0 ** np.abs(t) - 1.0)


def format_number(v: float) -> str:
    """A tick label a back row can read: 0.001 … 1000 plainly, else 10 to a power."""
    if v == 0:
        return "0"
    a = abs(v)
    sign = "−" if v < 0 else ""
    e = math.floor(math.log10(a) + 1e-9)
    if -3 <= e <= 4:
        text = f"{a:.6g}"
        return sign + text
    mantissa = a / 10**e
    power = str(e).translate(_SUPERSCRIPT)
    if abs(mantissa - 1) < 1e-6:
        return f"{sign}10{power}"
    return f"{sign}{mantissa:.2g}·10{power}"


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


class LossAxis(pg.AxisItem):
    """The loss axis: the data arrive already transformed (log10, or symmetric log), and the
    ticks are placed and labelled in loss units.

    Log ticks label the decades only when there are three or more of them (minor ticks stay
    unlabelled: "0.9 0.8 0.7 …" crowded the axis); 1, 2 and 5 within a narrower span.
    """

    def __init__(self) -> None:
        super().__init__("left")
        self.kind: Scale = "linear"
        self.c = 1.0  # the symmetric log's linear half-width

    def tickValues(self, minVal: float, maxVal: float, size: float):  # noqa: ANN201, N802, N803
        if self.kind == "linear" or not (np.isfinite(minVal) and np.isfinite(maxVal)):
            return super().tickValues(minVal, maxVal, size)
        if self.kind == "log":
            major, minor = _log_ticks(minVal, maxVal)
        else:
            major, minor = _symlog_ticks(minVal, maxVal, self.c)
        if len(major) < 3:  # too narrow for decades: nice numbers in loss units
            lo, hi = self._inverse(minVal), self._inverse(maxVal)
            levels = super().tickValues(lo, hi, size)
            values = sorted(levels[0][1]) if levels else []
            if len(values) < 3 and len(levels) > 1:
                values = sorted({*values, *levels[1][1]})
            major = [float(self._forward(v)) for v in values if self._valid(v)]
            minor = []
        return [(1.0, major), (0.1, minor)]

    def _forward(self, v: float) -> float:
        return float(np.log10(v)) if self.kind == "log" else float(symlog(np.array(v), self.c))

    def _inverse(self, t: float) -> float:
        return 10.0**t if self.kind == "log" else float(symlog_inverse(np.array(t), self.c))

    def _valid(self, v: float) -> bool:
        return v > 0 if self.kind == "log" else True

    def tickStrings(self, values, scale, spacing):  # noqa: ANN001, ANN201, N802
        if self.kind == "linear":
            return [format_number(float(v)) if abs(v) > 1e-12 else "0" for v in values]
        if spacing < 1.0:
            return ["" for _ in values]  # minor ticks: marks, no labels
        return [format_number(self._label_value(float(v))) for v in values]

    def _label_value(self, t: float) -> float:
        """The loss at axis position ``t``, rounded to the tick it stands for (3 digits)."""
        v = self._inverse(t)
        if v == 0 or not math.isfinite(v):
            return v
        digits = 2 - math.floor(math.log10(abs(v)))
        if self.kind == "symlog" and abs(t) < 1e-12:
            return 0.0
        return round(v, digits)


def _axis_width(axis: pg.AxisItem, labels: list[str]) -> float:
    """The width a left axis needs for these tick labels and its own label."""
    metrics = QFontMetrics(axis.style["tickFont"] or QFont())
    width = max((metrics.horizontalAdvance(t) for t in labels), default=0) + 4
    width += axis.style["tickTextOffset"][0] + max(0, axis.style["tickLength"])
    if axis.label.isVisible():
        width += axis.label.boundingRect().height() * 0.8
    return width


def rate_ticks(low: float, high: float, view: tuple[float, float]) -> list[tuple[float, str]]:
    """The learning-rate strip's labelled ticks (log10 positions): decades clear of the view's
    edges (a label there is dropped), the lowest and highest; else the rates' ends."""
    y0, y1 = view
    inside = (y0 + 0.1 * (y1 - y0), y1 - 0.05 * (y1 - y0))
    decades = [float(d) for d in range(math.ceil(inside[0]), math.floor(inside[1]) + 1)]
    if len(decades) > 2:
        decades = [decades[0], decades[-1]]
    values = decades if len(decades) >= 2 else sorted({round(low, 6), round(high, 6)})
    ticks = []
    for t in values:
        v = 10.0**t
        v = round(v, 1 - math.floor(math.log10(v)))
        ticks.append((float(np.log10(v)), format_number(v)))
    return ticks


def _log_ticks(lo: float, hi: float) -> tuple[list[float], list[float]]:
    """Major and minor tick positions (in log10 units) between ``lo`` and ``hi``."""
    d0, d1 = math.floor(lo), math.ceil(hi)
    decades = [float(d) for d in range(d0, d1 + 1) if lo <= d <= hi]
    step = max(1, math.ceil(len(decades) / 7))  # at most ~7 labelled decades
    if len(decades) >= 3:
        major = decades[::step]
        minor = [
            d + math.log10(m) for d in range(d0, d1 + 1) for m in range(2, 10) if step == 1
        ] + [d for d in decades if d not in major]
        return major, [v for v in minor if lo <= v <= hi]
    major = [d + math.log10(m) for d in range(d0, d1 + 1) for m in (1, 2, 5)]
    minor = [d + math.log10(m) for d in range(d0, d1 + 1) for m in (3, 4, 6, 7, 8, 9)]
    return [v for v in major if lo <= v <= hi], [v for v in minor if lo <= v <= hi]


def _symlog_ticks(lo: float, hi: float, c: float) -> tuple[list[float], list[float]]:
    """Ticks at 0 and ±c·10^k, placed in symmetric-log units."""
    top = max(abs(lo), abs(hi))
    values = [0.0]
    k = 0
    while symlog(np.array(c * 10.0**k), c) <= top + 1e-9 and k < 40:
        values += [c * 10.0**k, -c * 10.0**k]
        k += 1
    ticks = sorted(float(symlog(np.array(v), c)) for v in values)
    major = [t for t in ticks if lo <= t <= hi]
    step = max(1, math.ceil(len(major) / 7))
    return major[::step], []


class LossPlot(pg.PlotWidget):
    """Full-batch loss of every optimizer against step, with a cursor at the playback step.

    The y axis is logarithmic when every loss is positive and symmetric-logarithmic otherwise
    (the saddle's losses fall through zero); its range follows the optimizers that have not
    diverged, and a diverged one is cut at the edge and marked with a cross where it left.
    """

    STRIP_SHARE = 0.18
    """The learning-rate strip's height as a fraction of the loss plot's."""

    def __init__(self, controller: Controller, theme: Theme = LIGHT) -> None:
        self.axis = LossAxis()
        super().__init__(
            background=theme.background, axisItems={"left": self.axis}, enableMenu=False
        )
        self.controller = controller
        self.theme = theme
        self.plot = self.getPlotItem()
        _style(self.plot, theme, "Loss", "step", "loss")
        self._build_strip()
        # The moving parts ignore bounds: otherwise every frame re-runs auto-range, which changes
        # the view transform and throws away every cached curve (a 5x slower frame).
        self.cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen(theme.foreground, width=1.5))
        self.plot.addItem(self.cursor, ignoreBounds=True)
        self.heads = Heads()
        self.heads.setZValue(20)
        self.plot.addItem(self.heads, ignoreBounds=True)
        self.blowups = Scatter(pxMode=True)
        self.blowups.setZValue(21)
        self.plot.addItem(self.blowups, ignoreBounds=True)
        self.curves: dict[str, Curve] = {}
        self._losses: dict[int, tuple[object, object, np.ndarray]] = {}
        self._brushes: dict[str, object] = {}
        self._pen_for: Theme | None = None
        self._pen = None
        self.scale: Scale | None = None
        self._layout_changed = True
        controller.entries_changed.connect(self.rebuild)
        controller.scene_changed.connect(self._restyle)
        self.throttle = Throttle(self.update_curves, parent=self)
        follow_drags(self.throttle, controller)
        controller.results_changed.connect(self.throttle)
        controller.step_changed.connect(self.update_cursor)
        controller.drag_started.connect(lambda: self._smooth(False))
        controller.drag_finished.connect(lambda: self._smooth(True))
        self.rebuild()

    def _build_strip(self) -> None:
        """A slim plot of each entry's learning rate under the loss, on the same steps; in the
        layout only while a visible entry has a schedule (otherwise the view is as it was)."""
        holder = QGraphicsWidget()
        self.column = QGraphicsLinearLayout(Qt.Orientation.Vertical)
        self.column.setContentsMargins(0, 0, 0, 0)
        self.column.setSpacing(0)
        holder.setLayout(self.column)
        self.setCentralItem(holder)  # takes the plot out of the scene: the column puts it back
        self.column.addItem(self.plot)
        self.lr_axis = LossAxis()
        self.lr_axis.kind = "log"
        # pyqtgraph drops labels that fill more than 80% of an axis: a slim one needs room.
        self.lr_axis.setStyle(textFillLimits=[(0, 0.95)])
        self.strip = pg.PlotItem(axisItems={"left": self.lr_axis}, enableMenu=False)
        self.strip.setXLink(self.plot)
        self.strip.setMouseEnabled(x=False, y=False)
        self.strip.hide()
        self.strip_cursor = pg.InfiniteLine(angle=90)
        self.strip.addItem(self.strip_cursor, ignoreBounds=True)
        self.lr_curves: dict[str, Curve] = {}
        self._style_strip()

    def _style_strip(self) -> None:
        _style(self.strip, self.theme, "", "", "η")
        self.strip.setTitle(None)
        self.strip.getAxis("bottom").showLabel(False)
        self.strip.showGrid(x=True, y=True, alpha=0.2)
        self.strip_cursor.setPen(pg.mkPen(self.theme.foreground, width=1.5))

    @property
    def strip_shown(self) -> bool:
        return self.strip.isVisible()

    def _show_strip(self, on: bool) -> None:
        if on == self.strip.isVisible():
            return
        if on:
            self.column.addItem(self.strip)
            self.column.setStretchFactor(self.plot, round(100 * (1 - self.STRIP_SHARE)))
            self.column.setStretchFactor(self.strip, round(100 * self.STRIP_SHARE))
            self.strip.show()
        else:
            self.column.removeItem(self.strip)
            self.strip.hide()
            self.axis.setWidth(None)

    def update_strip(self) -> None:
        """Each visible entry's learning rate against step, shown when any is scheduled."""
        ctl = self.controller
        visible = [e for e in ctl.scene.optimizers if e.visible]
        on = any(e.schedule != "constant" for e in visible)
        self._show_strip(on)
        if not on:
            return
        colors = ctl.colors(self.theme)
        labels = {e.label for e in visible}
        for label in list(self.lr_curves):
            if label not in labels:
                self.strip.removeItem(self.lr_curves.pop(label))
        low, high = math.inf, -math.inf
        for i, entry in enumerate(visible):
            path = ctl.results.get(entry.label)
            rates = getattr(path, "learning_rates", None)
            if rates is None:
                rates = learning_rates(ctl.scene, entry.label)
            rates = np.asarray(rates, dtype=float)
            curve = self.lr_curves.get(entry.label)
            if curve is None:
                curve = self.lr_curves[entry.label] = Curve(antialias=not ctl.dragging)
                if not ctl.dragging:
                    cache_static(curve)  # as the loss curves: still during playback
                self.strip.addItem(curve)
            curve.setPen(pg.mkPen(colors[entry.label], width=self._width()))
            curve.setZValue(10 + (len(visible) - i) * 0.01)
            positive = rates > 0
            y = np.where(positive, np.log10(np.where(positive, rates, 1.0)), np.nan)
            curve.setData(np.arange(len(rates)), y)
            if positive.any():
                low = min(low, float(np.nanmin(y)))
                high = max(high, float(np.nanmax(y)))
        if math.isfinite(low):
            # At most three decades: a decay to 0 leaves by the bottom rather than flatten the
            # rest; two or three labels (five crowd a strip this slim, and pyqtgraph drops all).
            low = max(low, high - 3.0)
            span = max(high - low, 0.3)
            mid = 0.5 * (low + high)
            y0, y1 = mid - 0.6 * span, mid + 0.6 * span
            self.strip.setYRange(y0, y1, padding=0)
            ticks = rate_ticks(low, high, (y0, y1))
            self.lr_axis.setTicks([ticks, []])
            # The two plots' left axes one width, wide enough for both: their steps line up.
            self.axis.setWidth(None)
            width = max(self.axis.maximumWidth(), _axis_width(self.lr_axis, [t for _, t in ticks]))
            self.axis.setWidth(round(width))
            self.lr_axis.setWidth(round(width))

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.setBackground(theme.background)
        _style(self.plot, theme, "Loss", "step", "loss")
        self.cursor.setPen(pg.mkPen(theme.foreground, width=1.5))
        self._style_strip()
        self.rebuild()

    def _width(self) -> float:
        return max(self.theme.trail_width - 1.0, 1.5)

    def rebuild(self) -> None:
        self._layout_changed = True
        for curve in self.curves.values():
            self.plot.removeItem(curve)
        self.curves.clear()
        colors = self.controller.colors(self.theme)
        entries = self.controller.scene.optimizers
        for i, entry in enumerate(entries):
            curve = Curve(pg.mkPen(colors[entry.label], width=self._width()))
            curve.setZValue(
                10 + (len(entries) - i) * 0.01
            )  # the first listed on top, as on the surface
            cache_static(curve)  # still during playback: only the cursor and heads move
            self.plot.addItem(curve)
            self.curves[entry.label] = curve
        if self.controller.dragging:
            self._smooth(False)
        self.update_curves()

    def _smooth(self, on: bool) -> None:
        """Antialiased, cached curves at rest; plain, uncached ones while a start is dragged.

        At rest the curves are still and a cached pixmap each spares a playback frame their
        strokes; during a drag every throttled update changes all of them, so each cache is
        re-rasterised and then blitted, and the antialiased stroke of a jagged mini-batch
        curve is the costliest thing in the view. Measured (default scene, the loss plot's
        update and repaint, thread time, same run, alternating): 15.8 ms smooth and cached
        against 7.2 ms plain and uncached. The eye follows motion during a drag, as on the
        surface (its trails go plain too); release draws them smooth again.

        The learning-rate strip's curves likewise: stroked again under every repainted cursor,
        they were ~0.5 ms of a 4.5 ms playback frame on schedules (cached against not, same
        run, alternating)."""
        cache = QGraphicsItem.CacheMode
        for curve in (*self.curves.values(), *self.lr_curves.values()):
            curve.setCacheMode(cache.DeviceCoordinateCache if on else cache.NoCache)
            curve.opts["antialias"] = on
            curve.update()

    def _restyle(self) -> None:
        colors = self.controller.colors(self.theme)
        for entry in self.controller.scene.optimizers:
            curve = self.curves.get(entry.label)
            if curve is not None:
                set_pen_color(curve, colors[entry.label], self._width())
                if curve.isVisible() != entry.visible:
                    curve.setVisible(entry.visible)
        self.update_curves()

    def transform(self, loss: np.ndarray) -> np.ndarray:
        """Losses in the axis's units (log10, symmetric log or as they are)."""
        if self.scale == "log":
            return np.log10(loss)
        if self.scale == "symlog":
            return symlog(loss, self.axis.c)
        return loss

    def update_curves(self) -> None:
        ctl = self.controller
        results = ctl.results
        shown = [(e, p) for e in ctl.scene.optimizers if e.visible and (p := results.get(e.label))]
        scale = choose_scale([float(p.loss.min()) for _, p in shown])
        if scale == "symlog":
            first = max((abs(float(p.loss[0])) for _, p in shown), default=1.0)
            c = 10.0 ** math.floor(math.log10(first)) / 10 if first > 0 else 1.0
            if c != self.axis.c:
                self.axis.c, self._layout_changed = c, True
        if scale != self.scale:
            self.scale = scale
            self.axis.kind = scale
            self._layout_changed = True
        for entry in ctl.scene.optimizers:
            curve = self.curves.get(entry.label)
            path = results.get(entry.label)
            if curve is None:
                continue
            if path is None:
                curve.setData([], [])
                continue
            end = path.steps if path.diverged_at is None else path.diverged_at - 1
            curve.setData(np.arange(end + 1), self.transform(path.loss[: end + 1]))
            curve.setVisible(entry.visible)
        # Ranges are set here, not by auto-range, and only when the data leave them or fill
        # less than half: every range change costs pyqtgraph a second paint, and a drag moves
        # the curves a little on every mouse move.
        # The steps of the curves drawn: a new step count keeps the old curves at their own
        # scale until its paths are computed (a compile can take seconds), not squeezed left.
        self.plot.setXRange(
            0, max((p.steps for p in results.values()), default=ctl.steps), padding=0.02
        )
        # The range follows the optimizers that have not diverged: one blow-up would otherwise
        # flatten every other curve into a line along the bottom.
        sound = [p for _, p in shown if p.diverged_at is None] or [p for _, p in shown]
        if sound:
            low = min(float(self.transform(p.loss).min()) for p in sound)
            high = max(float(self.transform(p.loss).max()) for p in sound)
            (y0, y1) = self.plot.getViewBox().viewRange()[1]
            span = max(high - low, 1e-9 if scale != "linear" else 1e-12 + 1e-6 * abs(high))
            if self._layout_changed or low < y0 or high > y1 or (y1 - y0) > 2.0 * span:
                self._layout_changed = False
                self.plot.setYRange(low - 0.05 * span, high + 0.05 * span, padding=0)
        self._mark_blowups(shown)
        self.update_strip()
        self.update_cursor(ctl.step)

    def _mark_blowups(self, shown: list) -> None:  # noqa: ANN001
        """A cross where each diverged curve ends or leaves the top of the plot."""
        colors = self.controller.colors(self.theme)
        (_, _), (y0, y1) = self.plot.getViewBox().viewRange()
        spots = []
        for entry, path in shown:
            if path.diverged_at is None:
                continue
            y = self.transform(path.loss[: path.diverged_at])
            above = np.nonzero(~(y <= y1))[0]
            k = int(above[0]) if len(above) else path.diverged_at - 1
            spots.append(
                {
                    "pos": (k, float(np.clip(y[min(k, len(y) - 1)], y0, y1))),
                    "symbol": "x",
                    "size": 18,
                    "brush": pg.mkBrush(colors[entry.label]),
                    "pen": pg.mkPen(colors[entry.label], width=1),
                }
            )
        self.blowups.setData(spots)

    def _brush(self, color: str):  # noqa: ANN202
        """One brush per colour: the scatter's symbol atlas is keyed by the brush object."""
        brush = self._brushes.get(color)
        if brush is None:
            brush = self._brushes[color] = pg.mkBrush(color)
        return brush

    def _head_pen(self):  # noqa: ANN202
        """The heads' outline: one object per theme (a new pen each frame missed the symbol
        atlas and re-rendered nine symbols per playback frame)."""
        if self._pen_for is not self.theme:
            self._pen_for, self._pen = self.theme, pg.mkPen(self.theme.background, width=1.5)
        return self._pen

    def _transformed(self, path) -> np.ndarray:  # noqa: ANN001 (a core Path)
        """``path.loss`` in the axis's units, once per path and scale (a head per entry was
        transformed one at a time each frame)."""
        key = (self.scale, self.axis.c)
        cached = self._losses.get(id(path))
        if cached is None or cached[0] is not path or cached[1] != key:
            if len(self._losses) > 64:
                self._losses.clear()
            cached = self._losses[id(path)] = (path, key, self.transform(path.loss))
        return cached[2]

    def update_cursor(self, step: int) -> None:
        self.cursor.setValue(step)
        if self.strip.isVisible():
            self.strip_cursor.setValue(step)
        colors = self.controller.colors(self.theme)
        spots, brushes = [], []
        for entry in self.controller.scene.optimizers:
            path = self.controller.results.get(entry.label)
            if path is None or not entry.visible:
                continue
            k = min(step, path.steps)
            if path.diverged_at is not None and k >= path.diverged_at:
                continue  # its curve has ended; the cross marks it
            spots.append((k, float(self._transformed(path)[k])))
            brushes.append(self._brush(colors[entry.label]))
        if spots:
            self.heads.setData(
                pos=np.array(spots),
                brush=brushes,
                size=round(self.theme.head_size * 0.7),
                pen=self._head_pen(),
            )
        else:
            self.heads.setData([])


class DataView(pg.PlotWidget):
    """The data and each optimizer's current model, for problems that fit data.

    The points are the user's to edit: click empty space to add one, drag one to move it,
    right-click one (or hover it and press Delete) to remove it. A drag is a live edit: the
    surface's paths and minimum follow every move; the loss plot, these lines and the statuses
    follow at the drag rate and exactly on release, as for a start-point drag. Pointer moves
    are coalesced: the newest position is applied once the event queue is empty, so a slow
    update never queues moves behind itself.

    Signals:
      hovered(str): what the pointer is over and what a click would do ("" when outside).
    """

    hovered = Signal(str)
    GRID = 120
    HIT_SLACK = 5
    """Pixels around a point's disc that still grab it."""

    def __init__(self, controller: Controller, theme: Theme = LIGHT) -> None:
        super().__init__(background=theme.background, enableMenu=False)
        self.controller = controller
        self.theme = theme
        self.plot = self.getPlotItem()
        self.vb = self.plot.getViewBox()
        _style(self.plot, theme, "Data and fitted model", "x", "y")
        self.points = Scatter(pxMode=True)
        self.points.setZValue(5)
        # Still during playback, under nine lines that move every step: a cached pixmap, not
        # a hundred symbols drawn again each frame.
        cache_static(self.points)
        self.plot.addItem(self.points)
        # The point under the pointer (or the one last clicked): a ring over it.
        self.marker = Scatter(pxMode=True)
        self.marker.setZValue(30)
        self.plot.addItem(self.marker, ignoreBounds=True)
        self.hover: int | None = None  # the point under the pointer
        self.selected: int | None = None  # the point last clicked or dragged
        self.dragging: int | None = None  # the point being dragged
        self._style_points()
        self.lines: dict[str, Curve] = {}
        self._xs = np.linspace(0.0, 1.0, self.GRID)
        self._pending: QPointF | None = None  # the newest pointer position of the drag
        self._apply_timer = QTimer(self, singleShot=True, interval=0)
        self._apply_timer.timeout.connect(self._apply_pending)
        self._own_edit = False  # the data change came from this view (keep its range)
        controller.entries_changed.connect(self.rebuild)
        controller.scene_changed.connect(self._on_scene_changed)
        controller.problem_changed.connect(self._on_data_changed)
        self.throttle = Throttle(self.update_lines, parent=self)
        follow_drags(self.throttle, controller, phase=0.5)  # half a beat after the loss plot
        controller.results_changed.connect(self.throttle)
        controller.step_changed.connect(lambda _: self.update_lines(every_step=True))
        self.scene().sigMouseClicked.connect(self._on_clicked)
        self.setMouseTracking(True)
        self.viewport().setMouseTracking(True)
        self._data: tuple[np.ndarray, np.ndarray] | None = None
        self._cache_key: object = None
        self._cache = np.empty((0, 0, 0))
        self.rebuild()

    @property
    def applicable(self) -> bool:
        return self.controller.problem.predict_fn is not None

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.setBackground(theme.background)
        _style(self.plot, theme, "Data and fitted model", "x", "y")
        self._style_points()
        self.rebuild()
        self.update_lines()

    def _point_size(self) -> int:
        """Large enough to grab on a projector: about the size of a path's head."""
        return max(11, round(0.8 * self.theme.head_size))

    def _style_points(self) -> None:
        grey = 200 if self.theme.dark else 90
        edge = self.theme.background
        self.points.setBrush(pg.mkBrush(grey, grey, grey, 170))
        self.points.setPen(pg.mkPen(edge, width=1.2))
        self.points.setSize(self._point_size())
        self.marker.setPen(pg.mkPen(self.theme.foreground, width=2.5))
        self.marker.setBrush(pg.mkBrush(grey, grey, grey, 230))
        self.marker.setSize(self._point_size() + 8)
        self._update_marker()

    def rebuild(self) -> None:
        for line in self.lines.values():
            self.plot.removeItem(line)
        self.lines.clear()
        colors = self.controller.colors(self.theme)
        for entry in self.controller.scene.optimizers:
            line = Curve(pg.mkPen(colors[entry.label], width=self.theme.trail_width))
            self.plot.addItem(line)
            self.lines[entry.label] = line
        self._on_scene_changed()

    def _on_scene_changed(self) -> None:
        colors = self.controller.colors(self.theme)
        for entry in self.controller.scene.optimizers:
            line = self.lines.get(entry.label)
            if line is not None:
                set_pen_color(line, colors[entry.label], self.theme.trail_width)
        self._on_data_changed()

    def _on_data_changed(self) -> None:
        """New points (a drag, an added or removed point, a file, a new scene): draw them; fit
        the range unless the change came from editing here (a point must stay under the
        pointer), where the range only grows to take in a point outside it."""
        problem = self.controller.problem
        x, y = problem.x, problem.y
        if x is None or y is None:
            self._data = None
            return
        if self._data is not None and self._data[0] is x and self._data[1] is y:
            return  # the same points (a minima search finished): the lines follow results
        self._data = (x, y)  # held, not an id: a freed array's id can come back
        self.points.setData(x, y)
        n = len(x)
        for name in ("hover", "selected"):
            if (getattr(self, name) or 0) >= n:
                setattr(self, name, None)
        self._update_marker()
        if self._own_edit:
            self._take_in(x, y)
        else:
            self.fit_data()

    def fit_data(self) -> None:
        """Show every point, with a margin, and the models over that x range."""
        x, y = self.controller.problem.x, self.controller.problem.y
        if x is None or y is None:
            return
        lo, hi = float(x.min()), float(x.max())
        pad = 0.05 * (hi - lo) if hi > lo else 1.0
        ylo, yhi = float(y.min()), float(y.max())
        ypad = 0.15 * (yhi - ylo) if yhi > ylo else 1.0
        self._xs = np.linspace(lo - pad, hi + pad, self.GRID)
        self.plot.setRange(xRange=(lo - pad, hi + pad), yRange=(ylo - ypad, yhi + ypad), padding=0)
        self.update_lines()

    def _take_in(self, x: np.ndarray, y: np.ndarray) -> None:
        """After an edit here: grow the range (never shrink it) to hold every point."""
        (x0, x1), (y0, y1) = self.vb.viewRange()
        lo, hi = min(x0, float(x.min())), max(x1, float(x.max()))
        ylo, yhi = min(y0, float(y.min())), max(y1, float(y.max()))
        # Mid-drag the range holds still: the point stays under the pointer.
        if (lo, hi, ylo, yhi) != (x0, x1, y0, y1) and self.dragging is None:
            self.plot.setRange(xRange=(lo, hi), yRange=(ylo, yhi), padding=0.05)
        if lo < self._xs[0] or hi > self._xs[-1]:
            self._xs = np.linspace(lo, hi, self.GRID)

    def _every_step(self, shown: list) -> np.ndarray:  # noqa: ANN001
        """Every entry's model at every step, ``(entries, steps + 1, len(xs))``: one call when
        playback starts on new paths, then each frame only indexes (a call per frame was ~3 ms)."""
        ctl = self.controller
        key = (id(ctl.results), tuple(e.label for e, _ in shown), self._xs[0], self._xs[-1])
        if key != self._cache_key:
            params = np.stack([path.params for _, path in shown])  # (entries, steps + 1, 2)
            flat = predictions(ctl.problem, params.reshape(-1, 2), self._xs)
            self._cache = flat.reshape(len(shown), params.shape[1], -1)
            self._cache_key = key
        return self._cache

    def update_lines(self, every_step: bool = False) -> None:
        """The model of every entry at the playback step. ``every_step``: the step moved and the
        paths did not (playback, a scrub): read the models from a table of every step."""
        ctl = self.controller
        if not self.applicable or ctl.jax_pending:  # (the models wait for JAX: the first seconds)
            return
        shown = [(e, ctl.results[e.label]) for e in ctl.scene.optimizers if e.label in ctl.results]
        if not shown:
            for line in self.lines.values():
                line.setData([], [])
            return
        if every_step and len(shown) * (ctl.steps + 1) <= 20_000:  # cache ≤ 20 MB
            ys = self._every_step(shown)[:, ctl.step]
        else:
            params = np.array([path.params[min(ctl.step, path.steps)] for _, path in shown])
            ys = predictions(ctl.problem, params, self._xs)
        # Every line's bounds at once (a line with a non-finite value works its own out).
        finite = np.isfinite(ys).all(axis=1) & bool(np.isfinite(self._xs).all())
        x0, x1 = float(self._xs.min()), float(self._xs.max())
        lows, highs = ys.min(axis=1).tolist(), ys.max(axis=1).tolist()
        for i, ((entry, _), y) in enumerate(zip(shown, ys, strict=True)):
            line = self.lines[entry.label]
            xs, before = line.getData()
            # A run that has ended (converged, diverged) draws the same line every step: its
            # setData would repaint the plot under it for nothing.
            if xs is not self._xs or not np.array_equal(before, y):
                line.setData(self._xs, y, (x0, x1, lows[i], highs[i]) if finite[i] else None)
            line.setVisible(entry.visible)

    # --- editing the points -----------------------------------------------------------------

    def device_points(self) -> np.ndarray:
        """``(n, 2)``: every data point's position in the viewport, in pixels."""
        x, y = self.controller.problem.x, self.controller.problem.y
        if x is None or y is None:
            return np.empty((0, 2))
        t = self.vb.childGroup.sceneTransform() * self.viewportTransform()
        px = t.m11() * x + t.m21() * y + t.dx()
        py = t.m12() * x + t.m22() * y + t.dy()
        return np.column_stack([px, py])

    def point_at(self, pos: QPointF) -> int | None:
        """The data point drawn under viewport position ``pos`` (the nearest of several)."""
        if not self.applicable:
            return None
        pts = self.device_points()
        if not len(pts):
            return None
        d2 = (pts[:, 0] - pos.x()) ** 2 + (pts[:, 1] - pos.y()) ** 2
        i = int(np.argmin(d2))
        reach = self._point_size() / 2 + self.HIT_SLACK
        return i if d2[i] <= reach * reach else None

    def _to_data(self, pos: QPointF | QPoint) -> tuple[float, float]:
        """Viewport position ``pos`` in data units."""
        p = self.vb.mapSceneToView(self.mapToScene(QPointF(pos).toPoint()))
        return (float(p.x()), float(p.y()))

    def _in_plot(self, pos: QPointF | QPoint) -> bool:
        return self.vb.sceneBoundingRect().contains(self.mapToScene(QPointF(pos).toPoint()))

    def _update_marker(self) -> None:
        i = self.dragging if self.dragging is not None else self.hover
        if i is None:
            i = self.selected
        x, y = self.controller.problem.x, self.controller.problem.y
        if i is None or x is None or y is None or i >= len(x):
            self.marker.setData([])
        else:
            self.marker.setData([float(x[i])], [float(y[i])])

    def _set_hover(self, i: int | None, pos: QPointF | None) -> None:
        if i != self.hover:
            self.hover = i
            self._update_marker()
        inside = pos is not None and self._in_plot(pos) and self.applicable
        if self.dragging is not None:
            cursor = Qt.CursorShape.ClosedHandCursor
        elif i is not None:
            cursor = Qt.CursorShape.OpenHandCursor
        elif inside:
            cursor = Qt.CursorShape.CrossCursor
        else:
            cursor = Qt.CursorShape.ArrowCursor
        if self.viewport().cursor().shape() != cursor:
            self.viewport().setCursor(cursor)
        if not inside:
            self.hovered.emit("")
            return
        x, y = self.controller.problem.x, self.controller.problem.y
        if i is not None and x is not None and y is not None:
            self.hovered.emit(
                f"point {i + 1} of {len(x)}:  x = {x[i]:.4g}   y = {y[i]:.4g}    "
                "drag to move · right-click or Delete to remove"
            )
        else:
            px, py = self._to_data(pos)  # type: ignore[arg-type]
            self.hovered.emit(f"x = {px:.4g}   y = {py:.4g}    click to add a point here")

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt's name)
        pos = event.position()
        i = self.point_at(pos) if self._in_plot(pos) else None
        if i is not None and event.button() == Qt.MouseButton.LeftButton:
            self.begin_point_drag(i)
            event.accept()
            return
        if i is not None and event.button() == Qt.MouseButton.RightButton:
            event.accept()
            self.remove_point(i)
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt's name)
        if self.dragging is not None:
            self._pending = event.position()
            if not self._apply_timer.isActive():
                self._apply_timer.start()  # once the queue is empty: the newest move wins
            event.accept()
            return
        super().mouseMoveEvent(event)
        if not event.buttons():
            self._set_hover(self.point_at(event.position()), event.position())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt's name)
        if self.dragging is not None and event.button() == Qt.MouseButton.LeftButton:
            self._pending = event.position()
            self.end_point_drag()
            event.accept()
            self._set_hover(self.point_at(event.position()), event.position())
            return
        super().mouseReleaseEvent(event)

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt's name)
        super().leaveEvent(event)
        if self.dragging is None:
            self._set_hover(None, None)

    def begin_point_drag(self, i: int) -> None:
        self.dragging = self.selected = i
        self._pending = None
        self.controller.begin_drag()
        self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
        self._update_marker()

    def drag_point(self, x: float, y: float) -> bool:
        """Move the dragged point to ``(x, y)`` in data units: one live edit."""
        if self.dragging is None:
            return False
        self._own_edit = True
        try:
            done = self.controller.move_point(self.dragging, (x, y))
        finally:
            self._own_edit = False
        self._update_marker()
        xs, ys = self.controller.problem.x, self.controller.problem.y
        if xs is not None and ys is not None:
            i = self.dragging
            self.hovered.emit(f"point {i + 1} of {len(xs)}:  x = {xs[i]:.4g}   y = {ys[i]:.4g}")
        return done

    def _apply_pending(self) -> None:
        pos, self._pending = self._pending, None
        if pos is not None and self.dragging is not None:
            self.drag_point(*self._to_data(pos))

    def end_point_drag(self) -> None:
        """The button came up: the last position applied, then every view made exact."""
        self._apply_timer.stop()
        self._apply_pending()
        self.dragging = None
        self._own_edit = True
        try:
            self.controller.end_drag()
        finally:
            self._own_edit = False
        x, y = self.controller.problem.x, self.controller.problem.y
        if x is not None and y is not None:
            self._take_in(x, y)
        self._update_marker()

    def _on_clicked(self, event) -> None:  # noqa: ANN001 (pyqtgraph's MouseClickEvent)
        """A click on empty space inside the plot adds a point there."""
        if event.button() != Qt.MouseButton.LeftButton or event.double() or not self.applicable:
            return
        if not self.vb.sceneBoundingRect().contains(event.scenePos()):
            return
        p = self.vb.mapSceneToView(event.scenePos())
        self.add_point(float(p.x()), float(p.y()))

    def add_point(self, x: float, y: float) -> bool:
        self._own_edit = True
        try:
            done = self.controller.add_point((x, y))
        finally:
            self._own_edit = False
        if done:
            self.selected = self.controller.problem.n - 1
            self._update_marker()
        return done

    def remove_current_point(self) -> bool:
        """Delete: remove the point under the pointer, else the one last clicked or dragged."""
        i = self.hover if self.hover is not None else self.selected
        if i is None:
            self.hovered.emit("Point at a data point (or click one) to remove it")
            return False
        return self.remove_point(i)

    def remove_point(self, i: int) -> bool:
        """Remove data point ``i``."""
        if not self.applicable:
            return False
        self._own_edit = True
        try:
            done = self.controller.remove_point(i)
        finally:
            self._own_edit = False
        if done:
            self.hover = None
            self.selected = None
            self._update_marker()
        return done
