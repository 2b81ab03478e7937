"""Files from Python: videos, stills and vector figures of a scene, and the whole window.

::

    import gdviz
    gdviz.render("rosenbrock", "valley.mp4", size=(1280, 720), seconds=8)
    gdviz.render("rosenbrock", "valley.svg", step=150)    # a figure for slides
    gdviz.screenshot("rosenbrock", "window.png")

Qt starts behind the scenes on first use, offscreen (``QT_QPA_PLATFORM=offscreen``) unless the
3-D view is asked for and a display is there; no window is shown. The one ``QApplication`` of the
process is made once and reused (an existing one, such as IPython's ``%gui qt``, is used as it
is), and its event loop is never entered (no ``exec``): the widgets are laid out and painted
directly. So the calls work from a plain script and inside Jupyter, whose asyncio loop keeps
running around them.

This module imports Qt, pyqtgraph and JAX only inside its functions: ``import gdviz`` stays light.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from gdviz.core import Scene
    from gdviz.notebook import Animation

__all__ = ["render", "screenshot", "show"]

View = Literal["2d", "3d"]
ThemeName = Literal["light", "dark"]

MIN_SIZE, MAX_SIZE = (160, 90), (7680, 4320)
"""Sizes an output may have, in pixels (a thumbnail up to 8K)."""


def as_scene(scene: Scene | str | os.PathLike[str]) -> Scene:
    """``scene`` itself, or the built-in scene or file it names.

    Raises:
      SceneError: an unknown name, an unreadable file, or an invalid scene.
    """
    from gdviz.core import Scene, load_scene

    if isinstance(scene, Scene):
        return scene
    return load_scene(scene if isinstance(scene, str) else Path(scene))


def check_options(
    size: tuple[int, int], fps: float, seconds: float | None, view: str, theme: str
) -> tuple[int, int]:
    """The size as two ints, after refusing what no output can be made with.

    Raises:
      ExportError: a size outside 160x90..7680x4320, fps outside 1..120, seconds outside
        0.1..600, or an unknown view or theme; the message names the argument.
    """
    from gdviz.export.files import ExportError

    try:
        width, height = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ExportError(f"size must be (width, height) in pixels, got {size!r}") from None
    if not (MIN_SIZE[0] <= width <= MAX_SIZE[0] and MIN_SIZE[1] <= height <= MAX_SIZE[1]):
        raise ExportError(f"size must be between 160x90 and 7680x4320, got {width}x{height}")
    if not 1 <= fps <= 120:
        raise ExportError(f"fps must be between 1 and 120, got {fps:g}")
    if seconds is not None and not 0.1 <= seconds <= 600:
        raise ExportError(f"seconds must be between 0.1 and 600, got {seconds:g}")
    if view not in ("2d", "3d"):
        raise ExportError(f"view must be '2d' or '3d', got {view!r}")
    if theme not in ("light", "dark"):
        raise ExportError(f"theme must be 'light' or 'dark', got {theme!r}")
    return width, height


def qt_application(view: str = "2d") -> QApplication:
    """The process's QApplication, made on first use (offscreen unless 3-D with a display)
    and reused after; its event loop is never run here."""
    from gdviz.ui.app import has_display

    if view == "2d" or not has_display():
        # Read once, when the first QApplication is made; an existing one keeps its platform.
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from gdviz.ui.app import _application

    return _application()


def render(
    scene: Scene | str | os.PathLike[str],
    path: str | os.PathLike[str],
    size: tuple[int, int] = (1920, 1080),
    fps: float = 30.0,
    seconds: float | None = None,
    step: int | None = None,
    view: View = "2d",
    theme: ThemeName = "light",
    *,
    steps: int | None = None,
    force: bool = False,
) -> Path:
    """Record ``scene`` to ``path``: a video (.mp4, .gif), a still (.png, .jpg) or a vector
    figure for slides (.svg, .pdf); returns the path written.

    The picture is what ``gdviz render`` draws: the title, the key with each optimizer's
    settings, the surface with the paths, the loss plot and a step counter.

    Args:
      scene: a Scene, a built-in scene's name (``"rosenbrock"``) or a .toml file.
      path: where to write; its suffix decides the format.
      size: (width, height) in pixels (even sides for MP4). A vector figure has this size too,
        in CSS pixels (SVG) or 1/96 inch (PDF), and scales cleanly from there.
      fps: frames per second of a video.
      seconds: the whole length of a video, the held last frame included; default: 30 steps
        a second, then a 1 s hold.
      step: for a still or a figure, the step shown (default: the last).
      view: "2d", or "3d" for the OpenGL surface (a display with GL; PNG, JPEG or video only).
      theme: "light" or "dark".
      steps: show only the first ``steps`` steps.
      force: replace an existing file (never a folder, link target outside a file, or device).

    Raises:
      SceneError: the scene does not load.
      ExportError: a bad argument, a path that cannot or must not be written (an existing file
        without ``force``), or the encoder failed; nothing is left at ``path``.
    """
    from gdviz.export.video import check_output

    width, height = check_options(size, fps, seconds, view, theme)
    target = Path(path)
    check_output(target, force=force)  # before the scene's paths are computed
    loaded = as_scene(scene)
    qt_application(view)
    from gdviz.ui.recording import render as record

    record(
        loaded,
        target,
        (width, height),
        fps,
        seconds,
        steps,
        step,
        view=view,
        dark=theme == "dark",
        force=force,
    )
    return target


def screenshot(
    scene: Scene | str | os.PathLike[str],
    path: str | os.PathLike[str],
    size: tuple[int, int] = (1600, 1000),
    step: int | None = None,
    view: View = "2d",
    theme: ThemeName = "light",
    *,
    force: bool = False,
) -> Path:
    """Draw the whole window (panels, plots, equations) on ``scene`` at ``step`` to ``path``:
    .png, .jpg, or .svg / .pdf (the 2-D view) for a vector figure; returns the path written.

    Raises:
      SceneError: the scene does not load.
      ExportError: a bad argument, ``step`` out of range, or a path that cannot or must not be
        written; nothing is left at ``path``.
    """
    from gdviz.export.files import IMAGE_FORMATS, VECTOR_FORMATS, ExportError, check_output

    width, height = check_options(size, 30.0, None, view, theme)
    target = Path(path)
    suffix = check_output(target, (*IMAGE_FORMATS, *VECTOR_FORMATS), force=force)
    if suffix in VECTOR_FORMATS and view != "2d":
        raise ExportError(f"cannot write {target}: an SVG or PDF figure draws the 2-D view")
    loaded = as_scene(scene)
    if step is not None and not 0 <= step <= loaded.steps:
        raise ExportError(f"step must be between 0 and {loaded.steps}, got {step}")
    app = qt_application(view)
    from PySide6.QtCore import Qt

    from gdviz.ui.main_window import MainWindow
    from gdviz.ui.recording import write_image, write_vector

    window = MainWindow(loaded, background=False)
    try:
        window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)  # laid out, never mapped
        if view == "3d" and not window.surface3d.available:
            raise ExportError(f"no 3-D view: {window.surface3d.reason} (run under X, or xvfb-run)")
        window.set_theme_name(theme)
        window.show_view(view)
        window.resize(width, height)
        window.show()
        app.processEvents()
        window.surface.fit_view()
        window.controller.set_step(loaded.steps if step is None else step)
        app.processEvents()
        if suffix in VECTOR_FORMATS:
            write_vector(window, target, loaded.title, force=force)
        else:
            image = window.grab().toImage()
            if image.width() != width or image.height() != height:
                image = image.scaled(width, height)
            write_image(image, target, force=force)
    finally:
        window.close()
        window.deleteLater()
    return target


def show(
    scene: Scene | str | os.PathLike[str],
    seconds: float | None = None,
    size: tuple[int, int] = (960, 540),
    fps: float = 20.0,
    view: View = "2d",
    theme: ThemeName = "light",
    fmt: Literal["auto", "mp4", "gif"] = "auto",
) -> Animation:
    """An animation of ``scene`` that a notebook shows inline, looping, with its caption.

    Nothing is rendered until it is displayed; the video is then kept for the same scene and
    options. ``seconds`` defaults to the scene's natural length (30 steps a second and a 1 s
    hold), at most 10 s. ``fmt="auto"`` is MP4 when ffmpeg is there, else GIF.
    """
    from gdviz.notebook import Animation

    check_options(size, fps, seconds, view, theme)
    return Animation(as_scene(scene), seconds, size, fps, view, theme, fmt)
