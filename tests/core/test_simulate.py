"""Trajectories: gradients, batches, seeds, compilation, divergence."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gdviz.core import PROBLEMS, OptimizerEntry, Scene, load_scene, make_problem, simulate
from gdviz.core.simulate import batch_schedule

POINTS = [(-1.3, 0.7), (0.4, -2.1), (2.5, 1.5)]


@pytest.mark.parametrize("name", PROBLEMS)
@pytest.mark.parametrize("point", POINTS)
def test_gradient_matches_central_differences(name: str, point: tuple[float, float]) -> None:
    problem = make_problem(name)
    p = jnp.asarray(point)
    consts, batch = problem.jax_consts(), problem.full_batch()
    g = np.asarray(jax.grad(problem.loss_fn)(p, consts, batch))
    h = 1e-6
    fd = np.array(
        [(problem.loss(p + h * e) - problem.loss(p - h * e)) / (2 * h) for e in np.eye(2)]
    )
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-6 * max(1.0, np.abs(fd).max()))
    # jacfwd (what the scan uses) and grad agree to rounding.
    np.testing.assert_allclose(jax.jacfwd(problem.loss_fn)(p, consts, batch), g, rtol=1e-12)


def _regression(*entries: OptimizerEntry, **kw: object) -> Scene:
    return Scene(
        problem="linear_regression",
        problem_params={"n": 40},
        optimizers=entries,
        start=(-2.0, 4.0),
        steps=kw.pop("steps", 120),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def test_batch_size_n_equals_full_batch_exactly() -> None:
    paths = simulate(
        _regression(
            OptimizerEntry("sgd", "full", {"learning_rate": 0.1}),
            OptimizerEntry("sgd", "n", {"learning_rate": 0.1}, batch_size=40),
            OptimizerEntry("adam", "adam full"),
            OptimizerEntry("adam", "adam n", batch_size=40),
        )
    )
    np.testing.assert_array_equal(paths["full"].params, paths["n"].params)
    np.testing.assert_array_equal(paths["adam full"].params, paths["adam n"].params)


def test_batches_are_without_replacement_within_an_epoch() -> None:
    sched = batch_schedule(40, 8, 25, seed=3)
    assert sched.shape == (25, 8)
    for epoch in range(5):
        seen = sched[5 * epoch : 5 * epoch + 5].ravel()
        assert sorted(seen.tolist()) == list(range(40))
    assert not np.array_equal(sched[:5], sched[5:10])
    # A remainder is dropped: 40 // 7 = 5 batches of 7 per epoch, all distinct.
    sched7 = batch_schedule(40, 7, 5, seed=3)
    assert len(set(sched7.ravel().tolist())) == 35


def test_stochastic_runs_repeat_with_a_seed_and_differ_with_another() -> None:
    scene = _regression(OptimizerEntry("sgd", "sgd", {"learning_rate": 0.05}, batch_size=1))
    a, b = simulate(scene)["sgd"], simulate(scene)["sgd"]
    c = simulate(scene.replace(seed=1))["sgd"]
    np.testing.assert_array_equal(a.params, b.params)
    assert np.abs(a.params - c.params).max() > 1e-3
    # ... and it is stochastic: not the full-batch path.
    full = simulate(
        scene.replace(optimizers=(OptimizerEntry("sgd", "sgd", {"learning_rate": 0.05}),))
    )
    assert np.abs(a.params - full["sgd"].params).max() > 1e-2


def test_entries_with_one_batch_size_see_the_same_batches() -> None:
    paths = simulate(
        _regression(
            OptimizerEntry("sgd", "a", {"learning_rate": 0.05}, batch_size=4),
            OptimizerEntry("momentum", "b", batch_size=4),
            OptimizerEntry("adam", "c", batch_size=5),
        )
    )
    np.testing.assert_array_equal(paths["a"].batches, paths["b"].batches)
    assert paths["c"].batches.shape == (120, 5)
    # The recorded gradient is the mini-batch gradient of the recorded batch.
    problem = make_problem("linear_regression", {"n": 40})
    k = 17
    idx = paths["a"].batches[k]
    batch = (jnp.asarray(problem.x[idx]), jnp.asarray(problem.y[idx]))
    g = jax.grad(problem.loss_fn)(jnp.asarray(paths["a"].params[k]), {}, batch)
    np.testing.assert_allclose(paths["a"].grads[k], g, rtol=1e-12)


def test_gradient_noise_is_seeded_and_common_to_entries() -> None:
    noisy = OptimizerEntry("sgd", "noisy", {"learning_rate": 0.1}, gradient_noise=2.0)
    twin = OptimizerEntry("sgd", "twin", {"learning_rate": 0.1}, gradient_noise=2.0)
    clean = OptimizerEntry("sgd", "clean", {"learning_rate": 0.1})
    scene = Scene(problem="quadratic", optimizers=(noisy, twin, clean), start=(3.0, 3.0), steps=50)
    paths = simulate(scene)
    np.testing.assert_array_equal(paths["noisy"].params, paths["twin"].params)
    assert np.abs(paths["noisy"].params - paths["clean"].params).max() > 0.1
    again = simulate(scene)["noisy"]
    np.testing.assert_array_equal(again.params, paths["noisy"].params)


@contextmanager
def count_compilations() -> Iterator[list[str]]:
    """Messages of every XLA compilation inside the block (as optax's test_utils does)."""
    messages: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if re.search(r"Finished .*compilation", record.getMessage()):
                messages.append(record.getMessage())

    handler = Catch(level=logging.DEBUG)
    loggers = [
        logging.getLogger(n) for n in ("jax", "jax._src.dispatch", "jax._src.interpreters.pxla")
    ]
    for lg in loggers:
        lg.addHandler(handler)
    try:
        with jax.log_compiles(True):
            yield messages
    finally:
        for lg in loggers:
            lg.removeHandler(handler)


def test_start_hyperparameters_and_data_values_never_recompile() -> None:
    scene = load_scene("linear-regression")
    simulate(scene)  # warm up
    with count_compilations() as warm:
        simulate(scene.with_start((1.5, -2.0)))
    assert warm == []
    edited = scene.replace(
        optimizers=tuple(
            e.with_hyperparam(
                "learning_rate", 0.5 * e.resolved_hyperparams("optax")["learning_rate"]
            )
            for e in scene.optimizers
        ),
        problem_params={**scene.problem_params, "noise": 1.5, "data_seed": 7},
    )
    with count_compilations() as compiled:
        paths = simulate(edited)
    assert compiled == []
    assert not np.array_equal(paths["Adam"].params, simulate(scene)["Adam"].params)
    # The counter does see compilations: a new step count is a new shape.
    with count_compilations() as shape_change:
        simulate(scene.replace(steps=scene.steps + 1))
    assert shape_change


def test_divergence_is_recorded_and_nothing_non_finite_escapes() -> None:
    scene = Scene(
        problem="quadratic",
        problem_params={"condition": 10.0},
        optimizers=(
            OptimizerEntry("sgd", "too fast", {"learning_rate": 0.5}),
            OptimizerEntry("sgd", "fine", {"learning_rate": 0.05}),
            OptimizerEntry("adam", "nan maker", {"learning_rate": 10.0}),
        ),
        start=(3.0, 2.0),
        steps=400,
    )
    paths = simulate(scene)
    bad = paths["too fast"]
    assert bad.diverged_at is not None and 5 < bad.diverged_at < 400
    k = bad.diverged_at
    assert np.all(bad.params[k:] == bad.params[k - 1])
    assert np.all(bad.loss[k:] == bad.loss[k - 1])
    assert np.all(bad.grads[k - 1 :] == 0) and np.all(bad.updates[k - 1 :] == 0)
    assert np.abs(bad.grads[k - 2]).max() > 0
    assert paths["fine"].diverged_at is None
    for path in paths.values():
        for arr in (path.params, path.loss, path.grads, path.updates, *path.state.values()):
            assert np.all(np.isfinite(arr))


def test_a_run_into_infinity_stops_at_its_last_finite_point() -> None:
    # x^2 - y^2 has no bottom: GD runs away from the saddle along y, exponentially.
    scene = Scene(
        problem="saddle",
        optimizers=(OptimizerEntry("sgd", "gd", {"learning_rate": 0.4}),),
        start=(1.0, 0.01),
        steps=2000,
    )
    path = simulate(scene)["gd"]
    assert path.diverged_at is not None
    assert np.all(np.isfinite(path.params)) and np.all(np.isfinite(path.loss))
    assert np.abs(path.params).max() <= 1e6
