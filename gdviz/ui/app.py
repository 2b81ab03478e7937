"""Starting the window (a start-up card first, then the window on a scene)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gdviz.ui.main_window import MainWindow


def _jax_cache_folder() -> Path | None:
    """The folder of compiled code kept between runs (made if missing); None if it cannot be."""
    from PySide6.QtCore import QCoreApplication, QStandardPaths

    QCoreApplication.setOrganizationName("gdviz")
    QCoreApplication.setApplicationName("gdviz")
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.CacheLocation)
    folder = Path(base or Path.home() / ".cache" / "gdviz") / "jax"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # no cache folder: everything still works, first paths come a little later
    return folder


def _configure_jax_cache() -> None:
    """Keep compiled code between runs: a restart's first paths come ~4x sooner (FACTS.md).

    The window and the computing commands (render, basins, tune, ...) share the folder: ``gdviz
    tune`` run twice took 3.1 s, then 0.95 s with it. Qt's cache location needs only the names
    (no QApplication), so a command without a window finds the window's folder.

    JAX is not imported here: the folder is given to JAX when it loads (at once if it is
    loaded), before anything compiles (:func:`gdviz.core.deferred.when_loaded`). The window is
    built and shown before JAX is imported."""
    from gdviz.core.deferred import when_loaded

    folder = _jax_cache_folder()
    if folder is None:
        return

    def configure(jax: ModuleType) -> None:
        jax.config.update("jax_compilation_cache_dir", str(folder))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)

    when_loaded(configure)


def _bare_application():  # noqa: ANN202
    """The QApplication with its names and font: Qt alone, nothing of pyqtgraph or JAX.

    Without Qt's GUI thread pool (``QT_NO_GUI_THREADPOOL``, unless the environment says
    otherwise): Qt's raster engine hands every fill or blend of 96 scanlines or more to pool
    threads, and on two cores waking them cost more than it saved (perf: ~20% of the GUI
    thread in the kernel's try_to_wake_up under QThreadPool::start). A playback frame took
    8.5 ms against 13.9 on linear-regression, 6.7 against 9.9 on rosenbrock and 5.0 against
    8.3 on schedules (pool off against on, four alternating process pairs each)."""
    os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("gdviz")
    app.setOrganizationName("gdviz")
    font = app.font()
    font.setPointSize(11)
    app.setFont(font)
    return app


def _application():  # noqa: ANN202
    import pyqtgraph as pg
    from PySide6.QtGui import QPixmapCache

    app = _bare_application()
    pg.setConfigOptions(antialias=True, imageAxisOrder="row-major")
    # The views cache their still parts (axes, heatmap, contours, loss curves) as pixmaps; Qt's
    # default 10 MB pixmap cache holds less than one window's worth at 1600x1000 and thrashed,
    # making every playback frame 5x slower. 256 MB holds several full-HD windows.
    QPixmapCache.setCacheLimit(256 * 1024)
    return app


NO_DISPLAY = (
    "gdviz: error: the window needs a display, and none was found (DISPLAY and WAYLAND_DISPLAY "
    "are unset); without one use `gdviz render SCENE -o out.mp4` or `gdviz screenshot SCENE -o "
    "out.png`, or run under xvfb-run"
)


def has_display(environ: Mapping[str, str] | None = None) -> bool:
    """Whether Qt can open a window here: a display, or a platform chosen explicitly."""
    env = os.environ if environ is None else environ
    if sys.platform != "linux" and not sys.platform.startswith("freebsd"):
        return True  # macOS and Windows always have their own platform
    return any(env.get(k) for k in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def launch(scene_ref: str | None = None, *, remember: bool = True) -> MainWindow | int:
    """Everything the window command does before its event loop: the start-up card, the
    imports, the scene, and the window, shown. Returns the window, or the exit status of a
    refused start (a scene that cannot be read, named on the command line).

    JAX is not imported here for a scene whose problem is a table's (the built-in functions,
    linear regression): the window reads only the core's tables and is on screen ~1 s sooner;
    its first paths, computed after its first frame, load JAX (:mod:`gdviz.core.deferred`). A
    typed formula or a network needs JAX to be read (its surface is checked, its minima are
    searched), and loads it here.

    Meanwhile a second process reads the scene too and computes its first paths and surface
    on the second core (:mod:`gdviz.ui.firstpicture`): they are on screen ~1.2-1.4 s sooner
    (medians of eight quiet launches, warm compile cache: 3.5-3.7 s before, 2.2-2.3 s with it).

    ``remember=False`` (``gdviz bench``'s start-up figures) reads and writes no settings: the
    named scene at the default size, as on a first launch.
    """
    from gdviz.core.firstpicture import spawn

    process = spawn()  # first thing: it imports JAX while Qt is imported here
    _bare_application()
    from PySide6.QtCore import QSettings

    from gdviz.ui.firstpicture import FirstPicture
    from gdviz.ui.splash import StartupCard, scene_title

    remembered = QSettings("gdviz", "gdviz").value("last_scene") if remember else None
    ref = str(scene_ref or remembered or "linear-regression")
    first = FirstPicture(process) if process is not None else None
    if first is not None:
        first.open(ref, _jax_cache_folder())
    card = StartupCard(scene_title(ref))
    card.show()
    card.say("Loading the views…")
    _application()
    # Before the scene: a network scene or a formula loads JAX and compiles while it is read.
    _configure_jax_cache()
    from gdviz.core import SceneError, load_scene

    card.say("Reading the scene…")
    try:
        scene = load_scene(ref)
        scene.build_network() if scene.is_network else scene.build_problem()  # what it draws
    except SceneError as exc:
        if first is not None:
            first.close()
            first = None
        if scene_ref is not None:
            card.close()
            print(f"gdviz: error: {exc}", file=sys.stderr)
            return 2
        scene = load_scene("linear-regression")  # the remembered file is gone: start afresh
    card.say("Building the window…")
    from gdviz.ui.main_window import MainWindow

    window = MainWindow(scene, remember=remember, autoplay=True, first_picture=first)
    if remember:
        window.restore_settings()
    if Path(ref).suffix == ".toml" and Path(ref).exists():
        window.scene_path = Path(ref)
    window.show()
    card.finish(window)
    return window


def run(scene_ref: str | None = None) -> int:
    """Open the window on a scene (default: the last one used, else linear-regression).

    With no display (and no ``QT_QPA_PLATFORM``) prints one line naming the headless commands
    and returns 2, before Qt can abort.
    """
    if not has_display():
        print(NO_DISPLAY, file=sys.stderr)
        return 2
    window = launch(scene_ref)
    if isinstance(window, int):
        return window
    return _bare_application().exec()
