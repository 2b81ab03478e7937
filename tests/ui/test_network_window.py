"""The window on a network scene: paths trained in full weight space, drawn on a plane.

One window on the built-in moons scene for the module (its programs compile once); each test
checks what is drawn against an independent reference: least-squares projections with numpy,
a numpy forward pass for the loss, a fresh ``weightspace.picture`` for a drag's end state.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from gdviz.core import load_scene, weightspace
from gdviz.ui.items import contour_lines
from tests.ui.windows import quiet_window


@pytest.fixture(scope="module")
def win(qapp):  # noqa: ANN001, ANN201
    with quiet_window(qapp, "moons") as window:
        window.controller.pause()
        yield window


def _np_loss(arch, w: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:  # noqa: ANN001
    """Binary cross-entropy of a tanh MLP's logit, in plain numpy."""
    h = x
    for k, layer in enumerate(arch.layers):
        W = w[layer.weights].reshape(layer.fan_out, layer.fan_in)
        h = h @ W.T + w[layer.biases]
        if k < len(arch.layers) - 1:
            h = np.tanh(h)
    z = h[:, 0]
    return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))


def _projected(plane, weights: np.ndarray) -> np.ndarray:  # noqa: ANN001
    """Least-squares coordinates of ``weights`` on ``plane`` (numpy's lstsq, not the plane's)."""
    rel = (weights - plane.origin).T
    return np.linalg.lstsq(plane.directions.T, rel, rcond=None)[0].T


def test_trails_and_heads_are_the_projections_of_the_trained_weights(win) -> None:  # noqa: ANN001
    ctl = win.controller
    ctl.set_step(120)
    pic = ctl.network.picture
    assert pic.plane.kind == "pca" and set(pic.paths) == {"SGD", "Momentum", "Adam"}
    heads = np.column_stack(win.surface.heads.getData())
    for i, (label, path) in enumerate(pic.paths.items()):
        coords = _projected(pic.plane, path.weights)
        np.testing.assert_allclose(ctl.results[label].params, coords, atol=1e-9)
        x, y = win.surface.trails[label].line.getData()
        drawn = np.column_stack([x, y])
        # Thinned to the pixel size, but every drawn point is a projected one, ending at step 120.
        gaps = np.min(np.linalg.norm(drawn[:, None, :] - coords[None, :121], axis=2), axis=1)
        assert gaps.max() < 1e-9 and np.allclose(drawn[-1], coords[120], atol=1e-9)
        np.testing.assert_allclose(heads[i], coords[120], atol=1e-9)
    # The readout on the view says how much of the movement the plane holds, and the gaps.
    text = win.surface.readout.text()
    assert f"{pic.faithfulness.explained:.0%}" in text and "max |path loss − surface|" in text
    assert win.surface.readout.item.isVisible()


def test_the_loss_plot_draws_the_true_full_weight_space_losses(win) -> None:  # noqa: ANN001
    ctl = win.controller
    net = ctl.network.picture.network
    assert win.loss_plot.scale == "log"
    for label, path in ctl.network.paths.items():
        _, y = win.loss_plot.curves[label].getData()
        np.testing.assert_allclose(y, np.log10(path.loss), rtol=1e-12)
        for k in (0, 57, path.steps):
            assert path.loss[k] == pytest.approx(
                _np_loss(net.arch, path.weights[k], net.x, net.y), rel=1e-10
            )
        # Not the surface under the projected point: that is what the readout compares with.
        plane_loss = ctl.network.picture.faithfulness.plane_loss[label]
        assert np.max(np.abs(plane_loss - path.loss)) > 1e-3
    row = win.optimizers.rows["Adam"]
    row.refresh_status()
    accuracy = ctl.network.paths["Adam"].accuracy[ctl.step]
    assert f"train accuracy {accuracy:.1%}" in row.status.text()


def test_the_data_view_draws_each_boundary_at_the_playback_step(win) -> None:  # noqa: ANN001
    ctl = win.controller
    view = win.network_view
    assert view.isVisible() and not win.data_view.isVisible()
    net = ctl.network.picture.network
    xs, ys, _ = net.input_grid(view.GRID)
    for k in (0, 40, 300):
        ctl.set_step(k)
        for label, path in ctl.network.paths.items():
            p = net.predictions(path.weights[k], view.GRID)
            want = contour_lines(p, xs, ys, np.array([0.5]))
            got = view.lines[label].getData()
            np.testing.assert_allclose(got[0], want[0], atol=1e-12)
            np.testing.assert_allclose(got[1], want[1], atol=1e-12)
            assert np.isfinite(got[0]).sum() > 10  # a boundary crosses the data's box


def test_while_playing_the_boundaries_follow_at_a_lower_rate_and_a_pause_draws_its_step(
    win, qtbot
) -> None:  # noqa: ANN001
    ctl = win.controller
    view = win.network_view
    net = ctl.network.picture.network
    xs, ys, _ = net.input_grid(view.GRID)
    drawn: list[int] = []
    original = view.boundaries
    view.boundaries = lambda step: (drawn.append(step), original(step))[1]  # type: ignore[method-assign]
    try:
        ctl.set_step(0)
        ctl.playing = True  # (the clock stays off: the test moves the steps)
        for k in range(1, 21):
            ctl.set_step(k)
        assert 1 <= len(drawn) <= 3  # the first at once, the rest within ~66 ms
        qtbot.waitUntil(lambda: drawn[-1] == 20, timeout=2000)  # the last step always comes
        for k in range(21, 31):
            ctl.set_step(k)
        count = len(drawn)
        ctl.playing = False
        ctl.playing_changed.emit(False)  # paused on step 30: drawn at once, exactly
        assert drawn[count:] == [30]
        qtbot.wait(120)
        assert drawn[count:] == [30]  # and the waiting call was dropped
        for label, path in ctl.network.paths.items():
            want = contour_lines(net.predictions(path.weights[30], view.GRID), xs, ys, [0.5])
            np.testing.assert_allclose(view.lines[label].getData()[0], want[0], atol=1e-12)
        ctl.set_step(7)  # a scrub while paused: at once
        assert drawn[-1] == 7
    finally:
        del view.boundaries
        ctl.playing = False


def test_a_handle_drag_retrains_from_the_lifted_point_and_refits_on_release(win) -> None:  # noqa: ANN001
    ctl = win.controller
    handle = win.surface.handles[None]
    before = ctl.network
    plane = before.picture.plane
    for xy in ((0.5, 0.3), (1.0, -0.5)):
        handle.setPos(QPointF(*xy))  # what a pointer drag does, move by move
        assert ctl.dragging
        now = ctl.network
        init = plane.lift(np.array(xy))
        # Every entry trained again from the lifted point, drawn on the SAME plane.
        assert now.picture.plane is plane and not now.fitted
        assert now.surface is before.surface
        for label, path in now.paths.items():
            np.testing.assert_array_equal(path.weights[0], init)
            np.testing.assert_allclose(
                ctl.results[label].params, _projected(plane, path.weights), atol=1e-9
            )
    handle.sigPositionChangeFinished.emit(handle)  # the release
    assert not ctl.dragging and ctl.network.fitted
    fresh = weightspace.picture(
        ctl.scene, network=dataclasses.replace(ctl.scene.build_network(), init=init)
    )
    got = ctl.network.picture
    np.testing.assert_allclose(got.plane.origin, fresh.plane.origin, atol=1e-12)
    np.testing.assert_allclose(got.plane.directions, fresh.plane.directions, atol=1e-12)
    for label in fresh.paths:
        np.testing.assert_allclose(ctl.results[label].params, fresh.coords[label], atol=1e-9)
        np.testing.assert_allclose(ctl.results[label].loss, fresh.paths[label].loss, atol=1e-12)
    # The handle sits on the init's projection onto the new plane (its origin: (0, 0)).
    pos = win.surface.handles[None].pos()
    assert abs(pos.x()) < 1e-9 and abs(pos.y()) < 1e-9


def test_an_outdated_move_leaves_the_readout_s_gaps_for_when_the_handle_rests(win) -> None:  # noqa: ANN001
    """Paths of a move that a newer move has replaced by the time they are trained skip the
    gaps (a forward pass per step of every path): the readout shows "…" for them. The newest
    move's paths get them: the largest |true loss − loss at the projected point|, numpy's."""
    from gdviz.ui import network as net

    ctl = win.controller
    plane = ctl.network.picture.plane
    waiting = ctl._network_request
    older = (ctl.scene, plane.lift(np.array((0.3, -0.2))), True)
    newest = (ctl.scene, plane.lift(np.array((0.35, -0.25))), True)
    try:
        ctl._network_request = newest
        moving = ctl._network_result(older)
        resting = ctl._network_result(newest)
    finally:
        ctl._network_request = waiting
    pending = moving.picture.faithfulness
    assert pending.gaps_pending and not pending.gap_by_entry and not pending.plane_loss
    colors = ctl.colors(win.current_theme())
    text = net.faithfulness_html(moving, colors, {"SGD", "Adam"}, "#000000")
    assert text.count(": …") == 2 and "Momentum" not in text
    assert f"<b>{pending.explained:.0%}</b> of the movement" in text  # a projection: shown
    whole = resting.picture.faithfulness
    assert not whole.gaps_pending
    arch, x, y = resting.picture.network.arch, resting.picture.network.x, resting.picture.network.y
    for label, path in resting.paths.items():
        feet = plane.lift(_projected(plane, path.weights))
        gaps = [abs(path.loss[k] - _np_loss(arch, feet[k], x, y)) for k in range(path.steps + 1)]
        assert whole.gap_by_entry[label] == pytest.approx(max(gaps), rel=1e-8)
        assert whole.gap_step_by_entry[label] == int(np.argmax(gaps))
    # Worked out later, the outdated move's gaps are those of a picture judged at once.
    later = net.judged(moving).picture.faithfulness
    at_once = net.compute(ctl.scene, older[1], ctl.network).picture.faithfulness
    assert later.gap_by_entry == pytest.approx(at_once.gap_by_entry, rel=1e-12)
    assert later.explained == pending.explained == at_once.explained
    text = net.faithfulness_html(net.judged(moving), colors, {"SGD", "Adam"}, "#000000")
    assert ": …" not in text and "of L₀" in text


def test_a_failed_refit_leaves_the_last_move_s_picture_with_its_gaps(win) -> None:  # noqa: ANN001, ARG001 (win: programs compiled)
    """The release's refit fails after the last move's paths were trained while a newer
    request waited: the picture that stays gets its gaps (the readout never stays at "…")."""
    from gdviz.core.scene import SceneError
    from gdviz.ui.controller import Controller

    ctl = Controller(load_scene("moons"), background=False)
    errors: list[str] = []
    ctl.error.connect(errors.append)
    try:
        plane = ctl.network.picture.plane
        move = (ctl.scene, plane.lift(np.array((0.2, 0.1))), True)
        refit = (ctl.scene, move[1], False)
        ctl._network_request = refit  # the release came while the move trained
        ctl._apply_network(ctl._network_result(move))
        assert ctl.network.picture.faithfulness.gaps_pending
        ctl._on_network_done(refit, SceneError("the paths span no plane"))
        assert errors and "span no plane" in errors[0]
        whole = ctl.network.picture.faithfulness
        assert not whole.gaps_pending and set(whole.gap_by_entry) == set(ctl.network.paths)
        np.testing.assert_array_equal(ctl.network.init, move[1])  # the same picture, judged
    finally:
        ctl.shutdown()


def test_a_scene_switch_to_and_from_a_network_leaves_nothing_stale(win, qapp) -> None:  # noqa: ANN001
    ctl = win.controller
    assert ctl.load("rosenbrock")
    qapp.processEvents()
    labels = {e.label for e in ctl.scene.optimizers}
    assert ctl.network is None and set(win.surface.trails) == labels
    assert set(win.loss_plot.curves) == labels and set(ctl.results) == labels
    assert not win.network_view.isVisible() and not win.network_view.lines
    assert not win.surface.readout.item.isVisible()
    assert win.basins_action.isEnabled() and win.view_tabs.isTabEnabled(2)
    start = win.surface.handles[None].pos()
    assert (start.x(), start.y()) == pytest.approx(ctl.scene.start)

    assert ctl.load("moons")
    qapp.processEvents()
    labels = {"SGD", "Momentum", "Adam"}
    assert set(win.surface.trails) == labels and set(win.loss_plot.curves) == labels
    assert set(ctl.results) == labels and set(win.network_view.lines) == labels
    assert win.network_view.isVisible() and win.surface.readout.item.isVisible()
    # Tools of two-parameter space are off, and say why.
    for action in (win.basins_action, win.tune_action, *win.overlay_actions.values()):
        assert not action.isEnabled() and "network" in action.toolTip()
    assert not win.view_tabs.isTabEnabled(1) and not win.view_tabs.isTabEnabled(2)
    win.show_view("stability")
    assert win.view_tabs.currentIndex() == 0
    # A new scene trains from its own seeded weights, not a dragged init.
    fresh = load_scene("moons")
    assert np.array_equal(ctl.network.init, fresh.build_network().init)
    assert not win.messages


def test_a_data_scene_after_a_network_gets_its_data_view_back_whole(win, qapp) -> None:  # noqa: ANN001
    """Opened on moons, the 2-D data view had no height in the splitter; a data scene must show it
    at a usable size, and the surface's new, shorter axis titles centred under their axes."""
    ctl = win.controller
    assert ctl.load("moons")
    qapp.processEvents()
    assert ctl.load("neuron")
    qapp.processEvents()
    assert win.data_view.isVisible() and not win.network_view.isVisible()
    assert win.data_view.height() > 0.35 * win.loss_plot.parentWidget().height()
    axis = win.surface.plot.getAxis("bottom")
    middle = axis.label.pos().x() + axis.label.boundingRect().width() / 2
    assert middle == pytest.approx(axis.size().width() / 2, abs=2)
    assert ctl.load("moons")
    qapp.processEvents()
    assert win.network_view.height() > 0.35 * win.loss_plot.parentWidget().height()


def test_the_worker_keeps_the_old_picture_and_the_newest_position_wins(win, qtbot) -> None:  # noqa: ANN001, ARG001 (win: programs compiled)
    from gdviz.ui.controller import Controller

    ctl = Controller(load_scene("moons"), background=True)
    try:
        qtbot.waitUntil(lambda: ctl.network is not None and not ctl.busy, timeout=60_000)
        first = ctl.network
        plane = first.picture.plane
        ctl.begin_drag()
        for xy in ((0.2, 0.1), (0.4, 0.2), (0.6, 0.3)):
            ctl.set_start(xy)
            # Training runs on the worker: the picture drawn stays the old one meanwhile.
            assert ctl.network is first and ctl.results is first.results
        qtbot.waitUntil(lambda: not ctl.busy, timeout=60_000)
        latest = plane.lift(np.array((0.6, 0.3)))
        assert ctl.network.picture.plane is plane and not ctl.network.fitted
        # The handle rests: its readout's gaps are worked out (the newest move's paths).
        assert not ctl.network.picture.faithfulness.gaps_pending
        np.testing.assert_array_equal(ctl.network.init, latest)
        ctl.end_drag()
        qtbot.waitUntil(lambda: not ctl.busy and ctl.network.fitted, timeout=60_000)
        np.testing.assert_array_equal(ctl.network.init, latest)
        assert ctl.network.start == pytest.approx((0.0, 0.0), abs=1e-9)  # PCA through the init
    finally:
        ctl.shutdown()
