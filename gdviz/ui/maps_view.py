"""Basin and stability maps in the window: a layer on the 2-D surface and a "Stability" view.

Both are computed by :mod:`gdviz.core.basins` on the window's one map worker
(:class:`gdviz.ui.map_worker.MapRunner`), coarse first (64², then 128², then 256²), and drawn as
image textures with the colours of :mod:`gdviz.ui.maps` (the ``gdviz basins`` / ``gdviz
stability`` pictures' colours: one per minimum, paler when reached later, diverged black).

What a map depends on decides when it is computed again. A basin map runs every start of the
view, so it depends on the entry's settings, the problem, the steps, seed and convention and the
visible rectangle, but **not on the start**: dragging the start keeps it. A stability map runs
one start over a grid of two hyperparameters, so it depends on the start and on the entry's
*other* settings, but not on the two values it maps: clicking it moves the marker, not the map.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from gdviz.core import RULES, Scene
from gdviz.core.basins import BasinMap, StabilityMap, basins, default_range, stability
from gdviz.core.problems import Rect
from gdviz.ui.controller import Controller
from gdviz.ui.items import cache_axes, cache_static
from gdviz.ui.map_worker import MapJob, MapRunner
from gdviz.ui.maps import (
    DIVERGED_COLOR,
    LOSS_STOPS,
    UNDER_PATHS_FADE,
    basin_legend,
    basin_rgb,
    hyper_name,
    log_ticks,
    loss_lut,
    loss_range,
    minimum_color,
    stability_rgb,
    theory_curve,
    tick_text,
)
from gdviz.ui.theme import LIGHT, Theme, rgb

RESOLUTIONS = (64, 128, 256)
"""Each map is computed at these resolutions in turn, the first shown at once."""

BASIN_OPACITY = 0.62
"""The basin texture over the heatmap: the colours read, and the contours and the surface's
light and dark still show through."""


def _scene_key(scene: Scene) -> tuple[object, ...]:
    """What every map of ``scene`` depends on besides the entry (all values hashable)."""
    return (
        scene.problem,
        tuple(sorted(scene.problem_params.items())),
        scene.steps,
        scene.seed,
        scene.convention,
    )


def _entry_key(scene: Scene, label: str, skip: Sequence[str] = ()) -> tuple[object, ...]:
    """An entry's settings a map depends on: rule, hyperparameters (but ``skip``), batching."""
    entry = scene.entry(label)
    hyper = entry.resolved_hyperparams(scene.convention)
    return (
        label,
        entry.rule,
        tuple(sorted((k, v) for k, v in hyper.items() if k not in skip)),
        entry.batch_size,
        entry.gradient_noise,
    )


def default_label(scene: Scene, wanted: str | None, usable: set[str] | None = None) -> str | None:
    """``wanted`` if the scene has it, else the first visible (usable) entry, else the first."""
    labels = [e.label for e in scene.optimizers if usable is None or e.label in usable]
    if wanted in labels:
        return wanted
    visible = [e.label for e in scene.optimizers if e.visible and e.label in labels]
    return (visible or labels or [None])[0]


def _panel_style(theme: Theme) -> str:
    r, g, b = rgb(theme.background)
    return (
        f"QFrame#mapKey {{ background: rgba({r}, {g}, {b}, 225); border-radius: 6px;"
        f" border: 1px solid {theme.foreground}40; }}"
        f" QLabel {{ color: {theme.foreground}; background: transparent; border: none; }}"
    )


def _swatch(color: str, size: int, ink: str) -> QLabel:
    swatch = QLabel()
    swatch.setFixedSize(size, size)
    swatch.setStyleSheet(f"background: {color}; border: 1px solid {ink}; border-radius: 2px;")
    return swatch


class BasinLayer:
    """View > Basins: where every start of the view ends for one optimizer, over the heatmap.

    The texture lies between the heatmap and the contours, under the trails and the minima's
    markers, which take their basin's colour while the layer is on. A key in the view's top-left
    corner picks the optimizer, names each colour's minimum and shows the progress.
    """

    def __init__(
        self,
        view: pg.PlotWidget,
        runner: MapRunner,
        resolutions: Sequence[int] = RESOLUTIONS,
    ) -> None:
        self.view = view
        self.controller: Controller = view.controller
        self.runner = runner
        self.resolutions = tuple(resolutions)
        self.enabled = False
        self.label: str | None = None
        self.map: BasinMap | None = None
        self.job: MapJob | None = None
        self.ready = False  # the current job's map is shown at its finest resolution
        self._key: object = None
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-7)  # over the heatmap (-10), under the contours (-5) and trails
        self.image.setOpacity(BASIN_OPACITY)
        self.image.setVisible(False)
        view.plot.addItem(self.image, ignoreBounds=True)
        cache_static(self.image)

        self.panel = QFrame(view)
        self.panel.setObjectName("mapKey")
        column = QVBoxLayout(self.panel)
        column.setContentsMargins(10, 6, 10, 8)
        column.setSpacing(4)
        top = QHBoxLayout()
        top.setSpacing(6)
        self.heading = QLabel("Basins of")
        self.choice = QComboBox()
        self.choice.setToolTip("The optimizer whose basins are drawn")
        self.choice.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay the window's shortcuts
        self.choice.activated.connect(lambda _: self._choose(self.choice.currentText()))
        self.status = QLabel()
        top.addWidget(self.heading)
        top.addWidget(self.choice)
        top.addWidget(self.status)
        top.addStretch(1)
        column.addLayout(top)
        self.key = QGridLayout()
        self.key.setHorizontalSpacing(6)
        self.key.setVerticalSpacing(2)
        column.addLayout(self.key)
        self.panel.hide()

        self._restart_timer = QTimer(view, singleShot=True, interval=200)
        self._restart_timer.timeout.connect(self.refresh)
        ctl = self.controller
        ctl.entries_changed.connect(self._on_entries_changed)
        ctl.scene_changed.connect(self.refresh)
        ctl.problem_changed.connect(self.refresh)
        ctl.scene_replaced.connect(self._on_scene_replaced)
        view.vb.sigRangeChanged.connect(lambda *_: self._restart_timer.start())
        view.vb.sigResized.connect(lambda *_: self._place())
        runner.produced.connect(self._on_produced)
        runner.progress.connect(self._on_progress)
        runner.failed.connect(self._on_failed)
        self.set_theme(view.theme)

    # --- state ----------------------------------------------------------------------------------

    def set_enabled(self, on: bool) -> None:
        """Show the layer (computing its map) or hide it (cancelling the computation)."""
        if on == self.enabled:
            return
        self.enabled = on
        if on:
            self._fill_choice()
            self.panel.show()
            self._place()
            self.refresh()
        else:
            self.runner.cancel("basins")
            self.job, self._key = None, None
            self.image.setVisible(False)
            self.panel.hide()
        self.view._draw_minima()  # the markers take (or give back) their basins' colours

    def _choose(self, label: str) -> None:
        if label and label != self.label:
            self.label = label
            self.choice.setCurrentText(label)
            self._clear()
            self.refresh()

    def _on_entries_changed(self) -> None:
        self._fill_choice()
        self.refresh()

    def _on_scene_replaced(self) -> None:
        self.label = None
        self._clear()
        self._fill_choice()
        self.refresh()

    def _fill_choice(self) -> None:
        scene = self.controller.scene
        self.label = default_label(scene, self.label)
        self.choice.blockSignals(True)
        self.choice.clear()
        self.choice.addItems([e.label for e in scene.optimizers])
        if self.label is not None:
            self.choice.setCurrentText(self.label)
        self.choice.blockSignals(False)
        self.choice.adjustSize()
        self.panel.adjustSize()

    def _clear(self) -> None:
        self.map = None
        self.image.setVisible(False)

    def rect(self) -> Rect:
        return self.view.visible_rect()

    def current_key(self) -> object:
        scene = self.controller.scene
        if self.label is None:
            return None
        return (_scene_key(scene), _entry_key(scene, self.label), self.rect())

    def refresh(self) -> None:
        """Start the map again if what it depends on changed (never for a moved start)."""
        if not self.enabled:
            return
        scene = self.controller.scene
        if self.label is None or self.label not in [e.label for e in scene.optimizers]:
            self._fill_choice()
        key = self.current_key()
        if key is None:
            self._clear()
            self.status.setText("no optimizer")
            return
        if key == self._key:
            return
        previous = self._key
        self._key = key
        # Another optimizer or problem: the old colours would mislead. (A new learning rate or a
        # zoom keeps the old map until the new one's first resolution replaces it.)
        if previous is not None and (previous[1][0] != key[1][0] or previous[0][:2] != key[0][:2]):
            self._clear()
        map_scene = scene.replace(view=self.rect())
        label = self.label

        def compute(resolution, should_stop, progress):  # noqa: ANN001, ANN202
            return basins(
                map_scene, resolution, labels=[label], should_stop=should_stop, progress=progress
            )

        self.job = MapJob("basins", key, compute, self.resolutions, label)
        self.ready = False
        self.status.setText(f"{self.resolutions[0]}² …")
        self.runner.submit(self.job)

    # --- results --------------------------------------------------------------------------------

    def _on_produced(self, job: MapJob, resolution: int, m: object) -> None:
        if job is not self.job or not isinstance(m, BasinMap):
            return
        self.map = m
        colors = basin_rgb(m.outcome[0], m.settle_step[0], m.steps, UNDER_PATHS_FADE)
        (x0, x1), (y0, y1) = m.rect
        self.image.setImage(colors, autoLevels=False, levels=(0, 255))
        self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        self.image.setVisible(True)
        last = resolution == self.resolutions[-1]
        self.ready = last
        self.status.setText(
            f"{resolution}²" if last else f"{resolution}² · next {self._next(resolution)}² …"
        )
        self._fill_key(m)

    def _next(self, resolution: int) -> int:
        i = self.resolutions.index(resolution)
        return self.resolutions[min(i + 1, len(self.resolutions) - 1)]

    def _on_progress(self, job: MapJob, resolution: int, done: int, total: int) -> None:
        if job is self.job and total > 1:
            self.status.setText(f"{resolution}² · {round(100 * done / total)}%")

    def _on_failed(self, job: MapJob, message: str) -> None:
        if job is self.job:
            self.status.setText("could not compute")
            self.status.setToolTip(message)

    def _fill_key(self, m: BasinMap) -> None:
        while self.key.count():
            item = self.key.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        size = max(12, round(self.view.theme.plot_font_pt * 1.15))
        rows = basin_legend(m.minima, m.outcome[0])
        columns = 2 if len(rows) > 4 else 1
        for i, (color, text) in enumerate(rows):
            r, c = divmod(i, columns)
            self.key.addWidget(_swatch(color, size, self.view.theme.foreground), r, 2 * c)
            self.key.addWidget(QLabel(text), r, 2 * c + 1)
        note = QLabel("paler: reached later")
        note.setObjectName("note")
        self.key.addWidget(note, math.ceil(len(rows) / columns), 0, 1, 2 * columns)
        for i in range(self.key.count()):
            widget = self.key.itemAt(i).widget()
            if widget is not None:
                widget.show()  # now, not queued: the panel is sized to them below
        self._style_fonts()
        self._place()

    def pixel_centre(self, x: float, y: float) -> tuple[float, float] | None:
        """The centre of the map's pixel under ``(x, y)``, or None off the map."""
        m = self.map
        if not self.enabled or m is None:
            return None
        (x0, x1), (y0, y1) = m.rect
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            return None
        n = m.resolution
        j = min(n - 1, int((x - x0) / (x1 - x0) * n))
        i = min(n - 1, int((y - y0) / (y1 - y0) * n))
        return float(m.xs[j]), float(m.ys[i])

    def minimum_fills(self) -> list[str] | None:
        """The colours the minima's markers take while the layer is on."""
        if not self.enabled:
            return None
        return [minimum_color(j) for j in range(len(self.controller.problem.minima))]

    # --- looks ----------------------------------------------------------------------------------

    def set_theme(self, theme: Theme) -> None:
        self.panel.setStyleSheet(_panel_style(theme))
        self._style_fonts()
        if self.map is not None:
            self._fill_key(self.map)

    def _style_fonts(self) -> None:
        theme = self.view.theme
        font = QFont()
        font.setPointSize(theme.plot_font_pt)
        small = QFont(font)
        small.setPointSize(max(theme.plot_font_pt - 2, 7))
        for widget in (self.heading, self.choice, self.status):
            widget.setFont(font)
        self.heading.setStyleSheet("font-weight: bold;")
        for label in self.panel.findChildren(QLabel):
            if label not in (self.heading, self.status):
                label.setFont(small if label.objectName() == "note" else font)
        self.choice.adjustSize()

    def _place(self) -> None:
        """Top left of the plot area, clear of the axis."""
        if not self.panel.isVisible():
            return
        area = self.view.vb.sceneBoundingRect()
        origin = self.view.mapFromScene(area.topLeft())
        self.panel.layout().activate()
        self.panel.resize(self.panel.sizeHint())
        self.panel.move(origin.x() + 10, origin.y() + 10)
        self.panel.raise_()


class StabilityView(QWidget):
    """The "Stability" tab: one optimizer's final loss over a grid of two of its hyperparameters.

    The x axis is the learning rate (log), the y axis another hyperparameter (momentum when the
    rule has one). Diverged runs are black; a marker shows the entry's own setting, and on a
    quadratic with heavy-ball momentum the theory's boundary is drawn over the map. A click sets
    the entry's two hyperparameters to the pixel's values; the paths follow.
    """

    def __init__(
        self,
        controller: Controller,
        runner: MapRunner,
        theme: Theme = LIGHT,
        resolutions: Sequence[int] = RESOLUTIONS,
    ) -> None:
        super().__init__()
        self.controller = controller
        self.runner = runner
        self.theme = theme
        self.resolutions = tuple(resolutions)
        self.label: str | None = None
        self.y_axis: str | None = None
        self.map: StabilityMap | None = None
        self.job: MapJob | None = None
        self.ready = False  # the current job's map is shown at its finest resolution
        self._key: object = None
        self._ranges: dict[tuple[str, str, str], tuple[tuple[float, float], ...]] = {}

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        bar = QWidget()
        row = QHBoxLayout(bar)
        row.setContentsMargins(10, 6, 10, 4)
        self.heading = QLabel("Stability of")
        self.choice = QComboBox()
        self.choice.setToolTip("The optimizer whose hyperparameters are mapped")
        self.choice.activated.connect(lambda _: self._choose(self.choice.currentText()))
        self.against = QLabel("over η and")
        self.axis_choice = QComboBox()
        self.axis_choice.setToolTip("The hyperparameter on the vertical axis")
        self.axis_choice.activated.connect(lambda _: self._choose_axis())
        self.status = QLabel()
        for widget in (self.heading, self.choice, self.against, self.axis_choice, self.status):
            row.addWidget(widget)
        row.addStretch(1)
        layout.addWidget(bar)
        self.bar = bar

        self.canvas = pg.GraphicsLayoutWidget()
        layout.addWidget(self.canvas, 1)
        self.plot = pg.PlotItem(enableMenu=False)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.getViewBox().setDefaultPadding(0.0)
        self.canvas.addItem(self.plot, 0, 0)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-10)
        self.plot.addItem(self.image)
        lut = loss_lut(LOSS_STOPS)
        self.colorbar = pg.ColorBarItem(
            values=(0.0, 1.0),
            colorMap=pg.ColorMap(np.linspace(0, 1, len(lut)), lut),
            interactive=False,
            width=18,
            colorMapMenu=False,
        )
        self.canvas.addItem(self.colorbar, 0, 1)
        self.curve_under = pg.PlotCurveItem(pen=pg.mkPen("#000000", width=6))
        self.curve = pg.PlotCurveItem(
            pen=pg.mkPen("#FFFFFF", width=2.5, style=Qt.PenStyle.DashLine)
        )
        for z, item in ((5, self.curve_under), (6, self.curve)):
            item.setZValue(z)
            self.plot.addItem(item, ignoreBounds=True)
        self.marker = pg.ScatterPlotItem(pxMode=True)
        self.marker.setZValue(10)
        self.plot.addItem(self.marker, ignoreBounds=True)
        self.legend = pg.LegendItem(offset=(10, -10), labelTextSize="11pt")
        self.legend.setParentItem(self.plot.getViewBox())
        self.message = pg.TextItem(anchor=(0.5, 0.5))
        self.message.setParentItem(self.plot.getViewBox())
        cache_axes(self.plot)
        cache_static(self.image, self.colorbar)
        self.canvas.scene().sigMouseClicked.connect(self._on_clicked)
        self.plot.getViewBox().sigResized.connect(lambda *_: self._place_message())

        ctl = controller
        ctl.entries_changed.connect(self._on_entries_changed)
        ctl.scene_changed.connect(self.refresh)
        ctl.start_changed.connect(self.refresh)
        ctl.problem_changed.connect(self.refresh)
        ctl.drag_finished.connect(self.refresh)
        ctl.scene_replaced.connect(self._on_scene_replaced)
        runner.produced.connect(self._on_produced)
        runner.progress.connect(self._on_progress)
        runner.failed.connect(self._on_failed)
        self._fill_choice()
        self.set_theme(theme)

    # --- choosing -------------------------------------------------------------------------------

    def usable(self) -> set[str]:
        """Entries with a second hyperparameter to map against the learning rate."""
        return {
            e.label for e in self.controller.scene.optimizers if len(RULES[e.rule].hyperparams) > 1
        }

    def _fill_choice(self) -> None:
        scene = self.controller.scene
        usable = self.usable()
        self.label = default_label(scene, self.label, usable) if usable else None
        self.choice.blockSignals(True)
        self.choice.clear()
        self.choice.addItems([e.label for e in scene.optimizers if e.label in usable])
        if self.label is not None:
            self.choice.setCurrentText(self.label)
        self.choice.blockSignals(False)
        self._fill_axes()

    def _fill_axes(self) -> None:
        self.axis_choice.blockSignals(True)
        self.axis_choice.clear()
        if self.label is None:
            self.y_axis = None
        else:
            entry = self.controller.scene.entry(self.label)
            names = [h.name for h in RULES[entry.rule].hyperparams if h.name != "learning_rate"]
            if self.y_axis not in names:
                self.y_axis = "momentum" if "momentum" in names else names[0]
            for name in names:
                self.axis_choice.addItem(hyper_name(entry.rule, name), name)
            self.axis_choice.setCurrentIndex(names.index(self.y_axis))
        self.axis_choice.blockSignals(False)

    def _choose(self, label: str) -> None:
        if label and label != self.label:
            self.label = label
            self._fill_axes()
            self._clear()
            self.refresh()

    def _choose_axis(self) -> None:
        name = self.axis_choice.currentData()
        if name and name != self.y_axis:
            self.y_axis = name
            self._clear()
            self.refresh()

    def _on_entries_changed(self) -> None:
        self._fill_choice()
        self.refresh()

    def _on_scene_replaced(self) -> None:
        self.label, self.y_axis = None, None
        self._ranges.clear()
        self._clear()
        self._fill_choice()
        self.refresh()

    @property
    def axes(self) -> tuple[str, str] | None:
        if self.label is None or self.y_axis is None:
            return None
        return ("learning_rate", self.y_axis)

    def ranges(self) -> tuple[tuple[float, float], ...]:
        """The map's ranges: the core's default around the entry's values when first mapped,
        kept while its values move inside them (a click must not move the map under the
        pointer), made afresh when a value leaves them."""
        scene = self.controller.scene
        assert self.label is not None and self.axes is not None
        entry = scene.entry(self.label)
        values = entry.resolved_hyperparams(scene.convention)
        key = (self.label, entry.rule, self.axes[1])
        kept = self._ranges.get(key)
        if kept is None or any(
            not lo <= values[name] <= hi for name, (lo, hi) in zip(self.axes, kept, strict=True)
        ):
            kept = tuple(default_range(entry, scene.convention, name) for name in self.axes)
            self._ranges[key] = kept
        return kept

    # --- computing ------------------------------------------------------------------------------

    def current_key(self) -> object:
        scene = self.controller.scene
        if self.axes is None or self.label not in [e.label for e in scene.optimizers]:
            return None
        entry = scene.entry(self.label)
        return (
            _scene_key(scene),
            _entry_key(scene, self.label, skip=self.axes),
            scene.start_of(entry),
            scene.view_rect(),
            self.axes,
            self.ranges(),
        )

    def refresh(self) -> None:
        """Start the map again if what it depends on changed; only while the tab is shown."""
        self._show_marker()
        if not self.isVisible() or self.controller.dragging:
            return  # showEvent and drag_finished catch up
        if self.label is not None and self.label not in [
            e.label for e in self.controller.scene.optimizers
        ]:
            self._fill_choice()
        key = self.current_key()
        if key is None:
            self._clear()
            self._say(
                "Stability maps need an optimizer with two hyperparameters\n"
                "(gradient descent has only the learning rate η)."
            )
            self.status.setText("")
            return
        if key == self._key:
            return
        self._key = key
        self._say("")
        scene, label, axes, ranges = self.controller.scene, self.label, self.axes, self.ranges()

        def compute(resolution, should_stop, progress):  # noqa: ANN001, ANN202
            return stability(
                scene,
                label,
                axes=axes,
                ranges=ranges,
                resolution=resolution,
                should_stop=should_stop,
                progress=progress,
            )

        self.job = MapJob("stability", key, compute, self.resolutions, label)
        self.ready = False
        self.status.setText(f"{self.resolutions[0]}² …")
        self.runner.submit(self.job)

    def showEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt's name)
        super().showEvent(event)
        self.refresh()

    def hideEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt's name)
        super().hideEvent(event)
        if self.job is not None and self.runner.busy:
            self.runner.cancel("stability")
            if self.map is None or self.map.xs.size != self.resolutions[-1]:
                self._key = None  # unfinished: computed afresh when shown again

    def _clear(self) -> None:
        self.map = None
        self._key = None
        self.image.setVisible(False)
        self.curve.setData([], [])
        self.curve_under.setData([], [])

    def _on_produced(self, job: MapJob, resolution: int, m: object) -> None:
        if job is not self.job or not isinstance(m, StabilityMap):
            return
        self.map = m
        x0, x1 = self._to_view(m.ranges[0], 0, m)
        y0, y1 = self._to_view(m.ranges[1], 1, m)
        self.image.setImage(stability_rgb(m), autoLevels=False, levels=(0, 255))
        self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        self.image.setVisible(True)
        self.plot.getViewBox().setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.0)
        lo, hi = loss_range(m.final_loss)
        self.colorbar.setLevels((lo, hi))
        entry = self.controller.scene.entry(m.label)
        for axis, name, side in ((0, m.axes[0], "bottom"), (1, m.axes[1], "left")):
            ticks = None
            if m.scales[axis] == "log":
                # Ticks of our own on a log axis: the image lies in log10 units, and
                # pyqtgraph's log mode crowded a three-decade axis with minor labels.
                levels = log_ticks(*m.ranges[axis])
                ticks = [[(math.log10(v), tick_text(v)) for v in level] for level in levels]
            self.plot.getAxis(side).setTicks(ticks)
            self.plot.setLabel(side, hyper_name(entry.rule, name), **self._label_style())
        curve = theory_curve(m, self.controller.scene)
        if curve is not None:
            xs = self._to_view([c[0] for c in curve], 0, m)
            ys = self._to_view([c[1] for c in curve], 1, m)
            self.curve_under.setData(xs, ys)
            self.curve.setData(xs, ys)
        else:
            self.curve.setData([], [])
            self.curve_under.setData([], [])
        self._fill_legend(curve is not None)
        self._show_marker()
        last = resolution == self.resolutions[-1]
        self.ready = last
        self.status.setText(f"{resolution}²" if last else f"{resolution}² · sharper next …")

    def _on_progress(self, job: MapJob, resolution: int, done: int, total: int) -> None:
        if job is self.job and total > 1:
            self.status.setText(f"{resolution}² · {round(100 * done / total)}%")

    def _on_failed(self, job: MapJob, message: str) -> None:
        if job is self.job:
            self.status.setText("could not compute")
            self._say(message)

    @staticmethod
    def _to_view(
        values: Sequence[float] | tuple[float, float], axis: int, m: StabilityMap
    ) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        return np.log10(v) if m.scales[axis] == "log" else v

    def _show_marker(self) -> None:
        m = self.map
        if m is None or m.label not in [e.label for e in self.controller.scene.optimizers]:
            self.marker.setData([])
            return
        scene = self.controller.scene
        entry = scene.entry(m.label)
        values = entry.resolved_hyperparams(scene.convention)
        x = float(self._to_view([values[m.axes[0]]], 0, m)[0])
        y = float(self._to_view([values[m.axes[1]]], 1, m)[0])
        color = self.controller.colors(self.theme)[m.label]
        self.marker.setData(
            [
                {
                    "pos": (x, y),
                    "size": round(self.theme.head_size * 1.25),
                    "brush": pg.mkBrush(color),
                    "pen": pg.mkPen("#FFFFFF", width=3),
                    "symbol": "o",
                }
            ]
        )

    def _fill_legend(self, with_curve: bool) -> None:
        self.legend.clear()
        m = self.map
        if m is None:
            return
        scale = self.theme.head_size / 17
        diverged = pg.ScatterPlotItem(
            symbol="s",
            size=round(14 * scale),
            brush=pg.mkBrush(DIVERGED_COLOR),
            pen=pg.mkPen("#FFFFFF"),
        )
        self.legend.addItem(diverged, "diverged")
        if with_curve:
            self.legend.addItem(self.curve_under, "theory: η λₘₐₓ = 2 (1 + μ)")
        color = self.controller.colors(self.theme)[m.label]
        own = pg.ScatterPlotItem(
            symbol="o",
            size=round(self.theme.head_size),
            brush=pg.mkBrush(color),
            pen=pg.mkPen("#FFFFFF", width=2),
        )
        self.legend.addItem(own, f"{m.label}'s setting (click to move)")

    def _say(self, text: str) -> None:
        self.message.setText(text, color=self.theme.foreground)
        self.message.setVisible(bool(text))
        self._place_message()

    def _place_message(self) -> None:
        vb = self.plot.getViewBox()
        rect = vb.boundingRect()
        self.message.setPos(rect.center())

    # --- input ----------------------------------------------------------------------------------

    def pixel_values(self, x: float, y: float) -> tuple[float, float] | None:
        """The two hyperparameters of the map's pixel at view point ``(x, y)`` (None off it)."""
        m = self.map
        if m is None:
            return None
        (x0, x1), (y0, y1) = (self._to_view(m.ranges[a], a, m) for a in (0, 1))
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            return None
        n = len(m.xs)
        j = min(n - 1, int((x - x0) / (x1 - x0) * n))
        i = min(n - 1, int((y - y0) / (y1 - y0) * n))
        return float(m.xs[j]), float(m.ys[i])

    def _on_clicked(self, event) -> None:  # noqa: ANN001 (pyqtgraph's MouseClickEvent)
        if event.button() != Qt.MouseButton.LeftButton or self.map is None:
            return
        vb = self.plot.getViewBox()
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        p = vb.mapSceneToView(event.scenePos())
        self.set_from_pixel(p.x(), p.y())

    def set_from_pixel(self, x: float, y: float) -> bool:
        """Give the entry the hyperparameters of the pixel at view point ``(x, y)``."""
        values = self.pixel_values(x, y)
        m = self.map
        if values is None or m is None:
            return False
        for name, value in zip(m.axes, values, strict=True):
            self.controller.set_hyperparam(m.label, name, value)
        return True

    def view_point(self, hx: float, hy: float) -> QPointF:
        """Where hyperparameters ``(hx, hy)`` lie in the plot's coordinates."""
        m = self.map
        assert m is not None
        return QPointF(float(self._to_view([hx], 0, m)[0]), float(self._to_view([hy], 1, m)[0]))

    # --- looks ----------------------------------------------------------------------------------

    def _label_style(self) -> dict[str, str]:
        return {"font-size": f"{self.theme.plot_font_pt + 2}pt", "color": self.theme.foreground}

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.canvas.setBackground(theme.background)
        font = QFont()
        font.setPointSize(theme.plot_font_pt)
        small = QFont(font)
        small.setPointSize(max(theme.plot_font_pt - 2, 6))
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.enableAutoSIPrefix(False)  # "momentum (x0.001)" with ticks of 900 read wrongly
            axis.setTickFont(font)
            axis.setPen(pg.mkPen(theme.foreground))
            axis.setTextPen(pg.mkPen(theme.foreground))
        self.colorbar.axis.setTickFont(small)
        self.colorbar.axis.setPen(pg.mkPen(theme.foreground))
        self.colorbar.axis.setTextPen(pg.mkPen(theme.foreground))
        self.colorbar.axis.setWidth(round(4.2 * theme.plot_font_pt))
        self.colorbar.setLabel(
            "right",
            "log₁₀ final loss",
            **{"font-size": f"{theme.plot_font_pt - 1}pt", "color": theme.foreground},
        )
        self.plot.layout.setContentsMargins(4, round(0.8 * theme.plot_font_pt), 4, 4)
        bg = QColor(theme.background)
        bg.setAlpha(215)
        self.legend.setBrush(pg.mkBrush(bg))
        self.legend.setPen(pg.mkPen(theme.foreground))
        self.legend.setLabelTextColor(theme.foreground)
        self.legend.setLabelTextSize(f"{theme.plot_font_pt}pt")
        for widget in (self.heading, self.choice, self.against, self.axis_choice, self.status):
            widget.setFont(QFont(font))
        self.heading.setStyleSheet("font-weight: bold;")
        if self.map is not None:
            entry = self.controller.scene.entry(self.map.label)
            for name, side in ((self.map.axes[0], "bottom"), (self.map.axes[1], "left")):
                self.plot.setLabel(side, hyper_name(entry.rule, name), **self._label_style())
            self._fill_legend(self.curve.xData is not None and len(self.curve.xData) > 0)
        self._show_marker()
        if self.message.isVisible():
            self._say(self.message.textItem.toPlainText())
