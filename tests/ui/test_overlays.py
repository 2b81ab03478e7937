"""Overlays draw the recorded vectors; the equation panel shows the optimizer's own numbers."""

from __future__ import annotations

import numpy as np

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
    visible = [e for e in ctl.scene.optimizers if e.visible]
    # Each arrow is three runs: the shaft, then the two strokes of its head.
    update_runs = _runs(*window.overlay_layer.items["update"].getData())
    shafts = update_runs[0::3]
    assert len(shafts) == len(visible)
    for entry, shaft in zip(visible, shafts, strict=True):
        path = ctl.results[entry.label]
        np.testing.assert_allclose(shaft[0], path.params[12])
        np.testing.assert_allclose(shaft[1] - shaft[0], path.updates[12], rtol=1e-12)
        np.testing.assert_allclose(shaft[1], path.params[13], rtol=1e-12)
    grad_shafts = _runs(*window.overlay_layer.items["gradient"].getData())[0::3]
    (x0, x1), _ = window.surface.visible_rect()
    for entry, shaft in zip(visible, grad_shafts, strict=True):
        g = ctl.results[entry.label].grads[12]
        d = shaft[1] - shaft[0]
        assert np.isclose(np.linalg.norm(d), GRADIENT_LENGTH * (x1 - x0))
        assert np.dot(d, -g) / (np.linalg.norm(d) * np.linalg.norm(g)) > 1 - 1e-12
    # Momentum's velocity arrow is -lr * v; Nesterov's look-ahead point is theta - lr mu v.
    vel = _runs(*window.overlay_layer.items["velocity"].getData())[0::3]
    momentum = ctl.results["Momentum"]
    np.testing.assert_allclose(
        vel[0][1] - vel[0][0], -0.03 * momentum.state["trace"][12], rtol=1e-12
    )
    looks = window.overlay_layer.items["lookahead"].getData()
    nesterov = ctl.results["Nesterov"]
    expected = nesterov.params[12] - 0.03 * 0.9 * nesterov.state["trace"][12]
    np.testing.assert_allclose([looks[0][0], looks[1][0]], expected, rtol=1e-12)
    # One ellipse per adaptive rule.
    ellipses = _runs(*window.overlay_layer.items["scale"].getData())
    assert len(ellipses) == 4  # AdaGrad, AdaDelta, RMSprop, Adam
    for kind in ("update", "gradient", "velocity", "lookahead", "scale"):
        window.overlays.set(kind, False)
        assert not window.overlay_layer.items[kind].isVisible()


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
