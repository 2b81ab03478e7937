"""The 2-D surface view: heatmap, contours, minima, trails with their heads, start handles."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QLabel

from gdviz.core.firstpicture import SurfaceRequest
from gdviz.core.plane import PlaneSurface
from gdviz.core.problems import Rect
from gdviz.core.scene import MAX_COORD
from gdviz.core.surface import Surface, l2_term, loss_and_grad_at, surface
from gdviz.ui.controller import Controller
from gdviz.ui.items import (
    GhostLayer,
    Heads,
    Scatter,
    Trail,
    cache_axes,
    cache_static,
    colour_values,
    contour_lines,
    cover_depth,
    recache,
    set_pen_color,
)
from gdviz.ui.network import FaithfulnessReadout, network_surface
from gdviz.ui.overlays import STYLES, OverlaySet, geometry_by_entry
from gdviz.ui.theme import LIGHT, Theme

if TYPE_CHECKING:
    from gdviz.ui.maps_view import BasinLayer

RESOLUTION = 512
LIVE_RESOLUTION = 128
"""The heatmap's resolution while a data point is dragged (~5 ms for 100 points, against ~150)."""
LIVE_INTERVAL = 0.15
"""Seconds between two coarse heatmaps during a data-point drag."""
"""Heatmap grid points per axis: computed again for the visible rectangle after a zoom."""

CONTOUR_STRIDE = 4
"""Contours come from every fourth grid point: marching squares in Python is the slow part."""

CONTOUR_LEVELS = 12


def _grown(span: tuple[float, float], values: list[float]) -> tuple[float, float]:
    """``span`` grown to hold the finite ``values``, with 5% to spare on a side that grew."""
    lo, hi = span
    values = [v for v in values if math.isfinite(v)]
    low, high = min([lo, *values]), max([hi, *values])
    margin = 0.05 * (high - low)
    return (low - margin if low < lo else lo, high + margin if high > hi else hi)


class SurfaceView(pg.PlotWidget):
    """The loss surface over the two parameters, with everything drawn on it.

    Signals:
      hovered(str): a readout of the parameters and loss under the cursor ("" when outside).
    """

    hovered = Signal(str)

    def __init__(self, controller: Controller, theme: Theme = LIGHT) -> None:
        super().__init__(background=theme.background, enableMenu=False)
        self.controller = controller
        self.theme = theme
        self.plot = self.getPlotItem()
        self.plot.setMenuEnabled(False)
        self.plot.showGrid(x=False, y=False)
        self.plot.hideButtons()
        self.vb = self.plot.getViewBox()
        self.vb.setDefaultPadding(0.0)
        # Zoom and pan stay inside the box every door allows (a saved view must reopen).
        self.vb.setLimits(
            xMin=-MAX_COORD,
            xMax=MAX_COORD,
            yMin=-MAX_COORD,
            yMax=MAX_COORD,
            minXRange=1e-6,
            minYRange=1e-6,
        )

        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-10)
        self.plot.addItem(self.image)
        lut = theme.surface_lut()
        cmap = pg.ColorMap(np.linspace(0, 1, len(lut)), lut)
        self.image.setLookupTable(lut)
        self.colorbar = pg.ColorBarItem(
            colorMap=cmap, interactive=False, width=18, colorMapMenu=False
        )
        self.colorbar.setImageItem(self.image, insert_in=self.plot)
        # Unseen (but in its place: nothing moves when it comes) until a surface gives it a
        # scale: the start-up frames showed a meaningless 0-1 bar beside an empty plot.
        self.colorbar.setOpacity(0.0)
        # One pixel wide: Qt's raster engine draws antialiased 1-px lines on a fast path; the
        # 1.2 px pen this had went through the general stroker, 150 ms for the ~3000 segments
        # of a contour set against 7 ms (same window, same run). Every heatmap change repaints
        # the contours (a zoom, a problem edit, each coarse heatmap of a data-point drag).
        self.contours = pg.PlotCurveItem(
            pen=pg.mkPen(QColor(*theme.contour_color), width=1.0),
            connect="finite",
        )
        self.contours.setZValue(-5)
        self.plot.addItem(self.contours)

        self.minima = Scatter(pxMode=True)
        self.minima.setZValue(36)  # above the heads: a reached minimum stays visible
        self.plot.addItem(self.minima)
        self.heads = Heads()
        self.heads.setZValue(30)
        self.plot.addItem(self.heads, ignoreBounds=True)
        # Where a path leaves the view: a triangle on the border, pointing the way it went.
        self.exits = Scatter(pxMode=True)
        self.exits.setZValue(31)
        self.plot.addItem(self.exits, ignoreBounds=True)
        self.trails: dict[str, Trail] = {}
        # Every faint whole path in one cached item, between the surface and the solid trails
        # (faint 8-8.09, halos 10-10.09, solid 11-11.09).
        self.ghosts = GhostLayer()
        self.ghosts.setZValue(8.5)
        self.plot.addItem(self.ghosts)
        self._brushes: dict[str, QBrush] = {}
        self._exits_cache: dict[str, tuple[object, np.ndarray, tuple[np.ndarray, str] | None]] = {}
        self._covered_key: object = None
        self._exits_key: object = None
        self._cover_timer = QTimer(self, singleShot=True, interval=120)
        self._cover_timer.timeout.connect(self.update_paths)
        self._head_pen = pg.mkPen("#FFFFFF", width=2.5)
        self.handles: dict[str | None, pg.TargetItem] = {}
        self._surface_rect: Rect | None = None
        self._colorbar_text = "log₁₀ loss"
        self.surface_l2 = 0.0  # the L2 coefficient of the surface drawn (0: the plain loss)
        self._dragging = False
        self.basins: BasinLayer | None = None  # View > Basins (maps_view), attached by the window

        self._style_axes()
        cache_axes(self.plot)
        cache_static(self.image, self.contours, self.minima, self.colorbar)
        self._surface_timer = QTimer(self, singleShot=True, interval=150)
        self._axes_key: object = None
        self._surface_res = RESOLUTION
        self._live_drawn = -1e9
        self._live_timer = QTimer(self, singleShot=True)
        self._live_timer.timeout.connect(self._live_surface)
        controller.drag_finished.connect(self._on_drag_finished)
        self._surface_timer.timeout.connect(self.refresh_surface)
        self.vb.sigRangeChangedManually.connect(lambda *_: self._surface_timer.start())
        # Trails are thinned to the pixel size: a zoom needs them thinned afresh.
        self.vb.sigRangeChanged.connect(lambda *_: self.update_paths())
        # A resize that keeps the rectangle keeps the picture (it is made on the rectangle,
        # not the pixels): the window's first layout recomputed the start-up surface ~150 ms
        # after it was drawn, 0.1-0.15 s of the GUI thread while the first paths compiled.
        self._resize_timer = QTimer(self, singleShot=True, interval=150)
        self._resize_timer.timeout.connect(self._refresh_if_moved)
        self.vb.sigResized.connect(lambda *_: self._resize_timer.start())
        self.vb.sigResized.connect(lambda *_: self.update_paths())  # a pixel is another size
        controller.jax_ready.connect(self._refresh_if_moved)  # a zoom made while JAX loaded
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.scene().sigMouseClicked.connect(self._on_mouse_clicked)

        self.readout = FaithfulnessReadout(self)
        self.batch_overlay = BatchOverlay(self)
        controller.batch_view_changed.connect(self.batch_overlay.update)
        controller.step_changed.connect(lambda _: self.batch_overlay.update())
        controller.results_changed.connect(self.batch_overlay.update)
        controller.entries_changed.connect(self.rebuild)
        controller.scene_changed.connect(self._on_scene_changed)
        controller.problem_changed.connect(self._on_problem_changed)
        controller.drag_started.connect(lambda: self._smooth(False))
        controller.drag_finished.connect(lambda: self._smooth(True))
        controller.scene_replaced.connect(self.fit_view)  # a scene opens on its own view
        controller.start_changed.connect(self._sync_handles)
        controller.results_changed.connect(self.update_paths)
        controller.step_changed.connect(lambda _: self.update_paths())
        # What the empty view is waiting for, in words a back row can read: a network's first
        # training took ~10-35 s on a loaded machine with only "preparing…" in a corner.
        self.waiting = QLabel(self)
        self.waiting.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.waiting.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.waiting.hide()
        controller.busy_changed.connect(lambda _: self._show_waiting())
        controller.results_changed.connect(self._show_waiting)
        controller.scene_replaced.connect(self._show_waiting)
        self.rebuild()
        # The view's range now, its surface after the window is first shown: evaluating and
        # contouring 512² points (a JAX compile on a cold cache) would keep the window hidden.
        (x0, x1), (y0, y1) = controller.view_rect()
        self.vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.0)
        QTimer.singleShot(0, self, self._first_surface)

    def _show_waiting(self) -> None:
        """A notice in the middle of the view while its first paths are computed."""
        ctl = self.controller
        if ctl.results or not ctl.busy:
            self.waiting.hide()
            return
        what = "Training the network" if ctl.is_network else "Computing the paths"
        self.waiting.setText(f"{what}…")
        font = QFont()
        font.setPointSize(round(1.4 * self.theme.plot_font_pt))
        self.waiting.setFont(font)
        self.waiting.setStyleSheet(
            f"color: {self.theme.foreground}; background: {self.theme.background};"
            " padding: 10px 18px; border-radius: 6px;"
        )
        self.waiting.adjustSize()
        self._place_waiting()
        self.waiting.show()
        self.waiting.raise_()

    def _place_waiting(self) -> None:
        """Centred across the plot, a quarter of the way down (the start handle is often in the
        middle)."""
        area = self.mapFromScene(self.vb.sceneBoundingRect()).boundingRect()
        box = self.waiting.size()
        x = area.left() + (area.width() - box.width()) // 2
        y = area.top() + area.height() // 4 - box.height() // 2
        self.waiting.move(max(0, x), max(0, y))

    def resizeEvent(self, event: object) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        if hasattr(self, "waiting"):
            self._place_waiting()

    def _label_colorbar(self) -> None:
        self.colorbar.setLabel(
            "right",
            self._colorbar_text,
            **{"font-size": f"{self.theme.plot_font_pt - 1}pt", "color": self.theme.foreground},
        )

    def _refresh_if_moved(self) -> None:
        if self._surface_rect is not None and self.visible_rect() != self._surface_rect:
            self.refresh_surface()

    def _first_surface(self) -> None:
        if self._surface_rect is None:  # nobody drew it meanwhile (a screenshot, a recording)
            self.refresh_surface()

    def hold_first_surface(self) -> None:
        """Leave the first surface to the caller's :meth:`refresh_surface` (the window's, after
        its first paths): it needs JAX, which the first frame comes before. Marked drawn for
        the rectangle shown, the view's own first-surface timer and a resize that keeps the
        rectangle leave it alone."""
        self._surface_rect = self.visible_rect()

    # --- building -------------------------------------------------------------------------------

    def _style_axes(self) -> None:
        font = QFont()
        font.setPointSize(self.theme.plot_font_pt)
        small = QFont(font)
        small.setPointSize(max(self.theme.plot_font_pt - 2, 6))
        axes = [(self.plot.getAxis(name), font) for name in ("left", "bottom")]
        for axis, tick_font in [*axes, (self.colorbar.axis, small)]:
            axis.setTickFont(tick_font)
            axis.setPen(pg.mkPen(self.theme.foreground))
            axis.setTextPen(pg.mkPen(self.theme.foreground))
            # Plain numbers, as on the loss plot: a random plane's axes read "(x0.001)" with
            # ticks 100 ... 400, and the colour bar "log₁₀ loss (x0.001)" with ticks -300 ... 0.
            axis.setSIPrefixEnableRanges(((math.inf, math.inf),))
            axis.enableAutoSIPrefix(False)
        self.colorbar.axis.setWidth(
            round(5.0 * self.theme.plot_font_pt)
        )  # "-0.25" clears the label
        # Room above the plot for the top tick label, which would be cut in half otherwise.
        self.plot.layout.setContentsMargins(4, round(0.8 * self.theme.plot_font_pt), 4, 4)

    def set_theme(self, theme: Theme) -> None:
        """Restyle everything for another look (presenter mode, dark)."""
        self.theme = theme
        self.setBackground(theme.background)
        self._style_axes()
        lut = theme.surface_lut()
        self.image.setLookupTable(lut)
        self.colorbar.setColorMap(pg.ColorMap(np.linspace(0, 1, len(lut)), lut))
        self.contours.setPen(pg.mkPen(QColor(*theme.contour_color), width=1.0))  # see __init__
        # Handles are restyled in place (not made anew): one may be under the pointer mid-drag.
        self.rebuild()
        if self.basins is not None:
            self.basins.set_theme(theme)
        # The picture is the theme's only through its colours (set above) and the colour bar's
        # label: a new look, or the window's size changing its scale, does not evaluate the loss
        # again (it did, on every resize that changed the scale, start-up included).
        if self._surface_rect is None:
            self.refresh_surface()
        else:
            self._label_colorbar()
        self._show_waiting()

    def _label_axes(self, force: bool = True) -> None:
        """Name the axes after the problem's parameters; ``force=False``: only if they changed
        (setting a label re-lays out and repaints the axis: ~8 ms of every data-point move)."""
        names = self.controller.problem.axis_names
        key = (names, self.theme)
        if not force and key == self._axes_key:
            return
        self._axes_key = key
        style = {"font-size": f"{self.theme.plot_font_pt + 2}pt", "color": self.theme.foreground}
        self.plot.setLabel("bottom", names[0], **style)
        self.plot.setLabel("left", names[1], **style)
        for side in ("bottom", "left"):
            # pyqtgraph places an axis title only on resize: a shorter one ("w" after "PCA
            # direction 1 of the paths") kept the old one's left edge, off-centre under a tick.
            self.plot.getAxis(side).resizeEvent()

    def rebuild(self) -> None:
        """Make the per-entry items again (entries were added, removed or replaced)."""
        for trail in self.trails.values():
            trail.remove(self.plot)
        self.trails.clear()
        colors = self.controller.colors(self.theme)
        entries = self.controller.scene.optimizers
        for i, entry in enumerate(entries):
            self.trails[entry.label] = Trail(
                self.plot, colors[entry.label], self.theme, i, len(entries), self.ghosts
            )
        self._covered_key = None
        self._sync_handles()
        self._draw_minima()
        self._label_axes()
        self.update_paths()

    def _on_problem_changed(self) -> None:
        """New problem parameters: minima, axis names, and the surface (debounced: a spin box
        being held sends many values). During a drag of a data point the surface follows at a
        coarse resolution a few times a second (a 512² surface of 100 points takes ~150 ms, and
        its debounce restarted on every move: the heatmap stood still until the pointer
        rested); the release draws it at full resolution."""
        self._draw_minima()
        self._label_axes(force=False)
        if self.controller.dragging:
            self._live_surface()
        else:
            self._surface_timer.start()

    def _live_surface(self) -> None:
        self._surface_timer.stop()
        now = time.perf_counter()
        if now - self._live_drawn >= LIVE_INTERVAL:
            self._live_drawn = now
            self.refresh_surface(LIVE_RESOLUTION)
        elif not self._live_timer.isActive():
            self._live_timer.start(int(1000 * (self._live_drawn + LIVE_INTERVAL - now)) + 1)

    def _on_drag_finished(self) -> None:
        self._live_timer.stop()
        if self._surface_res != RESOLUTION:
            self.refresh_surface()

    def _on_scene_changed(self) -> None:
        # Colours can change without new entries: restyle in place.
        colors = self.controller.colors(self.theme)
        for label, trail in self.trails.items():
            if label in colors:
                trail.set_color(colors[label])
        self._sync_handles()
        self.readout.refresh()
        if self.controller.is_network:
            return  # the plane's surface is the network's own loss (no L2 term drawn)
        if self.controller.scene.surface_l2 != self.surface_l2 and self._surface_rect is not None:
            self._surface_timer.start()  # an L2 term set, changed or hidden: another loss

    def _draw_minima(self) -> None:
        # Outlined in the theme's ink and filled with its paper, half see-through: readable on
        # light and dark surfaces, and a head that reached the minimum shows through the star.
        # With the basins layer on, each marker is filled with its basin's colour: the key.
        scale = self.theme.head_size / 17
        fill = QColor(self.theme.background)
        fills = self.basins.minimum_fills() if self.basins is not None else None
        spots = []
        for j, m in enumerate(self.controller.problem.minima):
            glob = m.kind == "global"
            fill.setAlpha(150 if glob else 0)
            if fills is not None:
                fill = QColor(fills[j])
            spots.append(
                {
                    "pos": m.point,
                    "symbol": "star" if glob else "t",
                    "size": round((24 if glob else 19) * scale),
                    "brush": pg.mkBrush(QColor(fill)),
                    "pen": pg.mkPen(self.theme.foreground, width=2.2 * scale),
                    "data": m.kind,
                }
            )
        self.minima.setData(spots)

    def _sync_handles(self) -> None:
        """One shared handle, or one per entry in "separate starts" mode."""
        scene = self.controller.scene
        wanted: dict[str | None, tuple[tuple[float, float], str]] = {}
        if self.controller.separate_starts:
            colors = self.controller.colors(self.theme)
            for e in scene.optimizers:
                wanted[e.label] = (scene.start_of(e), colors[e.label])
        else:
            wanted[None] = (self.controller.shared_start(), self.theme.foreground)
        for key in list(self.handles):
            if key not in wanted:
                self.plot.removeItem(self.handles.pop(key))
        for key, (pos, color) in wanted.items():
            handle = self.handles.get(key)
            if handle is None:
                handle = pg.TargetItem(
                    pos=pos,
                    size=self.theme.handle_size,
                    symbol="o",
                    pen=pg.mkPen(color, width=3),
                    hoverPen=pg.mkPen(color, width=5),
                    brush=pg.mkBrush(255, 255, 255, 170),
                    hoverBrush=pg.mkBrush(255, 255, 255, 230),
                )
                handle.setZValue(40)
                handle.setToolTip(
                    "Drag to move the initial weights within the plane (every optimizer "
                    "trains again; the plane is fitted again on release)"
                    if self.controller.is_network
                    else "Drag to move the start"
                )
                handle.sigPositionChanged.connect(lambda h, k=key: self._on_handle_moved(k, h))
                handle.sigPositionChangeFinished.connect(lambda _: self.controller.end_drag())
                self.plot.addItem(handle)
                self.handles[key] = handle
            elif not self._dragging:
                current = handle.pos()
                if (current.x(), current.y()) != pos:
                    handle.blockSignals(True)
                    handle.setPos(QPointF(*pos))
                    handle.blockSignals(False)
                handle.setPen(pg.mkPen(color, width=3))
                handle.setHoverPen(pg.mkPen(color, width=5))
                if handle.scale != self.theme.handle_size:
                    handle.scale = self.theme.handle_size
                    handle.setSymbol("o")  # the symbol's path is rebuilt at the new size
                handle.update()

    # --- drawing --------------------------------------------------------------------------------

    def fit_view(self, hold_starts: bool = False) -> None:
        """Show the scene's view rectangle (or the problem's default); ``hold_starts``: grown
        to hold every start handle (View > Fit view: a start dragged past the edge is found
        again; an opened scene shows its own view, wherever its start)."""
        xs, ys = self.controller.view_rect()
        points = [h.pos() for h in self.handles.values() if h.isVisible()] if hold_starts else []
        self.vb.setRange(
            xRange=_grown(xs, [p.x() for p in points]),
            yRange=_grown(ys, [p.y() for p in points]),
            padding=0.0,
        )
        self._surface_timer.stop()
        self.refresh_surface()

    def visible_rect(self) -> Rect:
        (x0, x1), (y0, y1) = self.vb.viewRange()
        return ((float(x0), float(x1)), (float(y0), float(y1)))

    def refresh_surface(self, resolution: int = RESOLUTION) -> None:
        """Evaluate the loss on the visible rectangle (at full resolution) and draw it: the
        regularised loss when the visible entries share an L2 term (``Scene.surface_l2``), and
        the colour bar says so."""
        rect = self.visible_rect()
        if self.controller.is_network:  # the loss on the plane, made with the picture
            s = network_surface(self.controller.network, rect)
            self.readout.refresh()
            if s is None:  # the first paths are still training
                self.image.clear()
                self.contours.setData([], [])
                self.colorbar.setOpacity(0.0)
                self._surface_rect = rect
                return
            self.show_surface(s, rect)
            return
        if self.controller.jax_pending:  # JAX is loading (the first seconds): once it has
            return  # (jax_ready: _refresh_if_moved)
        rect, resolution, l2 = self.surface_request(resolution)
        self.show_surface(surface(self.controller.problem, rect, resolution, l2=l2), rect, l2)

    def surface_request(self, resolution: int = RESOLUTION) -> SurfaceRequest:
        """What :meth:`refresh_surface` evaluates for a two-parameter problem: the visible
        rectangle, the grid's resolution, and the L2 term added. (The start-up process is asked
        for the first surface with it: :mod:`gdviz.ui.firstpicture`.)"""
        return self.visible_rect(), resolution, self.controller.scene.surface_l2

    def show_surface(self, s: Surface | PlaneSurface, rect: Rect, l2: float = 0.0) -> None:
        """Draw the loss ``s`` over ``rect`` (including an L2 term ``l2``), computed here or by
        the start-up process: heatmap, colour bar and contours."""
        resolution = len(s.xs)
        self._surface_res = RESOLUTION if self.controller.is_network else resolution
        self.surface_l2 = l2
        values, logarithmic = colour_values(s.loss)
        lo, hi = float(np.percentile(values, 0.5)), float(np.percentile(values, 99.5))
        if hi <= lo:
            hi = lo + 1.0
        (x0, x1), (y0, y1) = rect
        self.image.setImage(values, autoLevels=False)
        self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        self.colorbar.setLevels((lo, hi))
        self.colorbar.setOpacity(1.0)
        what = f"loss + ({l2:g}/2)·|θ|²" if l2 else "loss"
        self._colorbar_text = (f"log₁₀({what})" if l2 else "log₁₀ loss") if logarithmic else what
        self._label_colorbar()
        k = max(1, CONTOUR_STRIDE * resolution // RESOLUTION)
        if len(s.xs) < RESOLUTION:  # a network's coarser grid: every point
            k = 1
        levels = np.linspace(lo, hi, CONTOUR_LEVELS + 2)[1:-1]
        self.contours.setData(*contour_lines(values[::k, ::k], s.xs[::k], s.ys[::k], levels))
        recache(self.image, self.contours)
        self._surface_rect = rect

    def update_paths(self) -> None:
        """Draw every whole path faintly, the part up to the playback step solid, and the heads."""
        ctl = self.controller
        step = ctl.step
        px, py = self.vb.viewPixelSize()
        spacing = 1.5 * min(px, py)  # under half the trail's width: thinning is invisible
        colors = ctl.colors(self.theme)
        positions, brushes = [], []
        exits: list[tuple[np.ndarray, str, str]] = []
        rect = self.visible_rect()
        if self._dragging or ctl.dragging:  # ~3-7 ms: once the pointer rests, not every move
            self._cover_timer.start()
        else:
            self._mark_covered(px, py)
        for entry in ctl.scene.optimizers:
            trail = self.trails.get(entry.label)
            path = ctl.results.get(entry.label)
            if trail is None:
                continue
            visible = entry.visible and path is not None
            trail.set_visible(visible)
            if not visible:
                continue
            k = min(step, path.steps)
            trail.set_path(path.params, k, spacing)
            positions.append(path.params[k])
            brushes.append(self._brush(colors[entry.label]))
            leaving = self._exit_point(entry.label, path.params, rect)
            if leaving is not None:
                exits.append((leaving[0], leaving[1], colors[entry.label]))
        if positions:
            self.heads.setData(
                pos=np.array(positions),
                brush=brushes,
                size=self.theme.head_size,
                pen=self._head_pen,
            )
        else:
            self.heads.setData([])
        # Where paths leave depends on the paths and the view, not on the step: a scatter's
        # setData rebuilds its symbols, so it runs only when the marks change.
        size = round(self.theme.head_size * 1.3)
        key = (tuple((tuple(p), s, c) for p, s, c in exits), size, id(self._head_pen))
        if key == self._exits_key:
            return
        self._exits_key = key
        if exits:
            self.exits.setData(
                pos=np.array([p for p, _, _ in exits]),
                symbol=[s for _, s, _ in exits],
                brush=[self._brush(c) for _, _, c in exits],
                size=size,
                pen=self._head_pen,
            )
        else:
            self.exits.setData([])

    def _exit_point(
        self, label: str, params: np.ndarray, rect: Rect
    ) -> tuple[np.ndarray, str] | None:
        """:func:`exit_point`, once per path and view rather than once a frame."""
        key = (id(params), rect)
        cached = self._exits_cache.get(label)
        if cached is None or cached[0] != key or cached[1] is not params:
            cached = self._exits_cache[label] = (key, params, exit_point(params, rect))
        return cached[2]

    def _smooth(self, on: bool) -> None:
        """Antialiased trails at rest; plain ones while the start is dragged (12% of a drag on
        the default scene, and the eye follows motion, not edges). Release repaints them smooth."""
        for trail in self.trails.values():
            trail.set_antialias(on)
        if on:
            self._covered_key = None
            self.update_paths()

    def _mark_covered(self, px: float, py: float) -> None:
        """Give a rim to paths that run under the ones drawn above them (new results or zoom)."""
        ctl = self.controller
        key = (id(ctl.results), px, py, tuple(e.visible for e in ctl.scene.optimizers))
        if key == self._covered_key:
            return
        self._covered_key = key
        self._cover_timer.stop()
        paths = [
            ctl.results[e.label].params if e.visible and e.label in ctl.results else None
            for e in ctl.scene.optimizers
        ]
        for entry, depth in zip(ctl.scene.optimizers, cover_depth(paths, (px, py)), strict=True):
            trail = self.trails.get(entry.label)
            if trail is not None:
                trail.set_depth(depth)

    def _brush(self, color: str) -> QBrush:
        """One brush object per colour: the scatter's symbol atlas is keyed by the brush."""
        brush = self._brushes.get(color)
        if brush is None:
            brush = self._brushes[color] = pg.mkBrush(color)
        return brush

    # --- input ----------------------------------------------------------------------------------

    def _on_handle_moved(self, key: str | None, handle: pg.TargetItem) -> None:
        pos = handle.pos()
        xy = (float(pos.x()), float(pos.y()))
        self.controller.begin_drag()
        self._dragging = True
        try:
            if key is None:
                where = self.controller.set_start(xy)
            else:
                where = self.controller.set_entry_start(key, xy)
        finally:
            self._dragging = False
        if where != xy:  # past the ±1e4 box (or refused): the handle stops where the start is
            handle.blockSignals(True)
            handle.setPos(QPointF(*where))
            handle.blockSignals(False)

    def _on_mouse_clicked(self, event) -> None:  # noqa: ANN001 (pyqtgraph's MouseClickEvent)
        if event.button() != Qt.MouseButton.LeftButton or event.double():
            return
        for item in self.scene().items(event.scenePos()):
            if isinstance(item, pg.TargetItem):
                return
        if not self.plot.sceneBoundingRect().contains(event.scenePos()):
            return
        p = self.vb.mapSceneToView(event.scenePos())
        (x0, x1), (y0, y1) = self.visible_rect()
        if not (x0 <= p.x() <= x1 and y0 <= p.y() <= y1):
            return
        if self.controller.separate_starts:
            return  # which handle would it move? Drag the one you mean.
        # Over a basin map, the start goes to the pixel's centre: the path then ends where the
        # pixel's colour says, exactly.
        snapped = self.basins.pixel_centre(p.x(), p.y()) if self.basins is not None else None
        self.controller.set_start(snapped or (p.x(), p.y()))

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        if not self.vb.sceneBoundingRect().contains(scene_pos):
            self.hovered.emit("")
            return
        p = self.vb.mapSceneToView(scene_pos)
        xy = np.array([p.x(), p.y()])
        a, b = self.controller.problem.axis_names
        text = f"{a} = {p.x():.4g}    {b} = {p.y():.4g}"
        if self.controller.jax_pending:  # the loss waits for JAX (the first seconds)
            self.hovered.emit(text)
            return
        loss, _ = loss_and_grad_at(self.controller.problem, xy)
        text += f"    loss = {float(loss[0]):.5g}"
        if self.surface_l2:
            total = float(loss[0]) + float(l2_term(xy, self.surface_l2))
            text += f"    loss + L2 = {total:.5g}"
        self.hovered.emit(text)


_EXIT_SYMBOLS = {"left": "t3", "right": "t2", "bottom": "t", "top": "t1"}
"""pyqtgraph's triangles pointing left, right, down and up: the way a path left the view."""


def exit_point(xy: np.ndarray, rect: Rect) -> tuple[np.ndarray, str] | None:
    """Where the path ``xy`` first leaves ``rect`` (on its border), and the triangle pointing the
    way it went; None when it stays inside (or starts outside and never enters)."""
    (x0, x1), (y0, y1) = rect
    inside = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
    if inside.all() or not inside[0]:
        return None
    k = int(np.argmin(inside))  # the first point outside
    a, b = xy[k - 1], xy[k]
    d = b - a
    best, side = 1.0, "right"
    for t_side, t in (
        ("left", (x0 - a[0]) / d[0] if d[0] < 0 else np.inf),
        ("right", (x1 - a[0]) / d[0] if d[0] > 0 else np.inf),
        ("bottom", (y0 - a[1]) / d[1] if d[1] < 0 else np.inf),
        ("top", (y1 - a[1]) / d[1] if d[1] > 0 else np.inf),
    ):
        if 0.0 <= t <= best:
            best, side = float(t), t_side
    point = a + best * d
    return np.array([np.clip(point[0], x0, x1), np.clip(point[1], y0, y1)]), _EXIT_SYMBOLS[side]


class BatchOverlay:
    """What one stochastic entry's current step sees: its mini-batch's own loss contours, and the
    (mini-batch or noisy) gradient it stepped along, drawn as a descent arrow at its head.

    Each batch has its own bowl, centred somewhere else: stepping down a different bowl every
    time is why SGD zig-zags around the full-batch path.
    """

    GRID = 64
    LEVELS = 8

    def __init__(self, view: SurfaceView) -> None:
        self.view = view
        self.contours = pg.PlotCurveItem(
            pen=pg.mkPen(QColor(150, 30, 0, 200), width=1.6, style=Qt.PenStyle.DashLine),
            connect="finite",
        )
        self.contours.setZValue(-4)
        self.shaft = pg.PlotCurveItem(pen=pg.mkPen("#111111", width=3))
        self.shaft.setZValue(35)
        self.tip = pg.ArrowItem(headLen=18, tipAngle=32, brush="#111111", pen=None)
        self.tip.setZValue(35)
        for item in (self.contours, self.shaft, self.tip):
            view.plot.addItem(item, ignoreBounds=True)
        self.hide()

    def hide(self) -> None:
        for item in (self.contours, self.shaft, self.tip):
            item.setVisible(False)

    def update(self) -> None:
        ctl = self.view.controller
        label = ctl.batch_view
        path = ctl.results.get(label) if label is not None else None
        if path is None:
            self.hide()
            return
        k = min(ctl.step, path.steps - 1)
        head, grad = path.params[k], path.grads[k]
        rect = self.view.visible_rect()
        if path.batches is not None:
            s = surface(ctl.problem, rect, self.GRID, batch_indices=path.batches[k])
            values, _ = colour_values(s.loss)
            levels = np.quantile(values, np.linspace(0.02, 0.6, self.LEVELS))
            self.contours.setData(*contour_lines(values, s.xs, s.ys, levels))
            self.contours.setVisible(True)
        else:
            self.contours.setVisible(False)
        norm = float(np.hypot(*grad))
        if norm == 0.0 or not np.isfinite(norm):
            self.shaft.setVisible(False)
            self.tip.setVisible(False)
            return
        # Direction is the message; length is fixed on screen (a sixth of the view's width) so
        # that tiny and huge gradients both stay readable.
        (x0, x1), _ = rect
        end = head - grad / norm * (x1 - x0) / 6
        self.shaft.setData([head[0], end[0]], [head[1], end[1]])
        self.tip.setPos(end[0], end[1])
        delta = self.view.vb.mapViewToDevice(QPointF(*end)) - self.view.vb.mapViewToDevice(
            QPointF(*head)
        )
        # ArrowItem points left at angle 0 and turns clockwise on screen (device y is down).
        self.tip.setStyle(angle=180.0 + float(np.degrees(np.arctan2(delta.y(), delta.x()))))
        self.shaft.setVisible(True)
        self.tip.setVisible(True)


class OverlayLayer:
    """The teaching overlays in the 2-D view, at every head in that optimizer's colour; the
    stroke (see ``STYLES``) says which overlay a shape is. Items are made per (kind, entry)
    when first needed and updated with the playback step."""

    def __init__(self, view: SurfaceView, overlays: OverlaySet) -> None:
        self.view = view
        self.overlays = overlays
        self.items: dict[tuple[str, str], pg.GraphicsObject] = {}
        overlays.listeners.append(self.update)
        ctl = view.controller
        ctl.step_changed.connect(lambda _: self.update())
        ctl.results_changed.connect(self.update)
        ctl.entries_changed.connect(self._clear)
        self.update()

    def _clear(self) -> None:
        for item in self.items.values():
            self.view.plot.removeItem(item)
        self.items.clear()
        self.update()

    def _item(self, kind: str, label: str, color: str) -> pg.GraphicsObject:
        item = self.items.get((kind, label))
        scale = self.view.theme.trail_width / 3.5
        style, width = STYLES[kind]
        if item is None:
            if style == "ring":
                item = pg.ScatterPlotItem(pxMode=True, symbol="o")
            else:
                item = pg.PlotCurveItem(connect="finite")
            item.setZValue(32)
            self.view.plot.addItem(item, ignoreBounds=True)
            self.items[(kind, label)] = item
        if style == "ring":
            item.setPen(pg.mkPen(color, width=width * scale))
            item.setBrush(pg.mkBrush(255, 255, 255, 60))
            item.setSize(round(16 * scale))
        else:
            dash = {
                "dash": Qt.PenStyle.DashLine,
                "dot": Qt.PenStyle.DotLine,
                "dashdot": Qt.PenStyle.DashDotLine,
            }.get(style)
            set_pen_color(
                item,
                color,
                width * scale,
                **({"style": dash} if dash else {}),
            )
        return item

    def update(self) -> None:
        enabled = self.overlays.enabled
        drawn: set[tuple[str, str]] = set()
        if enabled:
            colors = self.view.controller.colors(self.view.theme)
            shapes = geometry_by_entry(
                self.view.controller,
                self.view.visible_rect(),
                self.view.vb.viewPixelSize(),
                enabled,
            )
            for kind, by_label in shapes.items():
                for label, pts in by_label.items():
                    if not len(pts) or label not in colors:
                        continue
                    item = self._item(kind, label, colors[label])
                    if STYLES[kind][0] == "ring":
                        item.setData(pos=pts)
                    else:
                        item.setData(pts[:, 0], pts[:, 1])
                    item.setVisible(True)
                    drawn.add((kind, label))
        for key, item in self.items.items():
            if key not in drawn:
                item.setVisible(False)
