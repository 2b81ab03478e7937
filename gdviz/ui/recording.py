"""Recording a lecture video is a view: the views laid out for a frame, grabbed without a screen.

A :class:`LectureView` is what a recording shows: the scene's title, the surface with a legend
naming each optimizer's key hyperparameters, the loss plot, and a step counter, all burned in.
It is rendered offscreen with ``QWidget.grab``; the same scene gives the same frames. The frames
go to the Qt-free writers of :mod:`gdviz.export` (MP4/GIF through imageio-ffmpeg); stills are
encoded by Qt here: PNG/JPEG from the grabbed picture, and SVG/PDF by painting the same widgets
into a vector device (:func:`write_vector`), so a slide figure matches the video frame.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QIODevice, QMarginsF, QPoint, QRect, QSize, QSizeF, Qt
from PySide6.QtGui import (
    QFontMetrics,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPicture,
)
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (
    QApplication,
    QGraphicsItem,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from gdviz.core import Scene
from gdviz.export.files import (
    IMAGE_FORMATS,
    VECTOR_FORMATS,
    ExportError,
    OutputError,
    atomic_write,
    write_bytes_atomically,
)
from gdviz.export.svg import flatten_cosmetic_strokes
from gdviz.export.video import check_output, frame_steps, write_video
from gdviz.ui.controller import BASE_STEPS_PER_SECOND, Controller
from gdviz.ui.legend import LegendStrip
from gdviz.ui.plots import LossPlot
from gdviz.ui.surface3d import Surface3DView
from gdviz.ui.surface_view import SurfaceView
from gdviz.ui.theme import DARK, LIGHT, Theme

Progress = Callable[[int, int], bool]
"""``progress(done, total)``; returning False cancels."""


def qimage_to_array(image: QImage) -> np.ndarray:
    """An RGB ``(height, width, 3)`` uint8 copy of ``image``."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height = rgb.width(), rgb.height()
    buffer = np.frombuffer(rgb.constBits(), dtype=np.uint8, count=rgb.bytesPerLine() * height)
    return (
        buffer.reshape(height, rgb.bytesPerLine())[:, : width * 3].reshape(height, width, 3).copy()
    )


class ElidedLabel(QLabel):
    """A one-line label that ends in "…" when its text does not fit, instead of being cut."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.full_text = text
        self.setMinimumWidth(10)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setToolTip(text)

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt's name)
        super().resizeEvent(event)
        metrics = QFontMetrics(self.font())
        elided = metrics.elidedText(self.full_text, Qt.TextElideMode.ElideRight, self.width())
        if elided != self.text():
            self.setText(elided)


class LectureView(QWidget):
    """Title, surface and loss side by side, and a step counter: the picture of a recording."""

    def __init__(self, scene: Scene, theme: Theme, view: str = "2d") -> None:
        super().__init__()
        self.setAutoFillBackground(True)
        self.setStyleSheet(f"background: {theme.background}; color: {theme.foreground};")
        self.controller = Controller(scene, background=False, parent=self)
        self.surface = SurfaceView(self.controller, theme)
        # The key sits above the plots, where it hides no path, with each entry's settings.
        self.legend = LegendStrip(self.controller, theme, details=True)
        self.surface3d: Surface3DView | None = None
        if view == "3d":
            self.surface3d = Surface3DView(self.controller, theme)
            if not self.surface3d.available:
                raise ExportError(
                    f"no 3-D view: {self.surface3d.reason} (run under X, or xvfb-run)"
                )
            self.surface3d.controls.hide()  # no buttons in a recording
            self.surface.setParent(self)  # kept for its view rectangle, not shown
            self.surface.hide()
        self.loss = LossPlot(self.controller, theme)
        title = ElidedLabel(scene.title)
        title.setStyleSheet(f"font-size: {theme.plot_font_pt + 8}pt; font-weight: 600;")
        self.counter = QLabel()
        self.counter.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.counter.setStyleSheet(f"font-size: {theme.plot_font_pt + 4}pt;")
        top = QHBoxLayout()
        top.addWidget(title, 1)
        top.addWidget(self.counter)
        body = QHBoxLayout()
        body.addWidget(self.surface if self.surface3d is None else self.surface3d, 3)
        body.addWidget(self.loss, 2)
        column = QVBoxLayout(self)
        column.setContentsMargins(18, 12, 18, 12)
        column.addLayout(top)
        column.addWidget(self.legend)
        column.addLayout(body, 1)
        self.controller.step_changed.connect(self._count)
        self._count(self.controller.step)

    def _count(self, step: int) -> None:
        self.counter.setText(f"step {step} / {self.controller.steps}")

    def show_step(self, step: int) -> None:
        """Move to ``step`` and lay out now, ready to be painted."""
        self.controller.set_step(step)
        self.loss.throttle.flush()
        self.layout().activate()  # the counter's text grew: lay out now, not in the event loop

    def frame(self, step: int) -> np.ndarray:
        """The picture at ``step``."""
        self.show_step(step)
        # grab() paints the widgets itself: letting the event loop paint them first as well
        # would draw every frame twice.
        return qimage_to_array(self.grab().toImage())


def video_theme(height: int, dark: bool = False) -> Theme:
    """Type and lines scaled with the frame: a 1080p video reads like the window at 800 px."""
    return (DARK if dark else LIGHT).scaled("video", max(0.6, height / 800))


def _check_steps(scene: Scene, suffix: str, steps: int | None, step: int | None) -> int:
    """The last step a render shows, after refusing (not clamping) out-of-range requests."""
    if steps is not None and not 1 <= steps <= scene.steps:
        raise ExportError(
            f"--steps must be between 1 and {scene.steps} (the scene's steps), got {steps}"
        )
    total = scene.steps if steps is None else steps
    if step is not None:
        if suffix not in IMAGE_FORMATS and suffix not in VECTOR_FORMATS:
            raise ExportError(
                "--step picks the step of a still image (.png, .jpg, .svg or .pdf); a video "
                "plays them all (use --steps N to stop at step N)"
            )
        if not 0 <= step <= scene.steps:
            raise ExportError(f"--step must be between 0 and {scene.steps}, got {step}")
    return total


def render(
    scene: Scene,
    path: Path,
    size: tuple[int, int] = (1920, 1080),
    fps: float = 30.0,
    seconds: float | None = None,
    steps: int | None = None,
    step: int | None = None,
    progress: Progress | None = None,
    view: str = "2d",
    dark: bool = False,
    *,
    force: bool = False,
) -> int:
    """Render ``scene`` to ``path`` (.mp4, .gif, .png, .jpg, .svg or .pdf); returns the number
    of frames (1 for a still).

    Args:
      seconds: the whole length of a video, the held last frame included (see
        :func:`gdviz.export.video.frame_steps`); default: the steps at the window's 1x speed.
      steps: show only the first ``steps`` steps (default: all); 1 to the scene's steps.
      step: for a still image, the step to show (default: the last); 0 to the scene's steps.
      progress: called after each frame; returning False cancels (nothing is left behind).
      view: "2d", or "3d" for the OpenGL surface (needs a display with GL: X or Xvfb; not for
        .svg or .pdf, which draw the 2-D view's items as vectors).
      dark: the dark theme (as the window's, when the window exports).
      force: overwrite an existing regular file (never anything else).

    Raises:
      ExportError: the path cannot or must not be written (the suffix decides the format; an
        existing file needs ``force``), an odd size for MP4, steps out of range, or the export
        was cancelled. Nothing is left at ``path`` or beside it.
    """
    suffix = check_output(path, force=force)
    width, height = size
    if suffix == ".mp4" and (width % 2 or height % 2):  # H.264 in yuv420p wants even sides
        raise ExportError(
            f"cannot write {path}: MP4 (H.264) needs an even width and height, got "
            f"{width}x{height}; try {width + width % 2}x{height + height % 2}"
        )
    total = _check_steps(scene, suffix, steps, step)
    if suffix in VECTOR_FORMATS and view != "2d":
        raise ExportError(
            f"cannot write {path}: an SVG or PDF figure draws the 2-D view (the 3-D view is "
            "an OpenGL picture); use .png for the 3-D view"
        )
    lecture = LectureView(scene, video_theme(height, dark), view)
    lecture.setFixedSize(width, height)  # every frame the same size, as the encoder needs
    # Laid out and painted as if shown, but never mapped over the user's window.
    lecture.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    lecture.show()
    QApplication.processEvents()
    lecture.surface.fit_view()
    try:
        if suffix in IMAGE_FORMATS:
            image = lecture.frame(total if step is None else step)
            _write_png(image, path, force=force)
            if progress is not None:
                progress(1, 1)
            return 1
        if suffix in VECTOR_FORMATS:
            lecture.show_step(total if step is None else step)
            write_vector(lecture, path, scene.title, force=force)
            if progress is not None:
                progress(1, 1)
            return 1
        schedule = frame_steps(total, fps, seconds, BASE_STEPS_PER_SECOND)

        def frames() -> Iterator[np.ndarray]:
            for i, k in enumerate(schedule):
                yield lecture.frame(k)
                if progress is not None and progress(i + 1, len(schedule)) is False:
                    raise ExportError("export cancelled")

        return write_video(path, frames(), fps, force=force)
    finally:
        lecture.close()
        lecture.deleteLater()


def _write_png(image: np.ndarray, path: Path, *, force: bool = False) -> None:
    """Write ``image`` as a still in the format its suffix names (PNG, or JPEG for .jpg/.jpeg)."""
    height, width = image.shape[:2]
    image = np.ascontiguousarray(image)
    write_image(
        QImage(image.data, width, height, 3 * width, QImage.Format.Format_RGB888), path, force=force
    )


def write_image(image: QImage, path: Path, *, force: bool = False) -> None:
    """Write ``image`` as its suffix says (.png, or .jpg/.jpeg at quality 92), atomically.

    Raises:
      ExportError: another suffix, an existing file without ``force``, a target that is not a
        regular file, or an encoder failure; nothing is left behind.
    """
    fmt = IMAGE_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise ExportError(f"cannot write {path}: a still image must end in .png or .jpg")

    def save(tmp: Path) -> None:
        if not image.save(str(tmp), fmt, 92 if fmt == "JPEG" else -1):
            raise ExportError(f"cannot write {path}: Qt could not encode {fmt}")

    try:
        atomic_write(path, save, force=force)
    except OutputError as exc:
        raise ExportError(str(exc)) from None


@contextmanager
def _vector_items(widget: QWidget) -> Iterator[None]:
    """Every graphics item of ``widget``'s views painted as vectors while inside.

    Items that cache a pixmap of themselves (axes, contours, the faint paths: see
    ``items.cache_static``) would reach a vector file as pictures; pyqtgraph's own items draw
    their fast raster forms (a scatter plot's symbol atlas) unless told they are exporting.
    """
    items: list[tuple[QGraphicsItem, QGraphicsItem.CacheMode]] = []
    for view in widget.findChildren(QGraphicsView):
        if view.scene() is None:
            continue
        for item in view.scene().items():
            items.append((item, item.cacheMode()))
            item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
            if hasattr(item, "setExportMode"):
                item.setExportMode(True, {"antialias": True})
    try:
        yield
    finally:
        for item, mode in items:
            if hasattr(item, "setExportMode"):
                item.setExportMode(False)
            item.setCacheMode(mode)


def vector_picture(widget: QWidget) -> QPicture:
    """``widget`` and its children as recorded paint commands, every item drawn as a vector.

    Painting a widget straight into an SVG generator clipped each child in the wrong place (Qt
    6.11 writes a child's clip without the child's offset in its window), cutting off most of the
    plots; a picture recorded first and replayed into the generator carries every offset as a
    plain transform, which both SVG and PDF get right.
    """
    picture = QPicture()
    with _vector_items(widget):
        painter = QPainter(picture)
        try:
            widget.render(painter, QPoint(0, 0))
        finally:
            painter.end()
    return picture


def write_vector(widget: QWidget, path: Path, title: str = "", *, force: bool = False) -> None:
    """Write ``widget`` as an SVG or PDF page of its size, as its suffix says, atomically.

    The heatmap is an embedded raster image; paths, markers, contours, axes, the key and all
    text are vectors, and text stays text (selectable in a PDF, ``<text>`` in an SVG). One
    pixel of the widget is one CSS pixel of the SVG and 1/96 inch of the PDF, so type keeps its
    size in points.

    Raises:
      ExportError: another suffix, an existing file without ``force``, a target that is not a
        regular file, or Qt could not write; nothing is left behind.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in VECTOR_FORMATS:
        raise ExportError(f"cannot write {path}: a vector figure must end in .svg or .pdf")
    width, height = widget.width(), widget.height()
    dpi = widget.logicalDpiY()
    picture = vector_picture(widget)

    def paint(device: QSvgGenerator | QPdfWriter) -> None:
        painter = QPainter()
        if not painter.begin(device):
            raise ExportError(f"cannot write {path}: Qt could not start a {suffix[1:]} page")
        painter.drawPicture(0, 0, picture)
        if not painter.end():
            raise ExportError(f"cannot write {path}: Qt could not finish the {suffix[1:]} page")

    try:
        if suffix == ".svg":
            buffer = QBuffer()
            buffer.open(QIODevice.OpenModeFlag.WriteOnly)
            generator = QSvgGenerator(QSvgGenerator.SvgVersion.Svg11)  # 1.1: clip paths
            generator.setOutputDevice(buffer)
            generator.setSize(QSize(width, height))
            generator.setViewBox(QRect(0, 0, width, height))
            generator.setResolution(dpi)  # fonts in points as on the screen
            generator.setTitle(title)
            generator.setDescription("Drawn by gdviz")
            paint(generator)
            write_bytes_atomically(
                path, flatten_cosmetic_strokes(bytes(buffer.data())), force=force
            )
            return

        def save(tmp: Path) -> None:
            writer = QPdfWriter(str(tmp))
            writer.setResolution(dpi)
            page = QPageSize(
                QSizeF(width * 72 / dpi, height * 72 / dpi),
                QPageSize.Unit.Point,
                "gdviz",
                QPageSize.SizeMatchPolicy.ExactMatch,
            )
            writer.setPageLayout(
                QPageLayout(page, QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0))
            )
            writer.setTitle(title)
            writer.setCreator("gdviz")
            paint(writer)

        atomic_write(path, save, force=force)
    except OutputError as exc:
        raise ExportError(str(exc)) from None
