"""Every rule against the plain-loop references, in both conventions, on three problems."""

from __future__ import annotations

import numpy as np
import pytest

from gdviz.core import RULES, OptimizerEntry, Scene, make_problem, simulate
from gdviz.core import reference as ref
from gdviz.core.optimizers import CONVENTIONS

STEPS = 100

# (problem name, problem params, start, learning rate per rule, reference gradient)
_REG = make_problem("linear_regression", {"n": 50, "noise": 0.3, "data_seed": 3})
PROBLEMS = {
    "rosenbrock": (
        {},
        (-1.2, 1.0),
        {
            "sgd": 1e-3,
            "momentum": 3e-4,
            "nesterov": 3e-4,
            "adagrad": 0.1,
            "adadelta": 1.0,
            "rmsprop": 3e-3,
            "adam": 1e-2,
        },
        ref.rosenbrock_grad(),
    ),
    "quadratic": (
        {"condition": 20.0},
        (4.0, -3.0),
        {
            "sgd": 0.05,
            "momentum": 0.02,
            "nesterov": 0.02,
            "adagrad": 0.5,
            "adadelta": 1.0,
            "rmsprop": 0.05,
            "adam": 0.1,
        },
        ref.quadratic_grad(20.0),
    ),
    "linear_regression": (
        {"n": 50, "noise": 0.3, "data_seed": 3},
        (-2.0, 4.0),
        {
            "sgd": 0.1,
            "momentum": 0.03,
            "nesterov": 0.03,
            "adagrad": 0.5,
            "adadelta": 1.0,
            "rmsprop": 0.05,
            "adam": 0.1,
        },
        ref.mse_grad(_REG.x, _REG.y),
    ),
}


CLASSIC = tuple(PROBLEMS["rosenbrock"][2])
"""The classic seven, one scene each here; the newer rules are checked together, one scene per
problem and convention, in test_rules_more.py."""


def _defaults(rule: str, convention: str) -> dict[str, float]:
    """The library defaults as the reference module states them (not gdviz's table)."""
    return dict(ref.LIBRARY_DEFAULTS[convention][rule])


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("rule", CLASSIC)
def test_rule_matches_plain_loop_reference(rule: str, problem: str, convention: str) -> None:
    params, start, lrs, grad = PROBLEMS[problem]
    lr = lrs[rule]
    scene = Scene(
        problem=problem,
        problem_params=params,
        optimizers=(OptimizerEntry(rule, "x", {"learning_rate": lr}),),
        steps=STEPS,
        start=start,
        convention=convention,  # type: ignore[arg-type]
    )
    path = simulate(scene)["x"]
    assert path.diverged_at is None
    expected = ref.run(
        rule, convention, grad, start, STEPS, learning_rate=lr, **_defaults(rule, convention)
    )
    np.testing.assert_allclose(path.params, expected, rtol=0, atol=1e-9)
    # The recorded update is the applied one, and the path moved.
    np.testing.assert_allclose(path.params[1:] - path.params[:-1], path.updates, atol=1e-12)
    assert np.abs(path.params[-1] - path.params[0]).max() > 1e-3


@pytest.mark.parametrize("rule", ["rmsprop", "adagrad"])
def test_conventions_differ_where_the_libraries_do(rule: str) -> None:
    scene = Scene(
        problem="quadratic",
        optimizers=(OptimizerEntry(rule, "x", {"learning_rate": 0.1}),),
        steps=20,
        start=(3.0, 2.0),
    )
    a = simulate(scene)["x"].params
    b = simulate(scene.replace(convention="pytorch"))["x"].params
    assert np.abs(a - b).max() > 1e-3


def test_nesterov_with_zero_momentum_is_sgd() -> None:
    entries = (
        OptimizerEntry("nesterov", "n", {"learning_rate": 0.05, "momentum": 0.0}),
        OptimizerEntry("sgd", "s", {"learning_rate": 0.05}),
    )
    paths = simulate(Scene(problem="rosenbrock", optimizers=entries, steps=50, start=(0.5, 0.5)))
    np.testing.assert_array_equal(paths["n"].params, paths["s"].params)


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("rule", RULES)
def test_every_rule_lowers_a_convex_bowl_at_its_defaults(rule: str, convention: str) -> None:
    scene = Scene(
        problem="quadratic",
        optimizers=(OptimizerEntry(rule, "x"),),
        steps=200,
        start=(-4.0, 3.0),
        convention=convention,  # type: ignore[arg-type]
    )
    path = simulate(scene)["x"]
    assert path.diverged_at is None
    assert path.loss[1] < path.loss[0]  # the first step goes down (momentum may swing up later)
    # AdaDelta's first steps are about sqrt(eps) = 1e-3 long by design (it has no learning rate
    # in the paper), so at its defaults it only starts down the bowl within 200 steps.
    assert path.loss[-1] < (0.99 if rule == "adadelta" else 0.5) * path.loss[0]


def test_state_vectors_are_recorded_by_name() -> None:
    entries = tuple(OptimizerEntry(rule, rule) for rule in RULES)
    paths = simulate(Scene(problem="quadratic", optimizers=entries, steps=10, start=(1.0, 1.0)))
    assert set(paths["adam"].state) == {"mu", "nu"}
    assert set(paths["momentum"].state) == {"trace"}
    assert set(paths["adagrad"].state) == {"sum_of_squares"}
    assert set(paths["sgd"].state) == set()
    # Adam's first moment after one step is (1 - b1) g.
    np.testing.assert_allclose(paths["adam"].state["mu"][0], 0.1 * paths["adam"].grads[0])
    # AdaGrad's accumulator (optax: starts at 0.1) after step k holds 0.1 + sum of g^2.
    acc = 0.1 + np.cumsum(paths["adagrad"].grads ** 2, axis=0)
    np.testing.assert_allclose(paths["adagrad"].state["sum_of_squares"], acc)
