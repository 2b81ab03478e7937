"""The window, driven as a user drives it: mouse, keys, spin boxes."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QMessageBox


def _widget_point(view, x: float, y: float) -> QPoint:  # noqa: ANN001
    scene_pt = view.vb.mapViewToScene(QPointF(x, y))
    return view.mapFromScene(scene_pt)


def _trail(window, label: str) -> np.ndarray:  # noqa: ANN001
    x, y = window.surface.trails[label].line.getData()
    return np.column_stack([x, y])


def test_dragging_the_handle_moves_the_start_and_every_path(window, qtbot) -> None:  # noqa: ANN001
    view = window.surface
    ctl = window.controller
    before = {k: _trail(window, k) for k in view.trails}
    x0, y0 = ctl.scene.start
    start = _widget_point(view, x0, y0)
    end = _widget_point(view, x0 + 1.5, y0 - 1.0)
    vp = view.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
    for t in np.linspace(0.2, 1.0, 5):
        qtbot.mouseMove(
            vp,
            QPoint(
                int(start.x() + t * (end.x() - start.x())),
                int(start.y() + t * (end.y() - start.y())),
            ),
        )
        qtbot.wait(15)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=end)
    new_start = np.array(ctl.scene.start)
    handle = view.handles[None].pos()
    assert np.allclose(new_start, (handle.x(), handle.y()))
    # Synthetic moves start pyqtgraph's drag a few pixels late, so the handle lands near the
    # pointer, not on it; the drag moved it most of the way.
    assert np.allclose(new_start, (x0 + 1.5, y0 - 1.0), atol=0.3)
    for label, old in before.items():
        trail = _trail(window, label)
        assert np.allclose(trail[0], new_start)  # every path starts at the handle
        assert not np.array_equal(trail, old)


def test_clicking_empty_surface_moves_the_start(window, qtbot) -> None:  # noqa: ANN001
    point = _widget_point(window.surface, 4.0, -2.0)
    qtbot.mouseClick(window.surface.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert np.allclose(window.controller.scene.start, (4.0, -2.0), atol=0.05)
    assert np.allclose(window.controller.results["Adam"].params[0], window.controller.scene.start)


def test_a_hyperparameter_edit_changes_that_curve_only(window) -> None:  # noqa: ANN001
    before = {k: _trail(window, k) for k in window.surface.trails}
    row = window.optimizers.rows["Adam"]
    row.spins["learning_rate"].setValue(0.02)
    assert window.controller.scene.entry("Adam").hyperparams["learning_rate"] == pytest.approx(0.02)
    for label, old in before.items():
        changed = not np.array_equal(_trail(window, label), old)
        assert changed == (label == "Adam"), label


def test_the_learning_rate_slider_is_logarithmic(window) -> None:  # noqa: ANN001
    row = window.optimizers.rows["Momentum"]
    row.slider.setValue(row.slider.maximum() // 2)  # the middle of [1e-5, 10] in log10
    lr = window.controller.scene.entry("Momentum").hyperparams["learning_rate"]
    assert lr == pytest.approx(10**-2, rel=0.02)
    assert row.spins["learning_rate"].value() == pytest.approx(lr)


def test_add_duplicate_remove_entries(window) -> None:  # noqa: ANN001
    ctl = window.controller
    label = ctl.duplicate_entry("Adam")
    assert label == "Adam 2" and label in window.optimizers.rows and label in window.surface.trails
    window.optimizers.rows[label].spins["learning_rate"].setValue(0.5)
    assert not np.array_equal(ctl.results["Adam"].params, ctl.results["Adam 2"].params)
    added = ctl.add_entry("rmsprop")
    assert added in ctl.results
    ctl.remove_entry("Adam 2")
    assert "Adam 2" not in window.surface.trails and "Adam 2" not in ctl.results
    assert [e.label for e in ctl.scene.optimizers][-1] == added


def test_play_step_scrub_and_reset(window, qtbot) -> None:  # noqa: ANN001
    ctl = window.controller
    ctl.reset()
    assert ctl.step == 0
    ctl.play()
    qtbot.waitUntil(lambda: ctl.step > 5, timeout=3000)
    ctl.pause()
    k = ctl.step
    # Playback only moves an index: the arrays are the same objects.
    results = ctl.results
    window.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert ctl.step == k + 1 and ctl.results is results
    qtbot.keyClick(window, Qt.Key.Key_Left)
    qtbot.keyClick(window, Qt.Key.Key_Left)
    assert ctl.step == k - 1
    window.playback.timeline.setValue(123)
    assert ctl.step == 123
    # A click on the timeline puts playback where it lands (it moved 10 steps towards it).
    timeline = window.playback.timeline
    for fraction in (0.8, 0.1):
        where = QPoint(round(timeline.width() * fraction), timeline.height() // 2)
        qtbot.mouseClick(timeline, Qt.MouseButton.LeftButton, pos=where)
        assert abs(ctl.step - fraction * ctl.steps) < 0.05 * ctl.steps, (fraction, ctl.step)
    timeline.setValue(123)
    assert len(_trail(window, "Batch GD")) <= 124
    qtbot.keyClick(window, Qt.Key.Key_Home)
    assert ctl.step == 0
    ctl.advance(1.0)  # one second at 1x
    assert ctl.step == 30


def test_changing_the_step_count_recomputes(window) -> None:  # noqa: ANN001
    window.playback.steps.setValue(120)
    assert window.controller.results["Adam"].params.shape == (121, 2)
    assert window.playback.timeline.maximum() == 120


def test_a_scene_that_fails_to_load_shows_the_message_and_keeps_the_scene(
    window, tmp_path, monkeypatch
) -> None:  # noqa: ANN001
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    bad = tmp_path / "bad.toml"
    bad.write_text('[problem]\nname = "beale"\n[[optimizer]]\nname = "adam"\nmomentum = 3\n')
    scene = window.controller.scene
    assert not window.controller.load(str(bad))
    assert len(shown) == 1 and "optimizer[0].momentum" in shown[0] and "bad.toml" in shown[0]
    assert window.controller.scene is scene


def test_a_diverging_optimizer_says_so_and_its_trail_stops(window) -> None:  # noqa: ANN001
    ctl = window.controller
    ctl.set_hyperparam("Batch GD", "learning_rate", 2.0)
    path = ctl.results["Batch GD"]
    assert path.diverged_at is not None
    window.optimizers.throttle.flush()
    assert (
        f"diverged at step {path.diverged_at}" in window.optimizers.rows["Batch GD"].status.text()
    )
    trail = _trail(window, "Batch GD")
    assert np.all(np.isfinite(trail))
    assert np.abs(trail).max() < 1e6
    # The others are untouched and still converge.
    assert "converged" in window.optimizers.rows["Adam"].status.text()


def test_separate_starts_give_each_optimizer_a_handle(window) -> None:  # noqa: ANN001
    ctl = window.controller
    window.problem_panel.separate.setChecked(True)
    assert set(window.surface.handles) == {e.label for e in ctl.scene.optimizers}
    window.surface.handles["Adam"].setPos(QPointF(5.0, 5.0))
    assert ctl.scene.entry("Adam").start == (5.0, 5.0)
    assert np.allclose(ctl.results["Adam"].params[0], (5.0, 5.0))
    assert not np.allclose(ctl.results["Nesterov"].params[0], (5.0, 5.0))
    window.problem_panel.separate.setChecked(False)
    assert set(window.surface.handles) == {None}


def test_problem_parameters_are_editable(window) -> None:  # noqa: ANN001
    ctl = window.controller
    old = ctl.problem.x.copy()
    window.problem_panel.spins["data_seed"].setValue(5)
    assert ctl.scene.problem_params["data_seed"] == 5
    assert not np.array_equal(ctl.problem.x, old)
    window.problem_panel.spins["n"].setValue(10)  # below the mini-batch of 16
    assert ctl.scene.entry("Mini-batch GD (16)").batch_size == 10


def test_hover_reads_out_parameters_and_loss(window, qtbot) -> None:  # noqa: ANN001
    texts: list[str] = []
    window.surface.hovered.connect(texts.append)
    qtbot.mouseMove(window.surface.viewport(), _widget_point(window.surface, 2.0, 1.0))
    assert texts and texts[-1].startswith("m = 2") and "loss = " in texts[-1]


def test_switching_scenes_from_the_drop_down(window) -> None:  # noqa: ANN001
    bar = window.scene_bar
    index = bar.choice.findData("rosenbrock")
    bar.choice.activated.emit(index)
    ctl = window.controller
    assert ctl.scene.problem == "rosenbrock"
    ctl.wait_until_computed()
    assert set(window.surface.trails) == {e.label for e in ctl.scene.optimizers}
    assert not window.data_view.isVisible()
    assert window.surface.plot.getAxis("bottom").labelText == "x"


def test_entries_can_be_hidden(window) -> None:  # noqa: ANN001
    window.optimizers.rows["SGD (batch 1)"].visible_box.setChecked(False)
    assert not window.surface.trails["SGD (batch 1)"].line.isVisible()
    assert window.controller.scene.entry("SGD (batch 1)").visible is False


def test_what_the_batch_sees_draws_that_batch_s_own_contours(window) -> None:  # noqa: ANN001
    from gdviz.ui.items import colour_values

    ctl = window.controller
    assert ctl.load("stochastic-vs-batch")
    ctl.pause()
    ctl.set_step(7)
    label = "Mini-batch GD (10)"
    index = window.problem_panel.batch_view.findData(label)
    assert index > 0
    window.problem_panel.batch_view.activated.emit(index)
    assert ctl.batch_view == label
    overlay = window.surface.batch_overlay
    assert overlay.contours.isVisible() and overlay.shaft.isVisible()
    x, y = overlay.contours.getData()
    pts = np.column_stack([x, y])[np.isfinite(x)]
    assert len(pts) > 50
    # Every contour point lies on a level line of *this batch's* loss, not the full loss.
    path = ctl.results[label]
    idx = path.batches[7]
    px, py = ctl.problem.x[idx], ctl.problem.y[idx]
    batch_loss = np.array([np.mean((m * px + b - py) ** 2) for m, b in pts[::10]])
    full_loss = np.array([ctl.problem.loss((m, b)) for m, b in pts[::10]])
    values, _ = colour_values(batch_loss[None, :])
    full_values, _ = colour_values(full_loss[None, :])
    from gdviz.core import surface

    s = surface(ctl.problem, window.surface.visible_rect(), overlay.GRID, batch_indices=idx)
    grid_values, _ = colour_values(s.loss)
    levels = np.quantile(grid_values, np.linspace(0.02, 0.6, overlay.LEVELS))
    spacing = np.diff(levels).min()

    def off_level(v: np.ndarray) -> np.ndarray:
        return np.min(np.abs(v[0][:, None] - levels[None, :]), axis=1)

    assert np.median(off_level(values)) < 0.1 * spacing
    assert np.median(off_level(full_values)) > np.median(off_level(values))
    # The arrow points down the batch gradient the step used.
    (hx, ex), (hy, ey) = overlay.shaft.getData()
    direction = np.array([ex - hx, ey - hy])
    g = path.grads[7]
    assert np.dot(direction, -g) / (np.linalg.norm(direction) * np.linalg.norm(g)) > 0.999
    # Playback moves it on to the next batch.
    ctl.set_step(8)
    assert not np.array_equal(overlay.contours.getData()[0], x)


def test_network_scenes_draw_the_fitted_function(window) -> None:  # noqa: ANN001
    from gdviz.core.surface import predictions

    ctl = window.controller
    assert ctl.load("local-minimum")
    ctl.wait_until_computed()
    ctl.pause()
    ctl.set_step(50)
    window.data_view.throttle.flush()
    assert window.data_view.applicable and not window.data_view.isHidden()
    xs, ys = window.data_view.lines["GD"].getData()
    expected = predictions(ctl.problem, ctl.results["GD"].params[50][None], xs)[0]
    np.testing.assert_allclose(ys, expected)
    kinds = [spot.data() for spot in window.surface.minima.points()]
    assert sorted(kinds) == ["global", "local"]
    caption = window.scene_bar.caption
    assert caption.full == caption.toolTip() == ctl.scene.caption
    assert ctl.scene.caption.startswith(caption.text().rstrip(" …"))


def test_a_long_caption_keeps_to_three_lines_in_a_small_window(window, qtbot) -> None:  # noqa: ANN001
    window.controller.load("rosenbrock")  # a caption of about 600 characters
    window.resize(1024, 640)
    qtbot.waitUntil(lambda: not window._scale_timer.isActive())
    qtbot.wait(50)
    caption = window.scene_bar.caption
    lines = caption.height() / caption.fontMetrics().lineSpacing()
    assert lines <= caption.MAX_LINES + 0.5
    assert caption.text().endswith("…") and caption.toolTip() == window.controller.scene.caption


def test_gradient_noise_is_editable_on_functions_without_data(window) -> None:  # noqa: ANN001
    ctl = window.controller
    assert ctl.load("beale")
    ctl.wait_until_computed()
    row = window.optimizers.rows["Adam"]
    assert row.noise is not None and row.batch is None
    before = ctl.results["Adam"].params.copy()
    row.noise.setValue(1.5)
    assert ctl.scene.entry("Adam").gradient_noise == 1.5
    assert not np.array_equal(ctl.results["Adam"].params, before)
    assert "Adam" in ctl.stochastic_labels()


def test_the_caption_can_be_hidden(window) -> None:  # noqa: ANN001
    bar = window.scene_bar
    assert bar.caption.isVisible()
    bar.show_caption(False)
    assert not bar.caption.isVisible()
    bar.show_caption(True)
    assert bar.caption.isVisible()


def test_the_wheel_over_an_unfocused_number_field_scrolls_the_list(window, qtbot) -> None:  # noqa: ANN001
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    ctl = window.controller
    spin = window.optimizers.rows["Momentum"].spins["learning_rate"]
    before = ctl.scene.entry("Momentum").resolved_hyperparams(ctl.scene.convention)
    bar = window.optimizers.scroll.verticalScrollBar()
    bar.setValue(0)
    centre = QPointF(spin.width() / 2, spin.height() / 2)
    wheel = QWheelEvent(
        centre,
        QPointF(spin.mapToGlobal(centre.toPoint())),
        QPoint(0, 0),
        QPoint(0, -120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(spin, wheel)
    after = ctl.scene.entry("Momentum").resolved_hyperparams(ctl.scene.convention)
    assert after == before  # the learning rate did not move
    assert bar.value() > 0  # the list scrolled instead


def test_a_resize_that_keeps_the_rectangle_keeps_the_surface(window, qtbot, monkeypatch) -> None:  # noqa: ANN001
    import gdviz.ui.surface_view as surface_view

    made = []
    real = surface_view.surface
    monkeypatch.setattr(surface_view, "surface", lambda *a, **k: made.append(1) or real(*a, **k))
    view = window.surface
    qtbot.waitUntil(lambda: view._surface_rect is not None)
    size = window.size()
    window.resize(size.width() - 120, size.height() - 60)
    qtbot.wait(400)  # past the 150 ms the views wait after a resize
    assert view.visible_rect() == view._surface_rect and made == []
    window.set_theme_name("dark")  # another look: other colours, the same loss
    assert made == [] and view.colorbar.axis.labelText == "log₁₀ loss"
    window.set_theme_name("light")
    view.vb.setRange(xRange=(0.0, 1.0), yRange=(0.0, 1.0), padding=0.0)
    view.vb.sigResized.emit(view.vb)  # a resize that moved the rectangle: a new picture
    qtbot.waitUntil(lambda: made != [], timeout=2000)
    assert view._surface_rect == view.visible_rect()
    window.resize(size)
    view.fit_view()


def test_an_empty_view_says_what_it_waits_for(window) -> None:  # noqa: ANN001
    ctl = window.controller
    view = window.surface
    results = ctl.results
    ctl.results, ctl._inflight = {}, True  # the first paths still compiling on the worker
    try:
        ctl.busy_changed.emit(True)
        assert view.waiting.isVisible() and view.waiting.text() == "Computing the paths…"
        plot = view.mapFromScene(view.vb.sceneBoundingRect()).boundingRect()
        box = view.waiting.geometry()
        assert plot.contains(box)  # over the plot, clear of the axes and the colour bar
        assert abs(box.center().x() - plot.center().x()) <= 2
        assert box.center().y() < plot.center().y()  # above the middle, where a start often is
        assert view.waiting.font().pointSize() > view.font().pointSize()  # read from the back
    finally:
        ctl.results, ctl._inflight = results, False
        ctl.busy_changed.emit(False)
    assert not view.waiting.isVisible()
