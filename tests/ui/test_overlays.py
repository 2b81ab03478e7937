"""Overlays draw the recorded vectors; the equation panel shows the optimizer's own numbers."""

from __future__ import annotations

import numpy as np
import pytest
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


NEWER = """
title = "decay and Newton"
steps = 40
start = [-2.5, 1.5]

[problem]
name = "quadratic"
condition = 10.0
angle = 30.0

[view]
x = [-4.0, 4.0]
y = [-3.0, 3.0]

[[optimizer]]
name = "adamw"
label = "AdamW"
learning_rate = 0.3
weight_decay = 0.5

[[optimizer]]
name = "sgd"
label = "GD + decay"
learning_rate = 0.05
weight_decay = 0.5
schedule = "cosine"

[[optimizer]]
name = "newton"
label = "Newton"
learning_rate = 0.4

[[optimizer]]
name = "adam"
label = "Adam + L2"
learning_rate = 0.1
l2 = 0.2
clip_norm = 5.0
"""


@pytest.fixture(scope="module")
def newer(qapp):  # noqa: ANN001, ANN201
    """One window on ``NEWER`` for the module's tests of the newer rules (a window costs
    seconds on a loaded machine); each test gets it at step 3 with every overlay off."""
    from gdviz.core import parse_scene
    from gdviz.ui.main_window import MainWindow

    win = MainWindow(parse_scene(NEWER), background=False)
    win.newer_scene = win.controller.scene
    win.resize(1400, 900)
    win.show()
    qapp.processEvents()
    yield win
    win.controller.shutdown()
    win.close()
    win.deleteLater()


@pytest.fixture
def newer_window(newer):  # noqa: ANN001, ANN201
    newer.equations.show_stage(-1)
    for kind in list(newer.overlays.enabled):
        newer.overlays.set(kind, False)
    if newer.controller.scene is not newer.newer_scene:  # a test changed it
        newer.controller.set_scene(newer.newer_scene, restart=False)
    newer.controller.pause()
    newer.controller.set_step(3)
    return newer


def test_decay_pull_and_newton_model_are_drawn_at_the_heads(newer_window) -> None:  # noqa: ANN001
    window = newer_window
    from gdviz.core import make_problem
    from gdviz.ui.overlays import DECAY_MIN_PX, KEYS, TITLES

    ctl = window.controller
    k = 3
    for kind in ("decay", "model"):
        window.overlays.set(kind, True)
    items = window.overlay_layer.items
    colors = ctl.colors(window.surface.theme)
    px = np.asarray(window.surface.vb.viewPixelSize())
    shown = {key for key, item in items.items() if item.isVisible()}
    assert shown == {("decay", "AdamW"), ("decay", "GD + decay"), ("model", "Newton")}
    for label, lr in (("AdamW", 0.3), ("GD + decay", None)):
        path = ctl.results[label]
        theta = path.params[k]
        # −η λ θ from the path itself (GD's η is its cosine schedule's value at step k).
        eta = lr if lr is not None else 0.05 * 0.5 * (1 + np.cos(np.pi * k / 40))
        pull = -eta * 0.5 * theta
        runs = _runs(*items[("decay", label)].getData())
        shaft = runs[0]
        np.testing.assert_allclose(shaft[0], theta, rtol=1e-12)
        drawn = shaft[1] - shaft[0]
        stretch = max(1.0, DECAY_MIN_PX / float(np.hypot(*(pull / px))))
        np.testing.assert_allclose(drawn, pull * stretch, rtol=1e-9)
        # An open head: three strokes around a closed triangle whose tip is the shaft's end.
        assert len(runs) == 4
        np.testing.assert_allclose(runs[1][0], shaft[1])
        np.testing.assert_allclose(runs[3][1], shaft[1])
        item = items[("decay", label)]
        assert item.opts["pen"].style() == Qt.PenStyle.DashDotLine
        assert item.opts["pen"].color().name().upper() == colors[label].upper()

    # Newton on a quadratic bowl: the model is the loss itself, so its centre is the minimum
    # and the curve is the loss's own contour through the head.
    problem = make_problem("quadratic", {"condition": 10.0, "angle": 30.0})
    path = ctl.results["Newton"]
    curve, across, _ = _runs(*items[("model", "Newton")].getData())  # the curve, then the +
    centre = across.mean(axis=0)
    np.testing.assert_allclose(centre, [0.0, 0.0], atol=1e-9)
    losses = [problem.loss(p) for p in curve]
    np.testing.assert_allclose(losses, path.loss[k], rtol=1e-9)
    # The menu offers both, with their own keys.
    for kind, key in (("decay", "W"), ("model", "H")):
        action = window.overlay_actions[kind]
        assert KEYS[kind] == key and action.shortcut().toString() == key
        assert action.text() == TITLES[kind] and action.isChecked()
    for kind in ("decay", "model"):
        window.overlays.set(kind, False)
    assert not any(item.isVisible() for item in items.values())


def test_model_curve_is_the_level_set_through_the_head() -> None:
    """Ellipse for a bowl, hyperbola for a saddle, each point at the head's model level; the head
    on the curve; a larger one shrunk to the cap; nothing for a singular M."""
    from gdviz.ui.overlays import model_curve

    rng = np.random.default_rng(3)
    for eigen in ((0.5, 4.0), (-2.0, 3.0), (-1.0, 0.2)):
        q, _ = np.linalg.qr(rng.normal(size=(2, 2)))
        m = q @ np.diag(eigen) @ q.T
        centre, point = rng.normal(size=2), rng.normal(size=2)
        level = (point - centre) @ m @ (point - centre)
        pts = model_curve(point, centre, m, cap=50.0)
        pts = pts[~np.isnan(pts).any(axis=1)]
        d = pts - centre
        np.testing.assert_allclose(np.einsum("ni,ij,nj->n", d, m, d), level, rtol=1e-9)
        spacing = np.max(np.hypot(*np.diff(pts, axis=0).T)[:10])
        assert np.min(np.hypot(*(pts - point).T)) < spacing
    m = np.diag([1.0, 100.0])
    far = model_curve(np.array([30.0, 0.0]), np.zeros(2), m, cap=3.0)
    assert np.max(np.abs(far)) == pytest.approx(3.0)
    d2 = np.einsum("ni,ij,nj->n", far, m, far)
    np.testing.assert_allclose(d2, d2[0])  # the same shape, shrunk about the centre
    assert model_curve(np.ones(2), np.zeros(2), np.diag([1.0, 0.0]), cap=3.0).size == 0


def test_step_by_step_shows_newtons_model_and_the_decays_pull(newer_window) -> None:  # noqa: ANN001
    window = newer_window
    ctl = window.controller
    panel = window.equations
    panel.entry.setCurrentText("Newton")
    panel.show_stage(1)
    assert "curvature M" in panel.caption.text()
    assert window.overlays.enabled == {"model"}
    panel.entry.setCurrentText("GD + decay")
    panel.show_stage(3)
    assert window.overlays.enabled == {"update", "decay"}
    panel.show_stage(0)
    assert window.overlays.enabled == {"gradient"}
    panel.show_stage(-1)
    assert window.overlays.enabled == set()
    assert ctl.step == 3


def test_equations_show_what_an_entry_adds_to_its_rule(newer_window) -> None:  # noqa: ANN001
    window = newer_window
    ctl = window.controller
    window.equation_dock.show()
    panel = window.equations
    panel.throttle.flush()
    rows = dict(panel.rows())
    gd = ctl.results["GD + decay"]
    d = gd.decay[3]
    assert rows["GD + decay"]["decay −ηλθ"] == f"({d[0]:+.4g}, {d[1]:+.4g})"
    assert rows["GD + decay"]["ηₜ"] == f"{gd.learning_rates[3]:.4g}"
    assert "ηₜ" not in rows["AdamW"] and "decay −ηλθ" in rows["AdamW"]
    m = np.stack([ctl.results["Newton"].state[n][3] for n in ("model_x", "model_y")])
    assert rows["Newton"]["M"].startswith(f"[[{m[0, 0]:+.4g}, {m[0, 1]:+.4g}]")
    text = panel.text.toPlainText()
    assert "g = ∇f(θ) + L2 θ" in text and "L2 = 0.2" in text
    assert "clipped to norm c = 5" in text
    assert "θ ← θ − η λ θ (decoupled weight decay, λ = 0.5)" in text  # HTML: one space
    assert "η = ηₜ, cosine" in text
    assert "λ = 0.5" in text.split("AdamW")[1].split("■")[0]  # AdamW's own λ, not its default


def test_the_surface_is_the_regularised_loss_when_the_entries_share_an_l2(
    newer_window, qtbot
) -> None:  # noqa: ANN001
    window = newer_window
    from gdviz.core import parse_scene, surface
    from gdviz.ui.items import colour_values

    ctl = window.controller
    scene = parse_scene(NEWER)
    ctl.set_scene(scene.replace(optimizers=scene.optimizers[3:]), restart=False)  # Adam + L2
    view = window.surface
    view.refresh_surface(48)
    assert view.surface_l2 == 0.2
    assert "loss + (0.2/2)·|θ|²" in view.colorbar.axis.labelText
    rect = view.visible_rect()
    plain = surface(ctl.problem, rect, 48)
    xs, ys = np.meshgrid(plain.xs, plain.ys)
    expected, _ = colour_values(plain.loss + 0.1 * (xs**2 + ys**2))
    np.testing.assert_allclose(view.image.image, expected, rtol=1e-12)
    # Hidden, the entry no longer says which loss: the plain one is drawn again.
    ctl.set_visible("Adam + L2", False)
    qtbot.waitUntil(lambda: view.surface_l2 == 0.0)
    assert view.colorbar.axis.labelText in ("loss", "log₁₀ loss")
