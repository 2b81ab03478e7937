"""A drag: the surface follows every move, the other views follow slower and exactly on release."""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QGraphicsItem

from gdviz.core import simulate
from gdviz.core.surface import predictions
from gdviz.ui.rate import DRAG_INTERVAL_MS


def test_release_brings_every_view_exactly_to_the_release_point(window, qtbot) -> None:  # noqa: ANN001
    ctl = window.controller
    handle = window.surface.handles[None]
    x0, y0 = ctl.scene.start
    for t in np.linspace(0.1, 1.0, 8):
        handle.setPos(QPointF(x0 + 1.2 * t, y0 - 0.8 * t))
        assert ctl.dragging
    # While dragging the trails and loss curves are drawn plain (no antialiasing, and the loss
    # curves, which change at every throttled update, without a cached pixmap to rebuild).
    assert not window.surface.trails["Adam"].line.opts["antialias"]
    loss_curve = window.loss_plot.curves["Adam"]
    assert not loss_curve.opts["antialias"]
    assert loss_curve.cacheMode() == QGraphicsItem.CacheMode.NoCache
    handle.sigPositionChangeFinished.emit(handle)  # the mouse button comes up
    assert not ctl.dragging
    fresh = simulate(ctl.scene)
    assert np.allclose(ctl.scene.start, (x0 + 1.2, y0 - 0.8))
    for label, path in fresh.items():
        np.testing.assert_array_equal(ctl.results[label].params, path.params)
        # The surface's trail, the loss curve and the fitted line all show the release point.
        x, y = window.surface.trails[label].line.getData()
        np.testing.assert_allclose([x[0], y[0]], path.params[0])
        np.testing.assert_allclose([x[-1], y[-1]], path.params[-1])
        _, loss = window.loss_plot.curves[label].getData()
        np.testing.assert_allclose(loss, window.loss_plot.transform(path.loss))
        xs, line = window.data_view.lines[label].getData()
        expected = predictions(ctl.problem, path.params[-1][None, :], xs)[0]
        np.testing.assert_allclose(line, expected)
    assert window.surface.trails["Adam"].line.opts["antialias"]  # smooth again at rest
    assert loss_curve.opts["antialias"]
    assert loss_curve.cacheMode() == QGraphicsItem.CacheMode.DeviceCoordinateCache


def test_secondary_views_follow_a_drag_at_a_lower_rate(window) -> None:  # noqa: ANN001
    ctl = window.controller
    calls = []
    original = window.loss_plot.throttle._fn
    window.loss_plot.throttle._fn = lambda: (calls.append(1), original())
    handle = window.surface.handles[None]
    x0, y0 = ctl.scene.start
    began = time.perf_counter()
    for t in np.linspace(0.05, 1.0, 20):  # twenty moves, each far less than 150 ms
        handle.setPos(QPointF(x0 + t, y0))
    beats = (time.perf_counter() - began) / (DRAG_INTERVAL_MS / 1000)
    # At most once per beat (plus the first move), not twenty times: on a loaded machine the
    # twenty moves take longer, and the allowance grows with them.
    assert len(calls) <= 2 + int(beats) < 20
    before = len(calls)
    handle.sigPositionChangeFinished.emit(handle)
    assert len(calls) <= before + 1
    _, loss = window.loss_plot.curves["Adam"].getData()
    np.testing.assert_allclose(loss, window.loss_plot.transform(ctl.results["Adam"].loss))
