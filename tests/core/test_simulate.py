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
from gdviz.core.lru import LRU
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
    assert len(set(np.asarray(sched7).ravel().tolist())) == 35


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


# --- issue 10: no NaN or inf ever leaves the core; memory is bounded -----------------------------

import sys  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from gdviz.core import RULES, SceneError  # noqa: E402
from gdviz.core.scene import MAX_COORD  # noqa: E402
from gdviz.core.simulate import (  # noqa: E402
    BATCH_TABLE_ELEMS,
    MAX_COMPILED,
    MAX_STATE_VECTORS,
    Record,
    _finish,
    compiled_count,
    structure_key,
)

sim = sys.modules["gdviz.core.simulate"]  # (gdviz.core.simulate the name is the function)
_coord = st.floats(-MAX_COORD, MAX_COORD, allow_nan=False)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    problem=st.sampled_from(sorted(PROBLEMS)),
    start=st.tuples(_coord, _coord),
    starts=st.lists(st.one_of(st.none(), st.tuples(_coord, _coord)), min_size=7, max_size=7),
    lrs=st.lists(st.floats(1e-4, 10.0), min_size=7, max_size=7),
    seed=st.integers(0, 3),
)
def test_simulate_never_returns_a_non_finite_value_for_an_accepted_start(
    problem: str, start, starts, lrs, seed: int
) -> None:  # noqa: ANN001
    rules = sorted(RULES)[:7]
    entries = tuple(
        OptimizerEntry(rule, rule, {"learning_rate": lr}, start=s)
        for rule, lr, s in zip(rules, lrs, starts, strict=False)
    )
    scene = Scene(problem=problem, optimizers=entries, start=start, steps=25, seed=seed)
    for path in simulate(scene).values():
        for arr in (path.params, path.loss, path.grads, path.updates, *path.state.values()):
            assert np.all(np.isfinite(arr)), (path.label, path.diverged_at)
        k = path.diverged_at
        if k is not None:
            assert k >= 1 and np.all(path.params[k:] == path.params[k - 1])


def test_a_refused_start_freezes_at_row_0_never_at_row_minus_1() -> None:
    # Entry 0 starts at a non-finite point: the old freeze stepped back to index -1 and showed
    # the *last* row as the whole path. Entry 1 diverges at step 2.
    def loss(p, c, d):  # noqa: ANN001, ANN202
        del c, d
        return jnp.sum(p**2)

    def record(*points: tuple[float, float]) -> Record:
        params = jnp.array(points)
        one = jnp.ones_like(params)
        return Record.of(params, one, -one, [jnp.zeros_like(params)] * MAX_STATE_VECTORS)

    first = record((jnp.inf, 0.0), (1.0, 1.0))
    rows = Record(
        jnp.stack(
            [
                record((5, 5), (2, 2)).data,
                record((7, 7), (jnp.nan, 0)).data,
                record((9, 9), (3, 3)).data,
            ]
        )
    )
    paths = jax.device_get(_finish(loss, {}, (), first, rows))
    assert paths.diverged_at.tolist() == [0, 2]
    assert np.all(paths.params[0, :, 0] == np.inf)  # row 0 held: never the last row's 9.0
    assert not np.any(paths.params[0] == 9.0)
    np.testing.assert_array_equal(paths.params[1], [[1, 1], [2, 2], [2, 2], [2, 2]])
    # The moves of entry 1: step 0 (to (2, 2)) kept, step 1 (to the NaN) and on zeroed.
    np.testing.assert_array_equal(paths.grads[1], [[1, 1], [0, 0], [0, 0]])
    np.testing.assert_array_equal(paths.updates[1], [[-1, -1], [0, 0], [0, 0]])
    assert paths.state.shape == (2, 3, MAX_STATE_VECTORS, 2)


def test_a_record_is_read_by_name() -> None:
    params, grad, update = jnp.array([[1.0, 2.0]]), jnp.array([[3.0, 4.0]]), jnp.array([[5.0, 6.0]])
    vectors = [jnp.array([[7.0 + 2 * j, 8.0 + 2 * j]]) for j in range(MAX_STATE_VECTORS)]
    r = Record.of(params, grad, update, vectors)
    for name, value in (("params", params), ("grad", grad), ("update", update)):
        np.testing.assert_array_equal(getattr(r, name), value)
    np.testing.assert_array_equal(r.state, jnp.stack(vectors, axis=1))
    # A pytree of one leaf: the scan writes one buffer per step, and stacks records by step.
    assert len(jax.tree_util.tree_leaves(r)) == 1
    stacked = jax.lax.scan(lambda c, _: (c, r), 0, None, length=3)[1]
    assert stacked.state.shape == (3, 1, MAX_STATE_VECTORS, 2)
    np.testing.assert_array_equal(stacked.grad[2], grad)
    np.testing.assert_array_equal(Record.stack([r, r]).params[:, 0], [params[0], params[0]])


def test_simulate_refuses_a_start_whose_loss_is_not_finite(monkeypatch: pytest.MonkeyPatch) -> None:
    real = sim._finish

    def poisoned(loss_fn, consts, data, first, rows, *known):  # noqa: ANN001, ANN002, ANN202
        return real(loss_fn, consts, data, Record(first.data.at[0, 0].set(jnp.nan)), rows, *known)

    monkeypatch.setattr(sim, "_finish", poisoned)
    monkeypatch.setattr(sim, "_compiled", LRU(lambda: sim.MAX_COMPILED))
    scene = Scene(
        problem="quadratic", optimizers=(OptimizerEntry("sgd", "gd"),), steps=7, start=(1.0, 2.0)
    )
    with pytest.raises(SceneError, match="gd: the loss at the start"):
        simulate(scene)


def test_chunked_scans_give_the_same_paths_and_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    scene = _regression(
        OptimizerEntry("sgd", "a", {"learning_rate": 0.05}, batch_size=7),
        OptimizerEntry("adam", "b", batch_size=13),
        OptimizerEntry("momentum", "c"),
        OptimizerEntry("rmsprop", "d", batch_size=7, gradient_noise=0.3),
        steps=101,
    )
    whole = simulate(scene)
    # 27 indices per step: a bound of 300 makes chunks of 11 steps, the last one padded.
    monkeypatch.setattr(sim, "BATCH_TABLE_ELEMS", 300)
    assert sim._plan(scene, scene.build_problem())[2] == 11
    chunked = simulate(scene)
    for label, path in whole.items():
        np.testing.assert_allclose(chunked[label].params, path.params, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(chunked[label].loss, path.loss, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(chunked[label].grads, path.grads, rtol=1e-12, atol=1e-12)
        if path.batches is not None:
            np.testing.assert_array_equal(np.asarray(chunked[label].batches), path.batches)
    assert BATCH_TABLE_ELEMS * 4 <= 16 * 2**20  # the stated bound: 16 MB of int32 indices


def test_the_issue_scene_of_32_huge_batch_sizes_plans_bounded_chunks() -> None:
    # Issue 10, item 3: steps = n = 10,000 and 32 batch sizes 9968..9999 reached 5.4 GB. The plan
    # holds at most BATCH_TABLE_ELEMS indices at once and no schedule keeps a table of its own.
    entries = tuple(
        OptimizerEntry("sgd", f"b{b}", {"learning_rate": 0.01}, batch_size=b)
        for b in range(9968, 10000)
    )
    scene = Scene(
        problem="linear_regression", problem_params={"n": 10_000}, optimizers=entries, steps=10_000
    )
    _, _, chunk = sim._plan(scene, scene.build_problem())
    per_step = sum(range(9968, 10000))
    assert chunk * per_step <= BATCH_TABLE_ELEMS and chunk >= 10
    schedule = batch_schedule(10_000, 9999, 10_000, 0)
    row = schedule[9_999]  # the last step, drawn on demand
    assert row.shape == (9999,) and len(set(row.tolist())) == 9999
    assert sim.cached_table_bytes() <= sim.TABLE_CACHE_BYTES


def test_compiled_programs_are_a_bounded_lru(monkeypatch: pytest.MonkeyPatch) -> None:
    # A bound of 3 in a cache of the test's own: the same eviction as at MAX_COMPILED, five
    # compiles instead of eighteen, and the worker's other programs stay compiled.
    limit = 3
    monkeypatch.setattr(sim, "_compiled", LRU(lambda: limit))
    base = Scene(
        problem="quadratic", optimizers=(OptimizerEntry("sgd", "gd"),), steps=3, start=(1.0, 1.0)
    )
    simulate(base)
    for steps in range(4, 4 + limit + 1):
        simulate(base.replace(steps=steps))
        assert compiled_count() <= limit
    assert compiled_count() == limit
    # The oldest shape was evicted; the newest is still compiled.
    from gdviz.core.simulate import is_compiled

    assert not is_compiled(base)
    assert is_compiled(base.replace(steps=4 + limit))
    assert MAX_COMPILED >= 8  # the real bound holds a session's few shapes
    assert structure_key(base) != structure_key(base.replace(steps=4))
