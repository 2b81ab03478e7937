"""The export dialog: size, frame rate and length of a video, GIF, image or figure, with progress.

What the dialog offers per kind lives in :data:`EXPORTS`; the window's File menu has one entry per
kind (plus CSV trajectories, which need no dialog). The last choices (size, frames per second) are
offered again through the window's settings, and a file is never replaced without asking.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QMessageBox,
    QProgressDialog,
    QSpinBox,
    QWidget,
)

from gdviz.core import Scene
from gdviz.ui.controller import BASE_STEPS_PER_SECOND

SIZES = ("1920x1080", "1280x720", "960x540", "640x360")


@dataclass(frozen=True)
class ExportKind:
    """One entry of File > Export: its file suffix, menu text, and what the dialog asks."""

    suffix: str
    menu: str
    still: bool  # one picture at the step shown, rather than a video
    sizes: tuple[str, ...] = SIZES
    fps: int = 30


EXPORTS = {
    "video": ExportKind("mp4", "Export &video (MP4)…", still=False),
    # A full-HD GIF took 7.6 s and 24 MB; 640 wide, 0.6 MB (FACTS.md).
    "GIF": ExportKind("gif", "Export &GIF…", still=False, sizes=SIZES[2:], fps=15),
    "image": ExportKind("png", "Export &image (PNG)…", still=True),
    "SVG": ExportKind("svg", "Export &figure for slides (SVG)…", still=True),
    "PDF": ExportKind("pdf", "Export figure for slides (&PDF)…", still=True),
}
"""File > Export's kinds, in menu order. SVG and PDF draw the 2-D view as vectors."""

Recall = Callable[[str, str], str]
Remember = Callable[[str, str], None]


class ExportDialog(QDialog):
    """Choose the size, frames per second and length of an export."""

    def __init__(self, scene: Scene, kind: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        spec = EXPORTS[kind]
        self.setWindowTitle(f"Export {kind}")
        form = QFormLayout(self)
        self.size = QComboBox()
        self.size.addItems(spec.sizes)
        form.addRow("size", self.size)
        self.fps = QSpinBox()
        self.fps.setRange(1, 60)
        self.fps.setValue(spec.fps)
        self.seconds = QDoubleSpinBox()
        self.seconds.setRange(0.5, 600.0)
        self.seconds.setDecimals(1)
        # The scene's own length, not a remembered one: another scene has other steps.
        self.seconds.setValue(round(scene.steps / BASE_STEPS_PER_SECOND, 1))
        self.seconds.setSuffix(" s")
        if not spec.still:
            form.addRow("frames per second", self.fps)
            form.addRow("length", self.seconds)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def chosen_size(self) -> tuple[int, int]:
        w, h = self.size.currentText().split("x")
        return int(w), int(h)

    def restore(self, recall: Recall) -> None:
        """Offer the choices made last time (one size for all kinds, a frame rate per kind)."""
        size = recall("export/size", "")
        if self.size.findText(size) >= 0:
            self.size.setCurrentText(size)
        try:
            fps = int(recall(f"export/{self.kind}/fps", ""))
        except ValueError:
            return  # none yet, or a settings file edited by hand: keep the default
        if self.fps.minimum() <= fps <= self.fps.maximum():
            self.fps.setValue(fps)

    def remember(self, remember: Remember) -> None:
        """Keep the choices for next time (see :meth:`restore`)."""
        remember("export/size", self.size.currentText())
        if not EXPORTS[self.kind].still:
            remember(f"export/{self.kind}/fps", str(self.fps.value()))


def confirm_target(parent: QWidget, chosen: str, suffix: str) -> Path | None:
    """The file to write for a name from a save dialog, or None when the user declines.

    The save dialog asked before replacing the name it returned. A name without the kind's
    suffix gets it, and that file, which the dialog did not ask about, is asked about here.
    """
    if not chosen:
        return None
    path = Path(chosen)
    if path.suffix.lower() == f".{suffix}":
        return path
    other = next((k for k, e in EXPORTS.items() if path.suffix.lower() == f".{e.suffix}"), None)
    if other is not None:
        # "talk.gif" typed into the video export would have become "talk.gif.mp4": say which
        # export makes that file instead (its sizes and frame rates are its own).
        a = "an" if other in ("image", "SVG") else "a"
        QMessageBox.warning(
            parent,
            "Another kind of file",
            f"{path.name} names {a} {other} file, and this export writes .{suffix} files. "
            f"Use File > {EXPORTS[other].menu.replace('&', '')} for {a} {other}, "
            f"or give a name ending in .{suffix}.",
        )
        return None
    path = path.with_name(f"{path.name}.{suffix}")
    if path.exists() or path.is_symlink():
        answer = QMessageBox.question(
            parent,
            "Replace the file?",
            f"{path.name} already exists in {path.parent}. Replace it?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return None
    return path


def run_export(
    parent: QWidget,
    scene: Scene,
    path: Path,
    size: tuple[int, int],
    fps: float,
    seconds: float | None,
    step: int | None,
    dark: bool = False,
) -> tuple[bool, str]:
    """Export with a progress dialog that can cancel; the user has agreed to replace ``path``
    if it exists (see :func:`confirm_target`).

    Returns:
      ``(True, "Wrote …")`` when the file is written, ``(False, "")`` when cancelled, and
      ``(False, message)`` when it could not be written.
    """
    from gdviz.export.files import VECTOR_FORMATS
    from gdviz.export.video import ExportError
    from gdviz.ui.recording import render

    progress = QProgressDialog("Rendering frames…", "Cancel", 0, 100, parent)
    progress.setWindowTitle("Export")
    progress.setWindowModality(Qt.WindowModality.WindowModal)
    progress.setMinimumDuration(0)

    def report(done: int, total: int) -> bool:
        progress.setMaximum(total)
        progress.setValue(done)
        return not progress.wasCanceled()

    try:
        # Anything but a regular file is still refused, whatever was agreed.
        frames = render(scene, path, size, fps, seconds, None, step, report, dark=dark, force=True)
    except ExportError as exc:
        return False, ("" if "cancelled" in str(exc) else str(exc))
    finally:
        progress.close()
    if path.suffix.lower() in VECTOR_FORMATS:
        what = "vector figure"
    elif frames == 1:
        what = "1 image"
    else:
        what = f"{frames} frames, {frames / fps:.1f} s"
    return True, f"Wrote {path.name} ({what}, {size[0]}x{size[1]})"
