"""Overlays draw the recorded vectors; the equation panel shows the optimizer's own numbers."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from gdviz.core.teaching import step_parts
from gdviz.ui.overlays import GRADIENT_LENGTH


def _runs(x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """The NaN-separated pieces of a polyline."""
    pts = np.column_stack([x, y])
    out, run = [], []
    for p in pts:
        if np.isnan(p).any():
            if run:
                out.append(np.array(run))
            run = []
        else:
            run.append(p)
    if run:
        out.append(np.array(run))
    return out


def test_update_and_gradient_arrows_are_the_recorded_vectors(window) -> None:  # noqa: ANN001
    ctl = window.controller
    ctl.set_step(12)
    for kind in ("update", "gradient", "velocity", "lookahead", "scale"):
        window.overlays.set(kind, True)
    items = window.overlay_layer.items
    visible = [e for e in ctl.scene.optimizers if e.visible]
    colors = ctl.colors(window.surface.theme)
    (x0, x1), _ = window.surface.visible_rect()
    for entry in visible:
        path = ctl.results[entry.label]
        # Each arrow is three runs: the shaft, then the two strokes of its head.
        update = items[("update", entry.label)]
        shaft = _runs(*update.getData())[0]
        np.testing.assert_allclose(shaft[0], path.params[12])
        np.testing.assert_allclose(shaft[1] - shaft[0], path.updates[12], rtol=1e-12)
        np.testing.assert_allclose(shaft[1], path.params[13], rtol=1e-12)
        gradient = items[("gradient", entry.label)]
        d = np.diff(_runs(*gradient.getData())[0], axis=0)[0]
        g = path.grads[12]
        assert np.isclose(np.linalg.norm(d), GRADIENT_LENGTH * (x1 - x0))
        assert np.dot(d, -g) / (np.linalg.norm(d) * np.linalg.norm(g)) > 1 - 1e-12
        # Each optimizer's overlays are drawn in its own colour; the stroke tells them apart.
        for item in (update, gradient):
            assert item.opts["pen"].color().name().upper() == colors[entry.label].upper()
        assert update.opts["pen"].widthF() > gradient.opts["pen"].widthF()
    # Momentum's velocity arrow is -lr * v (dashed); Nesterov's look-ahead point is theta - lr mu v.
    velocity = items[("velocity", "Momentum")]
    vel = _runs(*velocity.getData())[0]
    momentum = ctl.results["Momentum"]
    np.testing.assert_allclose(vel[1] - vel[0], -0.03 * momentum.state["trace"][12], rtol=1e-12)
    assert velocity.opts["pen"].style() == Qt.PenStyle.DashLine
    looks = items[("lookahead", "Nesterov")].getData()
    nesterov = ctl.results["Nesterov"]
    expected = nesterov.params[12] - 0.03 * 0.9 * nesterov.state["trace"][12]
    np.testing.assert_allclose([looks[0][0], looks[1][0]], expected, rtol=1e-12)
    # One ellipse per adaptive rule.
    ellipses = [
        label for (kind, label), item in items.items() if kind == "scale" and item.isVisible()
    ]
    assert sorted(ellipses) == ["AdaDelta", "AdaGrad", "Adam", "RMSprop"]
    for kind in ("update", "gradient", "velocity", "lookahead", "scale"):
        window.overlays.set(kind, False)
        assert not any(item.isVisible() for (k, _), item in items.items() if k == kind)
        assert not window.overlay_actions[kind].isChecked()  # the menu follows


def test_the_equation_panel_shows_the_optimizer_state(window) -> None:  # noqa: ANN001
    ctl = window.controller
    ctl.set_step(20)
    window.equation_dock.show()
    panel = window.equations
    panel.throttle.flush()
    rows = dict(panel.rows())
    adam = ctl.scene.entry("Adam")
    parts = step_parts(ctl.results["Adam"], adam, ctl.scene.convention, 20)
    mu = ctl.results["Adam"].state["mu"][20]
    assert rows["Adam"]["m"] == f"({mu[0]:+.4g}, {mu[1]:+.4g})"
    assert rows["Adam"]["u"] == f"({parts.update[0]:+.4g}, {parts.update[1]:+.4g})"
    sos = ctl.results["AdaGrad"].state["sum_of_squares"][20]
    assert rows["AdaGrad"]["s"] == f"({sos[0]:+.4g}, {sos[1]:+.4g})"
    text = panel.text.toPlainText()
    assert "θ ← θ − η m̂ ⁄ (√ν̂ + ε)" in text and "θ ← θ − η g ⁄ √(s + ε)" in text
    ctl.set_convention("pytorch")
    panel.throttle.flush()
    assert "θ ← θ − η g ⁄ (√s + ε)" in panel.text.toPlainText()


def test_step_by_step_walks_the_four_stages(window) -> None:  # noqa: ANN001
    ctl = window.controller
    ctl.set_step(4)
    panel = window.equations
    panel.entry.setCurrentText("Momentum")
    panel.show_stage(0)
    assert "1. Gradient" in panel.caption.text() and "gradient" in window.overlays.enabled
    panel.next.click()
    assert "v ← μ v + g" in panel.caption.text() and "velocity" in window.overlays.enabled
    assert "gradient" not in window.overlays.enabled
    panel.next.click()
    assert "3. Scale" in panel.caption.text()
    panel.next.click()
    u = ctl.results["Momentum"].updates[4]
    assert "4. Step" in panel.caption.text() and f"{u[0]:.4g}" in panel.caption.text()
    assert "update" in window.overlays.enabled
    panel.show_stage(-1)
    assert panel.caption.text() == "" and "update" not in window.overlays.enabled
