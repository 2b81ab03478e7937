"""pyqtgraph items gdviz reuses: made once per scene, updated with ``setData`` every frame."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph import functions as fn
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from gdviz.ui.theme import Theme


class Trail:
    """One optimizer's path: a coloured line over a dark halo, so light colours stay visible."""

    def __init__(self, plot: pg.PlotItem, color: str, theme: Theme, name: str = "") -> None:
        halo = QColor(20, 20, 30, 150)
        self.halo = pg.PlotCurveItem(pen=pg.mkPen(halo, width=theme.halo_width), connect="finite")
        self.line = pg.PlotCurveItem(
            pen=pg.mkPen(color, width=theme.trail_width, cap=Qt.PenCapStyle.RoundCap),
            connect="finite",
            name=name,
        )
        self.halo.setZValue(10)
        self.line.setZValue(11)
        plot.addItem(self.halo)
        plot.addItem(self.line)

    def set_points(self, xy: np.ndarray) -> None:
        self.halo.setData(xy[:, 0], xy[:, 1])
        self.line.setData(xy[:, 0], xy[:, 1])

    def set_visible(self, visible: bool) -> None:
        self.halo.setVisible(visible)
        self.line.setVisible(visible)

    def remove(self, plot: pg.PlotItem) -> None:
        plot.removeItem(self.halo)
        plot.removeItem(self.line)


def contour_lines(
    values: np.ndarray, xs: np.ndarray, ys: np.ndarray, levels: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Contours of ``values[i, j]`` (at ``(xs[j], ys[i])``, evenly spaced) at ``levels``.

    Returns one NaN-separated polyline in data coordinates: a single item to paint for all levels.
    """
    dx = (xs[-1] - xs[0]) / (len(xs) - 1)
    dy = (ys[-1] - ys[0]) / (len(ys) - 1)
    px: list[np.ndarray] = []
    py: list[np.ndarray] = []
    for level in levels:
        for line in fn.isocurve(values, level, connected=True):
            pts = np.asarray(line, dtype=float) - 0.5  # isocurve works in pixel-centre coordinates
            px += [xs[0] + pts[:, 1] * dx, np.array([np.nan])]
            py += [ys[0] + pts[:, 0] * dy, np.array([np.nan])]
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
