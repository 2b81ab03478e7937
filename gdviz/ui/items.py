"""pyqtgraph items gdviz reuses: made once per scene, updated with ``setData`` every frame."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QImage,
    QPaintEngine,
    QPainter,
    QPainterPath,
    QPen,
    QTransform,
)
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


def recache(*items: pg.GraphicsObject) -> None:
    """Drop the pixmaps Qt keeps of ``items`` (see :func:`cache_static`): after new contents.

    Qt caches a device-coordinate item that reaches well past the view (the heatmap and the
    contours just after a zoom in, before they are evaluated on the new rectangle) in parts,
    and kept parts of the old picture when the new one came: after three wheel clicks the
    contours showed seams where pieces of an earlier zoom stayed, until a resize.
    """
    for item in items:
        item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
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


def finite_bounds(xy: np.ndarray, ax: int) -> tuple[float, float] | tuple[None, None]:
    """``(min, max)`` of column ``ax`` over the rows of ``xy`` that are finite, as pyqtgraph's
    ``dataBounds`` answers (``(None, None)`` for none)."""
    values = xy[np.isfinite(xy).all(axis=1), ax]
    if not len(values):
        return (None, None)
    return (float(values.min()), float(values.max()))


def _extended(path: QPainterPath, point: np.ndarray) -> QPainterPath | None:
    """A copy of ``path`` with a line to ``point`` appended, as ``addPolygon`` appends it; None
    where ``lineTo`` would not (it drops a point equal, to ~1e-12, to the last one, where
    ``addPolygon`` keeps it)."""
    last = path.currentPosition()
    x, y = float(point[0]), float(point[1])
    if abs(x - last.x()) <= 1e-9 * (1.0 + abs(x)) and abs(y - last.y()) <= 1e-9 * (1.0 + abs(y)):
        return None
    longer = QPainterPath(path)
    longer.lineTo(x, y)
    return longer


def round_pen(color: str | QColor, width: float, **kw: object) -> QPen:
    """``pg.mkPen(color, width=width, **kw)`` with round caps: thick trails and dashes end round
    (mkPen takes no cap: they ended square). The joins stay bevelled: round ones cost a drag on
    rosenbrock ~4 ms (median 13.4-15.4 against 10.8-11.9 ms, same run, alternating)."""
    pen = pg.mkPen(color, width=width, **kw)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    return pen


def set_pen_color(item: pg.GraphicsObject, color: str, width: float, **kw: object) -> None:
    """Give ``item`` a round pen of this colour and width, unless it has one: a new pen
    repaints."""
    current = item.opts.get("pen") if hasattr(item, "opts") else None
    if isinstance(current, QPen) and current.color() == QColor(color) and current.widthF() == width:
        return
    item.setPen(round_pen(color, width, **kw))


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

    def setData(  # noqa: N802 (pyqtgraph's name)
        self, x: object, y: object, bounds: tuple[float, float, float, float] | None = None
    ) -> None:
        """``bounds``: the data's (x0, x1, y0, y1), from a caller that knows every value is
        finite (the data view works out nine lines' at once)."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        self.xData, self.yData = x, y
        if bounds is not None:
            self._bounds = bounds
            self._path = pg.arrayToQPath(x, y, connect="all", finiteCheck=False)
            self.prepareGeometryChange()
            self._rect = None
            self.update()
            return
        finite = np.isfinite(x) & np.isfinite(y)
        if finite.all() and len(x):  # the usual case: no masks, no second finite check
            self._bounds = (float(x.min()), float(x.max()), float(y.min()), float(y.max()))
            # What arrayToQPath(connect="finite") does with finite data.
            self._path = pg.arrayToQPath(x, y, connect="all", finiteCheck=False)
        elif finite.any():
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


class Scatter(pg.ScatterPlotItem):
    """``pg.ScatterPlotItem`` that works its bounding rectangle out once per change of data or
    view, not on each of the ~10 times a frame Qt asks (data bounds, pixel padding and the
    view's pixel vectors each time: ~0.5 ms of a playback frame over the window's scatters)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self._rect: QRectF | None = None
        self._rect_key: object = None
        super().__init__(*args, **kwargs)

    def _key(self) -> tuple:
        return (*self.bounds, self._maxSpotPxWidth, self._maxSpotWidth)

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt's name)
        if self._rect is None or self._rect_key != self._key():
            self._rect = super().boundingRect()
            self._rect_key = self._key()  # the data bounds are cached by now
        return self._rect

    def viewTransformChanged(self) -> None:  # noqa: N802 (pyqtgraph's name)
        self._rect = None
        super().viewTransformChanged()

    def prepareGeometryChange(self) -> None:  # noqa: N802 (Qt's name)
        self._rect = None
        super().prepareGeometryChange()


class PlayedPath(Curve):
    """The played part of one whole path: ``thinned_prefix(full, kept, step)``, drawn as a
    :class:`Curve`, with a step that moved repainting only the pixels that changed.

    Its bounding rectangle is the whole path's (every prefix lies inside it), so a new step
    changes no geometry, and it asks for the rectangle of the segments between the old and
    the new step only (padded by the pen). A Curve's ``setData`` asked for its whole old and new
    rectangle: every playback frame repainted the heatmap, the contours and all nine trails
    across most of the plot. The pixels are the same either way: Qt repaints the rectangle
    asked for from every item, as a full repaint would.

    The painter path is the one ``pg.arrayToQPath`` makes of the prefix (``addPolygon``: a move
    and a line to each point), built from the path of the kept points before the step, which
    grows by a line when playback passes a kept point, plus a line to the step's own point:
    ~15 µs a step instead of ~45 µs for the whole prefix again (500 steps, half played).
    """

    def __init__(self, pen: QPen | None = None, antialias: bool = True) -> None:
        super().__init__(pen, antialias)
        self._full: np.ndarray | None = None
        self._kept = np.empty(0, dtype=np.int64)
        self._step = -1
        self._finite_until = 0  # full[:this] is finite
        self._base: tuple[int, QPainterPath] | None = None  # (n, path of full[kept[:n]])
        self._pieces_from: float | None = None  # the first step drawn in pieces (inf: none)
        self._pieces: list[QPainterPath] = []  # full[kept[PIECE * i : PIECE * (i + 1) + 1]]
        self._board: QImage | None = None  # pieces[:_board_done], stroked in device pixels
        self._board_key: tuple | None = None  # (device transform, pen, antialias, extent)
        self._board_done = 0

    PIECE = 4
    """Segments per piece of a path that crosses itself again and again (see :meth:`paint`)."""

    SWEEPS = 8.0
    """How many times a path must cross its own bounding box to be drawn in pieces."""

    def setData(self, x: object, y: object) -> None:  # noqa: N802 (pyqtgraph's name)
        self._full = None  # another path: drawn as a Curve until set_prefix
        super().setData(x, y)

    def set_prefix(self, full: np.ndarray, kept: np.ndarray, step: int) -> None:
        """Show ``thinned_prefix(full, kept, step)`` (``kept = thin_indices(full, spacing)``)."""
        if full is self._full and kept is self._kept:
            if step != self._step:
                old, self._step = self._step, step
                self._path = self._prefix_path(step)
                if self._in_pieces(old) != self._in_pieces(step):
                    self.update()  # every piece's ends drawn anew
                else:
                    self._repaint_between(min(step, old), max(step, old))
            return
        finite = np.isfinite(full).all(axis=1)
        if not finite.any():
            self.setData([], [])
            return
        self._full, self._kept, self._step, self._base = full, kept, step, None
        self._finite_until = int(np.argmin(finite)) if not finite.all() else len(full)
        fx, fy = full[finite, 0], full[finite, 1]
        self._pieces, self._pieces_from = [], None
        self._board = self._board_key = None
        # Every prefix fits: no step changes the geometry.
        self._bounds = (float(fx.min()), float(fx.max()), float(fy.min()), float(fy.max()))
        self._path = self._prefix_path(step)
        self.prepareGeometryChange()
        self._rect = None
        self.update()

    def _prefix_path(self, step: int) -> QPainterPath:
        """``pg.arrayToQPath`` of the prefix at ``step``, made from the kept points' path."""
        full, kept = self._full, self._kept
        assert full is not None
        n = int(np.searchsorted(kept, step, side="right"))
        last_kept = n > 0 and int(kept[n - 1]) == step
        path = None
        if step < self._finite_until and n + (0 if last_kept else 1) >= 2:
            base = self._base[1] if self._base is not None and self._base[0] == n else None
            if base is None and self._base is not None and self._base[0] == n - 1 >= 1:
                base = _extended(self._base[1], full[kept[n - 1]])
            if base is not None:
                self._base = (n, base)
                path = base if last_kept else _extended(base, full[step])
        if path is None:  # a break in the line, a repeated point, a jump: made afresh
            if step < self._finite_until and n >= 2:
                base = pg.arrayToQPath(full[kept[:n], 0], full[kept[:n], 1])
                self._base = (n, base)
                if last_kept:  # the whole played part (a drag at the end: one path, as before)
                    return base
            xy = thinned_prefix(full, kept, step)
            path = pg.arrayToQPath(xy[:, 0], xy[:, 1], connect="finite")
        return path

    def paint(self, painter: QPainter, *args: object) -> None:
        """One path, as a Curve; a played part that crossed its own box more than ``SWEEPS``
        times (plain GD bouncing from wall to wall of a narrow valley, as on fair-race) in
        pieces of ``PIECE`` segments, the finished ones from a board (see :meth:`_paint_board`).

        Qt's antialiased stroke of one path that overlaps itself that often costs about the
        square of its length: 40 ms for GD's 100 segments on fair-race at 1600x1000 (the whole
        frame ~20 ms, as a repaint covers most of it), 7.7 ms in pieces of 4 (one path of
        pieces: 44 ms). The same pixels are covered, but for round caps where pieces meet (one
        path joins bevelled there), and where the antialiased edges of two pieces overlap they
        blend twice (over 90% of the covered pixels within 3 levels of 255:
        tests/ui/test_frames.py)."""
        full = self._full
        if full is None or self._path.isEmpty() or not self._in_pieces(self._step):
            return super().paint(painter, *args)
        n = int(np.searchsorted(self._kept, self._step, side="right"))
        kept = self._kept
        while self.PIECE * (len(self._pieces) + 1) < n:  # the pieces of kept points alone
            i = self.PIECE * len(self._pieces)
            xy = full[kept[i : i + self.PIECE + 1]]
            self._pieces.append(pg.arrayToQPath(xy[:, 0], xy[:, 1]))
        done = (n - 1) // self.PIECE  # pieces that end on or before the last kept point
        pen = self.opts["pen"]
        antialias = bool(self.opts["antialias"])
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, antialias)
        painter.setPen(pen)  # type: ignore[arg-type]
        if not self._paint_board(painter, done, pen, antialias):  # type: ignore[arg-type]
            for piece in self._pieces[:done]:
                painter.drawPath(piece)
        rest = full[kept[self.PIECE * done : n]]
        if int(kept[n - 1]) != self._step:
            rest = np.concatenate([rest, full[self._step : self._step + 1]])
        if len(rest) >= 2:
            painter.drawPath(pg.arrayToQPath(rest[:, 0], rest[:, 1]))
        return None

    BOARD_PIXELS = 1 << 24
    """The largest board (device pixels); a path whose visible part would need more is
    stroked piece by piece instead."""

    def _paint_board(self, painter: QPainter, done: int, pen: QPen, antialias: bool) -> bool:
        """Draw ``pieces[:done]`` from a board: an image in device pixels, the size of the
        path's visible part, onto which the pieces are stroked once each, as a whiteboard.
        A playback step strokes the piece it finished (if any) and blits the board inside the
        area being repainted: fair-race's GD, a band across its valley repainted each step,
        cost ~4.6 ms a frame stroked piece by piece, <1 ms from the board (steps 10-70).
        A new zoom, pan, size, pen or path makes a new board, and a step back redraws it.

        A board's pixels may differ from a direct stroke's by a level of rounding (the layer is
        blended, not each stroke): a step repaints the whole piece being finished, so a
        partial repaint always leaves what a full one draws.

        Returns False where the pieces are to be stroked one by one: a board would be larger
        than ``BOARD_PIXELS``, or the painter is not drawing pixels (an SVG or PDF figure keeps
        its paths)."""
        engine = painter.paintEngine()
        if engine is None or engine.type() != QPaintEngine.Type.Raster:
            return False
        world = painter.deviceTransform()
        visible = self.boundingRect()
        view = self.getViewBox()
        if view is not None:  # the view's rectangle, in this item's coordinates
            shown = self.mapRectFromView(view.viewRect())
            if shown is not None:
                visible = visible.intersected(shown)
        extent = world.mapRect(visible).toAlignedRect()
        if extent.isEmpty() or extent.width() * extent.height() > self.BOARD_PIXELS:
            self._board = self._board_key = None
            return extent.isEmpty()  # nothing to draw, or stroked piece by piece
        key = (world, QPen(pen), antialias, extent)
        if self._board is None or self._board_key != key or self._board_done > done:
            self._board = QImage(extent.size(), QImage.Format.Format_ARGB32_Premultiplied)
            self._board.fill(0)
            self._board_key, self._board_done = key, 0
        if self._board_done < done:
            board = QPainter(self._board)
            board.setRenderHint(QPainter.RenderHint.Antialiasing, antialias)
            board.setTransform(world * QTransform.fromTranslate(-extent.x(), -extent.y()))
            board.setPen(pen)
            for piece in self._pieces[self._board_done : done]:
                board.drawPath(piece)
            board.end()
            self._board_done = done
        painter.save()  # (the caller's pen and hints come back with restore)
        painter.resetTransform()  # what is left maps to the device: its pixel ratio, an offset
        to_device, _ = painter.deviceTransform().inverted()
        painter.setTransform(QTransform.fromTranslate(extent.x(), extent.y()) * to_device)
        painter.drawImage(QPointF(0.0, 0.0), self._board)  # pixel for pixel
        painter.restore()
        return True

    def _in_pieces(self, step: int) -> bool:
        """Whether the played part at ``step`` is drawn in pieces (see :meth:`paint`): only
        antialiased (a plain stroke of fair-race's GD took 0.8 ms), so a drag, whose trails
        are plain, works out no sweeps (~20-40 µs a path)."""
        if self._full is None or not self.opts["antialias"] or not 0 <= step < self._finite_until:
            return False
        if self._pieces_from is None:  # from the kept point where the sweeps pass SWEEPS on
            x0, x1, y0, y1 = self._bounds  # type: ignore[misc]
            per = np.array(
                [1.0 / (x1 - x0) if x1 > x0 else 0.0, 1.0 / (y1 - y0) if y1 > y0 else 0.0]
            )
            travel = (np.abs(np.diff(self._full[self._kept], axis=0)) * per).max(axis=1)
            past = np.flatnonzero(np.cumsum(travel) > self.SWEEPS)  # sweeps at kept[i + 1]
            self._pieces_from = float(self._kept[past[0] + 1]) if len(past) else math.inf
        return step >= self._pieces_from

    def getData(self) -> tuple[np.ndarray, np.ndarray]:  # noqa: N802 (pyqtgraph's name)
        if self._full is None:
            return super().getData()
        xy = thinned_prefix(self._full, self._kept, self._step)
        return xy[:, 0], xy[:, 1]

    def _repaint_between(self, a: int, b: int) -> None:
        """Repaint what steps ``a < b`` draw differently: the segments from the last kept point
        at or before ``a`` to ``b`` (the others, and their joins, are the same). In pieces, from
        the first point of the piece that point ends or is in: a finished piece moves from a
        direct stroke to the board, which may differ by a level of rounding."""
        assert self._full is not None
        n = int(np.searchsorted(self._kept, a, side="right"))
        if n and self._in_pieces(a):
            n = self.PIECE * ((n - 1) // self.PIECE) + 1
        start = int(self._kept[n - 1]) if n else 0
        pts = self._full[start : b + 1]
        if b >= self._finite_until:
            pts = pts[np.isfinite(pts).all(axis=1)]
            if not len(pts):
                return
        self.boundingRect()  # the pen's reach in data units, for this zoom
        if self._pad is None:
            self.update()
            return
        dx, dy = self._pad
        (x0, y0), (x1, y1) = pts.min(axis=0).tolist(), pts.max(axis=0).tolist()
        self.update(QRectF(x0 - dx, y0 - dy, x1 - x0 + 2 * dx, y1 - y0 + 2 * dy))

    def pixelPadding(self) -> float:  # noqa: N802 (pyqtgraph's name)
        """How far the stroke reaches from a point, with room to spare: a round cap reaches w/2,
        a square one w/√2 at its corners (past the half width a Curve allows), and a bevelled
        join a little past w/2; plus a pixel for antialiasing."""
        return 0.75 * float(self.opts["pen"].widthF()) + 2.0  # type: ignore[union-attr]

    def dataBounds(  # noqa: N802 (pyqtgraph's name)
        self,
        ax: int,
        frac: float = 1.0,
        orthoRange: object = None,  # noqa: N803
    ) -> tuple[float, float] | tuple[None, None]:
        """The bounds of the part drawn (its rectangle is the whole path's)."""
        del frac, orthoRange
        return finite_bounds(np.column_stack(self.getData()), ax)


class Heads(pg.GraphicsObject):
    """Round markers of a fixed size in pixels, one brush each: where every optimizer is now.

    ``pg.ScatterPlotItem`` rebuilds its spot records, styles and symbol atlas on every
    ``setData``; for nine heads moved once a frame that was ~1.5 ms of a 12 ms playback frame
    (measured: the frame with the heads hidden). This item keeps the points and brushes and
    paints nine circles in device coordinates. ``setData`` reads as ScatterPlotItem's.

    A playback step that only moves heads (same brushes, size and pen) repaints the few pixels
    around each head that moved, where it was and where it is, not the rectangle around all of
    them: a full-rectangle update repainted everything under it (the heatmap, the contours,
    every trail) across most of the plot, each frame. So that moving heads never changes the
    item's geometry, its bounding rectangle is the visible part of its view (where a head can
    be seen), and its data bounds are the heads'.
    """

    def __init__(self) -> None:
        super().__init__()
        self._pos = np.empty((0, 2))
        self._brushes: list[object] = []
        self._size = 10.0
        self._pen = QPen(Qt.PenStyle.NoPen)
        self._rect: QRectF | None = None
        self._pad: tuple[float, float] | None = None  # a head's reach in data units

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
        brushes = brush if isinstance(brush, list | tuple) else [brush] * len(points)
        brushes = [b if isinstance(b, QBrush) else pg.mkBrush(b) for b in brushes]
        same_look = (
            len(points) == len(self._pos)
            and all(a is b for a, b in zip(brushes, self._brushes, strict=True))
            and (size is None or float(size) == self._size)
            and (pen is None or pen is self._pen)
        )
        old = self._pos
        self._pos = points
        self._brushes = brushes
        if same_look and self._moved_only(old, points):
            return
        if size is not None:
            self._size = float(size)
        if pen is not None:
            self._pen = pen
        self.prepareGeometryChange()
        self._rect = self._pad = None
        self.update()

    def _moved_only(self, old: np.ndarray, new: np.ndarray) -> bool:
        """Repaint around the heads that moved; False when that cannot be done (no view to
        size a head in)."""
        moved = np.flatnonzero(~((old == new) | (np.isnan(old) & np.isnan(new))).all(axis=1))
        if not len(moved):
            return True
        pad = self._head_pad()
        if pad is None or self._rect is None or self._rect.isEmpty():
            return False
        scene = self.scene()
        if scene is None or not self.isVisible():
            return True
        pts = np.concatenate([old[moved], new[moved]])
        pts = pts[np.isfinite(pts).all(axis=1)]
        dx, dy = pad
        # The scene's update, rect by rect: an item's own update() merges every rectangle asked
        # for in a frame into one around them all (QGraphicsItem keeps one dirty rectangle).
        t = self.sceneTransform()
        if t.isAffine() and not t.isRotating():
            sx, sy = t.m11(), t.m22()
            hx, hy = abs(sx) * dx, abs(sy) * dy
            cx = (sx * pts[:, 0] + t.dx()).tolist()
            cy = (sy * pts[:, 1] + t.dy()).tolist()
            for x, y in zip(cx, cy, strict=True):
                scene.update(x - hx, y - hy, 2 * hx, 2 * hy)
        else:
            for x, y in pts.tolist():
                scene.update(self.mapRectToScene(QRectF(x - dx, y - dy, 2 * dx, 2 * dy)))
        return True

    def _head_pad(self) -> tuple[float, float] | None:
        """Half a head's extent (its pen and a pixel of antialiasing included) in data units."""
        if self._pad is None:
            px, py = self.pixelVectors()
            if px is None or py is None:
                return None
            pad = 0.5 * self._size + self._pen.widthF() + 1.0
            self._pad = (pad * px.length(), pad * py.length())
        return self._pad

    def getData(self) -> tuple[np.ndarray, np.ndarray]:  # noqa: N802 (pyqtgraph's name)
        return self._pos[:, 0], self._pos[:, 1]

    def dataBounds(  # noqa: N802 (pyqtgraph's name)
        self,
        ax: int,
        frac: float = 1.0,
        orthoRange: object = None,  # noqa: N803
    ) -> tuple[float, float] | tuple[None, None]:
        del frac, orthoRange
        return finite_bounds(self._pos, ax)

    def viewTransformChanged(self) -> None:  # noqa: N802 (pyqtgraph's name)
        super().viewTransformChanged()  # the cached view rectangle
        self.prepareGeometryChange()
        self._rect = self._pad = None

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt's name)
        if self._rect is None:
            finite = self._pos[np.isfinite(self._pos).all(axis=1)]
            pad = self._head_pad()
            view = self.viewRect()
            if not len(finite) or pad is None:
                self._rect = QRectF()
            elif view is None:
                dx, dy = pad
                (x0, y0), (x1, y1) = finite.min(axis=0), finite.max(axis=0)
                self._rect = QRectF(x0 - dx, y0 - dy, x1 - x0 + 2 * dx, y1 - y0 + 2 * dy)
            else:
                dx, dy = pad
                self._rect = view.normalized().adjusted(-dx, -dy, dx, dy)
        return self._rect

    def paint(self, painter: QPainter, *args: object) -> None:
        if not len(self._pos):
            return
        transform = painter.transform()
        painter.resetTransform()  # sizes in pixels, whatever the zoom
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(self._pen)
        r = 0.5 * self._size
        # The points mapped at once, as QTransform.map does (the view's transform is affine):
        # a call per head was ~0.15 ms of each repaint.
        x, y = self._pos[:, 0], self._pos[:, 1]
        if transform.isAffine():
            dx = transform.m11() * x + transform.m21() * y + transform.dx()
            dy = transform.m12() * x + transform.m22() * y + transform.dy()
        else:
            mapped = [transform.map(QPointF(a, b)) for a, b in self._pos.tolist()]
            dx = np.array([p.x() for p in mapped])
            dy = np.array([p.y() for p in mapped])
        finite = np.isfinite(dx) & np.isfinite(dy)
        for px, py, ok, brush in zip(
            dx.tolist(), dy.tolist(), finite.tolist(), self._brushes, strict=True
        ):
            if ok:
                painter.setBrush(brush)  # type: ignore[arg-type]
                painter.drawEllipse(QPointF(px, py), r, r)
        painter.setTransform(transform)


class GhostLayer(pg.GraphicsObject):
    """Every trail's faint whole path, painted by one item into one cached pixmap.

    Each faint path was an item with a cache of its own: nine pixmaps of most of the plot,
    each blended over the heatmap wherever a frame repainted (a playback step repaints where
    the heads and the newest segments are). The curves stay items (their data, pens and
    visibility are read as before) that Qt does not paint (``ItemHasNoContents``); this item
    paints the visible ones in their stacking order, as Qt did. :class:`Trail` tells it when a
    curve changed. The faint paths overlap with their alpha blended in one pixmap rather than
    nine: the same picture up to 8-bit rounding where two faint paths cross (at most 3 levels
    of 255, in ~0.1% of a 1600x1000 screenshot of the default scene).
    """

    def __init__(self) -> None:
        super().__init__()
        self._curves: list[Curve] = []
        self._rect: QRectF | None = None
        cache_static(self)

    def add(self, curve: Curve) -> None:
        curve.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, True)
        self._curves.append(curve)
        self.changed()

    def discard(self, curve: Curve) -> None:
        if curve in self._curves:
            self._curves.remove(curve)
            self.changed()

    def changed(self) -> None:
        """A curve's data, pen, antialiasing or visibility changed: paint them all again."""
        self.prepareGeometryChange()
        self._rect = None
        self.update()

    def viewTransformChanged(self) -> None:  # noqa: N802 (pyqtgraph's name)
        self.prepareGeometryChange()
        self._rect = None

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt's name)
        if self._rect is None:
            rect = QRectF()
            for curve in self._curves:
                if curve.isVisible():
                    rect = rect.united(curve.mapRectToParent(curve.boundingRect()))
            self._rect = self.mapRectFromParent(rect)
        return self._rect

    def paint(self, painter: QPainter, *args: object) -> None:
        for curve in sorted(self._curves, key=lambda c: c.zValue()):
            if curve.isVisible():
                painter.save()
                painter.setTransform(curve.itemTransform(self)[0], True)
                curve.paint(painter)
                painter.restore()


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
        self,
        plot: pg.PlotItem,
        color: str,
        theme: Theme,
        index: int = 0,
        count: int = 1,
        ghosts: GhostLayer | None = None,
    ) -> None:
        self.theme = theme
        self.width = theme.trail_width
        self.halo = PlayedPath(
            round_pen(QColor(*theme.halo_color), self.width + theme.halo_width - theme.trail_width)
        )
        self.ghost = Curve()
        self.line = PlayedPath()
        above = (count - index) * 0.01  # the first entry on top
        self.ghost.setZValue(8 + above)
        self.halo.setZValue(10 + above)
        self.line.setZValue(11 + above)
        for item in (self.ghost, self.halo, self.line):
            plot.addItem(item)
        # The whole path is still during playback: painted into one cached pixmap with the
        # other trails' (``ghosts``, shared), not stroked every frame.
        if ghosts is None:
            ghosts = GhostLayer()
            ghosts.setZValue(8 + above)
            plot.addItem(ghosts)
        self.ghosts = ghosts
        ghosts.add(self.ghost)
        self._visible = True
        self._future = True  # the last set_path left a part to play
        self._ghost_shown = True
        self._full: np.ndarray | None = None
        self._ghost_spacing = -1.0
        self._kept = np.empty(0, dtype=np.int64)
        self._ghost_stale = True
        self.set_color(color)

    def set_color(self, color: str) -> None:
        self._color = color
        set_pen_color(self.line, color, self.width)
        faint = QColor(color)
        faint.setAlpha(self.GHOST_ALPHA)
        pen = self.ghost.opts.get("pen")
        ghost_width = self.width * self.GHOST_WIDTH
        if not (isinstance(pen, QPen) and pen.color() == faint and pen.widthF() == ghost_width):
            self.ghost.setPen(round_pen(faint, ghost_width))
            self.ghosts.changed()
        self._halo_wanted = self.theme.needs_halo(color)
        self.halo.setVisible(self._halo_wanted and self.line.isVisible())

    def set_depth(self, depth: int) -> None:
        """Draw wider by a rim for each path that runs on top of this one (see cover_depth)."""
        width = self.theme.trail_width + RIM_PX * depth
        if width != self.width:
            self.width = width
            self.set_color(self._color)
            halo = round_pen(
                QColor(*self.theme.halo_color),
                width + self.theme.halo_width - self.theme.trail_width,
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
            self.ghosts.changed()
        self._future = future
        self._show_ghost(future and self._visible)
        if self._halo_wanted:
            self.halo.set_prefix(full, self._kept, step)
        self.line.set_prefix(full, self._kept, step)

    def set_antialias(self, on: bool) -> None:
        for item in (self.ghost, self.halo, self.line):
            if item.opts.get("antialias") != on:
                item.opts["antialias"] = on  # PlotCurveItem reads it on every paint
                item.update()
                if item is self.ghost:
                    self.ghosts.changed()

    def set_visible(self, visible: bool) -> None:
        self._visible = visible
        self.halo.setVisible(visible and self._halo_wanted)
        self.line.setVisible(visible)
        self._show_ghost(visible and self._future)

    def _show_ghost(self, shown: bool) -> None:
        """Show or hide the faint path, repainting the shared layer only on a change (every
        frame sets it, and a repainted layer is nine strokes)."""
        if self._ghost_shown != shown:
            self._ghost_shown = shown
            self.ghost.setVisible(shown)
            self.ghosts.changed()

    def remove(self, plot: pg.PlotItem) -> None:
        self.ghosts.discard(self.ghost)
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
