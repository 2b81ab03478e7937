"""Every limit holds at the window's doors too, and whatever the window can reach saves and reopens.

The loader refuses starts beyond ±1e4, labels over 60 characters and a 33rd entry; the window
cannot make them either (a drag stops at the edge, an edit is refused with a message).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gdviz.core import OptimizerEntry, load_scene
from gdviz.core.scene import MAX_COORD, MAX_ENTRIES, MAX_LABEL


def _errors(window, monkeypatch) -> list[str]:  # noqa: ANN001
    shown: list[str] = []
    monkeypatch.setattr(window, "show_error", shown.append)
    return shown


def test_a_drag_past_the_box_stops_at_its_edge(window) -> None:  # noqa: ANN001
    ctl = window.controller
    handle = window.surface.handles[None]
    from PySide6.QtCore import QPointF

    handle.setPos(QPointF(2e6, 3.0))  # what a drag in a far zoomed-out view would send
    assert ctl.scene.start == (MAX_COORD, 3.0)
    pos = handle.pos()
    assert (pos.x(), pos.y()) == (MAX_COORD, 3.0)  # the handle stops where the start is
    for path in ctl.results.values():
        assert np.isfinite(path.params).all() and np.isfinite(path.loss).all()
    window.loss_plot.throttle.flush()  # no "Cannot set range [nan, nan]"


def test_a_click_far_outside_is_clamped(window, monkeypatch) -> None:  # noqa: ANN001
    shown = _errors(window, monkeypatch)
    ctl = window.controller
    assert ctl.set_start((-5e7, 1e9)) == (-MAX_COORD, MAX_COORD)
    assert ctl.scene.start == (-MAX_COORD, MAX_COORD) and not shown


def test_long_labels_and_the_33rd_entry_are_refused_with_a_message(window, monkeypatch) -> None:  # noqa: ANN001
    shown = _errors(window, monkeypatch)
    ctl = window.controller
    assert window.optimizers.rows["Adam"].name_edit.maxLength() == MAX_LABEL
    assert not ctl.rename("Adam", "x" * 80)
    assert shown and "60" in shown[-1] and ctl.scene.entry("Adam")
    # Thirty-one entries at once, without compiling them (the limit is what is tested), then the
    # thirty-second through the window's own Add.
    monkeypatch.setattr("gdviz.ui.controller.simulate", lambda scene, problem: {})
    scene = ctl.scene
    scene = scene.replace(
        optimizers=scene.optimizers
        + tuple(
            OptimizerEntry("sgd", f"SGD {i}")
            for i in range(MAX_ENTRIES - 1 - len(scene.optimizers))
        )
    )
    ctl.set_scene(scene, restart=False)
    assert window.optimizers.add_button.isEnabled()
    assert ctl.add_entry("sgd") is not None
    assert not window.optimizers.add_button.isEnabled()
    assert ctl.add_entry("adam") is None and ctl.duplicate_entry("Adam") is None
    assert len(ctl.scene.optimizers) == MAX_ENTRIES and "32" in shown[-1]
    ctl.remove_entry("Adam")
    assert window.optimizers.add_button.isEnabled()


def test_a_batch_larger_than_the_dataset_is_refused(window, monkeypatch) -> None:  # noqa: ANN001
    shown = _errors(window, monkeypatch)
    ctl = window.controller
    ctl.set_problem_param("n", 87)
    ctl.set_batch_size("Adam", 100)  # found by the property test below
    assert ctl.scene.entry("Adam").batch_size is None and "[1, 87]" in shown[-1]
    ctl.set_batch_size("Adam", 87)
    assert ctl.scene.entry("Adam").batch_size == 87


def test_zoom_and_pan_stay_inside_the_box(window, tmp_path: Path) -> None:  # noqa: ANN001
    window.surface.vb.setRange(xRange=(-5e4, 5e4), yRange=(-5e4, 5e4), padding=0)
    (x0, x1), (y0, y1) = window.surface.visible_rect()
    assert -MAX_COORD <= x0 < x1 <= MAX_COORD and -MAX_COORD <= y0 < y1 <= MAX_COORD
    path = tmp_path / "wide.toml"
    assert window.save_scene_to(path)
    assert load_scene(path).view == window.surface.visible_rect()


def test_opening_a_saved_scene_shows_its_own_view(window, tmp_path: Path) -> None:  # noqa: ANN001
    window.surface.vb.setRange(xRange=(0.0, 3.0), yRange=(0.0, 2.0), padding=0)
    path = tmp_path / "zoomed.toml"
    assert window.save_scene_to(path)
    window.surface.fit_view()  # back to the scene's own view, same problem on screen
    assert window.controller.load(str(path))
    assert np.allclose(window.surface.vb.viewRange(), [(0.0, 3.0), (0.0, 2.0)])


_edit = st.one_of(
    st.tuples(st.just("start"), st.floats(-1e8, 1e8), st.floats(-1e8, 1e8)),
    st.tuples(st.just("rename"), st.text(min_size=0, max_size=90)),
    st.tuples(st.just("add"), st.sampled_from(["sgd", "adam", "momentum"])),
    st.tuples(st.just("duplicate")),
    st.tuples(st.just("remove")),
    st.tuples(st.just("lr"), st.floats(1e-5, 10.0)),
    # Few distinct shapes (each new one compiles for a second or two); 100 > 87 is refused.
    st.tuples(st.just("batch"), st.sampled_from([None, 1, 10, 100])),
    st.tuples(st.just("n"), st.sampled_from([40, 87, 200])),
    st.tuples(st.just("zoom"), st.floats(-1e6, 1e6), st.floats(1e-3, 1e6)),
    st.tuples(st.just("separate"), st.booleans()),
    st.tuples(st.just("steps"), st.sampled_from([1, 60, 300])),
)


# Five examples of up to eight edits: each new set of rules compiles a scan (~1-2 s); eight
# examples took 65 s of a 10-minute suite.
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
@given(edits=st.lists(_edit, min_size=1, max_size=8))
def test_every_state_the_window_reaches_saves_and_reopens_equal(
    window, tmp_path: Path, monkeypatch, edits
) -> None:  # noqa: ANN001
    monkeypatch.setattr(window, "show_error", lambda message: None)
    ctl = window.controller
    for edit in edits:
        kind, *args = edit
        first = ctl.scene.optimizers[0].label
        if kind == "start":
            ctl.set_start((args[0], args[1]))
        elif kind == "rename":
            ctl.rename(first, args[0])
        elif kind == "add":
            ctl.add_entry(args[0])
        elif kind == "duplicate":
            ctl.duplicate_entry(first)
        elif kind == "remove":
            ctl.remove_entry(first)
        elif kind == "lr":
            ctl.set_hyperparam(first, "learning_rate", args[0])
        elif kind == "batch":
            ctl.set_batch_size(first, args[0])
        elif kind == "n":
            ctl.set_problem_param("n", args[0])
        elif kind == "zoom":
            c, w = args
            window.surface.vb.setRange(xRange=(c - w, c + w), yRange=(c - w, c + w), padding=0)
        elif kind == "separate":
            ctl.set_separate_starts(args[0])
        elif kind == "steps":
            ctl.set_steps(args[0])
    path = tmp_path / "state.toml"
    assert window.save_scene_to(path)
    assert load_scene(path) == window.scene_to_save()
    for trajectory in ctl.results.values():
        assert np.isfinite(trajectory.params).all()
    # Back to the scene the next example starts from.
    ctl.set_scene(load_scene("linear-regression"), restart=False)
    window.surface.fit_view()


def test_fit_view_finds_a_start_dragged_past_the_edge(window) -> None:  # noqa: ANN001
    ctl = window.controller
    (x0, x1), (y0, y1) = ctl.view_rect()
    window.surface.fit_view()
    assert np.allclose(window.surface.vb.viewRange(), [(x0, x1), (y0, y1)])  # start inside
    start = ctl.scene.start
    try:
        far = (x1 + 3.0 * (x1 - x0), 0.5 * (y0 + y1))
        window.surface.handles[None].setPos(*far)  # a drag past the right edge
        window.surface.handles[None].sigPositionChangeFinished.emit(window.surface.handles[None])
        window.surface.fit_view()  # an opened scene's view: its own, wherever its start
        assert np.allclose(window.surface.vb.viewRange(), [(x0, x1), (y0, y1)])
        window.surface.fit_view(hold_starts=True)  # View > Fit view
        (a0, a1), (b0, b1) = window.surface.vb.viewRange()
        assert a0 == x0 and (b0, b1) == (y0, y1)  # only the side it left by grew
        assert ctl.scene.start[0] < a1 and a1 - ctl.scene.start[0] > 0.04 * (a1 - a0)
    finally:
        ctl.set_start(start)
        window.surface.fit_view()
