"""Your own formula in the Problem panel: checked as typed, applied with Enter, saved."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from gdviz.core import check_expression, load_scene, simulate
from gdviz.ui.panels import FORMULA_EXAMPLES
from tests.ui.windows import quiet_window

RING = "(x**2 + y**2 - 4)**2"


# One window per module: under pytest-xdist, --dist loadgroup keeps these tests on one worker.
pytestmark = pytest.mark.xdist_group("formula")


@pytest.fixture(scope="module")
def shared_window(qapp):  # noqa: ANN001, ANN201
    """One window for the module, on a three-entry scene: each new formula compiles its paths."""
    with quiet_window(qapp, "ill-conditioned") as win:
        yield win


@pytest.fixture
def window(shared_window, qtbot):  # noqa: ANN001, ANN201
    """The shared window on a formula (the Problem panel's "Your formula…" button)."""
    win = shared_window
    qtbot.waitExposed(win)
    ctl = win.controller
    if ctl.scene.problem != "expression":
        qtbot.mouseClick(win.problem_panel.formula_button, Qt.MouseButton.LeftButton)
    ctl.pause()
    QApplication.processEvents()
    return win


def _focus(qtbot, widget) -> None:  # noqa: ANN001
    widget.window().activateWindow()
    widget.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is widget, timeout=2000)


def test_the_button_switches_to_a_formula_with_the_field_focused(window) -> None:  # noqa: ANN001
    ctl, panel = window.controller, window.problem_panel
    assert ctl.scene.problem == "expression" and ctl.scene.expression == "x**2 + 3*y**2"
    assert panel.formula is not None and panel.formula.isVisible()
    assert panel.formula.text() == "x**2 + 3*y**2"
    assert panel.formula.font().fixedPitch() or "mono" in panel.formula.font().family().lower()
    assert panel.formula.font().pointSizeF() > panel.font().pointSizeF()  # legible from afar
    assert panel.formula_button is None  # the panel is the formula's now


def test_a_bad_formula_is_marked_at_its_column_and_the_surface_stays(window, qtbot) -> None:  # noqa: ANN001
    ctl, panel = window.controller, window.problem_panel
    field = panel.formula
    image = np.array(window.surface.image.image)
    scene, results = ctl.scene, ctl.results
    _focus(qtbot, field)
    field.selectAll()
    qtbot.keyClicks(field, "x**2 + os.y")
    assert field.text() == "x**2 + os.y"
    # As typed: the message names the column, the refused part is underlined, a red border.
    assert "column 8" in panel.formula_message.text()
    assert field.bad == (7, 2) and field.property("gdvizRefused")
    assert "C00000" in field.styleSheet()
    qtbot.keyClick(field, Qt.Key.Key_Return)  # refused: nothing is applied, focus stays
    QApplication.processEvents()
    assert ctl.scene is scene and ctl.results is results
    assert QApplication.focusWidget() is field
    np.testing.assert_array_equal(window.surface.image.image, image)  # the last good surface
    qtbot.keyClick(field, Qt.Key.Key_Backspace)
    qtbot.keyClick(field, Qt.Key.Key_Backspace)
    assert "column 8" in panel.formula_message.text()  # "os" is still unknown
    for _ in range(2):
        qtbot.keyClick(field, Qt.Key.Key_Backspace)
    qtbot.keyClicks(field, "y")
    assert field.text() == "x**2 + y" and field.bad is None
    assert not field.property("gdvizRefused") and "C00000" not in field.styleSheet()
    qtbot.keyClick(field, Qt.Key.Key_Escape)  # Esc hands focus back to the views
    assert QApplication.focusWidget() is window.surface
    assert ctl.scene.expression == "x**2 + 3*y**2"  # typed but not applied


def test_enter_applies_a_formula_and_the_paths_and_minima_follow(window, qtbot) -> None:  # noqa: ANN001
    ctl, panel = window.controller, window.problem_panel
    field = panel.formula
    before = {label: path.params.copy() for label, path in ctl.results.items()}
    x0, x1, y0, y1 = panel.view_spins
    for spin, value in zip((x0, x1, y0, y1), (-3.0, 3.0, -3.0, 3.0), strict=True):
        spin.setValue(value)
    _focus(qtbot, field)
    field.selectAll()
    qtbot.keyClicks(field, RING)
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert ctl.scene.expression == RING
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.surface)  # applied: back
    # The minima lie on the ring of radius 2; the markers show them.
    assert ctl.problem.minima
    for m in ctl.problem.minima:
        assert np.hypot(*m.point) == pytest.approx(2.0, abs=1e-6)
    mx, my = window.surface.minima.getData()
    assert len(mx) == len(ctl.problem.minima)
    np.testing.assert_allclose(np.hypot(mx, my), 2.0, atol=1e-6)
    # Every path is the new formula's, and the view is the one asked for.
    fresh = simulate(ctl.scene)
    for label, path in fresh.items():
        assert not np.array_equal(path.params, before[label])
        np.testing.assert_array_equal(ctl.results[label].params, path.params)
    (a, b), (c, d) = window.surface.visible_rect()
    np.testing.assert_allclose([a, b, c, d], [-3.0, 3.0, -3.0, 3.0], atol=1e-9)
    assert window.windowTitle().startswith("gdviz")
    # The examples list names the ring; choosing it again changes nothing.
    assert panel.examples.currentText() == "Ring"


def test_a_formula_not_finite_in_its_view_is_refused_in_place(window, qtbot) -> None:  # noqa: ANN001
    ctl, panel = window.controller, window.problem_panel
    scene = ctl.scene
    _focus(qtbot, panel.formula)
    panel.formula.selectAll()
    qtbot.keyClicks(panel.formula, "log(-1 - x**2)")
    assert panel.formula.bad is None  # it parses
    qtbot.keyClick(panel.formula, Qt.Key.Key_Return)
    assert ctl.scene is scene
    assert "not a finite number" in panel.formula_message.text()
    assert QApplication.focusWidget() is panel.formula


def test_a_saved_formula_scene_reopens_equal(window, tmp_path: Path) -> None:  # noqa: ANN001
    ctl = window.controller
    panel = window.problem_panel
    panel._use_example(panel.examples.findText("Ring"))  # the compiled formula: no new compile
    assert ctl.scene.expression == RING
    path = tmp_path / "ring.toml"
    assert window.save_scene_to(path)
    assert f'expr = "{RING}"' in path.read_text()
    assert load_scene(str(path)) == window.scene_to_save()


def test_keys_typed_into_the_formula_stay_in_the_field(window, qtbot) -> None:  # noqa: ANN001
    ctl, panel = window.controller, window.problem_panel
    field = panel.formula
    ctl.set_step(10)
    tab = window.view_tabs.currentIndex()
    _focus(qtbot, field)
    field.selectAll()
    qtbot.keyClicks(field, "x**2 + y gum 3f")  # Space, *, +, overlay keys G U M, 3 and F
    assert field.text() == "x**2 + y gum 3f"
    for key in (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Home, Qt.Key.Key_End):
        qtbot.keyClick(field, key)  # cursor moves in the text, not playback steps
    qtbot.keyClick(field, Qt.Key.Key_Space)
    assert field.text() == "x**2 + y gum 3f "
    assert ctl.step == 10 and not ctl.playing
    assert not window.overlays.enabled and window.view_tabs.currentIndex() == tab
    qtbot.keyClick(field, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)  # types nothing
    assert window.theme_name == "dark"
    window.set_theme_name("light")
    qtbot.keyClick(field, Qt.Key.Key_Escape)
    assert QApplication.focusWidget() is window.surface


def test_every_example_is_a_valid_formula_with_a_view() -> None:
    names = [name for name, _, _ in FORMULA_EXAMPLES]
    assert len(set(names)) == len(names)
    for wanted in ("Rosenbrock", "Himmelblau", "Saddle", "Beale", "Six-hump camel", "Ring"):
        assert wanted in names
    for _, text, (x0, x1, y0, y1) in FORMULA_EXAMPLES:
        assert check_expression(text) is None, text
        assert x0 < x1 and y0 < y1
