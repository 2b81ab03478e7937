"""The 3-D view: the loss as a lit surface, every trail lying on it, and a ball at each head.

Linked to the 2-D view through the controller: the same start, playback step and visibility.
Heights are the loss (or log₁₀ loss) scaled so that the surface is about half as tall as it is
wide, whatever the problem's units. Needs OpenGL: where none can be had (the offscreen platform,
a remote session without GL) the app runs on with this view replaced by a one-line reason.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from gdviz.core import surface
from gdviz.core.surface import loss_and_grad_at
from gdviz.ui.controller import Controller
from gdviz.ui.items import colour_values
from gdviz.ui.overlays import COLORS, KINDS, OverlaySet, geometry
from gdviz.ui.theme import LIGHT, Theme, entry_color

GRID = 128


def on_top_options() -> dict[object, object]:
    """GL state for paths and balls: drawn over the surface even where a hill hides them (a trail
    that vanishes behind a ridge teaches nothing), blended for smooth edges."""
    from OpenGL import GL

    return {
        GL.GL_DEPTH_TEST: False,
        GL.GL_BLEND: True,
        "glBlendFunc": (GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA),
    }


HEIGHT_RATIO = 0.5
"""Surface height as a fraction of the view's larger side."""


def opengl_problem() -> str | None:
    """Why OpenGL cannot be used here, or None when it can."""
    app = QGuiApplication.instance()
    if app is not None and QGuiApplication.platformName() in ("offscreen", "minimal"):
        return f"the '{QGuiApplication.platformName()}' Qt platform has no OpenGL"
    try:
        import OpenGL.GL  # noqa: F401
        import pyqtgraph.opengl  # noqa: F401
    except ImportError as exc:  # PyOpenGL missing or broken
        return f"PyOpenGL could not be loaded ({exc})"
    from PySide6.QtGui import QOffscreenSurface, QOpenGLContext

    context = QOpenGLContext()
    if not context.create():
        return "no OpenGL context could be created on this display"
    probe = QOffscreenSurface()
    probe.create()
    ok = context.makeCurrent(probe)
    context.doneCurrent()
    return None if ok else "the OpenGL context could not be made current"


class Heights:
    """The map from loss to height: log₁₀ or linear, scaled to the view's size."""

    def __init__(
        self, loss: np.ndarray, rect: tuple[tuple[float, float], tuple[float, float]], log: bool
    ):
        values, self.log = colour_values(loss) if log else (np.asarray(loss, dtype=float), False)
        finite = values[np.isfinite(values)]
        self.low = float(np.percentile(finite, 0.5))
        self.high = float(np.percentile(finite, 99.5))
        if self.high <= self.low:
            self.high = self.low + 1.0
        (x0, x1), (y0, y1) = rect
        self.scale = HEIGHT_RATIO * max(x1 - x0, y1 - y0) / (self.high - self.low)
        self._lift = float(np.min(loss)) if not self.log else None
        self.grid = self.of(loss)

    def of(self, loss: np.ndarray) -> np.ndarray:
        """Heights of losses, the same transform as the grid's (clipped to its range)."""
        loss = np.asarray(loss, dtype=float)
        values = np.log10(np.maximum(loss, 10.0 ** (self.low - 3))) if self.log else loss
        return (np.clip(values, self.low, self.high) - self.low) * self.scale


class Surface3DView(QWidget):
    """The surface in 3-D, or a one-line reason where OpenGL is missing."""

    def __init__(
        self, controller: Controller, theme: Theme = LIGHT, overlays: OverlaySet | None = None
    ) -> None:
        super().__init__()
        self.controller = controller
        self.overlays = overlays
        self.theme = theme
        self.reason = opengl_problem()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.available = self.reason is None
        if not self.available:
            label = QLabel(f"3-D view unavailable: {self.reason}.")
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(label)
            return
        import pyqtgraph.opengl as gl

        self.gl = gl
        self.view = gl.GLViewWidget()
        self.view.setBackgroundColor(theme.background)
        layout.addWidget(self.view, 1)
        self.controls = QWidget()
        bar = QHBoxLayout(self.controls)
        bar.setContentsMargins(4, 2, 4, 2)
        self.log_height = QCheckBox("log height")
        self.log_height.setChecked(True)
        self.log_height.toggled.connect(lambda _: self.refresh_surface())
        reset = QPushButton("Reset camera")
        reset.clicked.connect(self.reset_camera)
        bar.addWidget(self.log_height)
        bar.addWidget(reset)
        bar.addStretch(1)
        layout.addWidget(self.controls)
        self.surface_item = gl.GLSurfacePlotItem(computeNormals=False, smooth=False)
        self.view.addItem(self.surface_item)
        self.lines: dict[str, object] = {}
        self.heads = gl.GLScatterPlotItem(pxMode=True)
        self.heads.setGLOptions(on_top_options())
        self.heads.setDepthValue(20)
        self.view.addItem(self.heads)
        self.heights: Heights | None = None
        self.overlay_items: dict[str, object] = {}
        if overlays is not None:
            for kind in KINDS:
                color = _rgba(COLORS[kind])
                if kind == "lookahead":
                    item = gl.GLScatterPlotItem(pxMode=True, size=14, color=color)
                else:
                    item = gl.GLLinePlotItem(mode="lines", color=color, width=2.5, antialias=True)
                item.setGLOptions(on_top_options())
                item.setDepthValue(30)
                item.setVisible(False)
                self.view.addItem(item)
                self.overlay_items[kind] = item
            overlays.listeners.append(self.update_overlays)
        self._problem_key: object = None
        controller.entries_changed.connect(self.rebuild)
        controller.scene_changed.connect(self._on_scene_changed)
        controller.results_changed.connect(self.update_paths)
        controller.step_changed.connect(lambda _: self.update_paths())
        controller.start_changed.connect(self.update_paths)
        self.rebuild()

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        if not self.available:
            return
        self.view.setBackgroundColor(theme.background)
        self.rebuild()
        self.refresh_surface()

    # --- surface --------------------------------------------------------------------------------

    def rect(self) -> tuple[tuple[float, float], tuple[float, float]]:
        return self.controller.scene.view_rect()

    def refresh_surface(self) -> None:
        rect = self.rect()
        s = surface(self.controller.problem, rect, GRID)
        self.heights = Heights(s.loss, rect, self.log_height.isChecked())
        z = self.heights.grid  # (ny, nx): row i is ys[i]
        lut = self.theme.surface_lut().astype(float) / 255.0
        t = z / max(float(z.max()), 1e-12)
        colors = lut[np.clip((t * (len(lut) - 1)).astype(int), 0, len(lut) - 1)]
        # GLSurfacePlotItem wants z[i, j] at (x[i], y[j]) and colours flattened to (nx*ny, 4).
        self.surface_item.setData(
            x=s.xs, y=s.ys, z=z.T, colors=colors.transpose(1, 0, 2).reshape(-1, 4)
        )
        self.update_paths()

    def reset_camera(self) -> None:
        (x0, x1), (y0, y1) = self.rect()
        span = max(x1 - x0, y1 - y0)
        from pyqtgraph import Vector

        self.view.opts["center"] = Vector((x0 + x1) / 2, (y0 + y1) / 2, HEIGHT_RATIO * span / 3)
        self.view.setCameraPosition(distance=1.45 * span, elevation=32, azimuth=-62)

    # --- paths ----------------------------------------------------------------------------------

    def rebuild(self) -> None:
        for line in self.lines.values():
            self.view.removeItem(line)
        self.lines = {}
        for i, entry in enumerate(self.controller.scene.optimizers):
            color = _rgba(entry_color(i, entry.color, self.theme))
            line = self.gl.GLLinePlotItem(color=color, width=self.theme.trail_width, antialias=True)
            line.setGLOptions(on_top_options())
            line.setDepthValue(10)  # drawn after the surface
            self.view.addItem(line)
            self.lines[entry.label] = line
        self._on_scene_changed()

    def _on_scene_changed(self) -> None:
        scene = self.controller.scene
        key = (scene.problem, tuple(sorted(scene.problem_params.items())), scene.view)
        if key != self._problem_key:
            first = self._problem_key is None or key[0] != self._problem_key[0]  # type: ignore[index]
            self._problem_key = key
            self.refresh_surface()
            if first:
                self.reset_camera()
        for i, entry in enumerate(scene.optimizers):
            line = self.lines.get(entry.label)
            if line is not None:
                line.setData(color=_rgba(entry_color(i, entry.color, self.theme)))
        self.update_paths()

    def lifted(self, loss: np.ndarray) -> np.ndarray:
        """Heights of losses, lifted a little so that lines stay above the surface."""
        assert self.heights is not None
        (x0, x1), (y0, y1) = self.rect()
        return self.heights.of(loss) + 0.004 * max(x1 - x0, y1 - y0)

    def path_heights(self, params: np.ndarray) -> np.ndarray:
        """Heights of arbitrary points (overlay ends): their loss is evaluated."""
        loss, _ = loss_and_grad_at(self.controller.problem, params)
        return self.lifted(loss)

    def showEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt's name)
        super().showEvent(event)
        self.update_paths()  # skipped while the tab was hidden

    def update_paths(self) -> None:
        # Nothing to do while another tab is in front: playback would redraw it every frame.
        if self.heights is None or not self.isVisible():
            return
        ctl = self.controller
        heads, colors = [], []
        for i, entry in enumerate(ctl.scene.optimizers):
            line = self.lines.get(entry.label)
            path = ctl.results.get(entry.label)
            if line is None:
                continue
            visible = entry.visible and path is not None
            line.setVisible(visible)
            if not visible:
                continue
            k = min(ctl.step, path.steps)
            xy = path.params[: k + 1]
            z = self.lifted(path.loss[: k + 1])  # the recorded losses: nothing to evaluate
            line.setData(pos=np.column_stack([xy, z]))
            heads.append(np.append(xy[-1], z[-1]))
            colors.append(_rgba(entry_color(i, entry.color, self.theme)))
        if heads:
            self.heads.setData(
                pos=np.array(heads), color=np.array(colors), size=self.theme.head_size
            )
        else:
            self.heads.setData(pos=np.zeros((0, 3)))
        self.update_overlays()

    def update_overlays(self) -> None:
        """The same overlays as the 2-D view, laid on the surface."""
        if self.overlays is None or self.heights is None:
            return
        enabled = self.overlays.enabled
        for kind, item in self.overlay_items.items():
            item.setVisible(kind in enabled)
        if not enabled:
            return
        (x0, x1), (y0, y1) = self.rect()
        px = ((x1 - x0) / 600, (y1 - y0) / 600)  # arrowheads sized as on a 600 px view
        for kind, pts in geometry(self.controller, self.rect(), px, enabled).items():
            item = self.overlay_items[kind]
            if kind == "lookahead":
                pos = (
                    np.column_stack([pts, self.path_heights(pts)]) if len(pts) else np.zeros((0, 3))
                )
                item.setData(pos=pos)
                continue
            pairs = _segments(pts)
            if len(pairs):
                item.setData(pos=np.column_stack([pairs, self.path_heights(pairs)]))
            else:
                item.setData(pos=np.zeros((0, 3)))


def _segments(polyline: np.ndarray) -> np.ndarray:
    """A NaN-separated polyline as GL "lines" pairs: (a, b), (b, c), ... within each run."""
    if len(polyline) < 2:
        return np.empty((0, 2))
    a, b = polyline[:-1], polyline[1:]
    keep = np.isfinite(a).all(axis=1) & np.isfinite(b).all(axis=1)
    return np.stack([a[keep], b[keep]], axis=1).reshape(-1, 2)


def _rgba(color: str) -> tuple[float, float, float, float]:
    h = color.lstrip("#")
    return (int(h[0:2], 16) / 255, int(h[2:4], 16) / 255, int(h[4:6], 16) / 255, 1.0)
