"""The colour key: every optimizer's name in its colour, in a strip outside the plots.

A legend inside the surface hid paths (a quarter of the view at 1600x1000, half at 1024x640) and
took clicks meant for the surface. This strip sits above the views, wraps onto as many rows as
its width needs, scales its type with the theme, and hides nothing. In the window a click on an
entry shows or hides that optimizer; in a recording it also names each entry's key settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from gdviz.ui.controller import Controller
from gdviz.ui.items import key_hyperparams
from gdviz.ui.theme import LIGHT, Theme

SWATCH = 2.2
"""A swatch's length, in multiples of the font's height."""


@dataclass(frozen=True)
class Key:
    """One entry of the strip."""

    label: str
    text: str
    color: str
    visible: bool


class LegendStrip(QWidget):
    """The optimizers' names in their colours, wrapped into rows (height follows the width).

    Signals:
      toggled(str): the entry with this label was clicked.
    """

    toggled = Signal(str)

    def __init__(
        self, controller: Controller, theme: Theme = LIGHT, *, details: bool = False
    ) -> None:
        super().__init__()
        self.controller = controller
        self.theme = theme
        self.details = details  # recordings name each entry's key hyperparameters
        self.keys: list[Key] = []
        self._hit: list[tuple[QRectF, str]] = []
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setMouseTracking(True)
        self.setToolTip("Click a name to show or hide that optimizer")
        controller.entries_changed.connect(self.refresh)
        controller.scene_changed.connect(self.refresh)
        self.refresh()

    # --- content --------------------------------------------------------------------------------

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self._fit_height()  # the type size changed: so does the height of the rows
        self.refresh()

    def refresh(self) -> None:
        scene = self.controller.scene
        colors = self.controller.colors(self.theme)
        keys = [
            Key(
                e.label,
                e.label + ("   " + key_hyperparams(e, scene.convention) if self.details else ""),
                colors[e.label],
                e.visible,
            )
            for e in scene.optimizers
        ]
        if keys != self.keys:
            self.keys = keys
            self._fit_height()
            self.update()

    def font_for_theme(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(self.theme.plot_font_pt)
        font.setWeight(QFont.Weight.DemiBold)
        return font

    # --- layout ---------------------------------------------------------------------------------

    def _layout(self, width: float) -> tuple[list[tuple[QRectF, Key]], float]:
        """Where each key goes at ``width``: rows filled left to right, each row centred."""
        metrics = QFontMetricsF(self.font_for_theme())
        line = metrics.height()
        swatch = SWATCH * line
        gap, pad = 0.4 * line, 0.35 * line
        spacing = 1.2 * line
        rows: list[list[tuple[float, Key]]] = [[]]
        used = 0.0
        for key in self.keys:
            w = swatch + gap + metrics.horizontalAdvance(key.text)
            extra = w if not rows[-1] else spacing + w
            if rows[-1] and used + extra > width - 2 * pad:
                rows.append([])
                used, extra = 0.0, w
            rows[-1].append((w, key))
            used += extra
        placed: list[tuple[QRectF, Key]] = []
        y = pad
        for row in rows:
            total = sum(w for w, _ in row) + spacing * max(len(row) - 1, 0)
            x = max(pad, (width - total) / 2)
            for w, key in row:
                placed.append((QRectF(x, y, w, line), key))
                x += w + spacing
            y += line * 1.25
        return placed, y - 0.25 * line + pad

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt's name)
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt's name)
        return int(round(self._layout(float(width))[1])) if self.keys else 0

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        width = max(self.width(), 200)
        return QSize(width, self.heightForWidth(width))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(100, self.heightForWidth(max(self.width(), 100)))

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt's name)
        super().resizeEvent(event)
        self._fit_height()

    def _fit_height(self) -> None:
        """Exactly as tall as the rows need at the current width and type: never squeezed by a
        long caption above it, never leaving a gap below it."""
        height = self.heightForWidth(max(self.width(), 100))
        if height != self.height() or self.minimumHeight() != height:
            self.setFixedHeight(height)

    # --- painting and clicks --------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: ARG002, N802 (Qt's name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = self.font_for_theme()
        painter.setFont(font)
        line = QFontMetricsF(font).height()
        swatch = SWATCH * line
        placed, _ = self._layout(float(self.width()))
        self._hit = []
        foreground = QColor(self.theme.foreground)
        faded = QColor(foreground)
        faded.setAlpha(90)
        for rect, key in placed:
            color = QColor(key.color)
            if not key.visible:
                color.setAlpha(70)
            pen = QPen(color, max(3.0, 0.28 * line), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
            if not key.visible:
                pen.setStyle(Qt.PenStyle.DotLine)
            painter.setPen(pen)
            mid = rect.center().y()
            x0 = rect.left() + 0.15 * line
            painter.drawLine(QPointF(x0, mid), QPointF(rect.left() + swatch - 0.15 * line, mid))
            painter.setPen(foreground if key.visible else faded)
            text_rect = QRectF(rect.left() + swatch + 0.4 * line, rect.top(), rect.width(), line)
            painter.drawText(
                text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, key.text
            )
            self._hit.append((rect, key.label))
        painter.end()

    def label_at(self, pos: QPointF) -> str | None:
        """The label of the entry drawn at ``pos`` (widget coordinates), if any."""
        placed, _ = self._layout(float(self.width()))
        for rect, key in placed:
            if rect.adjusted(-4, -4, 4, 4).contains(pos):
                return key.label
        return None

    def mousePressEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt's name)
        label = self.label_at(event.position())
        if label is not None and event.button() == Qt.MouseButton.LeftButton:
            self.toggled.emit(label)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt's name)
        over = self.label_at(event.position()) is not None
        self.setCursor(Qt.CursorShape.PointingHandCursor if over else Qt.CursorShape.ArrowCursor)
        super().mouseMoveEvent(event)
