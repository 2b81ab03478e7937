"""A colour key that hides nothing, paths from the first frame, a loss axis that reads."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QRect, Qt

from gdviz.core import builtin_scene_names, load_scene


def _legend_colors(legend) -> dict[str, str]:  # noqa: ANN001
    return {k.label: k.color.upper() for k in legend.keys}


def test_after_every_scene_switch_each_key_shows_its_entry_in_its_colour(window, qtbot) -> None:  # noqa: ANN001
    for name in builtin_scene_names():
        window.controller.load(name)
        window.controller.wait_until_computed()
        ctl = window.controller
        expected = {label: c.upper() for label, c in ctl.colors(window.surface.theme).items()}
        assert _legend_colors(window.legend) == expected, name
        assert [k.label for k in window.legend.keys] == [e.label for e in ctl.scene.optimizers]
        image = window.legend.grab().toImage()
        placed, height = window.legend._layout(float(window.legend.width()))
        assert window.legend.height() >= height - 1, name  # every row fits
        for rect, key in placed:
            # The swatch's middle pixel is the entry's colour.
            x = int(rect.left() + 0.5 * rect.height() * 2.2 * 0.5)
            y = int(rect.center().y())
            pixel = image.pixelColor(x, y).name().upper()
            assert pixel == key.color.upper(), (name, key.label, pixel)


def test_clicking_the_key_hides_an_entry_and_never_moves_the_start(window, qtbot) -> None:  # noqa: ANN001
    ctl = window.controller
    start = ctl.scene.start
    placed, _ = window.legend._layout(float(window.legend.width()))
    rect, key = placed[0]
    qtbot.mouseClick(window.legend, Qt.MouseButton.LeftButton, pos=rect.center().toPoint())
    assert not ctl.scene.entry(key.label).visible
    assert ctl.scene.start == start
    assert not window.surface.trails[key.label].line.isVisible()
    qtbot.mouseClick(window.legend, Qt.MouseButton.LeftButton, pos=rect.center().toPoint())
    assert ctl.scene.entry(key.label).visible


def test_the_key_lies_outside_the_surface_at_every_window_size(window, qtbot) -> None:  # noqa: ANN001
    for size in ((1920, 1080), (1024, 640)):
        window.resize(*size)
        qtbot.waitUntil(lambda: not window._scale_timer.isActive())  # type scaled to the size
        qtbot.wait(50)
        legend = QRect(window.legend.mapTo(window, QPoint(0, 0)), window.legend.size())
        surface = QRect(window.surface.mapTo(window, QPoint(0, 0)), window.surface.size())
        assert not legend.intersects(surface), size
        assert legend.height() > 10


def test_the_first_frame_shows_every_whole_path(window) -> None:  # noqa: ANN001
    ctl = window.controller
    ctl.set_step(0)
    for entry in ctl.scene.optimizers:
        trail = window.surface.trails[entry.label]
        x, y = trail.ghost.getData()
        path = ctl.results[entry.label].params
        assert trail.ghost.isVisible()
        # The faint path runs from the start to where the optimizer ends up.
        np.testing.assert_allclose([x[0], y[0]], path[0])
        np.testing.assert_allclose([x[-1], y[-1]], path[-1])
        sx, _ = trail.line.getData()
        assert len(sx) == 1  # the solid part is the start alone


def test_a_paused_drag_at_step_zero_moves_the_whole_paths(window) -> None:  # noqa: ANN001
    ctl = window.controller
    ctl.set_step(0)
    ctl.set_start((1.0, -2.0))
    for entry in ctl.scene.optimizers:
        x, y = window.surface.trails[entry.label].ghost.getData()
        np.testing.assert_allclose([x[0], y[0]], (1.0, -2.0))
        np.testing.assert_allclose([x[-1], y[-1]], ctl.results[entry.label].params[-1])


def test_coinciding_paths_both_show(window) -> None:  # noqa: ANN001
    ctl = window.controller
    ctl.load("stochastic-vs-batch")
    trails = window.surface.trails
    batch, mini = trails["Batch GD"], trails["Mini-batch GD (10)"]
    assert batch.line.zValue() > mini.line.zValue()  # the smooth path on top of the noisy one
    # A copy runs exactly along its original, under it: it is drawn wider, as a rim around it.
    copy = ctl.duplicate_entry("Batch GD")
    window.surface.update_paths()
    trails = window.surface.trails
    width = window.surface.theme.trail_width
    assert trails["Batch GD"].width == width
    assert trails[copy].width > width + 2
    assert trails[copy].line.opts["pen"].widthF() == trails[copy].width
    # A second copy lies under both: wider still.
    second = ctl.duplicate_entry(copy)
    window.surface.update_paths()
    assert window.surface.trails[second].width > window.surface.trails[copy].width


def test_loss_axis_ticks_are_few_plain_and_readable(window) -> None:  # noqa: ANN001
    for name in builtin_scene_names():
        window.controller.load(name)
        window.controller.wait_until_computed()
        plot = window.loss_plot
        plot.throttle.flush()
        axis = plot.axis
        lo, hi = plot.plot.getViewBox().viewRange()[1]
        levels = axis.tickValues(lo, hi, plot.height())
        labels = [
            s for spacing, values in levels for s in axis.tickStrings(values, 1.0, spacing) if s
        ]
        assert 3 <= len(labels) <= 12, (name, labels)
        assert axis.labelUnitPrefix == "" and "x0" not in axis.labelString(), name


def test_a_diverged_optimizer_does_not_flatten_the_others(window) -> None:  # noqa: ANN001
    ctl = window.controller
    ctl.set_hyperparam("Batch GD", "learning_rate", 5.0)
    window.loss_plot.throttle.flush()
    assert ctl.results["Batch GD"].diverged_at is not None
    plot = window.loss_plot
    _, y1 = plot.plot.getViewBox().viewRange()[1]
    sound = [p for p in ctl.results.values() if p.diverged_at is None]
    top = max(float(plot.transform(p.loss).max()) for p in sound)
    assert y1 < top + 0.2 * abs(top) + 1  # the range is the sound optimizers'
    marks = plot.blowups.getData()
    assert len(marks[0]) == 1  # and the diverged one is marked where it leaves


@pytest.mark.parametrize("size", [(640, 360), (1280, 720)])
def test_in_a_recording_no_path_lies_under_the_key_or_the_title(size) -> None:  # noqa: ANN001
    from gdviz.ui.app import _application
    from gdviz.ui.recording import LectureView, video_theme

    _application()
    scene = load_scene("local-minimum")
    lecture = LectureView(scene, video_theme(size[1]))
    lecture.setFixedSize(*size)
    lecture.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    lecture.show()
    lecture.frame(scene.steps)
    surface = lecture.surface
    legend = QRect(lecture.legend.mapTo(lecture, QPoint(0, 0)), lecture.legend.size())
    for label, path in lecture.controller.results.items():
        for x, y in path.params[::5]:
            scene_pos = surface.plot.vb.mapViewToScene(QPointF(x, y))
            at = surface.mapTo(lecture, surface.mapFromScene(scene_pos))
            assert not legend.contains(at), label
            assert at.y() > legend.top(), label  # below the title and the key
    # The key names every optimizer, with its settings.
    assert [k.text.split()[0] for k in lecture.legend.keys] == ["GD", "Momentum"]
    lecture.close()


def test_a_new_step_count_keeps_the_old_curves_at_their_scale_until_its_paths_come(
    window,  # noqa: ANN001
) -> None:
    ctl = window.controller
    plot = window.loss_plot
    before = ctl.scene
    steps = ctl.results["Adam"].steps
    ctl.scene = before.replace(steps=30 * steps)  # edited, its paths still compiling
    try:
        plot.update_curves()
        (x0, x1), _ = plot.plot.getViewBox().viewRange()
        assert x0 < 0 < steps < x1 < 1.1 * steps  # not squeezed into the left 3%
    finally:
        ctl.scene = before
        plot.update_curves()


def test_a_tuned_rate_reads_whole_in_its_field(window, qtbot) -> None:  # noqa: ANN001
    ctl = window.controller
    before = ctl.scene.entry("Adam").hyperparams["learning_rate"]
    field = window.optimizers.rows["Adam"].spins["learning_rate"]
    try:
        ctl.set_hyperparam("Adam", "learning_rate", 0.0453158)  # what the tuner applies
        qtbot.waitUntil(lambda: field.value() == 0.0453158)
        edit = field.lineEdit()
        # Four digits shown (it read "0453158", its "0.0" scrolled out of a narrow field);
        # the value keeps every digit.
        assert edit.text() == "0.04532" and field.value() == 0.0453158
        assert edit.fontMetrics().horizontalAdvance(edit.text()) < edit.contentsRect().width()
        # A number longer than the field shows its start, not its end.
        ctl.set_hyperparam("Adam", "learning_rate", 0.000453158)
        qtbot.waitUntil(lambda: edit.text() == "0.0004532")
        assert edit.cursorPosition() == 0
    finally:
        ctl.set_hyperparam("Adam", "learning_rate", before)
