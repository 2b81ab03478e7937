"""Own data in the data view: drag, add and remove points with the mouse; load a CSV file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QFileDialog

from gdviz.core import load_scene, simulate
from tests.ui.windows import quiet_window

# One window per module: under pytest-xdist, --dist loadgroup keeps these tests on one worker.
pytestmark = pytest.mark.xdist_group("own_data")


@pytest.fixture(scope="module")
def shared_window(qapp):  # noqa: ANN001, ANN201
    """One window for the module: building one and compiling its nine paths takes seconds."""
    import pyqtgraph as pg

    pg.setConfigOptions(mouseRateLimit=-1)
    with quiet_window(qapp, "linear-regression") as win:
        yield win


@pytest.fixture
def window(shared_window, qtbot):  # noqa: ANN001, ANN201
    """The shared window back on the built-in linear-regression scene, at its last step."""
    win = shared_window
    win.controller.set_scene(load_scene("linear-regression"), restart=False)
    win.controller.pause()
    win.controller.set_step(win.controller.steps)
    qtbot.waitExposed(win)
    QApplication.processEvents()
    return win


def _device(view, i: int) -> QPoint:  # noqa: ANN001
    x, y = view.device_points()[i]
    return QPoint(round(x), round(y))


def _isolated(view, right: bool = False) -> int:  # noqa: ANN001
    """The point farthest (on screen) from every other; among the right half if ``right``."""
    pts = view.device_points()
    gaps = np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(gaps, np.inf)
    nearest = gaps.min(axis=1)
    if right:
        nearest[pts[:, 0] < np.median(pts[:, 0])] = -1.0
    return int(np.argmax(nearest))


def _empty_spot(view) -> QPoint:  # noqa: ANN001
    """A viewport position inside the plot, at least 40 px from every point."""
    rect = view.mapFromScene(view.vb.sceneBoundingRect()).boundingRect()
    pts = view.device_points()
    for fx in np.linspace(0.1, 0.9, 9):
        for fy in np.linspace(0.1, 0.9, 9):
            p = QPoint(
                round(rect.left() + fx * rect.width()), round(rect.top() + fy * rect.height())
            )
            if np.min(np.hypot(pts[:, 0] - p.x(), pts[:, 1] - p.y())) > 40:
                return p
    raise AssertionError("no empty spot in the data view")


def _least_squares(ctl) -> np.ndarray:  # noqa: ANN001
    x, y = ctl.scene.points()
    return np.linalg.lstsq(np.column_stack([x, np.ones_like(x)]), y, rcond=None)[0]


def test_dragging_a_point_moves_the_surface_paths_and_minimum(window, qtbot) -> None:  # noqa: ANN001
    ctl, view = window.controller, window.data_view
    i = _isolated(view, right=True)  # far to the right: moving it turns the best line most
    image_before = np.array(window.surface.image.image)
    paths_before = {label: path.params.copy() for label, path in ctl.results.items()}
    minimum_before = window.surface.minima.getData()
    vp = view.viewport()
    start = _device(view, i)
    qtbot.mouseMove(vp, start)
    assert view.hover == i  # the point under the pointer is highlighted, the cursor says so
    assert vp.cursor().shape() == Qt.CursorShape.OpenHandCursor
    assert len(view.marker.getData()[0]) == 1
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
    assert ctl.dragging and view.dragging == i
    for k in range(1, 7):
        qtbot.mouseMove(vp, start + QPoint(0, 25 * k))  # downwards: the point's y falls
        qtbot.wait(5)
    # Live, before the release: the paths, the minimum marker and the point have followed.
    assert ctl.dragging
    assert not np.array_equal(ctl.results["Batch GD"].params, paths_before["Batch GD"])
    mx, my = window.surface.minima.getData()
    assert (mx[0], my[0]) != (minimum_before[0][0], minimum_before[1][0])
    np.testing.assert_allclose([mx[0], my[0]], _least_squares(ctl), atol=1e-9)
    end = start + QPoint(0, 25 * 7)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=end)
    assert not ctl.dragging
    # The point sits where it was released; the data are now the user's own.
    _, y_end = view._to_data(end)
    assert ctl.scene.points()[1][i] == pytest.approx(y_end)
    assert ctl.scene.data_source == "inline"
    assert window.problem_panel.data_source.text() == "your own points (100)"
    # On release: the minimum marker at the least-squares line, every path as a fresh run.
    mx, my = window.surface.minima.getData()
    np.testing.assert_allclose([mx[0], my[0]], _least_squares(ctl), atol=1e-9)
    fresh = simulate(ctl.scene)
    for label, path in fresh.items():
        np.testing.assert_array_equal(ctl.results[label].params, path.params)
        _, loss = window.loss_plot.curves[label].getData()
        np.testing.assert_allclose(loss, window.loss_plot.transform(path.loss))
    # The heatmap is evaluated again for the new data.
    qtbot.waitUntil(
        lambda: not np.array_equal(window.surface.image.image, image_before), timeout=5000
    )


def test_click_adds_a_point_right_click_and_delete_remove_one(window, qtbot, tmp_path) -> None:  # noqa: ANN001
    ctl, view = window.controller, window.data_view
    # Sixteen points: the mini-batch of 16 is then the whole dataset, and must shrink with it.
    x, y = ctl.scene.points()
    small = tmp_path / "sixteen.csv"
    small.write_text(
        "x,y\n"
        + "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in zip(x[:16], y[:16], strict=True))
    )
    assert ctl.load_data(small), window.messages
    assert ctl.problem.n == 16 and ctl.scene.data_source == "csv"
    QApplication.processEvents()
    vp = view.viewport()

    spot = _empty_spot(view)
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=spot)
    assert ctl.problem.n == 17
    added = np.array([ctl.scene.points()[0][-1], ctl.scene.points()[1][-1]])
    np.testing.assert_allclose(added, view._to_data(spot))
    assert window.problem_panel.data_source.text() == "your own points (17)"
    assert ctl.scene.entry("Mini-batch GD (16)").batch_size == 16

    for _ in range(2):
        qtbot.mouseClick(vp, Qt.MouseButton.RightButton, pos=_device(view, _isolated(view)))
    assert ctl.problem.n == 15
    batch = ctl.scene.entry("Mini-batch GD (16)").batch_size
    assert batch == 15  # shrank with the data: every schedule stays valid
    assert all(e.batch_size is None or e.batch_size <= 15 for e in ctl.scene.optimizers)
    assert window.optimizers.rows["Mini-batch GD (16)"].batch.maximum() == 15

    k = _isolated(view)
    qtbot.mouseMove(vp, _device(view, k))  # hover a point, press Delete
    assert view.hover == k
    gone = (ctl.scene.points()[0][k], ctl.scene.points()[1][k])
    qtbot.keyClick(window.surface, Qt.Key.Key_Delete)
    assert ctl.problem.n == 14
    assert gone not in set(zip(*ctl.scene.points(), strict=True))
    for label, path in simulate(ctl.scene).items():
        np.testing.assert_array_equal(ctl.results[label].params, path.params)


def test_a_bad_csv_shows_its_line_and_loses_nothing_a_good_one_is_used(
    window, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    ctl, panel = window.controller, window.problem_panel
    shown = window.messages
    shown.clear()
    picked: list[str] = []
    asked: list[str] = []

    def pick(parent, title, folder, filters):  # noqa: ANN001, ANN202
        asked.append(folder)
        return picked[-1], ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", pick)
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n3,4\n5,abc\n")
    before = ctl.scene
    picked.append(str(bad))
    window.load_data()
    assert len(shown) == 1 and "bad.csv" in shown[0] and "line 4" in shown[0]
    assert ctl.scene is before and ctl.scene.data_source == "generated"
    assert panel.spins["noise"].isEnabled()

    good = tmp_path / "good.csv"
    good.write_text("".join(f"{k},{3 * k - 1 + (-1) ** k * 0.5}\n" for k in range(12)))
    picked.append(str(good))
    window.load_data()
    assert len(shown) == 1
    assert asked[-1] == str(tmp_path)  # the folder of the last file is offered again
    assert ctl.problem.n == 12 and ctl.scene.data_csv == good
    assert panel.data_source.text() == "good.csv (12 points)"
    assert not panel.spins["noise"].isEnabled() and not panel.spins["n"].isEnabled()
    assert panel.generated_button.isEnabled()
    mx, my = window.surface.minima.getData()
    np.testing.assert_allclose([mx[0], my[0]], _least_squares(ctl), atol=1e-9)

    window.reset_data_action.trigger()  # Data > Reset to generated data
    assert ctl.scene.data_source == "generated" and ctl.problem.n == 100
    assert panel.spins["noise"].isEnabled() and not panel.generated_button.isEnabled()
    assert panel.data_source.text() == "generated (100 points)"


def test_a_network_s_minima_search_waits_for_the_release(window, qtbot) -> None:  # noqa: ANN001
    ctl, view = window.controller, window.data_view
    ctl.set_scene(load_scene("neuron"), restart=False)
    QApplication.processEvents()
    assert view.isVisible() and ctl.problem.minima
    vp = view.viewport()
    start = _device(view, _isolated(view))
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(vp, start + QPoint(0, -40))
    qtbot.waitUntil(lambda: ctl.scene.data_source == "inline")
    assert ctl.problem.minima_pending  # deferred during the drag
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=start + QPoint(0, -40))
    assert not ctl.problem.minima_pending and ctl.problem.minima
    assert ctl.problem is ctl.scene.build_problem()
    assert len(window.surface.minima.getData()[0]) == len(ctl.problem.minima)


def test_the_bench_measures_a_data_drag(window) -> None:  # noqa: ANN001
    from gdviz.ui.bench import data_drag_figures

    class Counter:
        paints = 0

    figures = data_drag_figures(window, 5, Counter)
    assert figures["data_drag_ms"] > 0 and figures["data_drag_p90_ms"] >= figures["data_drag_ms"]
    assert figures["data_drag_moved_point"] and figures["data_points"] == 100
    assert not window.controller.dragging
