"""Playback frames repaint only what changed: what they leave on screen is what a full repaint
of the same step draws, pixel for pixel, after steps one at a time, jumps back and a drag."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QBuffer, QPoint, QPointF, QRect
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgGenerator

from gdviz.ui.items import PlayedPath, thin_indices, thinned_prefix
from tests.ui.windows import quiet_window


@pytest.fixture(scope="module")
def win(qapp):  # noqa: ANN001, ANN201
    with quiet_window(qapp, "linear-regression") as w:
        w.controller.pause()
        w.controller.set_step(0)
        qapp.processEvents()
        yield w


def _pixels(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_ARGB32)
    width, height = image.width(), image.height()
    return (
        np.frombuffer(image.constBits(), np.uint8)
        .reshape(height, image.bytesPerLine())[:, : 4 * width]
        .copy()
    )


def _assert_screen_is_a_fresh_repaint(win, qapp) -> None:  # noqa: ANN001
    """Each plot as the window's backing store holds it (what the frames' partial repaints
    left) against the same plot rendered whole, now."""
    qapp.processEvents()
    screen = win.windowHandle().screen().grabWindow(win.winId()).toImage()
    for view in (win.surface, win.loss_plot, win.data_view):
        corner = view.mapTo(win, QPoint(0, 0))
        shown = _pixels(screen.copy(QRect(corner, view.size())))
        fresh = _pixels(view.grab().toImage())
        assert shown.shape == fresh.shape
        wrong = np.argwhere((shown != fresh).any(axis=1))
        assert not len(wrong), f"{type(view).__name__}: {len(wrong)} stale rows, first {wrong[0]}"


def test_steps_one_at_a_time_and_jumps_leave_what_a_full_repaint_draws(win, qapp) -> None:  # noqa: ANN001
    ctl = win.controller
    for k in range(1, 41):
        ctl.set_step(k)
        qapp.processEvents()
    _assert_screen_is_a_fresh_repaint(win, qapp)
    ctl.set_step(5)  # back
    qapp.processEvents()
    for k in (6, 7, 8):
        ctl.set_step(k)
        qapp.processEvents()
    _assert_screen_is_a_fresh_repaint(win, qapp)
    # The heads are where the paths are at this step (a head that stood still included).
    heads = np.column_stack(win.surface.heads.getData())
    expected = [ctl.results[e.label].params[8] for e in ctl.scene.optimizers]
    np.testing.assert_array_equal(heads, expected)
    ctl.set_step(ctl.steps - 1)
    qapp.processEvents()
    ctl.set_step(ctl.steps)  # the end: every faint path goes (the solid one covers it)
    qapp.processEvents()
    assert not any(t.ghost.isVisible() for t in win.surface.trails.values())
    _assert_screen_is_a_fresh_repaint(win, qapp)


def test_playback_after_a_drag_repaints_the_new_paths_exactly(win, qapp) -> None:  # noqa: ANN001
    ctl = win.controller
    ctl.set_step(12)
    qapp.processEvents()
    handle = win.surface.handles[None]
    x0, y0 = ctl.scene.start
    for t in (0.2, 0.5, 1.0):
        handle.setPos(QPointF(x0 + 0.6 * t, y0 - 0.9 * t))
        qapp.processEvents()
    handle.sigPositionChangeFinished.emit(handle)
    qapp.processEvents()
    assert ctl.scene.start == pytest.approx((x0 + 0.6, y0 - 0.9))
    for k in range(13, 30):
        ctl.set_step(k)
        qapp.processEvents()
    _assert_screen_is_a_fresh_repaint(win, qapp)
    for label, trail in win.surface.trails.items():
        x, y = trail.line.getData()
        np.testing.assert_array_equal([x[-1], y[-1]], ctl.results[label].params[29])


def test_played_path_is_the_path_pyqtgraph_makes_of_the_prefix(qapp) -> None:  # noqa: ANN001, ARG001
    """The painter path built a step at a time has the elements ``pg.arrayToQPath`` gives the
    thinned prefix: forward, back, jumps, repeated points (lineTo would drop them) and a break."""

    def elements(path) -> list:  # noqa: ANN001
        return [(path.elementAt(i).type, path.elementAt(i).x, path.elementAt(i).y)
                for i in range(path.elementCount())]  # fmt: skip

    rng = np.random.default_rng(7)
    for case in range(6):
        n = 120
        full = np.cumsum(rng.normal(size=(n, 2)) * rng.choice([1e-3, 1.0, 0.0], (n, 1)), axis=0)
        if case % 3 == 1:
            full[60:] = full[60]  # converged: the same point again and again
        if case % 3 == 2:
            full[90:] = np.nan  # diverged
        kept = thin_indices(full, [0.0, 0.5, 2.0][case % 3])
        item = PlayedPath()
        for k in [*range(n), 30, 31, 100, 3, *range(50, 70)]:
            item.set_prefix(full, kept, k)
            xy = thinned_prefix(full, kept, k)
            assert elements(item._path) == elements(
                pg.arrayToQPath(xy[:, 0], xy[:, 1], connect="finite")
            ), (case, k)
            x, y = item.getData()
            np.testing.assert_array_equal(np.column_stack([x, y]), xy)


def test_after_wheel_zooms_the_surface_is_drawn_for_the_new_view_only(win, qapp) -> None:  # noqa: ANN001
    """Qt kept parts of the heatmap's and contours' cached pixmaps from an earlier zoom (seams
    across the contours, a resize cleared them): after zooms, what the view draws equals the
    same items drawn with no cache at all."""
    from PySide6.QtCore import QPointF as _P
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication, QGraphicsItem

    view = win.surface
    port = view.viewport()
    for where in ((500, 400), (300, 250), (450, 300)):
        pos = _P(*where)
        QApplication.sendEvent(
            port,
            QWheelEvent(pos, port.mapToGlobal(pos), QPoint(0, 0), QPoint(0, 120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False),
        )  # fmt: skip
        qapp.processEvents()
        view._surface_timer.stop()  # what its timer runs 150 ms after the wheel stops
        view.refresh_surface()
        qapp.processEvents()
    try:
        cached = _pixels(view.grab().toImage())
        for item in (view.image, view.contours):
            item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
        plain = _pixels(view.grab().toImage())
        # Equal but for rounding (a stale part differed by up to 168 levels on 26,000 values)
        assert np.abs(cached.astype(int) - plain.astype(int)).max() <= 2
    finally:
        for item in (view.image, view.contours):
            item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        view.fit_view()
        qapp.processEvents()


def test_the_step_readout_follows_playback_at_a_lower_rate_and_is_exact_at_rest(win, qapp) -> None:  # noqa: ANN001, E501
    """A burst of steps (playback frames, a scrub) moves the timeline at ~30 Hz and the "step k"
    readout at ~15 Hz; the last step of the burst, a pause and a new step count show the step
    exactly."""
    import time

    ctl, bar = win.controller, win.playback
    time.sleep(0.1)  # the readout's last change is a beat ago: the next step shows at once
    ctl.set_step(3)
    assert bar.readout.text() == "step 3" and bar.timeline.value() == 3
    shown: list[str] = []
    moved: list[int] = []
    set_text, set_value = bar.readout.setText, bar.timeline.setValue
    bar.readout.setText = lambda text: (shown.append(text), set_text(text))
    bar.timeline.setValue = lambda value: (moved.append(value), set_value(value))
    try:
        for k in range(4, 30):
            ctl.set_step(k)
    finally:
        del bar.readout.setText, bar.timeline.setValue
    assert len(shown) < 26 and len(moved) < 26  # held back within each beat...
    deadline = time.monotonic() + 5.0
    while (bar.readout.text(), bar.timeline.value()) != ("step 29", 29):
        assert time.monotonic() < deadline
        qapp.processEvents()  # ...and both show the last step when the beat ends
    ctl.play()
    for k in (31, 32, 33):
        ctl.set_step(k)
    ctl.pause()  # playback stops: the step it stopped on, at once
    assert bar.readout.text() == "step 33" == f"step {ctl.step}" and bar.timeline.value() == 33
    bar.refresh(7)  # the exact update (a new scene or step count)
    assert bar.readout.text() == "step 7" and bar.timeline.value() == 7
    ctl.set_step(8)
    qapp.processEvents()


def test_the_learning_rate_strip_is_cached_at_rest_and_frames_repaint_it_exactly(win, qapp) -> None:  # noqa: ANN001, E501
    """The strip's curves are still during playback: each a cached pixmap, like the loss
    curves; the cursor moving over them leaves what a full repaint draws."""
    from PySide6.QtWidgets import QGraphicsItem

    from gdviz.ui.bench import settle

    ctl, plot = win.controller, win.loss_plot
    label = ctl.scene.optimizers[0].label
    ctl.set_schedule(label, "cosine")
    try:
        settle(qapp, ctl)
        assert plot.strip_shown and label in plot.lr_curves
        cached = QGraphicsItem.CacheMode.DeviceCoordinateCache
        assert all(c.cacheMode() == cached for c in plot.lr_curves.values())
        x, y = plot.lr_curves[label].getData()
        expected = np.log10(np.asarray(ctl.results[label].learning_rates, dtype=float))
        np.testing.assert_allclose(y, expected)  # the cosine decay itself, not a stale copy
        ctl.set_step(0)
        for k in range(1, 25):
            ctl.set_step(k)
            qapp.processEvents()
        _assert_screen_is_a_fresh_repaint(win, qapp)
        ctl.begin_drag()  # a drag: plain and uncached, as the loss curves
        assert all(c.cacheMode() != cached for c in plot.lr_curves.values())
        ctl.end_drag()
        assert all(c.cacheMode() == cached for c in plot.lr_curves.values())
    finally:
        ctl.set_schedule(label, "constant")
        settle(qapp, ctl)
    assert not plot.strip_shown


def test_a_path_that_crosses_itself_again_and_again_is_drawn_in_pieces_exactly(win, qapp) -> None:  # noqa: ANN001, E501
    """Plain GD bouncing from wall to wall of a narrow valley (fair-race) is drawn in pieces
    once it has crossed its box ``SWEEPS`` times: the frames before and after the switch leave
    what a full repaint draws, and the pieces draw what one path does but for their ends."""
    from gdviz.ui.items import round_pen

    (x0, x1), (y0, y1) = win.controller.view_rect()
    k = np.arange(120)
    # Damped bounces across the view's middle, creeping to the right.
    full = np.column_stack(
        [x0 + (x1 - x0) * (0.2 + 0.6 * k / 120), 0.5 * (y0 + y1) + 0.4 * (y1 - y0) * (-0.97) ** k]
    )
    item = PlayedPath(round_pen("#d62728", 3.5))
    item.setZValue(30)
    win.surface.plot.addItem(item)
    kept = thin_indices(full, 0.0)
    try:
        item.set_prefix(full, kept, 0)
        qapp.processEvents()
        for step in range(1, 40):
            item.set_prefix(full, kept, step)
            qapp.processEvents()
        # Pieces from where the played part has crossed its box more than SWEEPS times (a
        # plain loop over the whole path's extent).
        box_w, box_h = np.ptp(full[:, 0]), np.ptp(full[:, 1])
        sweeps, first = 0.0, None
        for i in range(1, len(full)):
            dx, dy = np.abs(full[i] - full[i - 1])
            sweeps += max(dx / box_w, dy / box_h)
            if first is None and sweeps > item.SWEEPS:
                first = i
        assert first is not None and 3 < first < 39
        assert [item._in_pieces(s) for s in range(120)] == [s >= first for s in range(120)]
        item.opts["antialias"] = False  # plain (a drag): one path, cheap to stroke
        assert not item._in_pieces(39)
        item.opts["antialias"] = True
        _assert_screen_is_a_fresh_repaint(win, qapp)
        # The finished pieces (every point is kept here) come from a board, stroked once each:
        # steps add to it. (A grab paints with another device transform: a board of its own.)
        item.set_prefix(full, kept, 40)
        win.surface.viewport().repaint()
        board = item._board
        assert board is not None and item._board_done == 40 // item.PIECE
        for step in range(41, 49):
            item.set_prefix(full, kept, step)
            qapp.processEvents()
        assert item._board is board and item._board_done == 48 // item.PIECE
        _assert_screen_is_a_fresh_repaint(win, qapp)
        item.set_prefix(full, kept, 119)  # a jump to the end
        qapp.processEvents()
        _assert_screen_is_a_fresh_repaint(win, qapp)
        item.set_prefix(full, kept, 57)  # back: the board drawn anew, with fewer pieces
        win.surface.viewport().repaint()
        assert item._board_done == 57 // item.PIECE
        _assert_screen_is_a_fresh_repaint(win, qapp)
        # A vector figure (SVG, PDF) gets the pieces as paths, not the board's pixels.
        buffer = QBuffer()
        svg = QSvgGenerator()
        svg.setOutputDevice(buffer)
        svg.setSize(win.surface.size())
        item._board = None
        painter = QPainter(svg)
        painter.setTransform(item.deviceTransform(win.surface.viewportTransform()))
        item.paint(painter)
        painter.end()
        assert item._board is None
        text = bytes(buffer.data()).decode()
        assert "<image" not in text and text.count("<path") >= 57 // item.PIECE
        view = win.surface.plot.getViewBox()
        view.scaleBy((0.8, 0.8))  # a zoom: a board for the new view, steps on from there
        qapp.processEvents()
        win.surface.viewport().repaint()
        assert item._board is not board
        board = item._board
        for step in range(58, 70):
            item.set_prefix(full, kept, step)
            qapp.processEvents()
        assert item._board is board and item._board_done == 69 // item.PIECE
        _assert_screen_is_a_fresh_repaint(win, qapp)
        view.scaleBy((1.25, 1.25))
        item.set_prefix(full, kept, 119)
        qapp.processEvents()
        pieces = _pixels(win.surface.grab().toImage()).astype(int)
        item.SWEEPS = np.inf  # the same step as one path
        item.set_prefix(full, kept.copy(), 119)
        whole = _pixels(win.surface.grab().toImage()).astype(int)
        item.hide()
        bare = _pixels(win.surface.grab().toImage()).astype(int)
        item.show()
        height = pieces.shape[0]

        def footprint(image: np.ndarray) -> np.ndarray:
            return np.abs(image - bare).reshape(height, -1, 4).max(axis=2) > 3

        # The same pixels covered but round ends where pieces meet (one path turns bevelled
        # there); inside, edges of pieces that overlap blend twice: a few pixels of the edges.
        to_view = item.deviceTransform(win.surface.viewportTransform())
        ends = [to_view.map(QPointF(*full[i])) for i in kept[item.PIECE : 119 : item.PIECE]]
        ends = np.array([(p.x(), p.y()) for p in ends])
        wrong = np.argwhere(footprint(pieces) != footprint(whole))
        assert len(wrong) > 0
        gap = np.hypot(*(wrong[:, None, ::-1] - ends[None, :, :]).transpose(2, 0, 1)).min(axis=1)
        assert gap.max() <= 5.0  # the pen's half width (1.75 px) and its antialiasing
        both = footprint(pieces) & footprint(whole)
        levels = np.abs(pieces - whole).reshape(height, -1, 4).max(axis=2)[both]
        assert np.mean(levels <= 3) > 0.9
    finally:
        win.surface.plot.removeItem(item)
        qapp.processEvents()


def test_a_played_path_in_pieces_on_its_own_coordinates_draws_its_board_in_place(win, qapp) -> None:  # noqa: ANN001, E501
    """The board covers the path's visible part in the item's own coordinates: an item moved by
    three view widths to the left, with its data moved as far right, draws what the plain item
    draws (in the view's coordinates its data lie outside the view)."""
    from gdviz.ui.items import round_pen

    (x0, x1), (y0, y1) = win.controller.view_rect()
    k = np.arange(80)
    full = np.column_stack(
        [x0 + (x1 - x0) * (0.2 + 0.6 * k / 80), 0.5 * (y0 + y1) + 0.4 * (y1 - y0) * (-0.97) ** k]
    )
    kept = thin_indices(full, 0.0)
    pictures = []
    for shift in (0.0, 3.0 * (x1 - x0)):
        item = PlayedPath(round_pen("#d62728", 3.5))
        item.setZValue(30)
        item.setPos(-shift, 0.0)
        win.surface.plot.addItem(item)
        try:
            item.set_prefix(full + [shift, 0.0], kept, 79)
            qapp.processEvents()
            assert item._in_pieces(79)
            pictures.append(_pixels(win.surface.grab().toImage()).astype(int))
            assert item._board is not None and item._board_done == 79 // item.PIECE
        finally:
            win.surface.plot.removeItem(item)
            qapp.processEvents()
    assert np.abs(pictures[0] - pictures[1]).max() <= 1
