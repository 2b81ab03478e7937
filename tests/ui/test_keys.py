"""Playback and presentation keys work whatever has focus (a lecturer just typed a value)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication


def _focus(qtbot, widget) -> None:  # noqa: ANN001
    widget.window().activateWindow()
    widget.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is widget, timeout=2000)


def _lr_field(window):  # noqa: ANN001, ANN202
    return window.optimizers.rows["Adam"].spins["learning_rate"]


def test_typed_value_commits_on_enter_then_space_plays_and_right_steps(window, qtbot) -> None:  # noqa: ANN001
    ctl = window.controller
    ctl.set_step(10)
    field = _lr_field(window)
    _focus(qtbot, field)
    field.selectAll()
    qtbot.keyClicks(field, "0.07")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: ctl.scene.entry("Adam").hyperparams["learning_rate"] == 0.07)
    # Enter hands focus back to the views, where every key is a shortcut.
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.surface)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Right)
    assert ctl.step == 11
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)
    assert ctl.playing
    ctl.pause()


def test_keys_fire_while_a_number_field_still_has_focus(window, qtbot) -> None:  # noqa: ANN001
    ctl = window.controller
    ctl.set_step(10)
    field = _lr_field(window)
    _focus(qtbot, field)
    field.selectAll()
    qtbot.keyClicks(field, "2e-3")  # a number keeps its digits, sign and exponent
    assert field.lineEdit().text().startswith("2e-3")
    qtbot.keyClick(field, Qt.Key.Key_Right)
    qtbot.keyClick(field, Qt.Key.Key_Right)
    assert ctl.step == 12
    qtbot.keyClick(field, Qt.Key.Key_Home)
    assert ctl.step == 0
    qtbot.keyClick(field, Qt.Key.Key_End)
    assert ctl.step == ctl.steps
    qtbot.keyClick(field, Qt.Key.Key_Space)
    assert ctl.playing
    qtbot.keyClick(field, Qt.Key.Key_Space)
    assert not ctl.playing
    qtbot.keyClick(field, "g")  # an overlay key: G, U, M, L, A are no part of a number
    assert "gradient" in window.overlays.enabled
    assert "g" not in field.lineEdit().text()


def test_ctrl_e_exports_and_ctrl_d_darkens_from_a_number_field(window, qtbot, monkeypatch) -> None:  # noqa: ANN001
    asked = []
    monkeypatch.setattr(window, "export", lambda kind: asked.append(kind))
    field = _lr_field(window)
    _focus(qtbot, field)
    qtbot.keyClick(field, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert asked == ["video"]
    qtbot.keyClick(field, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert window.theme_name == "dark"


def test_a_label_field_keeps_its_text_and_esc_hands_focus_back(window, qtbot) -> None:  # noqa: ANN001
    ctl = window.controller
    ctl.set_step(10)
    name = window.optimizers.rows["Adam"].name_edit
    _focus(qtbot, name)
    name.end(False)
    qtbot.keyClicks(name, " G")  # a space and a G are text here
    assert name.text() == "Adam G"
    assert not ctl.playing and "gradient" not in window.overlays.enabled
    qtbot.keyClick(name, Qt.Key.Key_Left)  # moves the text cursor, not the playback
    assert ctl.step == 10
    qtbot.keyClick(name, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.surface)
    qtbot.keyClick(window.surface, Qt.Key.Key_Space)
    assert ctl.playing
    ctl.pause()


def test_a_focused_check_box_or_slider_does_not_take_the_keys(window, qtbot) -> None:  # noqa: ANN001
    ctl = window.controller
    ctl.set_step(10)
    row = window.optimizers.rows["Adam"]
    box = row.visible_box
    _focus(qtbot, box)
    qtbot.keyClick(box, Qt.Key.Key_Space)
    assert box.isChecked() and ctl.playing  # Space played; it did not hide Adam
    ctl.pause()
    _focus(qtbot, row.slider)
    before = row.slider.value()
    qtbot.keyClick(row.slider, Qt.Key.Key_Right)
    assert ctl.step == ctl.step and row.slider.value() == before
