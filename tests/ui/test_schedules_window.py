"""Schedules, weight decay, L2 and clipping in the window: each row's "More" and the lr strip."""

from __future__ import annotations

import numpy as np

from gdviz.core import load_scene
from gdviz.core.scene import save_scene
from gdviz.core.simulate import is_compiled, learning_rates


def _pick(row, kind: str) -> None:  # noqa: ANN001
    row.schedule_box.setCurrentIndex(row.schedule_box.findData(kind))


def _strip_curve(window, label: str) -> np.ndarray:  # noqa: ANN001
    """The strip's rates (log axis: a rate of 0, as at a warmup's first step, is not drawn)."""
    x, y = window.loss_plot.lr_curves[label].getData()
    assert np.array_equal(x, np.arange(len(x)))
    return np.nan_to_num(10.0**y, nan=0.0)


def test_schedule_in_a_row_drives_the_entry_the_paths_and_the_strip(window, tmp_path) -> None:  # noqa: ANN001
    ctl = window.controller
    # A scene without schedules: no strip, every row's "More" closed.
    assert all(e.schedule == "constant" for e in ctl.scene.optimizers)
    assert not window.loss_plot.strip_shown
    row = window.optimizers.rows["Adam"]
    assert not row.more_button.isChecked()
    assert not row.more.isVisible()

    before = ctl.results["Adam"].params.copy()
    row.more_button.setChecked(True)
    _pick(row, "warmup_cosine")
    entry = ctl.scene.entry("Adam")
    assert entry.schedule == "warmup_cosine"
    assert not np.array_equal(ctl.results["Adam"].params, before)
    assert set(row.schedule_spins) == {"init_value", "warmup_steps", "decay_steps", "end_value"}
    window.loss_plot.throttle.flush()
    assert window.loss_plot.strip_shown
    np.testing.assert_allclose(_strip_curve(window, "Adam"), learning_rates(ctl.scene, "Adam"))

    # Editing a parameter of the schedule: a traced value, compiled already.
    old = _strip_curve(window, "Adam")
    edited = ctl.scene.replace_entry(
        "Adam", schedule_params={**entry.schedule_params, "warmup_steps": 5}
    )
    assert is_compiled(edited)  # nothing to compile for the edit below
    row.schedule_spins["warmup_steps"].setValue(5)
    assert ctl.scene.entry("Adam").schedule_params["warmup_steps"] == 5
    window.loss_plot.throttle.flush()
    new = _strip_curve(window, "Adam")
    assert not np.allclose(new, old)
    np.testing.assert_allclose(new, learning_rates(ctl.scene, "Adam"))

    # Saved, it reopens equal, with that row's "More" open and its fields filled.
    path = tmp_path / "scheduled.toml"
    save_scene(ctl.scene, path)
    again = load_scene(path)
    assert again.optimizers == ctl.scene.optimizers
    ctl.set_scene(again, restart=False)
    ctl.pause()
    window.loss_plot.throttle.flush()
    row = window.optimizers.rows["Adam"]
    assert row.more_button.isChecked()
    assert not window.optimizers.rows["Momentum"].more_button.isChecked()
    assert row.schedule_box.currentData() == "warmup_cosine"
    assert row.schedule_spins["warmup_steps"].value() == 5
    assert window.loss_plot.strip_shown

    # Back to constant: no visible entry is scheduled, the strip goes.
    _pick(row, "constant")
    window.loss_plot.throttle.flush()
    assert not window.loss_plot.strip_shown
    assert not row.schedule_spins


def test_weight_decay_field_sets_the_entry(window) -> None:  # noqa: ANN001
    ctl = window.controller
    row = window.optimizers.rows["Momentum"]
    assert set(row.modifier_spins) == {"weight_decay", "l2", "clip_norm"}
    before = ctl.results["Momentum"].params.copy()
    row.modifier_spins["weight_decay"].setValue(0.1)
    assert ctl.scene.entry("Momentum").weight_decay == 0.1
    assert not np.array_equal(ctl.results["Momentum"].params, before)
    assert row.more_button.isChecked()  # in use: shown
