"""The export dialog: size, frame rate and length of a video, GIF or image, with progress."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QProgressDialog,
    QSpinBox,
    QWidget,
)

from gdviz.core import Scene
from gdviz.ui.controller import BASE_STEPS_PER_SECOND

SIZES = ("1920x1080", "1280x720", "960x540", "640x360")


class ExportDialog(QDialog):
    """Choose the size, frames per second and length of an export."""

    def __init__(self, scene: Scene, kind: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Export {kind}")
        form = QFormLayout(self)
        self.size = QComboBox()
        self.size.addItems(SIZES if kind != "GIF" else SIZES[2:])
        form.addRow("size", self.size)
        self.fps = QSpinBox()
        self.fps.setRange(1, 60)
        self.fps.setValue(30 if kind == "video" else 15)
        self.seconds = QDoubleSpinBox()
        self.seconds.setRange(0.5, 600.0)
        self.seconds.setDecimals(1)
        self.seconds.setValue(round(scene.steps / BASE_STEPS_PER_SECOND, 1))
        self.seconds.setSuffix(" s")
        if kind != "image":
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
    """Export with a progress dialog that can cancel.

    Returns:
      ``(True, "Wrote …")`` when the file is written, ``(False, "")`` when cancelled, and
      ``(False, message)`` when it could not be written.
    """
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
        # The save dialog asked before replacing a file; anything but a file is still refused.
        frames = render(scene, path, size, fps, seconds, None, step, report, dark=dark, force=True)
    except ExportError as exc:
        return False, ("" if "cancelled" in str(exc) else str(exc))
    finally:
        progress.close()
    what = "1 image" if frames == 1 else f"{frames} frames, {frames / fps:.1f} s"
    return True, f"Wrote {path.name} ({what}, {size[0]}x{size[1]})"
