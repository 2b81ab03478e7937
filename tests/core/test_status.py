"""Status words are decided from the numbers: converged, stuck, stalled, diverged."""

from __future__ import annotations

from gdviz.core import OptimizerEntry, Scene, load_scene, simulate
from gdviz.core.status import classify


def _status(scene: Scene, label: str, step: int | None = None) -> str:
    paths = simulate(scene)
    problem = scene.build_problem()
    path = paths[label]
    return classify(path, problem, path.steps if step is None else step, scale=10.0).text


def test_gd_on_the_regression_bowl_converges() -> None:
    scene = load_scene("linear-regression")
    assert _status(scene, "Batch GD") == "converged"
    assert _status(scene, "Batch GD", step=3) == "converging"


def test_gd_started_on_the_saddle_axis_is_stuck_at_the_saddle() -> None:
    scene = Scene(
        problem="saddle",
        optimizers=(OptimizerEntry("sgd", "gd", {"learning_rate": 0.1}),),
        start=(1.5, 0.0),
        steps=300,
    )
    assert _status(scene, "gd") == "stuck at a stationary point"


def test_adagrad_stalls_on_rosenbrock() -> None:
    assert _status(load_scene("rosenbrock"), "AdaGrad") == "stalled: steps too small"


def test_divergence_is_reported_with_its_step() -> None:
    scene = Scene(
        problem="quadratic",
        optimizers=(OptimizerEntry("sgd", "gd", {"learning_rate": 0.5}),),
        start=(3.0, 2.0),
        steps=400,
    )
    path = simulate(scene)["gd"]
    assert _status(scene, "gd") == f"diverged at step {path.diverged_at}"
    assert _status(scene, "gd", step=path.diverged_at - 1) == "converging"


def test_regularised_rests_are_converged_not_stalled() -> None:
    """AdamW rests where its decay cancels its step, Adam + L2 where l2 θ cancels ∇f: both
    converged to their own objectives, though the plain loss's gradient is large there."""
    scene = load_scene("weight-decay")
    paths, problem = simulate(scene), scene.build_problem()
    texts = {
        e.label: classify(paths[e.label], problem, scene.steps, 10.0, e.l2).text
        for e in scene.optimizers
    }
    assert texts == {
        "AdamW (decay 0.5)": "converged: weight decay balances the loss",
        "Adam + L2 (0.5)": "converged: the L2 term balances the loss",
    }
    # Without its l2 the same path would be "stalled": the claim rests on the regulariser.
    adam = scene.entry("Adam + L2 (0.5)")
    assert classify(paths[adam.label], problem, scene.steps, 10.0).text.startswith("stalled")


def test_clipped_small_steps_are_not_taken_for_a_regulariser() -> None:
    scene = Scene(
        problem="quadratic",
        optimizers=(OptimizerEntry("sgd", "gd", {"learning_rate": 0.1}, clip_norm=1e-3),),
        start=(3.0, 2.0),
        steps=200,
    )
    assert _status(scene, "gd") == "stalled: steps too small"
