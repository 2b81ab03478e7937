"""pyqtgraph items gdviz reuses: made once per scene, updated with ``setData`` every frame."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem

from gdviz.core.optimizers import Convention
from gdviz.core.scene import OptimizerEntry
from gdviz.ui.theme import Theme


def cache_static(*items: pg.GraphicsObject) -> None:
    """Let Qt keep a pixmap of items that rarely change (axes, heatmap, contours, legend).

    A playback frame repaints most of a plot; without this every frame re-rasterises the
    antialiased contours and the axes' tick pictures, which measured ~60% of a frame offscreen.
    """
    for item in items:
        item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


def cache_axes(plot: pg.PlotItem) -> None:
    cache_static(*(plot.getAxis(name) for name in ("left", "bottom", "top", "right")))


def key_hyperparams(entry: OptimizerEntry, convention: Convention) -> str:
    """The numbers that tell two entries of a rule apart: "η=0.1  μ=0.9  batch 16"."""
    values = entry.resolved_hyperparams(convention)
    parts = [f"η={values['learning_rate']:g}"]
    if "momentum" in values:
        parts.append(f"μ={values['momentum']:g}")
    if entry.batch_size is not None:
        parts.append(f"batch {entry.batch_size}")
    if entry.gradient_noise:
        parts.append(f"noise {entry.gradient_noise:g}")
    return "  ".join(parts)


def thin_indices(xy: np.ndarray, spacing: float) -> np.ndarray:
    """Indices of the points of ``xy`` kept when no two lie less than ``spacing`` apart along
    the path (the first and last are kept).

    A converging path piles most of its points onto a pixel or two near the minimum; stroking
    them all is most of a frame's cost and shows nothing. Whether a point is kept depends only
    on the path before it, so the thinned prefix ``xy[: k + 1]`` is these indices up to ``k``
    plus ``k`` itself: playback thins each path once, not once a frame.
    """
    if len(xy) <= 2 or spacing <= 0:
        return np.arange(len(xy))
    seg = np.hypot(*np.diff(xy, axis=0).T)
    bucket = np.floor(np.concatenate([[0.0], np.cumsum(seg)]) / spacing)
    keep = np.concatenate([[True], bucket[1:] != bucket[:-1]])
    keep[-1] = True
    return np.flatnonzero(keep)


def thin_path(xy: np.ndarray, spacing: float) -> np.ndarray:
    """The points of ``xy`` that :func:`thin_indices` keeps."""
    return xy[thin_indices(xy, spacing)]


def thinned_prefix(xy: np.ndarray, kept: np.ndarray, k: int) -> np.ndarray:
    """``thin_path(xy[: k + 1], spacing)`` from ``kept = thin_indices(xy, spacing)``."""
    n = int(np.searchsorted(kept, k, side="right"))
    if n and kept[n - 1] == k:
        return xy[kept[:n]]
    return np.concatenate([xy[kept[:n]], xy[k : k + 1]])


def set_pen_color(item: pg.GraphicsObject, color: str, width: float, **kw: object) -> None:
    """Give ``item`` a pen of this colour and width, unless it has one: a new pen repaints."""
    current = item.opts.get("pen") if hasattr(item, "opts") else None
    if isinstance(current, QPen) and current.color() == QColor(color) and current.widthF() == width:
        return
    item.setPen(pg.mkPen(color, width=width, **kw))


class Curve(pg.GraphicsObject):
    """A polyline drawn with one cosmetic pen: what a trail, a loss curve or a fitted line needs.

    ``pg.PlotCurveItem`` does much more (fills, shadows, downsampling, clipping, auto-range
    bookkeeping), and pays for it on every frame: asked for its bounds ~130 times a playback
    frame, it ran ``nanmin``/``nanmax`` over its data and mapped its pen through the view each
    time, ~4 ms of a 15 ms frame (cProfile, default scene, offscreen). This item computes its
    bounds once per ``setData`` and pads them by the pen's width once per zoom. Its ``opts``,
    ``setPen``, ``setData`` and ``getData`` read as PlotCurveItem's. NaN or inf break the line
    (PlotCurveItem's ``connect="finite"``).
    """

    def __init__(self, pen: QPen | None = None, antialias: bool = True) -> None:
        super().__init__()
        self.opts: dict[str, object] = {"pen": pen or pg.mkPen(), "antialias": antialias}
        self.xData = np.empty(0)
        self.yData = np.empty(0)
        self._path = QPainterPath()
        self._bounds: tuple[float, float, float, float] | None = None
        self._rect: QRectF | None = None
        self._pad: tuple[float, float] | None = None  # the pen's half width in data units

    def setPen(self, *args: object, **kwargs: object) -> None:  # noqa: N802 (pyqtgraph's name)
        self.opts["pen"] = pg.mkPen(*args, **kwargs)
        self.prepareGeometryChange()
        self._rect = self._pad = None
        self.update()

    def setData(self, x: object, y: object) -> None:  # noqa: N802 (pyqtgraph's name)
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        self.xData, self.yData = x, y
        finite = np.isfinite(x) & np.isfinite(y)
        if finite.any():
            fx, fy = x[finite], y[finite]
            self._bounds = (float(fx.min()), float(fx.max()), float(fy.min()), float(fy.max()))
            self._path = pg.arrayToQPath(x, y, connect="finite")
        else:
            self._bounds = None
            self._path = QPainterPath()
        self.prepareGeometryChange()
        self._rect = None
        self.update()

    def getData(self) -> tuple[np.ndarray, np.ndarray]:  # noqa: N802 (pyqtgraph's name)
        return self.xData, self.yData

    def dataBounds(  # noqa: N802 (pyqtgraph's name)
        self,
        ax: int,
        frac: float = 1.0,
        orthoRange: object = None,  # noqa: N803
    ) -> tuple[float, float] | tuple[None, None]:
        del frac, orthoRange  # whole-data bounds: no auto-range here uses a fraction
        if self._bounds is None:
            return (None, None)
        return self._bounds[2 * ax : 2 * ax + 2]  # type: ignore[return-value]

    def pixelPadding(self) -> float:  # noqa: N802 (pyqtgraph's name)
        return 0.5 * float(self.opts["pen"].widthF()) + 1.0  # type: ignore[union-attr]

    def viewTransformChanged(self) -> None:  # noqa: N802 (pyqtgraph's name)
        self.prepareGeometryChange()
        self._rect = self._pad = None

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt's name)
        if self._rect is None:
            if self._bounds is None:
                self._rect = QRectF()
            else:
                x0, x1, y0, y1 = self._bounds
                if self._pad is None:
                    px, py = self.pixelVectors()
                    pad = self.pixelPadding()
                    self._pad = (
                        pad * (px.length() if px is not None else 0.0),
                        pad * (py.length() if py is not None else 0.0),
                    )
                dx, dy = self._pad
                self._rect = QRectF(x0 - dx, y0 - dy, x1 - x0 + 2 * dx, y1 - y0 + 2 * dy)
        return self._rect

    def paint(self, painter: QPainter, *args: object) -> None:
        if self._path.isEmpty():
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, bool(self.opts["antialias"]))
        painter.setPen(self.opts["pen"])  # type: ignore[arg-type]
        painter.drawPath(self._path)


class Heads(pg.GraphicsObject):
    """Round markers of a fixed size in pixels, one brush each: where every optimizer is now.

    ``pg.ScatterPlotItem`` rebuilds its spot records, styles and symbol atlas on every
    ``setData``; for nine heads moved once a frame that was ~1.5 ms of a 12 ms playback frame
    (measured: the frame with the heads hidden). This item keeps the points and brushes and
    paints nine circles in device coordinates. ``setData`` reads as ScatterPlotItem's.
    """

    def __init__(self) -> None:
        super().__init__()
        self._pos = np.empty((0, 2))
        self._brushes: list[object] = []
        self._size = 10.0
        self._pen = QPen(Qt.PenStyle.NoPen)
        self._rect: QRectF | None = None

    def setData(  # noqa: N802 (pyqtgraph's name)
        self,
        *args: object,
        pos: object = None,
        brush: object = None,
        size: float | None = None,
        pen: QPen | None = None,
    ) -> None:
        if args:  # setData([]): no heads
            pos = args[0]
        points = np.asarray(pos if pos is not None else [], dtype=float).reshape(-1, 2)
        self._pos = points
        brushes = brush if isinstance(brush, list | tuple) else [brush] * len(points)
        self._brushes = [b if isinstance(b, QBrush) else pg.mkBrush(b) for b in brushes]
        if size is not None:
            self._size = float(size)
        if pen is not None:
            self._pen = pen
        self.prepareGeometryChange()
        self._rect = None
        self.update()

    def getData(self) -> tuple[np.ndarray, np.ndarray]:  # noqa: N802 (pyqtgraph's name)
        return self._pos[:, 0], self._pos[:, 1]

    def viewTransformChanged(self) -> None:  # noqa: N802 (pyqtgraph's name)
        self.prepareGeometryChange()
        self._rect = None

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt's name)
        if self._rect is None:
            finite = self._pos[np.isfinite(self._pos).all(axis=1)]
            px, py = self.pixelVectors()
            if not len(finite) or px is None or py is None:
                self._rect = QRectF()
            else:
                pad = 0.5 * self._size + self._pen.widthF() + 1.0
                dx, dy = pad * px.length(), pad * py.length()
                (x0, y0), (x1, y1) = finite.min(axis=0), finite.max(axis=0)
                self._rect = QRectF(x0 - dx, y0 - dy, x1 - x0 + 2 * dx, y1 - y0 + 2 * dy)
        return self._rect

    def paint(self, painter: QPainter, *args: object) -> None:
        if not len(self._pos):
            return
        transform = painter.transform()
        painter.resetTransform()  # sizes in pixels, whatever the zoom
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(self._pen)
        r = 0.5 * self._size
        for (x, y), brush in zip(self._pos, self._brushes, strict=True):
            if not (np.isfinite(x) and np.isfinite(y)):
                continue
            painter.setBrush(brush)  # type: ignore[arg-type]
            painter.drawEllipse(transform.map(QPointF(x, y)), r, r)
        painter.setTransform(transform)


class Trail:
    """One optimizer's path: the whole of it faint, the part played so far solid.

    The faint path shows from the first frame where every optimizer is going (a paused drag at
    step 0, a scrub); the solid part is what has happened. Entries listed first are drawn on top
    and a little thinner, so a path that coincides with another (batch GD under mini-batch GD)
    shows as a coloured rim around it: see :func:`cover_depth`.

    Colours close to the surface's (yellow on the light theme) get a halo. Only those: a wide
    antialiased stroke is the most expensive thing in a frame (a halo under all nine trails
    measured 9 ms of a 16 ms drag).
    """

    GHOST_ALPHA = 110
    GHOST_WIDTH = 0.6  # of the solid trail's width

    def __init__(
        self, plot: pg.PlotItem, color: str, theme: Theme, index: int = 0, count: int = 1
    ) -> None:
        self.theme = theme
        self.width = theme.trail_width
        self.halo = Curve(
            pg.mkPen(
                QColor(*theme.halo_color), width=self.width + theme.halo_width - theme.trail_width
            )
        )
        self.ghost = Curve()
        self.line = Curve()
        above = (count - index) * 0.01  # the first entry on top
        self.ghost.setZValue(8 + above)
        self.halo.setZValue(10 + above)
        self.line.setZValue(11 + above)
        for item in (self.ghost, self.halo, self.line):
            plot.addItem(item)
        # The whole path is still during playback: a cached pixmap, not nine strokes a frame.
        cache_static(self.ghost)
        self._full: np.ndarray | None = None
        self._ghost_spacing = -1.0
        self._kept = np.empty(0, dtype=np.int64)
        self._ghost_stale = True
        self.set_color(color)

    def set_color(self, color: str) -> None:
        self._color = color
        set_pen_color(self.line, color, self.width, cap=Qt.PenCapStyle.RoundCap)
        faint = QColor(color)
        faint.setAlpha(self.GHOST_ALPHA)
        pen = self.ghost.opts.get("pen")
        ghost_width = self.width * self.GHOST_WIDTH
        if not (isinstance(pen, QPen) and pen.color() == faint and pen.widthF() == ghost_width):
            self.ghost.setPen(pg.mkPen(faint, width=ghost_width, cap=Qt.PenCapStyle.RoundCap))
        self._halo_wanted = self.theme.needs_halo(color)
        self.halo.setVisible(self._halo_wanted and self.line.isVisible())

    def set_depth(self, depth: int) -> None:
        """Draw wider by a rim for each path that runs on top of this one (see cover_depth)."""
        width = self.theme.trail_width + RIM_PX * depth
        if width != self.width:
            self.width = width
            self.set_color(self._color)
            halo = pg.mkPen(
                QColor(*self.theme.halo_color),
                width=width + self.theme.halo_width - self.theme.trail_width,
            )
            self.halo.setPen(halo)

    def set_path(self, full: np.ndarray, step: int, spacing: float = 0.0) -> None:
        """Show the whole path ``full`` faintly and ``full[: step + 1]`` solid, both thinned to
        points ``spacing`` apart (under a pixel: the thinning cannot be seen)."""
        # At the last step the solid path covers the faint one: it is not drawn at all then
        # (nine strokes fewer per drag when playback has ended, the usual case).
        future = step < len(full) - 1
        if full is not self._full or spacing != self._ghost_spacing:
            self._full, self._ghost_spacing = full, spacing
            self._kept = thin_indices(full, spacing)
            self._ghost_stale = True
        if future and self._ghost_stale:
            self._ghost_stale = False
            ghost = full[self._kept]
            self.ghost.setData(ghost[:, 0], ghost[:, 1])
        self.ghost.setVisible(future and self.line.isVisible())
        self._set_solid(thinned_prefix(full, self._kept, step))

    def set_points(self, xy: np.ndarray, spacing: float = 0.0) -> None:
        """Show the path ``xy`` solid, thinned to points ``spacing`` apart."""
        self._set_solid(thin_path(xy, spacing))

    def _set_solid(self, xy: np.ndarray) -> None:
        if self._halo_wanted:
            self.halo.setData(xy[:, 0], xy[:, 1])
        self.line.setData(xy[:, 0], xy[:, 1])

    def set_antialias(self, on: bool) -> None:
        for item in (self.ghost, self.halo, self.line):
            if item.opts.get("antialias") != on:
                item.opts["antialias"] = on  # PlotCurveItem reads it on every paint
                item.update()

    def set_visible(self, visible: bool) -> None:
        self.halo.setVisible(visible and self._halo_wanted)
        self.line.setVisible(visible)
        self.ghost.setVisible(visible)

    def remove(self, plot: pg.PlotItem) -> None:
        for item in (self.ghost, self.halo, self.line):
            plot.removeItem(item)


RIM_PX = 3.5
"""How much wider a path that runs under others is drawn: a rim of ~1.75 px on each side."""


def _cells(xy: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """The cells of size ``cell`` that the polyline ``xy`` passes through, as sorted int64 keys."""
    if len(xy) > 1:
        # Points every half cell along the path, so a long step marks every cell it crosses.
        d = np.diff(xy, axis=0)
        per = np.maximum(np.ceil(2 * np.nan_to_num(np.hypot(*(d / cell).T))), 1).astype(np.int64)
        per = np.minimum(per, 4096)  # a step across a thousand views is one long straight line
        seg = np.repeat(np.arange(len(per)), per)
        first = np.repeat(np.cumsum(per) - per, per)
        t = (np.arange(len(seg)) - first) / per[seg]
        xy = np.concatenate([xy[seg] + t[:, None] * d[seg], xy[-1:]])
    xy = xy[np.isfinite(xy).all(axis=1)]
    ij = np.floor(xy / cell).astype(np.int64)
    return np.unique(ij[:, 0] * 1_000_003 + ij[:, 1])


def cover_depth(
    paths: list[np.ndarray | None], pixel: tuple[float, float], share: float = 0.5
) -> list[int]:
    """How many paths drawn above each path hide it, one on top of another (0: none).

    Paths listed first are drawn on top. Each path is rasterised onto cells of about two pixels;
    path ``i`` runs under path ``j < i`` when more than ``share`` of its cells are ``j``'s too,
    and its depth is one more than the deepest such ``j``. ``None`` stands for a hidden path.
    About 1 ms for nine 300-step paths.
    """
    cell = 2.0 * np.asarray(pixel, dtype=float)
    cells: list[np.ndarray] = []
    depth: list[int] = []
    for xy in paths:
        mine = _cells(xy, cell) if xy is not None and len(xy) else np.empty(0, np.int64)
        d = 0
        for j, theirs in enumerate(cells):
            if len(mine) and np.isin(mine, theirs, assume_unique=True).sum() > share * len(mine):
                d = max(d, depth[j] + 1)
        cells.append(mine)
        depth.append(d)
    return depth


# Marching squares: for each of the 16 ways a cell's corners can lie above a level (bit 1: the
# corner at (row, col), 2: (row, col + 1), 4: (row + 1, col + 1), 8: (row + 1, col)), the pairs of
# cell edges the contour joins. Edges: 0 bottom (row), 1 right (col + 1), 2 top (row + 1), 3 left.
_SEGMENTS: dict[int, tuple[tuple[int, int], ...]] = {
    1: ((3, 0),),
    2: ((0, 1),),
    3: ((3, 1),),
    4: ((1, 2),),
    5: ((3, 0), (1, 2)),
    6: ((0, 2),),
    7: ((3, 2),),
    8: ((2, 3),),
    9: ((0, 2),),
    10: ((0, 1), (2, 3)),
    11: ((1, 2),),
    12: ((3, 1),),
    13: ((0, 1),),
    14: ((3, 0),),
}


def contour_lines(
    values: np.ndarray, xs: np.ndarray, ys: np.ndarray, levels: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Contours of ``values[i, j]`` (at ``(xs[j], ys[i])``, evenly spaced) at ``levels``.

    Returns NaN-separated segments in data coordinates: a single item to paint for all levels.
    Vectorised marching squares: 12 levels of a 128² grid in ~10 ms (pyqtgraph's isocurve, a
    Python loop over cells, took ~400 ms and was most of the window's start-up surface).
    """
    v = np.asarray(values, dtype=float)
    v00, v01, v11, v10 = v[:-1, :-1], v[:-1, 1:], v[1:, 1:], v[1:, :-1]
    rows, cols = np.mgrid[0 : v.shape[0] - 1, 0 : v.shape[1] - 1]
    dx = (xs[-1] - xs[0]) / (len(xs) - 1)
    dy = (ys[-1] - ys[0]) / (len(ys) - 1)

    def cross(a: np.ndarray, b: np.ndarray, level: float) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (level - a) / (b - a)
        return np.clip(np.nan_to_num(t, nan=0.5), 0.0, 1.0)

    px: list[np.ndarray] = []
    py: list[np.ndarray] = []
    for level in levels:
        case = (
            (v00 > level) * 1 + (v01 > level) * 2 + (v11 > level) * 4 + (v10 > level) * 8
        ).astype(np.int8)
        if not ((case > 0) & (case < 15)).any():
            continue
        # Where the level crosses each edge, in grid units (col, row).
        edges = (
            (cols + cross(v00, v01, level), rows.astype(float)),  # bottom
            (cols + 1.0, rows + cross(v01, v11, level)),  # right
            (cols + cross(v10, v11, level), rows + 1.0),  # top
            (cols.astype(float), rows + cross(v00, v10, level)),  # left
        )
        for c, pairs in _SEGMENTS.items():
            where = case == c
            if not where.any():
                continue
            for a, b in pairs:
                n = int(where.sum())
                seg_x = np.empty((n, 3))
                seg_y = np.empty((n, 3))
                seg_x[:, 0], seg_y[:, 0] = edges[a][0][where], edges[a][1][where]
                seg_x[:, 1], seg_y[:, 1] = edges[b][0][where], edges[b][1][where]
                seg_x[:, 2] = seg_y[:, 2] = np.nan
                px.append(xs[0] + seg_x.ravel() * dx)
                py.append(ys[0] + seg_y.ravel() * dy)
    if not px:
        return np.array([np.nan]), np.array([np.nan])
    return np.concatenate(px), np.concatenate(py)


def colour_values(loss: np.ndarray) -> tuple[np.ndarray, bool]:
    """What the heatmap shows: log10 of the loss where it is positive everywhere, else the loss.

    Returns the values and whether they are logarithmic.
    """
    finite = np.isfinite(loss)
    low = loss[finite].min() if finite.any() else 0.0
    if low > 0:
        return np.log10(np.where(finite, loss, np.nanmax(loss[finite]))), True
    if low == 0:  # a minimum of exactly zero on the grid: lift by a tiny fraction of the range
        top = loss[finite].max()
        return np.log10(np.where(finite, loss, top) + 1e-6 * max(top, 1e-12)), True
    return np.where(finite, loss, loss[finite].max()), False
