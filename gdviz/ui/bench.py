"""Window figures for ``gdviz bench``: a drag's full update, a playback frame, a render, and
start-up times, on the Qt platform the process runs on (``QT_QPA_PLATFORM``, offscreen by default).

``gdviz.bench`` runs :func:`child_main` in a child process so that the platform (xcb under Xvfb,
or offscreen) is the child's own.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from gdviz.core.scene import Scene


def ui_figures(
    scene_name: str = "linear-regression", repeats: int = 200, render_video: bool = True
) -> dict[str, Any]:
    """``drag_update_ms``: from a handle move to the repainted window, median over ``repeats``.

    ``frame_ms``: one playback step of every trail over the 512² surface, repainted.

    ``data_drag_ms`` (data problems): a data point dragged in the data view, from the move to
    the repainted window: the new problem, every path, the minimum marker, the points and the
    views that follow a drag, as a drag of the start is measured.

    A network scene is measured as the window runs it: every entry trains again on the worker
    thread at each move (tens to hundreds of ms) while the GUI thread moves the handle, so
    ``drag_update_ms`` is what a move costs the GUI thread (the handle, and any newer paths
    that arrived), and ``drag_paths_ms`` how long the paths take to follow one move: from the
    move until the window shows the paths trained from there (the median of a few).

    Each measure runs what the event loop would: the change, then the paint events Qt queued for
    the widgets that changed (counted, to be sure they ran), as a real window does every frame.
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEvent, QObject, QPointF

    from gdviz.core import load_scene
    from gdviz.ui.app import _application
    from gdviz.ui.main_window import MainWindow
    from gdviz.ui.surface_view import RESOLUTION

    app = _application()
    scene = load_scene(scene_name)
    network = scene.is_network
    window = MainWindow(scene, background=network)
    window.resize(1600, 1000)
    window.show()
    app.processEvents()
    ctl = window.controller
    settle(app, ctl)

    class PaintCounter(QObject):
        paints = 0

        def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
            if event.type() == QEvent.Type.Paint:
                PaintCounter.paints += 1
            return False

    counter = PaintCounter()
    for view in (window.surface, window.loss_plot, window.data_view):
        view.viewport().installEventFilter(counter)
    ctl.pause()
    ctl.set_step(ctl.steps)
    handle = window.surface.handles[None]
    x, y = ctl.shared_start()
    init = ctl.network.init if network else None
    # A classic scene's start moves 0.4 (its views are a few units wide); a network's plane
    # coordinates have no such scale: 5% of its view's shorter side.
    (x0, x1), (y0, y1) = ctl.view_rect()
    radius = 0.05 * min(x1 - x0, y1 - y0) if network else 0.4
    angles = np.linspace(0, 2 * np.pi, repeats, endpoint=False)

    def point(i: int) -> QPointF:
        return QPointF(x + radius * np.cos(angles[i]), y + radius * np.sin(angles[i]))

    def drag(i: int) -> float:
        t0 = time.perf_counter()
        handle.setPos(point(i))
        app.processEvents()
        return time.perf_counter() - t0

    for i in range(10):
        drag(i)
    PaintCounter.paints = 0
    drags = [drag(i) for i in range(repeats)]
    drag_paints = PaintCounter.paints / repeats
    follow: dict[str, float] = {}
    if network:
        settle(app, ctl)
        moved = not np.array_equal(ctl.network.init, init)

        def paths_follow(i: int) -> float:
            t0 = time.perf_counter()
            handle.setPos(point(i))
            settle(app, ctl)
            return time.perf_counter() - t0

        lags = [paths_follow(i) for i in range(0, repeats, max(1, repeats // 10))]
        follow = {"drag_paths_ms": round(1e3 * statistics.median(lags), 1)}
    else:
        moved = ctl.scene.start != scene.start
    # Released before the frames are timed, as playback runs: mid-drag the trails are plain,
    # the curves uncached and the secondary views on their drag beat (a network's plane is
    # fitted again here).
    handle.sigPositionChangeFinished.emit(handle)
    settle(app, ctl)

    ctl.set_step(0)

    def frame(k: int) -> float:
        t0 = time.perf_counter()
        ctl.set_step(k)
        app.processEvents()
        return time.perf_counter() - t0

    # Steps as playback makes them (what follows playback at a lower rate does so here too),
    # without its clock: each frame is timed alone.
    ctl.playing = True
    for k in range(1, 11):
        frame(k)
    PaintCounter.paints = 0
    frames = [frame(1 + k % ctl.steps) for k in range(repeats)]
    frame_paints = PaintCounter.paints / repeats
    ctl.playing = False
    # A network's data view shows its data set and decision boundaries; its points do not move.
    dragged = ctl.problem.has_data and not network
    data = data_drag_figures(window, repeats, PaintCounter) if dragged else {}
    window.controller.shutdown()
    window.close()
    qt_platform = app.platformName()
    figures = {
        "drag_update_ms": round(1e3 * statistics.median(drags), 2),
        "drag_update_p90_ms": round(1e3 * float(np.percentile(drags, 90)), 2),
        "drag_moved_start": moved,
        "drag_view_paints": round(drag_paints, 2),
        **follow,
        "frame_ms": round(1e3 * statistics.median(frames), 2),
        "frame_view_paints": round(frame_paints, 2),
        "frame_surface": f"{RESOLUTION}x{RESOLUTION}",
        "window": f"1600x1000 {qt_platform}",
        **data,
    }
    if render_video:
        figures.update(render_figures(scene))
    return figures


def settle(app: Any, controller: Any, timeout_s: float = 120.0) -> None:
    """Run the event loop until the controller has paths and no computation is under way."""
    from PySide6.QtCore import QEventLoop

    t0 = time.perf_counter()
    while (controller.busy or not controller.results) and time.perf_counter() - t0 < timeout_s:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
        time.sleep(0.001)
    app.processEvents()


def data_drag_figures(window: Any, repeats: int, counter: Any) -> dict[str, Any]:
    """Drag the first data point of ``window``'s scene in a circle in the data view: the median
    and 90th percentile of one move, repainted (``counter.paints``: paint events of the views)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    ctl, view = window.controller, window.data_view
    ctl.set_step(ctl.steps)
    xs, ys = ctl.scene.points()
    x0, y0 = float(xs[0]), float(ys[0])
    radius = 0.05 * float(np.ptp(ys) or 1.0)
    angles = np.linspace(0, 2 * np.pi, repeats, endpoint=False)
    view.begin_point_drag(0)

    def move(i: int) -> float:
        t0 = time.perf_counter()
        view.drag_point(x0 + radius * np.cos(angles[i]), y0 + radius * np.sin(angles[i]))
        app.processEvents()
        return time.perf_counter() - t0

    for i in range(10):
        move(i % repeats)
    counter.paints = 0
    moves = [move(i) for i in range(repeats)]
    paints = counter.paints / repeats
    moved = bool(ctl.scene.points()[1][0] != y0 or ctl.scene.points()[0][0] != x0)
    t0 = time.perf_counter()
    view.end_point_drag()
    app.processEvents()
    release = time.perf_counter() - t0
    return {
        "data_drag_ms": round(1e3 * statistics.median(moves), 2),
        "data_drag_p90_ms": round(1e3 * float(np.percentile(moves, 90)), 2),
        "data_drag_moved_point": moved,
        "data_drag_view_paints": round(paints, 2),
        "data_drag_release_ms": round(1e3 * release, 2),
        "data_points": ctl.problem.n,
    }


def render_figures(scene: Scene) -> dict[str, Any]:
    """A 4 s 1080p MP4 of ``scene``: the steady frame rate and the whole command's time."""
    from pathlib import Path

    from gdviz.ui.recording import render

    stamps: list[float] = []

    def stamp(done: int, total: int) -> bool:
        stamps.append(time.perf_counter())
        return True

    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        count = render(scene, Path(folder) / "bench.mp4", (1920, 1080), 30.0, 4.0, progress=stamp)
        render_s = time.perf_counter() - t0
    return {
        # Frames per second once the window is built (the steady rate of a long video), and
        # the whole command's time with its one-off set-up for this short one.
        "render_fps": round((len(stamps) - 1) / (stamps[-1] - stamps[0]), 1),
        "render_total_s": round(render_s, 2),
        "render_frames": count,
        "render_size": "1920x1080 mp4",
    }


STARTUP = """
import json, sys, time
t0 = float(sys.argv[2])
from PySide6.QtCore import QEvent, QEventLoop, QObject
from gdviz.ui.app import _bare_application, launch


class FirstFrame(QObject):
    # The main window's first frame: its first expose, painted and flushed right here.
    at = None

    def eventFilter(self, obj, event):
        if (
            self.at is None
            and event.type() == QEvent.Type.Expose
            and obj.isWindowType()
            and obj.isExposed()
            and any(
                type(w).__name__ == "MainWindow" and w.windowHandle() is obj
                for w in app.topLevelWidgets()
            )
        ):
            obj.event(event)
            self.at = time.time() - t0
            return True
        return False


app = _bare_application()
frame = FirstFrame()
app.installEventFilter(frame)
window = launch(sys.argv[1], remember=False)
while frame.at is None and time.time() - t0 < 120:
    app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 10)
app.removeEventFilter(frame)
ctl = window.controller
while not ctl.results and time.time() - t0 < 120:
    app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 10)
    time.sleep(0.002)
app.processEvents()
paths = time.time() - t0 if ctl.results else None
source = "start-up process" if ctl._adopted is not None else "window"
print(json.dumps({"window_shown_s": frame.at and round(frame.at, 2), "first_paths_s": paths and round(paths, 2), "paths_from": source}))
window.map_runner.shutdown()
ctl.shutdown()
"""
"""A fresh process opening the window as ``gdviz`` does (:func:`gdviz.ui.app.launch`: the
start-up card, then the window), with no settings read. ``window_shown_s``: launch to the
window's first frame on screen (its first expose, painted and flushed); ``first_paths_s``:
launch to the first paths drawn; ``paths_from``: who computed them, the start-up process
(:mod:`gdviz.ui.firstpicture`) or the window's own worker."""


def startup_figures(scene_name: str) -> dict[str, Any]:
    """Launch-to-window and launch-to-paths times of a fresh process, as the window is opened:
    first with an empty JAX compile cache (``XDG_CACHE_HOME`` pointed at an empty folder), then
    again with the cache that run left (warm). The user's own cache is never touched."""
    figures: dict[str, Any] = {"scene": scene_name}
    with tempfile.TemporaryDirectory(prefix="gdviz-bench-cache-") as cache:
        env = {**os.environ, "XDG_CACHE_HOME": cache}
        for name in ("empty_cache", "warm_cache"):
            t0 = time.time()
            result = subprocess.run(
                [sys.executable, "-c", STARTUP, scene_name, repr(t0)],
                capture_output=True,
                text=True,
                env=env,
                timeout=300,
                check=False,
            )
            lines = result.stdout.strip().splitlines()
            if result.returncode != 0 or not lines:
                raise RuntimeError(f"start-up run failed: {result.stderr.strip()[-2000:]}")
            figures[name] = json.loads(lines[-1])
    return figures


def child_main() -> None:
    """Entry of the bench's child process: ``argv[1]`` is a JSON spec (scenes, repeats, startup);
    prints one JSON line."""
    spec = json.loads(sys.argv[1])
    scenes = spec["scenes"]
    out: dict[str, Any] = {
        "scenes": {
            name: ui_figures(name, spec["repeats"], render_video=i == 0)
            for i, name in enumerate(scenes)
        }
    }
    if spec.get("startup", True) and scenes:
        out["startup"] = startup_figures(scenes[0])
    print(json.dumps(out))
