"""A rule defined and registered in this file, and nowhere else, reaches every door: scene files,
simulation, the optimizer panel's menu and row, the equation panel, the overlays and the CSV."""

from __future__ import annotations

from collections.abc import Iterator

import jax
import numpy as np
import optax
import pytest

from gdviz.core import OptimizerEntry, Scene, SceneError, dumps_scene, parse_scene, simulate
from gdviz.core.optimizers import (
    RULES,
    HyperSpec,
    Rule,
    Stages,
    StepRecord,
    both,
    register_rule,
    same_factory,
    unregister_rule,
)
from gdviz.core.teaching import stage_captions, step_parts
from gdviz.export.files import trajectories_text
from gdviz.ui.overlays import geometry_by_entry


def sign_sgd(learning_rate: jax.typing.ArrayLike) -> optax.GradientTransformation:
    """Sign descent (Bernstein et al. 2018): each axis moves by η against the sign of its gradient."""
    return optax.chain(optax.scale_by_sign(), optax.scale(-learning_rate))


def _stages(r: StepRecord) -> Stages:
    lr = r.hyper["learning_rate"]
    caption = "Accumulate: sign descent keeps no state; only the sign of g counts."
    return Stages(np.sign(r.grad), lr * np.ones(2), {}, caption)


SIGN_SGD = Rule(
    name="signsgd",
    title="signSGD",
    hyperparams=(
        HyperSpec("learning_rate", 0.05, 1e-5, 10.0, scale="log", doc="step per axis", symbol="η"),
    ),
    factory=same_factory(sign_sgd),
    summary=both("θ ← θ − η sign(g)"),
    equations=both(("θ ← θ − η sign(g)",)),
    stages=_stages,
)


@pytest.fixture
def signsgd() -> Iterator[Rule]:
    """SIGN_SGD registered for one test, and forgotten after it (pass or fail)."""
    register_rule(SIGN_SGD)
    try:
        yield SIGN_SGD
    finally:
        unregister_rule(SIGN_SGD.name)


TOML = """
problem = { name = "quadratic" }
steps = 30
start = [3.0, -2.0]

[[optimizer]]
name = "signsgd"
learning_rate = 0.1
"""


def test_a_registered_rule_runs_from_a_scene_file(signsgd: Rule) -> None:
    scene = parse_scene(TOML)
    path = simulate(scene)["signSGD"]
    assert path.diverged_at is None
    np.testing.assert_allclose(path.updates, -0.1 * np.sign(path.grads), rtol=0, atol=1e-15)
    parts = step_parts(path, scene.optimizers[0], scene.convention, 3)
    np.testing.assert_allclose(parts.update, -parts.scale * parts.direction, atol=1e-15)
    assert "sign" in stage_captions(parts)[1] and not parts.adaptive
    assert trajectories_text({"signSGD": path}).splitlines()[1].startswith("signSGD,0,3.0,-2.0,")


def test_registration_is_undone_and_names_are_unique(signsgd: Rule) -> None:
    with pytest.raises(ValueError, match="registered already"):
        register_rule(signsgd)
    unregister_rule("signsgd")
    try:
        assert "signsgd" not in RULES
        with pytest.raises(SceneError, match="unknown rule"):
            parse_scene(TOML)
    finally:
        register_rule(signsgd)  # the fixture unregisters it


def test_nothing_leaks_from_other_tests() -> None:
    assert "signsgd" not in RULES
    with pytest.raises(SceneError):
        OptimizerEntry("signsgd", "x")


def test_a_registered_rule_reaches_every_view(signsgd: Rule, window) -> None:  # noqa: ANN001
    ctl = window.controller
    panel = window.optimizers
    panel.add_menu.aboutToShow.emit()  # the menu fills as it opens
    (action,) = [a for a in panel.add_menu.actions() if a.text().startswith("signSGD")]
    assert action.text() == "signSGD  —  θ ← θ − η sign(g)"
    action.trigger()

    # The optimizer panel: a row with the rule's tooltip and symbol.
    row = panel.rows["signSGD"]
    assert row.name_edit.toolTip() == "signSGD: θ ← θ − η sign(g)"
    assert set(row.spins) == {"learning_rate"} and row.spins["learning_rate"].value() == 0.05
    # The simulation: each axis moves by exactly η.
    path = ctl.results["signSGD"]
    np.testing.assert_allclose(np.abs(path.updates), 0.05, rtol=1e-12)

    # The equation panel, with the step's numbers, and its step-by-step stages.
    ctl.set_step(5)
    window.equation_dock.show()
    equations = window.equations
    equations.throttle.flush()
    assert "θ ← θ − η sign(g)" in equations.text.toPlainText()
    numbers = dict(equations.rows())["signSGD"]
    u = path.updates[5]
    assert numbers["u"] == f"({u[0]:+.4g}, {u[1]:+.4g})"
    equations.entry.setCurrentText("signSGD")
    equations.show_stage(1)
    assert "only the sign of g" in equations.caption.text()
    equations.show_stage(-1)

    # The overlays: the update arrow is drawn, no adaptive-scale ellipse.
    shapes = geometry_by_entry(ctl, ctl.scene.view_rect(), (0.01, 0.01), {"update", "scale"})
    assert "signSGD" in shapes["update"] and "signSGD" not in shapes["scale"]

    # The CSV: one row per point.
    lines = trajectories_text(ctl.results).strip().splitlines()[1:]
    rows = [cells for cells in (line.split(",") for line in lines) if cells[0] == "signSGD"]
    assert len(rows) == path.steps + 1
    np.testing.assert_array_equal(np.array([r[2:4] for r in rows], dtype=float), path.params)


def test_scene_with_a_registered_rule_saves_and_reloads(signsgd: Rule) -> None:
    scene = Scene(problem="quadratic", optimizers=(OptimizerEntry("signsgd", "s"),), steps=5)
    again = parse_scene(dumps_scene(scene))
    assert again.optimizers[0].rule == "signsgd"
