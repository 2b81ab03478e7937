"""Basin and stability maps as pictures: numpy colours for image items, and slides painted offscreen.

:func:`basin_rgb` and :func:`stability_rgb` turn a :class:`gdviz.core.basins.BasinMap` or
:class:`gdviz.core.basins.StabilityMap` into ``(rows, columns, 3)`` uint8 colours (row 0 the
lowest y, as the maps are; flip for a top-down image), which an ``ImageItem`` placed on the map's
rectangle can show. :func:`paint_basins` and :func:`paint_stability` lay a whole picture out with
``QPainter`` on a ``QImage`` (small multiples, a legend, axes with the problem's names), large
enough to read from the back of a lecture hall; ``gdviz basins`` and ``gdviz stability`` write them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPen

from gdviz.core import RULES, Scene
from gdviz.core.basins import (
    DIVERGED,
    NOT_SETTLED,
    SETTLED,
    BasinMap,
    StabilityMap,
    momentum_boundary,
    quadratic_eigenvalues,
)
from gdviz.ui.theme import LIGHT, PALETTE, Theme, entry_color, rgb

MINIMUM_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8C564B")
"""One colour per known minimum, in order (Okabe-Ito without black and yellow: black is
"diverged", and yellow fades to nothing when shaded lighter)."""

DIVERGED_COLOR = "#000000"
NOT_SETTLED_COLOR = "#A0A0A0"
SETTLED_COLOR = "#5C5C5C"

LATE_FADE = 0.72
"""A run that settles on the last step is drawn this far from its minimum's colour towards white;
one that starts in place is the full colour. Between, the fade grows as sqrt(settle / steps)."""

LOSS_STOPS = ("#2B1B5A", "#3B528B", "#21918C", "#5EC962", "#FDE725")
"""Low loss to high loss (viridis' anchors, reversed in sense: dark = low) for stability maps."""


def minimum_color(index: int) -> str:
    return MINIMUM_COLORS[index % len(MINIMUM_COLORS)]


UNDER_PATHS_FADE = 0.4
"""How far towards white the window's basin layer draws even the earliest-settled starts: the
minima's colours are the entries' hues (GD's blue is minimum 1's), and a trail crossing a basin of
its own colour at full strength vanished into it (seen projected: Momentum's orange path over the
orange basin of local-minimum-basins)."""


def basin_rgb(
    outcome: np.ndarray, settle: np.ndarray, steps: int, lightest: float = 0.0
) -> np.ndarray:
    """``(rows, cols, 3)`` uint8: each minimum its colour, lighter the later it was reached
    (from ``lightest`` of the way to white, for a start already there, to :data:`LATE_FADE`);
    diverged black, not settled mid grey, settled elsewhere dark grey."""
    out = np.empty((*outcome.shape, 3), dtype=np.float64)
    late = np.sqrt(np.clip(settle / max(steps, 1), 0.0, 1.0))[..., None]
    fade = lightest + (LATE_FADE - lightest) * late
    for k in range(int(outcome.max(initial=-1)) + 1):
        where = outcome == k
        base = np.array(rgb(minimum_color(k)), dtype=np.float64)
        out[where] = (base + (255.0 - base) * fade)[where]
    for value, color in (
        (DIVERGED, DIVERGED_COLOR),
        (NOT_SETTLED, NOT_SETTLED_COLOR),
        (SETTLED, SETTLED_COLOR),
    ):
        out[outcome == value] = rgb(color)
    return np.round(out).astype(np.uint8)


def minimum_text(index: int, point: Sequence[float]) -> str:
    """How a legend names a known minimum: "minimum 2 (−2.81, 3.13)"."""
    x, y = point
    return f"minimum {index + 1} ({tick_text(round(x, 2))}, {tick_text(round(y, 2))})"


def basin_legend(minima: np.ndarray, outcomes: np.ndarray | None = None) -> list[tuple[str, str]]:
    """``(colour, text)`` rows of a basin map's legend: every minimum, then the other outcomes
    (all three, or only those that occur in ``outcomes``)."""
    items = [(minimum_color(j), minimum_text(j, p)) for j, p in enumerate(minima)]
    for value, color, text in (
        (DIVERGED, DIVERGED_COLOR, "diverged"),
        (NOT_SETTLED, NOT_SETTLED_COLOR, "not settled"),
        (SETTLED, SETTLED_COLOR, "stopped elsewhere"),
    ):
        if outcomes is None or bool(np.any(outcomes == value)):
            items.append((color, text))
    return items


def loss_lut(stops: Sequence[str], n: int = 256) -> np.ndarray:
    colors = np.array([rgb(c) for c in stops], dtype=np.float64)
    pos = np.linspace(0.0, 1.0, len(colors))
    t = np.linspace(0.0, 1.0, n)
    return np.stack([np.interp(t, pos, colors[:, i]) for i in range(3)], axis=1).astype(np.uint8)


def loss_range(final_loss: np.ndarray) -> tuple[float, float]:
    """The decades a stability map's colours span: log10 of the finite losses, clipped at 1e-12."""
    finite = final_loss[np.isfinite(final_loss)]
    if not finite.size:
        return -1.0, 1.0
    logs = np.log10(np.maximum(finite, 1e-12))
    lo, hi = math.floor(float(logs.min())), math.ceil(float(logs.max()))
    return (lo, hi) if hi > lo else (lo - 1.0, hi + 1.0)


def stability_rgb(m: StabilityMap) -> np.ndarray:
    """``(rows, cols, 3)`` uint8: log10 final loss on :data:`LOSS_STOPS`, diverged black."""
    lo, hi = loss_range(m.final_loss)
    logs = np.log10(np.maximum(np.where(np.isfinite(m.final_loss), m.final_loss, 1.0), 1e-12))
    index = np.clip(np.round((logs - lo) / (hi - lo) * 255), 0, 255).astype(int)
    out = loss_lut(LOSS_STOPS)[index]
    out[m.outcome == DIVERGED] = rgb(DIVERGED_COLOR)
    return out


# --- painting ---------------------------------------------------------------------------------


def _qimage(colors: np.ndarray) -> QImage:
    """A top-down QImage of bottom-up ``(rows, cols, 3)`` colours (a copy: owns its pixels)."""
    flipped = np.ascontiguousarray(colors[::-1])
    h, w = flipped.shape[:2]
    return QImage(flipped.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def _font(px: float, bold: bool = False) -> QFont:
    font = QFont()
    font.setPixelSize(max(8, round(px)))
    font.setBold(bold)
    return font


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    span = hi - lo
    raw = span / max(count - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = min((s * mag for s in (1, 2, 2.5, 5, 10) if s * mag >= raw), default=10 * mag)
    first = math.ceil(lo / step - 1e-9) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def _log_ticks(lo: float, hi: float) -> list[float]:
    return [
        10.0**e for e in range(math.ceil(math.log10(lo) - 1e-9), math.floor(math.log10(hi)) + 1)
    ]


def log_ticks(lo: float, hi: float) -> tuple[list[float], list[float]]:
    """Major and minor tick values of a log axis over ``[lo, hi]``: decades (every second or
    third one past six decades), and 2 and 5 times them as minor ticks over three decades or
    fewer."""
    first, last = math.ceil(math.log10(lo) - 1e-9), math.floor(math.log10(hi) + 1e-9)
    every = 1 if last - first <= 6 else 2 if last - first <= 12 else 3
    major = [10.0**e for e in range(first, last + 1) if (e - first) % every == 0]
    minor = []
    if math.log10(hi / lo) <= 3 + 1e-9:
        minor = [
            m * 10.0**e
            for e in range(first - 1, last + 1)
            for m in (2, 5)
            if lo * (1 - 1e-9) <= m * 10.0**e <= hi * (1 + 1e-9)
        ]
    return major, minor


def tick_text(v: float) -> str:
    """A tick label: plain numbers, "1e-5" style for very small or large ones, a true minus."""
    if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e4):
        mant, exp = f"{v:.0e}".split("e")
        return f"{mant}e{int(exp)}" if mant != "1" else f"1e{int(exp)}"
    return f"{v:g}".replace("-", "−")


class _Canvas:
    """A white (or the theme's) QImage with a painter and the sizes of its type."""

    def __init__(self, size: tuple[int, int], theme: Theme) -> None:
        self.w, self.h = size
        self.theme = theme
        self.image = QImage(self.w, self.h, QImage.Format.Format_RGB32)
        self.image.fill(QColor(theme.background))
        self.p = QPainter(self.image)
        self.p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        self.p.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        unit = min(self.w / 1.6, self.h)  # type scales with the shorter side of a 16:10 frame
        self.title_px = 0.048 * unit
        self.text_px = 0.032 * unit
        self.small_px = 0.026 * unit
        self.ink = QColor(theme.foreground)

    def text(
        self,
        rect: QRectF,
        text: str,
        px: float,
        align: Qt.AlignmentFlag,
        color: QColor | None = None,
        bold: bool = False,
    ) -> None:
        self.p.setFont(_font(px, bold))
        self.p.setPen(color or self.ink)
        self.p.drawText(rect, int(align) | int(Qt.TextFlag.TextSingleLine), text)

    def text_width(self, text: str, px: float, bold: bool = False) -> float:
        from PySide6.QtGui import QFontMetricsF

        return QFontMetricsF(_font(px, bold)).horizontalAdvance(text)

    def finish(self) -> QImage:
        self.p.end()
        return self.image


def _axes(
    c: _Canvas,
    frame: QRectF,
    xr: tuple[float, float],
    yr: tuple[float, float],
    names: tuple[str, str],
    scales: tuple[str, str] = ("linear", "linear"),
    show_y_name: bool = True,
) -> None:
    """Ticks and tick labels around ``frame`` (the image), the axis names below and left."""
    pen = QPen(c.ink, max(1.5, c.small_px / 10))
    c.p.setPen(pen)
    c.p.setBrush(Qt.BrushStyle.NoBrush)
    c.p.drawRect(frame)
    tick = c.small_px * 0.4
    for axis in (0, 1):
        lo, hi = (xr, yr)[axis]
        log = scales[axis] == "log"
        values = _log_ticks(lo, hi) if log else _nice_ticks(lo, hi, 5)
        for v in values:
            t = (math.log(v / lo) / math.log(hi / lo)) if log else (v - lo) / (hi - lo)
            if not -1e-9 <= t <= 1 + 1e-9:
                continue
            label = tick_text(v)
            c.p.setPen(pen)
            if axis == 0:
                x = frame.left() + t * frame.width()
                c.p.drawLine(QPointF(x, frame.bottom()), QPointF(x, frame.bottom() + tick))
                box = QRectF(
                    x - 3 * c.small_px, frame.bottom() + tick, 6 * c.small_px, c.small_px * 1.3
                )
                c.text(box, label, c.small_px, Qt.AlignmentFlag.AlignCenter)
            else:
                y = frame.bottom() - t * frame.height()
                c.p.drawLine(QPointF(frame.left() - tick, y), QPointF(frame.left(), y))
                box = QRectF(
                    frame.left() - tick - 5 * c.small_px,
                    y - 0.65 * c.small_px,
                    4.8 * c.small_px,
                    1.3 * c.small_px,
                )
                c.text(
                    box,
                    label,
                    c.small_px,
                    Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                )
    below = QRectF(
        frame.left(), frame.bottom() + tick + 1.2 * c.small_px, frame.width(), 1.4 * c.text_px
    )
    c.text(below, names[0], c.text_px, Qt.AlignmentFlag.AlignCenter)
    if show_y_name:
        c.p.save()
        c.p.translate(frame.left() - tick - 5.2 * c.small_px - 0.8 * c.text_px, frame.center().y())
        c.p.rotate(-90)
        c.text(
            QRectF(-frame.height() / 2, -0.8 * c.text_px, frame.height(), 1.6 * c.text_px),
            names[1],
            c.text_px,
            Qt.AlignmentFlag.AlignCenter,
        )
        c.p.restore()


def _marker(c: _Canvas, at: QPointF, radius: float, fill: QColor) -> None:
    """A minimum's (or start's) marker: a filled disc with a paper ring and an ink ring."""
    c.p.setPen(QPen(QColor(c.theme.background), radius * 0.55))
    c.p.setBrush(fill)
    c.p.drawEllipse(at, radius, radius)
    c.p.setPen(QPen(c.ink, radius * 0.3))
    c.p.setBrush(Qt.BrushStyle.NoBrush)
    c.p.drawEllipse(at, radius * 1.3, radius * 1.3)


def _swatch(c: _Canvas, x: float, y: float, color: str, text: str) -> float:
    """A legend row at ``(x, y)``: a square of ``color`` and ``text``; returns its width."""
    s = c.small_px * 1.2
    c.p.setPen(QPen(c.ink, 1.2))
    c.p.setBrush(QColor(color))
    c.p.drawRect(QRectF(x, y, s, s))
    width = c.text_width(text, c.small_px)
    c.text(
        QRectF(x + 1.4 * s, y - 0.2 * s, width + 4, 1.4 * s),
        text,
        c.small_px,
        Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
    )
    return 1.4 * s + width + 1.5 * s


def _layout(count: int, area: QRectF, pad_w: float, pad_h: float) -> tuple[int, int, float]:
    """Columns, rows and the largest square map side for ``count`` panels in ``area``, each
    panel needing ``pad_w`` beside its map and ``pad_h`` above and below it."""
    best = (1, count, 0.0)
    for cols in range(1, count + 1):
        rows = math.ceil(count / cols)
        side = min(area.width() / cols - pad_w, area.height() / rows - pad_h)
        if side > best[2]:
            best = (cols, rows, side)
    return best


def paint_basins(m: BasinMap, scene: Scene, size: tuple[int, int], theme: Theme = LIGHT) -> QImage:
    """Small multiples, one panel per entry of ``m``, with the legend of minima and outcomes."""
    c = _Canvas(size, theme)
    problem = scene.build_problem()
    colors = {e.label: entry_color(i, e.color, theme) for i, e in enumerate(scene.optimizers)}
    margin = 0.02 * c.w
    title = scene.title or problem.title
    c.text(
        QRectF(margin, 0.01 * c.h, c.w - 2 * margin, 1.5 * c.title_px),
        title,
        c.title_px,
        Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
        bold=True,
    )
    sub = f"Where each start ends after {m.steps} steps ({m.resolution}² starts; lighter: reached later)"
    c.text(
        QRectF(margin, 0.01 * c.h + 1.5 * c.title_px, c.w - 2 * margin, 1.4 * c.text_px),
        sub,
        c.text_px,
        Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
    )
    top = 0.01 * c.h + 1.5 * c.title_px + 1.8 * c.text_px
    legend_h = 2.4 * c.small_px * (1 + (len(m.minima) + 3 > 6))
    area = QRectF(margin, top, c.w - 2 * margin, c.h - top - legend_h - 0.01 * c.h)
    # Each panel: heading above, the square map, ticks and axis names below and left.
    head = 1.7 * c.text_px
    left_pad = 5.6 * c.small_px + 1.8 * c.text_px
    below = 2.8 * c.small_px + 1.4 * c.text_px
    count = len(m.labels)
    cols, rows, side = _layout(count, area, left_pad + 1.5 * c.small_px, head + below)
    cell_w, cell_h = area.width() / cols, area.height() / rows
    side = max(20.0, side)
    (x0, x1), (y0, y1) = m.rect
    for k, label in enumerate(m.labels):
        col, row = k % cols, k // cols
        cx = area.left() + col * cell_w + (cell_w - side - left_pad) / 2 + left_pad
        cy = area.top() + row * cell_h + head
        frame = QRectF(cx, cy, side, side)
        color = QColor(colors.get(label, PALETTE[k % len(PALETTE)]))
        bar = max(4.0, 0.25 * c.text_px)
        c.p.fillRect(QRectF(cx, cy - 0.35 * bar - bar, side, bar), color)
        # The heading in ink over a bar of the entry's colour: coloured text would read as one
        # of the minima's colours.
        c.text(
            QRectF(cx, cy - head, side, head - 1.4 * bar),
            label,
            c.text_px,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            bold=True,
        )
        c.p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        c.p.drawImage(frame, _qimage(basin_rgb(m.outcome[k], m.settle_step[k], m.steps)))
        _axes(c, frame, (x0, x1), (y0, y1), problem.axis_names, show_y_name=True)
        for j, (mx, my) in enumerate(m.minima):
            if x0 <= mx <= x1 and y0 <= my <= y1:
                at = QPointF(cx + (mx - x0) / (x1 - x0) * side, cy + (y1 - my) / (y1 - y0) * side)
                _marker(c, at, max(4.0, 0.3 * c.small_px), QColor(minimum_color(j)))
    x, y = margin, c.h - legend_h - 0.005 * c.h + 0.4 * c.small_px
    for color, text in basin_legend(m.minima):
        need = 2.7 * c.small_px + c.text_width(text, c.small_px)
        if x + need > c.w - margin:
            x, y = margin, y + 2.0 * c.small_px
        x += _swatch(c, x, y, color, text)
    return c.finish()


def hyper_name(rule: str, name: str) -> str:
    """A hyperparameter as an axis reads it: "learning rate η", "momentum μ"."""
    spec = RULES[rule].spec(name)
    words = name.replace("_", " ")
    return f"{words} {spec.symbol}" if spec is not None and spec.symbol else words


def paint_stability(
    m: StabilityMap, scene: Scene, size: tuple[int, int], theme: Theme = LIGHT
) -> QImage:
    """One entry's stability map: log final loss, diverged black, the theory curve where known."""
    c = _Canvas(size, theme)
    entry = scene.entry(m.label)
    problem = scene.build_problem()
    index = [e.label for e in scene.optimizers].index(m.label)
    color = QColor(entry_color(index, entry.color, theme))
    margin = 0.02 * c.w
    c.text(
        QRectF(margin, 0.01 * c.h, c.w - 2 * margin, 1.5 * c.title_px),
        f"{m.label}: where it converges",
        c.title_px,
        Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
        color=color,
        bold=True,
    )
    sub = f"{scene.title or problem.title} · final loss after {m.steps} steps from ({tick_text(round(m.start[0], 3))}, {tick_text(round(m.start[1], 3))})"
    c.text(
        QRectF(margin, 0.01 * c.h + 1.5 * c.title_px, c.w - 2 * margin, 1.4 * c.text_px),
        sub,
        c.text_px,
        Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
    )
    top = 0.01 * c.h + 1.5 * c.title_px + 2.2 * c.text_px
    left_pad = 5.6 * c.small_px + 2.0 * c.text_px
    below = 2.8 * c.small_px + 1.6 * c.text_px
    legend_w = 0.28 * c.w
    side = max(20.0, min(c.w - 2 * margin - left_pad - legend_w, c.h - top - below - 0.01 * c.h))
    frame = QRectF(margin + left_pad, top, side, side)
    c.p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
    c.p.drawImage(frame, _qimage(stability_rgb(m)))
    names = (
        hyper_name(entry.rule, m.axes[0]) + (" (log)" if m.scales[0] == "log" else ""),
        hyper_name(entry.rule, m.axes[1]) + (" (log)" if m.scales[1] == "log" else ""),
    )
    _axes(c, frame, m.ranges[0], m.ranges[1], names, m.scales)

    def to_px(v: float, axis: int) -> float:
        lo, hi = m.ranges[axis]
        t = (
            math.log(v / lo) / math.log(hi / lo)
            if m.scales[axis] == "log"
            else (v - lo) / (hi - lo)
        )
        return frame.left() + t * side if axis == 0 else frame.bottom() - t * side

    legend_x = frame.right() + 0.04 * c.w
    y = top
    curve = theory_curve(m, scene)
    c.p.save()
    c.p.setClipRect(frame)
    if curve is not None:
        path = QPainterPath()
        for i, (hx, hy) in enumerate(curve):
            pt = QPointF(to_px(hx, 0), to_px(hy, 1))
            path.moveTo(pt) if i == 0 else path.lineTo(pt)
        c.p.setBrush(Qt.BrushStyle.NoBrush)
        c.p.setPen(
            QPen(
                QColor("#000000"), 0.5 * c.small_px, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap
            )
        )
        c.p.drawPath(path)
        c.p.setPen(
            QPen(
                QColor("#FFFFFF"), 0.22 * c.small_px, Qt.PenStyle.DashLine, Qt.PenCapStyle.RoundCap
            )
        )
        c.p.drawPath(path)
    hyper = entry.resolved_hyperparams(scene.convention)
    hx, hy = hyper[m.axes[0]], hyper[m.axes[1]]
    lo_x, hi_x = m.ranges[0]
    lo_y, hi_y = m.ranges[1]
    if lo_x <= hx <= hi_x and lo_y <= hy <= hi_y:
        _marker(c, QPointF(to_px(hx, 0), to_px(hy, 1)), 0.38 * c.small_px, color)
    c.p.restore()
    # Legend: the colour bar of log10 loss, diverged, the curve and the marker.
    lo, hi = loss_range(m.final_loss)
    c.text(
        QRectF(legend_x, y, legend_w, 1.4 * c.text_px),
        "final loss",
        c.text_px,
        Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
        bold=True,
    )
    y += 1.8 * c.text_px
    bar_h = 0.45 * side
    bar = QRectF(legend_x, y, 1.6 * c.small_px, bar_h)
    lut = loss_lut(LOSS_STOPS)
    strip = np.repeat(lut[::-1][:, None, :], 4, axis=1)
    c.p.drawImage(
        bar,
        QImage(np.ascontiguousarray(strip).data, 4, 256, 12, QImage.Format.Format_RGB888).copy(),
    )
    c.p.setPen(QPen(c.ink, 1.2))
    c.p.setBrush(Qt.BrushStyle.NoBrush)
    c.p.drawRect(bar)
    for e in _nice_ticks(lo, hi, 5):
        if lo <= e <= hi:
            ty = bar.bottom() - (e - lo) / (hi - lo) * bar_h
            c.text(
                QRectF(
                    bar.right() + 0.4 * c.small_px,
                    ty - 0.7 * c.small_px,
                    6 * c.small_px,
                    1.4 * c.small_px,
                ),
                tick_text(10.0**e) if abs(e) < 4 else f"1e{int(e)}",
                c.small_px,
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            )
    y = bar.bottom() + 1.2 * c.small_px
    _swatch(c, legend_x, y, DIVERGED_COLOR, "diverged")
    y += 2.0 * c.small_px
    if curve is not None:
        c.p.setPen(QPen(QColor("#000000"), 0.5 * c.small_px))
        c.p.drawLine(
            QPointF(legend_x, y + 0.6 * c.small_px),
            QPointF(legend_x + 1.6 * c.small_px, y + 0.6 * c.small_px),
        )
        c.p.setPen(QPen(QColor("#FFFFFF"), 0.22 * c.small_px, Qt.PenStyle.DashLine))
        c.p.drawLine(
            QPointF(legend_x, y + 0.6 * c.small_px),
            QPointF(legend_x + 1.6 * c.small_px, y + 0.6 * c.small_px),
        )
        c.text(
            QRectF(legend_x + 2.2 * c.small_px, y - 0.2 * c.small_px, legend_w, 1.6 * c.small_px),
            "theory: η λmax = 2 (1 + μ)",
            c.small_px,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
        )
        y += 2.0 * c.small_px
    _marker(c, QPointF(legend_x + 0.8 * c.small_px, y + 0.6 * c.small_px), 0.38 * c.small_px, color)
    c.text(
        QRectF(legend_x + 2.2 * c.small_px, y - 0.2 * c.small_px, legend_w, 1.6 * c.small_px),
        f"{m.label}'s own setting",
        c.small_px,
        Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
    )
    return c.finish()


def theory_curve(m: StabilityMap, scene: Scene) -> list[tuple[float, float]] | None:
    """Heavy-ball momentum's stability boundary in the map's axes, or None where no theory applies
    (the problem is not a quadratic, the rule not momentum, or the axes not η and μ)."""
    entry = scene.entry(m.label)
    eig = quadratic_eigenvalues(scene.build_problem())
    if eig is None or entry.rule != "momentum" or set(m.axes) != {"learning_rate", "momentum"}:
        return None
    lr_axis = m.axes.index("learning_rate")
    mu_lo, mu_hi = m.ranges[1 - lr_axis]
    mus = np.linspace(mu_lo, mu_hi, 200)
    lrs = momentum_boundary(eig, mus)
    return [(lr, mu) if lr_axis == 0 else (mu, lr) for lr, mu in zip(lrs, mus, strict=True)]
