"""The start-up card: shown a few tenths of a second after launch, while the window loads.

Importing pyqtgraph, the core's tables and the views, and building the window take ~1-1.3 s on a
2-core machine (JAX is imported after the window's first frame: gdviz.core.deferred). So the
first thing the window command does is show this card, with Qt alone imported, and say what it
is waiting for; the window replaces it when it is on screen.

The card is a plain widget with the splash-screen window flags, not a ``QSplashScreen``: with Qt
6.11, ``QSplashScreen.show()`` returned only after a second of waiting (offscreen and under X
alike, measured 1.00-1.01 s against 1-14 ms for this widget), which every launch paid.

This module imports PySide6 and nothing of gdviz's core, pyqtgraph or JAX.
"""

from __future__ import annotations

import time
import tomllib
from importlib import resources
from pathlib import Path

from PySide6.QtCore import QEventLoop, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QGuiApplication,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPixmap,
)
from PySide6.QtWidgets import QApplication, QWidget

BACKGROUND = "#1E2229"
INK = "#F2F4F7"
MUTED = "#A0A4AC"
# The first six colours of the trails' palette (theme.PALETTE), as a strip along the top.
STRIPE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")

MAX_TITLE_BYTES = 64 * 1024
"""A scene file read for its title only: a larger one is not read here (the loader says why)."""


def scene_title(ref: str) -> str:
    """The title of a built-in scene or a scene file, read without the core (no JAX); the
    reference itself when it has none or cannot be read (the loader reports that later)."""
    try:
        path = Path(ref)
        if path.suffix == ".toml":
            if not path.is_file() or path.stat().st_size > MAX_TITLE_BYTES:
                return path.name
            text = path.read_text("utf-8")
        else:
            text = resources.files("gdviz.scenes").joinpath(f"{ref}.toml").read_text("utf-8")
        title = tomllib.loads(text).get("title")
    except (OSError, ValueError, tomllib.TOMLDecodeError):
        return str(ref)
    return title if isinstance(title, str) and title.strip() else str(ref)


class StartupCard(QWidget):
    """A card with the app's name, the scene about to open and what start-up is doing (a click
    hides it, as a splash screen's does)."""

    SIZE = (620, 300)

    EXPOSE_WAIT_S = 1.0
    """How long :meth:`finish` waits for the window to be on screen (QSplashScreen's wait)."""

    def __init__(self, title: str) -> None:
        super().__init__(None, Qt.WindowType.SplashScreen | Qt.WindowType.FramelessWindowHint)
        screen = QGuiApplication.primaryScreen()
        ratio = screen.devicePixelRatio() if screen is not None else 1.0
        w, h = self.SIZE
        pixmap = QPixmap(round(w * ratio), round(h * ratio))
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(QColor(BACKGROUND))
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        band = w / len(STRIPE)
        for i, color in enumerate(STRIPE):
            painter.fillRect(QRectF(i * band, 0, band + 1, 8), QColor(color))
        painter.setPen(QColor(INK))
        painter.setFont(_font(40, QFont.Weight.Bold))
        painter.drawText(QRectF(36, 36, w - 72, 64), Qt.AlignmentFlag.AlignLeft, "gdviz")
        painter.setPen(QColor(MUTED))
        painter.setFont(_font(13))
        painter.drawText(
            QRectF(38, 104, w - 76, 28),
            Qt.AlignmentFlag.AlignLeft,
            "Watch gradient-based optimizers race across loss surfaces",
        )
        painter.setPen(QColor(INK))
        painter.setFont(_font(17, QFont.Weight.DemiBold))
        elided = painter.fontMetrics().elidedText(title, Qt.TextElideMode.ElideRight, w - 76)
        painter.drawText(QRectF(38, 160, w - 76, 34), Qt.AlignmentFlag.AlignLeft, elided)
        painter.end()
        self.picture = pixmap
        self.message = ""
        self.setFixedSize(w, h)
        if screen is not None:  # in the middle of the screen, as a splash screen opens
            self.move(screen.geometry().center() - self.rect().center())

    def say(self, message: str) -> None:
        """Show what start-up is doing now, and paint it at once."""
        self.message = message
        self.repaint()
        QApplication.processEvents()

    def finish(self, window: QWidget) -> None:
        """Close once ``window`` is on screen (waiting a second at most), so that the screen is
        never without one of them."""
        if window.windowHandle() is None:
            window.winId()  # its platform window, as QSplashScreen.finish makes one
        handle = window.windowHandle()
        deadline = time.monotonic() + self.EXPOSE_WAIT_S
        while handle is not None and not handle.isExposed() and time.monotonic() < deadline:
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 10)
            time.sleep(0.005)
        self.close()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt's name)
        self.hide()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self.picture)
        w, h = self.SIZE
        painter.setPen(QColor(MUTED))
        painter.setFont(_font(12))
        painter.drawText(
            QRectF(38, h - 56, w - 76, 32),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            self.message,
        )
        painter.end()


def _font(points: int, weight: QFont.Weight = QFont.Weight.Normal) -> QFont:
    font = QFont(QApplication.font())
    font.setPointSize(points)
    font.setWeight(weight)
    return font
