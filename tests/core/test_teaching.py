"""Every rule's step decomposes into its equation's parts, read back from the recorded state."""

from __future__ import annotations

import numpy as np
import pytest

from gdviz.core import RULES, OptimizerEntry, Scene, simulate
from gdviz.core.optimizers import CONVENTIONS
from gdviz.core.teaching import stage_captions, step_parts


def _scene(rule: str, convention: str) -> Scene:
    return Scene(
        problem="quadratic",
        problem_params={"condition": 5.0, "angle": 20.0},
        optimizers=(OptimizerEntry(rule, "x", {"learning_rate": 0.05}),),
        steps=40,
        start=(3.0, -2.0),
        convention=convention,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("rule", RULES)
def test_update_is_minus_scale_times_direction(rule: str, convention: str) -> None:
    scene = _scene(rule, convention)
    path = simulate(scene)["x"]
    for k in (0, 1, 7, 39):
        parts = step_parts(path, scene.optimizers[0], scene.convention, k)
        # The decoupled decay (AdamW, Lion) is a term of its own: u = −scale · direction + decay.
        decay = 0.0 if parts.decay is None else parts.decay
        np.testing.assert_allclose(
            parts.update - decay, -parts.scale * parts.direction, rtol=1e-12, atol=1e-15
        )
        np.testing.assert_array_equal(parts.grad, path.grads[k])
        np.testing.assert_allclose(
            parts.point + parts.update, path.params[k + 1], rtol=1e-15, atol=1e-15
        )
        assert len(stage_captions(parts)) == 4
    assert RULES[rule].equations[convention] and RULES[rule].summary[convention]


def test_adagrad_scale_only_shrinks_and_momentum_velocity_and_lookahead() -> None:
    scene = _scene("adagrad", "optax")
    path = simulate(scene)["x"]
    scales = np.array([step_parts(path, scene.optimizers[0], "optax", k).scale for k in range(40)])
    assert np.all(np.diff(scales, axis=0) <= 0)
    scene = _scene("nesterov", "optax")
    path = simulate(scene)["x"]
    parts = step_parts(path, scene.optimizers[0], "optax", 5)
    v = path.state["trace"][5]
    np.testing.assert_allclose(parts.velocity, -0.05 * v)
    np.testing.assert_allclose(parts.lookahead, path.params[5] - 0.05 * 0.9 * v)


def test_adam_numbers_are_the_bias_corrected_moments() -> None:
    scene = _scene("adam", "optax")
    path = simulate(scene)["x"]
    parts = step_parts(path, scene.optimizers[0], "optax", 0)
    g = path.grads[0]
    np.testing.assert_allclose(parts.state["m̂"], g, rtol=1e-12)  # (1-b1) g / (1-b1)
    np.testing.assert_allclose(parts.state["ν̂"], g * g, rtol=1e-12)


@pytest.mark.parametrize("rule", ["adagrad", "rmsprop"])
def test_equations_follow_the_convention_where_the_libraries_differ(rule: str) -> None:
    r = RULES[rule]
    for texts in (r.summary, {c: " ".join(lines) for c, lines in r.equations.items()}):
        assert "√(" in texts["optax"] and "+ ε)" in texts["optax"]  # eps inside the root
        assert "(√" in texts["pytorch"] and "+ ε)" in texts["pytorch"]  # eps outside it
        assert texts["optax"] != texts["pytorch"]


def test_adaptive_flag_and_symbols_come_from_the_rule() -> None:
    assert {n for n, r in RULES.items() if r.adaptive} >= {"adagrad", "adadelta", "rmsprop", "adam"}
    assert not RULES["sgd"].adaptive and not RULES["momentum"].adaptive
    assert [h.symbol for h in RULES["adam"].hyperparams] == ["η", "β₁", "β₂", "ε"]
    assert all(h.symbol for r in RULES.values() for h in r.hyperparams)
