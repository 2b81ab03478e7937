"""The window with the start-up process (gdviz.ui.firstpicture): its paths and surface are shown
when they are of the window's scene, what needs JAX waits for it, and the window's own
computation has the last word."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest
from PySide6.QtCore import QObject, Signal

from gdviz.core import deferred, load_scene, simulate
from gdviz.core.surface import surface
from gdviz.ui.controller import Controller


class FakeFirstPicture(QObject):
    """What the window uses of a FirstPicture, driven by the test."""

    paths_ready = Signal(object, object)
    surface_ready = Signal(object, object)

    def __init__(self) -> None:
        super().__init__()
        self.scene = None
        self.results: dict = {}
        self.asked: list = []
        self.closed = 0
        self.running = True

    def send_paths(self, scene, results) -> None:  # noqa: ANN001
        self.results, self.scene = results, scene
        self.paths_ready.emit(scene, results)

    def ask_surface(self, request) -> None:  # noqa: ANN001
        self.asked.append(request)

    def close(self) -> None:
        self.closed += 1
        self.running = False


@pytest.fixture
def held_worker(monkeypatch):  # noqa: ANN001, ANN201
    """The worker's JAX load waits for the test (``gate.set()``); ``deferred.ready()`` says no
    until it has gone through (JAX is imported in this process long since)."""
    gate, through = threading.Event(), threading.Event()
    original = Controller._load_and_compute

    def held(self, scene, problem) -> None:  # noqa: ANN001
        gate.wait(60)
        through.set()
        original(self, scene, problem)

    monkeypatch.setattr(Controller, "_load_and_compute", held)
    monkeypatch.setattr(deferred, "ready", lambda: through.is_set())
    yield gate
    gate.set()  # (a failed test's worker is not left waiting)


def _window(qtbot, scene, first):  # noqa: ANN001, ANN202
    from gdviz.ui.main_window import MainWindow

    window = MainWindow(scene, autoplay=True, first_picture=first)  # a worker, as the app runs
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: bool(first.asked), timeout=5000)  # the first frame asked for the paths
    return window


def _drawn(line) -> bool:  # noqa: ANN001
    xs = line.getData()[0]
    return xs is not None and len(xs) > 0


def _teardown(window, gate: threading.Event | None = None) -> None:  # noqa: ANN001
    if gate is not None:
        gate.set()  # (a failed test's worker would keep the shutdown waiting)
    window.controller.shutdown()
    window.map_runner.shutdown()


def test_its_paths_are_shown_then_jax_parts_follow_and_the_windows_own_paths_have_the_last_word(
    qtbot, held_worker
) -> None:  # noqa: ANN001
    scene = load_scene("linear-regression")
    first = FakeFirstPicture()
    window = _window(qtbot, scene, first)
    ctl = window.controller
    try:
        fresh = simulate(scene)
        # Paths that are not what this process computes (a lie the check must catch).
        doctored = {k: dataclasses.replace(t, params=t.params + 0.5) for k, t in fresh.items()}
        first.send_paths(dataclasses.replace(scene), doctored)  # equal to, not the window's
        qtbot.waitUntil(lambda: bool(ctl.results))
        assert ctl.results is doctored and ctl.jax_pending and ctl.busy
        # What needs JAX waits: no fitted lines, statuses without a verdict, not playing yet.
        assert not any(_drawn(line) for line in window.data_view.lines.values())
        row = window.optimizers.rows["Adam"]
        assert row.status.text().startswith("…") and "loss" in row.status.text()
        assert not ctl.playing and window.surface.waiting.isHidden()

        rect, resolution, l2 = request = first.asked[0]
        assert request == window.surface.surface_request()
        assert window.surface.image.image is None
        wrong = ((rect[0], (rect[1][0], rect[1][1] + 1.0)), resolution, l2)
        problem = scene.build_problem()
        first.surface_ready.emit(wrong, surface(problem, wrong[0], 32, l2=l2))
        qtbot.wait(20)
        assert window.surface.image.image is None  # another rectangle: not drawn
        first.surface_ready.emit(request, surface(problem, rect, resolution, l2=l2))
        qtbot.waitUntil(lambda: window.surface.image.image is not None)

        held_worker.set()  # JAX "loads": the lines and statuses come, and playback starts
        qtbot.waitUntil(lambda: not ctl.jax_pending and ctl.playing, timeout=10_000)
        qtbot.waitUntil(lambda: not ctl.busy, timeout=60_000)
        for label, path in ctl.results.items():  # the window's own paths replaced them
            np.testing.assert_array_equal(path.params, fresh[label].params)
        lines = window.data_view.lines.values()
        qtbot.waitUntil(lambda: all(_drawn(line) for line in lines))  # (on the views' beat)
        qtbot.waitUntil(lambda: not row.status.text().startswith("…"))  # (on the panels' beat)
        # No longer needed once the window has its own:
        qtbot.waitUntil(lambda: first.closed > 0, timeout=5000)
        shown = window.surface.image.image.copy()
        assert window.surface._surface_rect == rect
        window.surface.refresh_surface()  # what the window computes itself: the same picture
        np.testing.assert_array_equal(window.surface.image.image, shown)
    finally:
        _teardown(window, held_worker)


def test_its_paths_of_another_scene_are_never_shown_and_equal_paths_are_not_drawn_twice(
    qtbot, held_worker
) -> None:  # noqa: ANN001
    scene = load_scene("saddle-point")
    first = FakeFirstPicture()
    window = _window(qtbot, scene, first)
    ctl = window.controller
    changes: list[int] = []
    ctl.results_changed.connect(lambda: changes.append(1))
    try:
        moved = scene.with_start((0.3, 0.7))
        first.send_paths(moved, simulate(moved))  # (the user's edit came first, say)
        qtbot.wait(20)
        assert not ctl.results and ctl.jax_pending  # (what needs JAX waits from the start)

        ctl._first_pending = True  # again, now with this scene's own paths
        fresh = simulate(scene)
        first.send_paths(scene, fresh)
        qtbot.waitUntil(lambda: bool(ctl.results))
        assert ctl.results is fresh and changes == [1]
        held_worker.set()
        qtbot.waitUntil(lambda: not ctl.busy, timeout=60_000)
        qtbot.wait(20)
        # JAX's arrival redrew what waited for it; the worker's equal paths changed nothing.
        assert ctl.results is fresh and changes == [1, 1]
    finally:
        _teardown(window, held_worker)


def test_the_real_process_sends_the_paths_and_a_surface_then_ends_when_closed(qtbot) -> None:  # noqa: ANN001
    from gdviz.core.firstpicture import spawn
    from gdviz.ui.firstpicture import FirstPicture

    process = spawn()
    assert process is not None
    first = FirstPicture(process)
    try:
        first.open("saddle-point", None)
        with qtbot.waitSignal(first.paths_ready, timeout=120_000) as got:
            pass
        scene, paths = got.args
        assert scene == load_scene("saddle-point") and first.scene is scene
        fresh = simulate(scene)
        for label, path in paths.items():
            np.testing.assert_array_equal(path.params, fresh[label].params)
        request = (((-2.0, 2.0), (-1.0, 1.5)), 40, 0.0)
        with qtbot.waitSignal(first.surface_ready, timeout=60_000) as got:
            first.ask_surface(request)
        assert got.args[0] == request
        want = surface(scene.build_problem(), request[0], 40)
        np.testing.assert_array_equal(got.args[1].loss, want.loss)
        assert first.running  # it waits for more requests
    finally:
        first.close()
    assert not first.running
    first.ask_surface(request)  # asked of an ended process: nothing happens
    first.close()  # twice: nothing happens


def test_a_move_of_the_start_while_jax_loads_is_computed_once_it_has(qtbot, held_worker) -> None:  # noqa: ANN001
    scene = load_scene("local-minimum")
    first = FakeFirstPicture()
    window = _window(qtbot, scene, first)
    ctl = window.controller
    try:
        first.send_paths(scene, simulate(scene))
        qtbot.waitUntil(lambda: bool(ctl.results))
        assert ctl.jax_pending
        ctl.set_start((0.25, -0.5))  # the handle moves at once; its paths wait for the worker
        assert ctl.scene.start == (0.25, -0.5) and ctl.busy
        held_worker.set()
        qtbot.waitUntil(lambda: not ctl.busy and not ctl.jax_pending, timeout=60_000)
        fresh = simulate(scene.with_start((0.25, -0.5)))
        for label, path in ctl.results.items():
            np.testing.assert_array_equal(path.params, fresh[label].params)
    finally:
        _teardown(window, held_worker)


def test_when_loading_jax_fails_on_the_worker_the_window_does_not_wait_for_it_for_ever(
    qtbot, monkeypatch
) -> None:  # noqa: ANN001
    """(Its own computation then reports what is wrong; here JAX works, so its paths come.)"""

    def broken(name: str) -> None:
        raise RuntimeError("no JAX here")

    monkeypatch.setattr(deferred, "load", broken)
    monkeypatch.setattr(deferred, "ready", lambda: False)
    scene = load_scene("linear-regression")
    first = FakeFirstPicture()
    first.send_paths(scene, simulate(scene))  # before the window asks: kept, then shown
    window = _window(qtbot, scene, first)
    ctl = window.controller
    try:
        qtbot.waitUntil(lambda: not ctl.busy, timeout=60_000)
        assert ctl.results is first.results and not ctl.jax_pending and ctl.playing
        lines = window.data_view.lines.values()
        qtbot.waitUntil(lambda: all(_drawn(line) for line in lines))  # (on the views' beat)
    finally:
        _teardown(window)


def test_a_hover_or_a_zoom_while_jax_loads_waits_for_it_instead_of_freezing_the_window(
    qtbot, held_worker
) -> None:  # noqa: ANN001
    from gdviz.ui import surface_view

    scene = load_scene("linear-regression")
    first = FakeFirstPicture()
    window = _window(qtbot, scene, first)
    ctl, view = window.controller, window.surface
    computed: list = []
    original = surface_view.surface
    try:
        surface_view.surface = lambda *a, **k: computed.append(a[1]) or original(*a, **k)
        assert ctl.jax_pending and not ctl.results  # from the first frame, before any paths
        texts: list[str] = []
        view.hovered.connect(texts.append)
        view._on_mouse_moved(view.vb.mapViewToScene(pg_point(1.0, 2.0)))
        assert texts[-1].startswith("m = 1    b = 2") and "loss" not in texts[-1]
        view.vb.translateBy(x=1.5, y=-0.5)  # a pan, then the surface it would compute
        view.refresh_surface()
        assert computed == [] and view.image.image is None
        held_worker.set()
        qtbot.waitUntil(
            lambda: not ctl.jax_pending and view.image.image is not None, timeout=60_000
        )
        assert computed and computed[0] == view.visible_rect() == view._surface_rect
        view._on_mouse_moved(view.vb.mapViewToScene(pg_point(1.0, 2.0)))
        assert "loss = " in texts[-1]
        qtbot.waitUntil(lambda: bool(ctl.results) and not ctl.busy, timeout=60_000)
    finally:
        surface_view.surface = original
        _teardown(window, held_worker)


def pg_point(x: float, y: float):  # noqa: ANN201
    from PySide6.QtCore import QPointF

    return QPointF(x, y)
