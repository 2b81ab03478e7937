"""Basin and stability maps in the window: colours, cancelling, clicks, threads, theory."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer

from gdviz.core import simulate
from gdviz.core.basins import DIVERGED, momentum_boundary, quadratic_eigenvalues
from gdviz.ui.maps import (
    DIVERGED_COLOR,
    NOT_SETTLED_COLOR,
    UNDER_PATHS_FADE,
    minimum_color,
)
from gdviz.ui.theme import rgb

SMALL = (16,)
"""One small resolution: a 16² map is one chunk of 256 starts (one compile per rule)."""


@pytest.fixture
def open_window(qtbot):  # noqa: ANN001, ANN201
    import pyqtgraph as pg

    from gdviz.core import load_scene
    from gdviz.ui.app import _application
    from gdviz.ui.main_window import MainWindow

    _application()
    pg.setConfigOptions(mouseRateLimit=-1)
    made = []

    def make(scene: str):  # noqa: ANN202
        win = MainWindow(load_scene(scene), background=False)
        qtbot.addWidget(win)
        win.resize(1400, 900)
        win.show()
        qtbot.waitExposed(win)
        win.controller.pause()
        win.controller.set_step(win.controller.steps)
        win.basins.resolutions = SMALL
        win.stability.resolutions = SMALL
        made.append(win)
        return win

    yield make
    for win in made:
        win.map_runner.shutdown()
        win.controller.shutdown()


def _wait_for_map(qtbot, layer, resolution: int) -> None:  # noqa: ANN001
    """Until ``layer`` (basins or stability) shows its current job's finest map."""
    qtbot.waitUntil(lambda: layer.ready, timeout=60_000)
    assert len(layer.map.xs) == resolution


def _maps_thread_alive() -> bool:
    return any(t.name == "gdviz-maps" and t.is_alive() for t in threading.enumerate())


def _widget_point(plot_widget, vb, x: float, y: float) -> QPoint:  # noqa: ANN001
    return plot_widget.mapFromScene(vb.mapViewToScene(QPointF(x, y)))


def test_each_minimum_lies_on_a_pixel_of_its_colour(open_window, qtbot) -> None:  # noqa: ANN001
    win = open_window("himmelblau-basins")
    layer = win.basins
    layer.resolutions = (16, 32)
    shown = []
    win.map_runner.produced.connect(lambda job, r, m: shown.append(r))
    win.set_basins(True)
    assert win.basins_action.isChecked() and layer.label == "GD"  # the first visible entry
    _wait_for_map(qtbot, layer, 32)
    # (That the GUI thread keeps handling events while a map runs is tested with a held job in
    # test_an_edit_cancels_...: counting timer ticks during a compile failed on a loaded machine.)
    # The test's own slot gets the queued signal after the layer's: wait for it too.
    qtbot.waitUntil(lambda: shown[-1:] == [32], timeout=5000)
    assert shown == [16, 32]  # coarse first, then sharper
    m = layer.map
    image = layer.image.image  # rows are y upwards, as the map's
    assert image.shape == (32, 32, 3) and layer.image.isVisible()
    # Drawn under the trails, even a start already at its minimum is its colour lightened.
    base = {k: np.array(rgb(minimum_color(k)), float) for k in range(len(m.minima))}
    palette = {k: c + (255.0 - c) * UNDER_PATHS_FADE for k, c in base.items()}
    palette[DIVERGED] = np.array(rgb(DIVERGED_COLOR), float)
    palette[-2] = np.array(rgb(NOT_SETTLED_COLOR), float)
    (x0, x1), (y0, y1) = m.rect
    for k, (mx, my) in enumerate(m.minima):
        j = int((mx - x0) / (x1 - x0) * 32)
        i = int((my - y0) / (y1 - y0) * 32)
        assert m.outcome[0, i, j] == k
        pixel = image[i, j].astype(float)
        nearest = min(palette, key=lambda c: np.linalg.norm(pixel - palette[c]))
        assert nearest == k, (k, pixel)
    # Over the heatmap, under the contours, trails and the minima (filled with their colours).
    assert win.surface.image.zValue() < layer.image.zValue() < win.surface.contours.zValue()
    assert layer.image.zValue() < win.surface.minima.zValue()
    brushes = [s.brush().color().name().upper() for s in win.surface.minima.points()]
    assert brushes == [minimum_color(k) for k in range(len(m.minima))]
    texts = [w.text() for w in layer.panel.findChildren(type(layer.status))]
    assert any(t.startswith("minimum 1 (3, 2)") for t in texts)
    # The key follows the theme: presenter mode's type is larger, dark mode's paper dark.
    before = layer.heading.font().pointSize()
    win.set_theme_name("dark")
    win.set_presenter(True)
    assert layer.heading.font().pointSize() > before
    assert "rgba(17, 19, 24" in layer.panel.styleSheet()
    win.set_presenter(False)
    win.set_basins(False)
    assert not layer.image.isVisible() and not layer.panel.isVisible()


def test_an_edit_cancels_the_running_map_and_starts_again(open_window, qtbot) -> None:  # noqa: ANN001
    win = open_window("himmelblau-basins")
    layer, runner = win.basins, win.map_runner
    produced = []
    runner.produced.connect(lambda job, r, m: produced.append(job))
    ticks = []
    timer = QTimer(interval=10)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()
    runner.set_paused(True)  # the worker holds each job at its first chunk: "running" now
    win.set_basins(True)
    first = layer.job
    qtbot.waitUntil(lambda: runner.busy, timeout=5_000)
    # The GUI thread handles its events while the map job runs.
    qtbot.waitUntil(lambda: len(ticks) >= 5, timeout=5_000)
    assert runner.busy
    win.controller.set_hyperparam("GD", "learning_rate", 0.004)
    second = layer.job
    assert second is not first and second.key != first.key
    assert runner.busy and first not in produced and second not in produced
    win.controller.set_hyperparam("GD", "learning_rate", 0.003)  # cancels the held one
    third = layer.job
    runner.set_paused(False)
    _wait_for_map(qtbot, layer, 16)
    timer.stop()
    # The test's own slot gets the queued signal after the layer's: wait for it too.
    qtbot.waitUntil(lambda: len(produced) >= 1, timeout=5000)
    assert produced == [third]  # the cancelled jobs never showed a map
    assert runner.wait_idle(5) and not runner.busy  # nothing left running
    # Moving the start keeps the map: it does not depend on the start.
    win.controller.set_start((1.0, 1.0))
    assert layer.job is third and not runner.busy


def test_a_scene_switch_and_closing_leave_no_worker(open_window, qtbot) -> None:  # noqa: ANN001
    win = open_window("himmelblau-basins")
    layer, runner = win.basins, win.map_runner
    runner.set_paused(True)
    win.set_basins(True)
    held = layer.job
    qtbot.waitUntil(lambda: runner.busy, timeout=5_000)
    win.controller.load("momentum-stability")
    assert layer.job is not held and layer.label == "Momentum"
    runner.set_paused(False)
    _wait_for_map(qtbot, layer, 16)
    assert layer.map.labels == ("Momentum",) and layer.map.minima.shape == (1, 2)
    runner.set_paused(True)
    win.controller.set_hyperparam("Momentum", "momentum", 0.5)  # a job mid-way at closing
    assert runner.busy and _maps_thread_alive()
    win.close()
    assert not runner.is_alive() and not _maps_thread_alive()


def test_clicking_a_basin_pixel_moves_the_start_to_it(open_window, qtbot) -> None:  # noqa: ANN001
    win = open_window("himmelblau-basins")
    layer = win.basins
    win.set_basins(True)
    _wait_for_map(qtbot, layer, 16)
    job = layer.job
    m = layer.map
    target = (float(m.xs[11]) + 0.1, float(m.ys[4]) - 0.1)  # inside pixel (4, 11), off centre
    point = _widget_point(win.surface, win.surface.vb, *target)
    qtbot.mouseClick(win.surface.viewport(), Qt.MouseButton.LeftButton, pos=point)
    start = win.controller.scene.start
    assert start == pytest.approx((m.xs[11], m.ys[4]))  # the pixel's centre
    np.testing.assert_allclose(win.controller.results["GD"].params[0], start)
    # The path from that start ends where the pixel's colour says.
    end = win.controller.results["GD"].params[-1]
    k = int(m.outcome[0, 4, 11])
    assert k >= 0 and np.linalg.norm(end - m.minima[k]) <= m.tol
    assert layer.job is job  # the map stays: it does not depend on the start


def test_clicking_the_stability_map_sets_both_hyperparameters(open_window, qtbot) -> None:  # noqa: ANN001
    win = open_window("momentum-stability")
    view = win.stability
    win.show_view("stability")
    assert win.view_tabs.currentWidget() is view
    _wait_for_map(qtbot, view, 16)
    job = view.job
    m = view.map
    assert m.axes == ("learning_rate", "momentum") and m.scales == ("log", "linear")
    assert view.plot.getAxis("bottom").labelText.startswith("learning rate η")
    assert view.plot.getAxis("left").labelText.startswith("momentum μ")
    assert len(view.curve.xData) > 0  # the theory's boundary on a quadratic with momentum
    before = win.controller.results["Momentum"].params.copy()
    i, j = 12, 5
    target = view.view_point(float(m.xs[j]), float(m.ys[i]))
    point = view.canvas.mapFromScene(view.plot.getViewBox().mapViewToScene(target))
    qtbot.mouseClick(view.canvas.viewport(), Qt.MouseButton.LeftButton, pos=point)
    entry = win.controller.scene.entry("Momentum")
    assert entry.hyperparams["learning_rate"] == pytest.approx(m.xs[j])
    assert entry.hyperparams["momentum"] == pytest.approx(m.ys[i])
    after = win.controller.results["Momentum"].params
    assert not np.array_equal(after, before)
    np.testing.assert_allclose(after, simulate(win.controller.scene)["Momentum"].params)
    marker = view.marker.points()[0].pos()
    assert (marker.x(), marker.y()) == pytest.approx((np.log10(m.xs[j]), m.ys[i]))
    assert view.job is job  # its own two values are not what the map depends on
    # A new start is: the map starts again.
    win.controller.set_start((-3.0, 1.0))
    assert view.job is not job


def test_the_stability_maps_diverged_region_lies_outside_the_theory(open_window, qtbot) -> None:  # noqa: ANN001
    win = open_window("momentum-stability")
    view = win.stability
    view.resolutions = (32,)
    win.show_view("stability")
    _wait_for_map(qtbot, view, 32)
    m = view.map
    eig = quadratic_eigenvalues(win.controller.problem)
    limit = momentum_boundary(eig, m.ys)[:, None]  # the largest stable η per row
    lr = np.broadcast_to(m.xs[None, :], m.outcome.shape)
    step = m.xs[1] / m.xs[0]  # one pixel, on the log axis
    diverged = m.outcome == DIVERGED
    assert diverged.any() and (~diverged).any()
    assert np.all(lr[diverged] >= limit.repeat(32, 1)[diverged] / step)
    assert np.all(diverged[lr > limit * step])
