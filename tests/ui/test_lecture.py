"""Lecture mode: presenter view, themes, scene stepping, saving what was edited, settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QSettings
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QDialog

from gdviz.core import RULES, OptimizerEntry, Scene, dumps_scene, load_scene, parse_scene
from gdviz.ui.theme import DARK


def test_presenter_mode_hides_the_controls_and_restores_them(window, qtbot) -> None:  # noqa: ANN001
    window.problem_dock.hide()  # a dock the user had closed stays closed afterwards
    window.set_presenter(True)
    assert window.isFullScreen()
    assert not window.optimizer_dock.isVisible()
    assert not window.menuBar().isVisible() and not window.scene_bar.choice.isVisible()
    assert window.surface.isVisible() and window.scene_bar.caption.isVisible()
    assert window.legend.isVisible()  # the colour key stays
    # A slim playback bar: buttons and timeline, no speed or step count; B hides it.
    assert window.playback.isVisible() and window.playback.timeline.isVisible()
    assert not window.playback.speed.isVisible() and not window.playback.steps.isVisible()
    qtbot.keyClick(window.surface, "B")
    assert not window.playback.isVisible()
    assert window.surface.theme.trail_width > 4.5  # thick lines
    trail = window.surface.trails["Adam"]
    assert trail.line.opts["pen"].widthF() == trail.width >= window.surface.theme.trail_width
    qtbot.keyClick(window, window.presenter_action.shortcut()[0].key())  # F5 again
    assert not window.isFullScreen()
    assert window.optimizer_dock.isVisible() and window.playback.isVisible()
    assert window.playback.speed.isVisible()
    assert not window.problem_dock.isVisible()
    assert window.surface.theme.trail_width < 4.5
    qtbot.wait(200)
    width = window.optimizer_dock.width()
    caption = window.scene_bar.caption.text()
    window.set_presenter(True)
    qtbot.wait(200)
    window.set_presenter(False)  # Esc does the same
    qtbot.wait(200)
    assert window.menuBar().isVisible()
    # Back as it was: the docks' width and the caption (a real-input trial saw the dock grow by
    # 87 px and the caption keep its presenter-mode cut).
    assert abs(window.optimizer_dock.width() - width) <= 10, (width, window.optimizer_dock.width())
    assert window.scene_bar.caption.text() == caption


def test_dark_theme_restyles_the_views(window) -> None:  # noqa: ANN001
    light = QApplication.palette().color(QPalette.ColorRole.Window)
    window.set_theme_name("dark")
    assert window.surface.backgroundBrush().color().name().upper() == DARK.background.upper()
    # Black would vanish on dark: the AdaDelta trail (black on light) turns white.
    adadelta = window.surface.trails["AdaDelta"].line.opts["pen"].color().name().upper()
    assert adadelta == "#FFFFFF"
    # Dialogs are windows of their own: they take the dark palette too (the Tune dialog was a
    # light box around a dark plot), and check boxes stand out from the window (they vanished).
    dialog = QDialog(window)
    roles = QPalette.ColorRole
    assert dialog.palette().color(roles.Window).name().upper() == DARK.background.upper()
    assert QApplication.palette().color(roles.Text).name().upper() == DARK.foreground.upper()
    base, back = (window.palette().color(r).lightness() for r in (roles.Base, roles.Window))
    assert base - back >= 25, (base, back)
    dialog.deleteLater()
    window.set_theme_name("light")
    adadelta = window.surface.trails["AdaDelta"].line.opts["pen"].color().name().upper()
    assert adadelta == "#000000"
    assert QDialog(window).palette().color(roles.Window) == light  # the platform's own again


def test_page_down_and_up_step_through_the_built_in_scenes(window) -> None:  # noqa: ANN001
    from gdviz.core import builtin_scene_names

    names = builtin_scene_names()
    start = names.index("linear-regression")
    window.step_scene(1)
    assert window.scene_bar.current_name() == names[(start + 1) % len(names)]
    window.controller.wait_until_computed()
    window.step_scene(-1)
    assert window.scene_bar.current_name() == "linear-regression"


def test_the_shortcut_list_names_every_shortcut(window) -> None:  # noqa: ANN001
    text = window.shortcuts_html()
    for key, words in [
        ("F5", "Presenter"),
        ("F11", "ull screen"),
        ("Space", "Play"),
        ("PgDown", "Next scene"),
    ]:
        assert key in text.replace("Page Down", "PgDown") or key in text, key
        assert words in text


def test_an_edited_scene_saved_and_reopened_looks_the_same(window, tmp_path: Path) -> None:  # noqa: ANN001
    ctl = window.controller
    ctl.set_hyperparam("Adam", "learning_rate", 0.37)
    ctl.set_color("Momentum", "#CC0000")
    ctl.set_visible("SGD (batch 1)", False)
    ctl.set_problem_param("noise", 1.25)
    ctl.set_steps(150)
    ctl.set_start((1.0, -1.0))
    ctl.set_separate_starts(True)
    ctl.set_entry_start("Nesterov", (3.0, 3.0))
    window.surface.vb.setRange(xRange=(-1.0, 4.0), yRange=(-2.0, 3.0), padding=0)
    path = tmp_path / "lecture.toml"
    assert window.save_scene_to(path)
    reopened = load_scene(path)
    assert reopened == window.scene_to_save()
    assert reopened.view == ((-1.0, 4.0), (-2.0, 3.0))

    from gdviz.ui.main_window import MainWindow

    other = MainWindow(reopened, background=False)
    other.resize(window.size())
    other.show()
    try:
        for label in window.surface.trails:
            a = window.controller.results[label].params
            b = other.controller.results[label].params
            np.testing.assert_array_equal(a, b)
            assert (
                other.surface.trails[label].line.isVisible()
                == window.surface.trails[label].line.isVisible()
            )
        pen = other.surface.trails["Momentum"].line.opts["pen"].color().name().upper()
        assert pen == "#CC0000"
        x_range = other.surface.vb.viewRange()[0]
        assert np.allclose(x_range, (-1.0, 4.0))
    finally:
        other.close()
        other.controller.shutdown()


def test_saving_to_an_unwritable_place_says_so_and_keeps_everything(
    window, tmp_path, monkeypatch
) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QMessageBox

    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    scene = window.controller.scene
    assert not window.save_scene_to(tmp_path / "missing" / "s.toml")
    assert shown and "Could not save" in shown[0]
    assert window.controller.scene is scene and window.scene_path is None


def test_settings_remember_geometry_theme_and_last_scene(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    from gdviz.ui.main_window import MainWindow

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    try:
        first = MainWindow(load_scene("beale"), background=False, remember=True)
        qtbot.addWidget(first)
        first.resize(701, 503)  # within the offscreen screen: restoreGeometry clamps to it
        first.show()
        first.set_theme_name("dark")
        first.close()
        stored = QSettings("gdviz", "gdviz")
        assert stored.value("theme") == "dark" and stored.value("last_scene") == "beale"
        second = MainWindow(load_scene(stored.value("last_scene")), background=False, remember=True)
        qtbot.addWidget(second)
        second.restore_settings()
        assert second.theme_name == "dark"
        assert stored.value("geometry") is not None
        assert second.height() == 503  # (the width is held up by the docks' minimum)
        second.controller.shutdown()
    finally:
        QSettings.setDefaultFormat(QSettings.Format.NativeFormat)


_entry = st.builds(
    lambda rule, lr, batch, start, color, visible, i: OptimizerEntry(
        rule, f"{rule} {i}", {"learning_rate": lr}, batch, start, color, visible
    ),
    st.sampled_from(list(RULES)),
    st.floats(1e-5, 10.0),
    st.one_of(st.none(), st.integers(1, 40)),
    st.one_of(st.none(), st.tuples(st.floats(-100, 100), st.floats(-100, 100))),
    st.one_of(st.none(), st.sampled_from(["#0072B2", "#CC79A7", "#123ABC"])),
    st.booleans(),
    st.integers(0, 99),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    entries=st.lists(_entry, min_size=1, max_size=5, unique_by=lambda e: e.label),
    steps=st.integers(1, 10_000),
    seed=st.integers(0, 2**31 - 1),
    start=st.tuples(st.floats(-1e4, 1e4), st.floats(-1e4, 1e4)),
    noise=st.floats(0.0, 10.0),
    title=st.text(max_size=40),
    convention=st.sampled_from(["optax", "pytorch"]),
    view=st.one_of(st.none(), st.tuples(st.floats(-50, 0), st.floats(0.5, 50))),
)
def test_save_then_load_round_trips_every_field(
    entries, steps, seed, start, noise, title, convention, view
) -> None:  # noqa: ANN001
    scene = Scene(
        problem="linear_regression",
        problem_params={"n": 40, "noise": noise},
        optimizers=tuple(entries),
        title=title,
        caption="",
        steps=steps,
        seed=seed,
        start=start,
        convention=convention,
        view=None if view is None else ((view[0], view[1]), (view[0], view[1])),
    )
    assert parse_scene(dumps_scene(scene)) == scene


def test_export_remembers_the_size_and_folder_and_names_the_file_after_the_scene(
    window, tmp_path: Path, monkeypatch
) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QFileDialog

    from gdviz.ui.dialogs import ExportDialog

    seen: dict[str, str] = {}

    def accept(dialog) -> int:  # noqa: ANN001
        seen["size"] = dialog.size.currentText()
        dialog.size.setCurrentText("640x360")
        return ExportDialog.DialogCode.Accepted

    def save_as(parent, title, default, pattern):  # noqa: ANN001, ANN202
        seen["default"] = default
        return str(tmp_path / "talk" / "frame.png"), pattern

    (tmp_path / "talk").mkdir()
    monkeypatch.setattr(ExportDialog, "exec", accept)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(save_as))
    window.export("image")
    assert seen["default"] == "linear-regression.png"
    assert (tmp_path / "talk" / "frame.png").exists()
    assert window.statusBar().currentMessage().startswith("Wrote frame.png")
    window.export("image")  # the second time: the last size and folder are offered
    assert seen["size"] == "640x360"
    assert seen["default"] == str(tmp_path / "talk" / "linear-regression.png")
