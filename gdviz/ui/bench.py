"""Window figures for ``gdviz bench``: a drag's full update and a playback frame, offscreen."""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

import numpy as np


def ui_figures(scene_name: str = "linear-regression", repeats: int = 200) -> dict[str, Any]:
    """``drag_update_ms``: from a handle move to the repainted window, median over ``repeats``.

    ``frame_ms``: one playback step of every trail over the 512² surface, repainted.

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
    window = MainWindow(scene, background=False)
    window.resize(1600, 1000)
    window.show()
    app.processEvents()

    class PaintCounter(QObject):
        paints = 0

        def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
            if event.type() == QEvent.Type.Paint:
                PaintCounter.paints += 1
            return False

    counter = PaintCounter()
    for view in (window.surface, window.loss_plot, window.data_view):
        view.viewport().installEventFilter(counter)
    ctl = window.controller
    ctl.pause()
    ctl.set_step(ctl.steps)
    handle = window.surface.handles[None]
    x, y = scene.start
    angles = np.linspace(0, 2 * np.pi, repeats, endpoint=False)

    def drag(i: int) -> float:
        t0 = time.perf_counter()
        handle.setPos(QPointF(x + 0.4 * np.cos(angles[i]), y + 0.4 * np.sin(angles[i])))
        app.processEvents()
        return time.perf_counter() - t0

    for i in range(10):
        drag(i)
    PaintCounter.paints = 0
    drags = [drag(i) for i in range(repeats)]
    drag_paints = PaintCounter.paints / repeats
    moved = ctl.scene.start != scene.start

    ctl.set_step(0)

    def frame(k: int) -> float:
        t0 = time.perf_counter()
        ctl.set_step(k)
        app.processEvents()
        return time.perf_counter() - t0

    for k in range(1, 11):
        frame(k)
    PaintCounter.paints = 0
    frames = [frame(1 + k % ctl.steps) for k in range(repeats)]
    frame_paints = PaintCounter.paints / repeats
    window.close()

    import tempfile
    from pathlib import Path

    from gdviz.export.frames import render

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
        "drag_update_ms": round(1e3 * statistics.median(drags), 2),
        "drag_update_p90_ms": round(1e3 * float(np.percentile(drags, 90)), 2),
        "drag_moved_start": moved,
        "drag_view_paints": round(drag_paints, 2),
        "frame_ms": round(1e3 * statistics.median(frames), 2),
        "frame_view_paints": round(frame_paints, 2),
        "frame_surface": f"{RESOLUTION}x{RESOLUTION}",
        "window": "1600x1000 offscreen",
    }
