"""The 3-D view: the loss as a lit surface, every trail lying on it, and a ball at each head.

Linked to the 2-D view through the controller: the same start, playback step and visibility.
Heights are the loss (or log₁₀ loss) scaled so that the surface is about half as tall as it is
wide, whatever the problem's units. Axes with tick labels run along the surface's edges. The loss
is the one the 2-D view draws: ``loss + (l2/2)·|θ|²`` while the visible entries share an ``l2``
(``Scene.surface_l2``), and the trails and heads are lifted onto that same surface.

Needs OpenGL: where none can be had (the offscreen platform, a remote session without GL) the app
runs on with this view replaced by a one-line reason.

Hosting (measured, issue 18): a ``QOpenGLWidget`` anywhere in a top-level window, even in a hidden
tab that was never shown, makes Qt compose the whole window through OpenGL on every flush. Under
xcb with Mesa's software GL that took a 2-D drag from 31 ms to 76 ms. So the GL view here is a
``QOpenGLWindow`` (pyqtgraph's ``GLViewMixin``) embedded with ``QWidget.createWindowContainer``,
made only when the view is first shown: the rest of the window keeps its plain raster flushes.
A window container paints nothing into ``QWidget.grab()``; :meth:`Surface3DView.picture` renders
the GL scene into an image, and the container draws that image whenever it is grabbed (screenshots,
``gdviz render --view 3d``).
"""

from __future__ import annotations

import atexit
import importlib.util
import math
import time
import weakref

import numpy as np
from PySide6.QtCore import QEvent, QObject, QRect, Qt
from PySide6.QtGui import QFont, QGuiApplication, QImage, QPainter, QSurfaceFormat
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from gdviz.core import surface
from gdviz.core.surface import l2_term, loss_and_grad_at
from gdviz.ui.controller import Controller
from gdviz.ui.items import colour_values
from gdviz.ui.overlays import KINDS, OverlaySet, geometry_by_entry
from gdviz.ui.theme import LIGHT, Theme, entry_color, rgb

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
    # Only looked up here (importing PyOpenGL and pyqtgraph.opengl costs ~0.2 s at start-up):
    # they are imported when the view is first shown, and a failure then is reported the same way.
    for module in ("OpenGL", "pyqtgraph.opengl"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed"
    from PySide6.QtGui import QOffscreenSurface, QOpenGLContext

    global _SHARED_CONTEXT
    context = QOpenGLContext()
    if not context.create():
        return "no OpenGL context could be created on this display"
    probe = QOffscreenSurface()
    probe.create()
    ok = context.makeCurrent(probe)
    context.doneCurrent()
    if ok and _SHARED_CONTEXT is None:
        context.setParent(app)  # Qt deletes it with the application, never after
        _SHARED_CONTEXT = context
    return None if ok else "the OpenGL context could not be made current"


_SHARED_CONTEXT = None
"""Every GL view shares its context with this one: pyqtgraph compiles each shader program once per
process, so a second view (the window's and a recording's) must see the same GL objects."""


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


def _gl_window_class() -> type:
    """``GLViewMixin`` on a ``QOpenGLWindow``: pyqtgraph's GL view as a window (see above)."""
    global _GL_WINDOW
    if _GL_WINDOW is not None:
        return _GL_WINDOW
    from OpenGL import GL
    from pyqtgraph.opengl.GLViewWidget import GLViewMixin
    from PySide6.QtOpenGL import QOpenGLWindow

    class GLWindow(GLViewMixin, QOpenGLWindow):
        # What GLViewMixin and its items ask of a QOpenGLWidget that a QWindow spells differently.
        def devicePixelRatioF(self) -> float:  # noqa: N802 (Qt's name)
            return self.devicePixelRatio()

        def rect(self) -> QRect:  # GLTextItem projects into it
            return QRect(0, 0, self.width(), self.height())

        def picture(self) -> QImage:
            """The scene as it is now, rendered on demand (not the last frame shown)."""
            # GL starts on the window's first expose, which the X server may not have sent yet
            # when a freshly shown view is grabbed at once (a recording): wait for it, briefly.
            deadline = time.monotonic() + 2.0
            while not self.isValid() and time.monotonic() < deadline:
                QGuiApplication.processEvents()
                time.sleep(0.005)
            if not self.isValid():
                return QImage()
            self.makeCurrent()
            GL.glViewport(0, 0, self.deviceWidth(), self.deviceHeight())
            self.paintGL()  # into the back buffer, which grabFramebuffer reads; never swapped
            return self.grabFramebuffer()

    _GL_WINDOW = GLWindow
    return GLWindow


_GL_WINDOW: type | None = None


class _GrabPainter(QObject):
    """Draws the GL picture into the container when the container is grabbed (not on screen)."""

    def __init__(self, view: Surface3DView) -> None:
        super().__init__(view)
        self.view = view

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() != QEvent.Type.Paint or self.view.view is None:
            return False
        painter = QPainter(obj)
        store = obj.backingStore()  # type: ignore[attr-defined]
        engine = painter.paintEngine()
        on_screen = (
            store is not None and engine is not None and engine.paintDevice() == store.paintDevice()
        )
        if not on_screen:  # on screen the GL window itself covers the container
            image = self.view.picture()
            if not image.isNull():
                painter.drawImage(obj.rect(), image)  # type: ignore[attr-defined]
        painter.end()
        return True


_LIVE_VIEWS: weakref.WeakSet[Surface3DView] = weakref.WeakSet()


def _release_gl_views() -> None:
    """Delete every top-level widget holding a GL view while Qt is still whole (at exit).

    Left to PySide's clean-up, a recording's ``QOpenGLWindow`` crashed the process after the file
    was written (``gdviz render --view 3d``, segmentation fault); deleting only the containers crashed
    PySide's clean-up in turn. Registered with atexit on first use, so it runs before PySide's own.
    """
    import shiboken6

    for view in list(_LIVE_VIEWS):
        if shiboken6.isValid(view):
            shiboken6.delete(view.window())  # no close(): no close event, nothing asked or saved


class Surface3DView(QWidget):
    """The surface in 3-D, or a one-line reason where OpenGL is missing.

    The GL view (``self.view``) and its items are made when the widget is first shown.
    """

    def __init__(
        self, controller: Controller, theme: Theme = LIGHT, overlays: OverlaySet | None = None
    ) -> None:
        super().__init__()
        self.controller = controller
        self.overlays = overlays
        self.theme = theme
        self.view = None
        self.heights: Heights | None = None
        self.surface_l2 = 0.0  # the L2 coefficient of the surface drawn (0: the plain loss)
        self.lines: dict[str, object] = {}
        self.overlay_items: dict[str, object] = {}
        self.axes: Axes3D | None = None
        self._problem_key: object = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.controls = QWidget()
        self.reason = opengl_problem()
        self.available = self.reason is None
        if not self.available:
            self._show_reason()
            return
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
        self._layout.addStretch(1)  # where the GL view goes when it is made
        self._layout.addWidget(self.controls)
        if overlays is not None:
            overlays.listeners.append(self.update_overlays)
        controller.entries_changed.connect(self.rebuild)
        controller.scene_changed.connect(self._on_scene_changed)
        controller.results_changed.connect(self.update_paths)
        controller.step_changed.connect(lambda _: self.update_paths())
        controller.start_changed.connect(self.update_paths)

    def _show_reason(self) -> None:
        label = QLabel(f"3-D view unavailable: {self.reason}.")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(True)
        self._layout.addWidget(label)
        self.controls.hide()

    def _make_view(self) -> None:
        """The GL window, its container and every item: the first time the view is shown."""
        try:
            import pyqtgraph.opengl as gl

            window_class = _gl_window_class()
        except Exception as exc:  # noqa: BLE001 (PyOpenGL broken in any way: say why, run on)
            self.available = False
            self.reason = f"PyOpenGL could not be loaded ({exc})"
            self._show_reason()
            return
        self.gl = gl
        if not _LIVE_VIEWS:
            atexit.register(_release_gl_views)  # once per process is enough; repeats are harmless
        _LIVE_VIEWS.add(self)
        self.view = window_class(_SHARED_CONTEXT)
        surface_format = QSurfaceFormat.defaultFormat()
        surface_format.setDepthBufferSize(24)  # a window's default has none: hills hide nothing
        self.view.setFormat(surface_format)
        self.view.setBackgroundColor(self.theme.background)
        # Keys stay with the window's widgets (playback keys work with the 3-D view in front);
        # the mouse still orbits, pans and zooms.
        self.view.setFlag(Qt.WindowType.WindowDoesNotAcceptFocus, True)
        self.container = QWidget.createWindowContainer(self.view, self)
        self.container.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.container.installEventFilter(_GrabPainter(self))
        stretch = self._layout.itemAt(0)
        self._layout.removeItem(stretch)
        self._layout.insertWidget(0, self.container, 1)
        self.surface_item = gl.GLSurfacePlotItem(computeNormals=False, smooth=False)
        self.view.addItem(self.surface_item)
        self.axes = Axes3D(gl, self.view)
        self.heads = gl.GLScatterPlotItem(pxMode=True)
        self.heads.setGLOptions(on_top_options())
        self.heads.setDepthValue(20)
        self.view.addItem(self.heads)
        if self.overlays is not None:
            for kind in KINDS:  # one item a kind; its vertices take their entries' colours
                if kind == "lookahead":
                    item = gl.GLScatterPlotItem(pxMode=True, size=14)
                else:
                    item = gl.GLLinePlotItem(mode="lines", width=2.5, antialias=True)
                item.setGLOptions(on_top_options())
                item.setDepthValue(30)
                item.setVisible(False)
                self.view.addItem(item)
                self.overlay_items[kind] = item
        self.rebuild()

    def picture(self) -> QImage:
        """The 3-D view as an image of the container's size (empty before it was first shown)."""
        if self.view is None:
            return QImage()
        self.update_paths()
        return self.view.picture()

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        if self.view is None:
            return
        self.view.setBackgroundColor(theme.background)
        self.rebuild()  # new line colours; the surface, axes and labels follow (or on show)

    # --- surface --------------------------------------------------------------------------------

    def rect(self) -> tuple[tuple[float, float], tuple[float, float]]:  # type: ignore[override]
        return self.controller.scene.view_rect()

    def refresh_surface(self) -> None:
        """Evaluate the surface and draw it: the regularised loss when the visible entries share
        an L2 term (``Scene.surface_l2``), as in the 2-D view, and the height axis says so."""
        if self.view is None:
            return
        rect = self.rect()
        s = surface(self.controller.problem, rect, GRID, l2=self.controller.scene.surface_l2)
        self.surface_l2 = s.l2
        self.heights = Heights(s.loss, rect, self.log_height.isChecked())
        z = self.heights.grid  # (ny, nx): row i is ys[i]
        lut = self.theme.surface_lut().astype(float) / 255.0
        t = z / max(float(z.max()), 1e-12)
        colors = lut[np.clip((t * (len(lut) - 1)).astype(int), 0, len(lut) - 1)]
        # GLSurfacePlotItem wants z[i, j] at (x[i], y[j]) and colours flattened to (nx*ny, 4).
        self.surface_item.setData(
            x=s.xs, y=s.ys, z=z.T, colors=colors.transpose(1, 0, 2).reshape(-1, 4)
        )
        assert self.axes is not None
        self.axes.update(
            rect, self.heights, self.controller.problem.axis_names, self.theme, self.surface_l2
        )
        self.update_paths()

    def reset_camera(self) -> None:
        if self.view is None:
            return
        (x0, x1), (y0, y1) = self.rect()
        span = max(x1 - x0, y1 - y0)
        from pyqtgraph import Vector

        # Aimed a little towards the front-left corner, where the height axis and its labels
        # stand, and far enough back that every tick label stays inside the frame.
        self.view.opts["center"] = Vector(
            (x0 + x1) / 2 - 0.1 * span, (y0 + y1) / 2 - 0.1 * span, HEIGHT_RATIO * span / 3
        )
        self.view.setCameraPosition(distance=1.6 * span, elevation=28, azimuth=-62)

    # --- paths ----------------------------------------------------------------------------------

    def rebuild(self) -> None:
        if self.view is None:
            return
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
        self._problem_key = None  # colours and axes follow the theme: refresh everything
        self._on_scene_changed()

    def _on_scene_changed(self) -> None:
        if self.view is None or not self.isVisible():
            return  # showEvent catches up: no surface is computed for a hidden tab
        scene = self.controller.scene
        # surface_l2 too: an L2 term set, changed, hidden or no longer shared is another loss.
        key = (
            scene.problem,
            tuple(sorted(scene.problem_params.items())),
            scene.view,
            scene.surface_l2,
        )
        if key != self._problem_key:
            old = self._problem_key
            first = old is None or key[0] != old[0]  # type: ignore[index]
            self._problem_key = key
            self.refresh_surface()
            if first:
                self.reset_camera()
        for i, entry in enumerate(scene.optimizers):
            line = self.lines.get(entry.label)
            if line is not None:
                line.setData(color=_rgba(entry_color(i, entry.color, self.theme)))
        self.update_paths()

    def lifted(self, loss: np.ndarray, params: np.ndarray) -> np.ndarray:
        """Heights of the problem's ``loss`` at ``(k, 2)`` ``params``, on the surface drawn (its L2
        term added), lifted a little so that lines stay above it."""
        assert self.heights is not None
        (x0, x1), (y0, y1) = self.rect()
        if self.surface_l2:
            loss = np.asarray(loss) + l2_term(params, self.surface_l2)
        return self.heights.of(loss) + 0.004 * max(x1 - x0, y1 - y0)

    def path_heights(self, params: np.ndarray) -> np.ndarray:
        """Heights of arbitrary points (overlay ends): their loss is evaluated."""
        loss, _ = loss_and_grad_at(self.controller.problem, params)
        return self.lifted(loss, np.asarray(params, dtype=float).reshape(-1, 2))

    def showEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt's name)
        super().showEvent(event)
        if not self.available:
            return
        if self.view is None:
            self._make_view()
            return  # _make_view drew everything
        self._on_scene_changed()  # skipped while the tab was hidden

    def update_paths(self) -> None:
        # Nothing to do while another tab is in front: playback would redraw it every frame.
        if self.view is None or self.heights is None or not self.isVisible():
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
            # The recorded losses (the problem's own: the L2 term is added from the points).
            z = self.lifted(path.loss[: k + 1], xy)
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
        """The same overlays as the 2-D view, laid on the surface, each in its entry's colour
        (as in the 2-D view: a kind in one colour drew Adam's and RMSprop's ellipses alike, and
        the near-black of the update arrows and ellipses vanished on the dark theme)."""
        if self.overlays is None or self.heights is None or self.view is None:
            return
        enabled = self.overlays.enabled
        for kind, item in self.overlay_items.items():
            item.setVisible(kind in enabled)
        if not enabled:
            return
        (x0, x1), (y0, y1) = self.rect()
        px = ((x1 - x0) / 600, (y1 - y0) / 600)  # arrowheads sized as on a 600 px view
        colors = self.controller.colors(self.theme)
        for kind, shapes in geometry_by_entry(self.controller, self.rect(), px, enabled).items():
            item = self.overlay_items[kind]
            parts = [
                (pts if kind == "lookahead" else _segments(pts), _rgba(colors[label]))
                for label, pts in shapes.items()
            ]
            parts = [(xy, color) for xy, color in parts if len(xy)]
            if not parts:
                item.setData(pos=np.zeros((0, 3)))
                continue
            xy = np.concatenate([p for p, _ in parts])
            rgba = np.concatenate([np.tile(c, (len(p), 1)) for p, c in parts])
            item.setData(pos=np.column_stack([xy, self.path_heights(xy)]), color=rgba)


def nice_ticks(low: float, high: float, count: int = 6) -> np.ndarray:
    """Round values between ``low`` and ``high``, about ``count`` of them (1, 2, 2.5 or 5 x 10^k)."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return np.array([low])
    raw = (high - low) / max(count - 1, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * 0.999)
    first = math.ceil(low / step - 1e-9) * step
    ticks = np.arange(first, high + step * 1e-9, step)
    return np.where(np.abs(ticks) < step * 1e-9, 0.0, ticks)


def tick_text(value: float) -> str:
    """A short label: 0.5, 12, 2500, 1e-05."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e5:
        return f"{value:.4g}"
    return f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")


class Axes3D:
    """Axis lines along the surface's front and right edges and up its front-left corner, with
    ticks and labels in the theme's foreground colour: the two parameters by name, and the loss
    (on a log scale when the heights are log₁₀ loss; ``loss + (l2/2)·|θ|²`` when the surface is
    the regularised loss).

    Placed for the reset camera (looking from the front right), like a printed 3-D plot.
    """

    def __init__(self, gl: object, view: object) -> None:
        self.gl = gl
        self.view = view
        self.lines = gl.GLLinePlotItem(mode="lines", width=2.0, antialias=True)  # type: ignore[attr-defined]
        self.lines.setGLOptions("translucent")  # depth-tested: the surface hides what is behind it
        self.lines.setDepthValue(5)
        view.addItem(self.lines)  # type: ignore[attr-defined]
        self.labels: list[object] = []

    def _label(
        self,
        pos: tuple[float, float, float],
        text: str,
        font: QFont,
        color: str,
        align: Qt.AlignmentFlag,
    ) -> None:
        item = self.gl.GLTextItem(pos=pos, text=text, font=font, color=color, alignment=align)  # type: ignore[attr-defined]
        item.setDepthValue(40)
        self.view.addItem(item)  # type: ignore[attr-defined]
        self.labels.append(item)

    def update(
        self,
        rect: tuple[tuple[float, float], tuple[float, float]],
        heights: Heights,
        names: tuple[str, str],
        theme: Theme,
        l2: float = 0.0,
    ) -> None:
        for item in self.labels:
            self.view.removeItem(item)  # type: ignore[attr-defined]
        self.labels = []
        (x0, x1), (y0, y1) = rect
        span = max(x1 - x0, y1 - y0)
        top = (heights.high - heights.low) * heights.scale
        floor = -0.01 * span  # just under the lowest point: no fight with the surface
        tick = 0.025 * span
        gap = 0.06 * span
        front, right, corner = (x0, y0, floor), (x1, y0, floor), (x0, y0, top)
        back_left, back_right = (x0, y1, floor), (x1, y1, floor)
        # Pairs of ends: x along the front edge, y along the right edge, the height up the
        # front-left corner, and the floor's far edges for depth.
        segments: list[tuple[float, float, float]] = [front, right, right, back_right]
        segments += [front, corner, back_left, back_right, front, back_left]
        small = QFont()
        small.setPointSizeF(theme.plot_font_pt)
        big = QFont(small)
        big.setPointSizeF(theme.plot_font_pt + 2)
        big.setBold(True)
        fg = theme.foreground
        a = Qt.AlignmentFlag
        for v in nice_ticks(x0, x1):
            segments += [(v, y0, floor), (v, y0 - tick, floor)]
            self._label((v, y0 - gap, floor), tick_text(v), small, fg, a.AlignHCenter | a.AlignTop)
        for v in nice_ticks(y0, y1):
            segments += [(x1, v, floor), (x1 + tick, v, floor)]
            self._label((x1 + gap, v, floor), tick_text(v), small, fg, a.AlignLeft | a.AlignVCenter)
        self._label(
            ((x0 + x1) / 2, y0 - 2.6 * gap, floor), names[0], big, fg, a.AlignHCenter | a.AlignTop
        )
        self._label(
            (x1 + 2.6 * gap, (y0 + y1) / 2, floor), names[1], big, fg, a.AlignLeft | a.AlignVCenter
        )
        if heights.log:  # whole decades, or finer steps of log10 where the range is narrow
            decades = np.arange(math.ceil(heights.low), math.floor(heights.high) + 1)
            values = decades if len(decades) >= 2 else nice_ticks(heights.low, heights.high, 4)
            if len(values) > 6:  # at most six labels: every second or third decade
                values = values[:: math.ceil(len(values) / 6)]
            marks = [(float(v), tick_text(10.0**v)) for v in values]
        else:
            marks = [(float(v), tick_text(v)) for v in nice_ticks(heights.low, heights.high, 5)]
        for v, text in marks:
            z = (v - heights.low) * heights.scale
            segments += [(x0, y0, z), (x0 - tick, y0 - tick, z)]
            self._label((x0 - gap, y0 - gap, z), text, small, fg, a.AlignRight | a.AlignVCenter)
        # Which loss over the scale, on two lines: the regularised loss's name is long, and one
        # line centred on the axis ran off the view's left edge.
        self._label((x0, y0, top + gap), height_title(l2), big, fg, a.AlignHCenter | a.AlignBottom)
        if heights.log:
            self._label((x0, y0, top + gap), "(log scale)", small, fg, a.AlignHCenter | a.AlignTop)
        color = list(_rgba(fg))
        self.lines.setData(pos=np.array(segments, dtype=float), color=tuple(color))  # type: ignore[attr-defined]


def height_title(l2: float) -> str:
    """The height axis's title, in the 2-D colour bar's words: which loss the surface is."""
    return f"loss + ({l2:g}/2)·|θ|²" if l2 else "loss"


def _segments(polyline: np.ndarray) -> np.ndarray:
    """A NaN-separated polyline as GL "lines" pairs: (a, b), (b, c), ... within each run."""
    if len(polyline) < 2:
        return np.empty((0, 2))
    a, b = polyline[:-1], polyline[1:]
    keep = np.isfinite(a).all(axis=1) & np.isfinite(b).all(axis=1)
    return np.stack([a[keep], b[keep]], axis=1).reshape(-1, 2)


def _rgba(color: str) -> tuple[float, float, float, float]:
    r, g, b = rgb(color)
    return (r / 255, g / 255, b / 255, 1.0)
