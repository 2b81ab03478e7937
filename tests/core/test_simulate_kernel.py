"""The one-kernel program, its fallbacks, and what simulate keeps between drags (issue 18)."""

from __future__ import annotations

import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gdviz.core import OptimizerEntry, Scene, simulate
from gdviz.core.lru import LRU
from gdviz.core.optimizers import EntryKind

sim = sys.modules["gdviz.core.simulate"]  # (gdviz.core.simulate the name is the function)


def _scene() -> Scene:
    """Every path of the scan body: grouped full-batch gradients, a mini-batch with gradient
    noise, L2 and clipping, a schedule with decoupled decay, and Newton's Hessian."""
    return Scene(
        problem="linear_regression",
        problem_params={"n": 40},
        optimizers=(
            OptimizerEntry("sgd", "gd", {"learning_rate": 0.1}),
            OptimizerEntry("sgd", "sgd", {"learning_rate": 0.05}, batch_size=8, gradient_noise=0.3),
            OptimizerEntry("adam", "adam", {"learning_rate": 0.1}, l2=0.2, clip_norm=1.5),
            OptimizerEntry(
                "rmsprop", "rms", {"learning_rate": 0.05}, schedule="cosine", weight_decay=0.1
            ),
            OptimizerEntry("newton", "newton", {"learning_rate": 0.5}),
        ),
        start=(-2.0, 4.0),
        steps=40,
    )


def _programs_and_args(scene: Scene) -> tuple[object, tuple[object, ...]]:
    problem = scene.build_problem(minima="defer")
    prep = sim._prepare(scene, problem)
    starts = np.array([scene.start_of(e) for e in scene.optimizers], dtype=np.float64)
    return sim._compiled.get(prep.key), (starts, *prep.args)


def test_the_one_kernel_run_equals_the_ordinary_kernels_run() -> None:
    scene = _scene()
    simulate(scene)
    programs, args = _programs_and_args(scene)
    assert not programs.one_kernel_failed
    # The fast path is the one taken: the whole run is a call XLA compiles as one kernel.
    assert "xla_cpu_small_call" in programs.run.lower(*args).as_text()
    fast = jax.device_get(programs.run(*args))
    slow = jax.device_get(programs.run_all(*args))
    np.testing.assert_array_equal(fast.diverged_at, slow.diverged_at)
    np.testing.assert_allclose(fast.table, slow.table, rtol=1e-12, atol=1e-12)
    # And the table is what simulate's Trajectories view.
    paths = simulate(scene)
    np.testing.assert_array_equal(paths["newton"].params, fast.params[4])
    np.testing.assert_array_equal(paths["sgd"].loss, fast.loss[1])
    np.testing.assert_array_equal(paths["adam"].state["nu"], fast.state[2, :, 1])


def test_a_primitive_the_one_kernel_emitter_refuses_keeps_ordinary_kernels() -> None:
    def dot_loss(p, c, d):  # noqa: ANN001, ANN202
        del c, d
        return jnp.dot(p, p)  # a dot_general: Eigen's, which the one-kernel emitter refuses

    def plain_loss(p, c, d):  # noqa: ANN001, ANN202
        del c, d
        return p[0] ** 2 + p[1] ** 2

    start = np.array([[1.0, -2.0]])
    h = ({"learning_rate": np.float64(0.1)},)
    args = (start, h, np.zeros(1), {}, (), (None,), np.zeros((25, 2)))
    for loss, tagged in ((dot_loss, False), (plain_loss, True)):
        programs = sim._Programs(loss, "optax", (EntryKind("sgd"),), (False,))
        assert ("xla_cpu_small_call" in programs.run.lower(*args).as_text()) is tagged
        # Plain GD on |p|^2: p_k = (1 - 2 lr)^k p_0, in either kind of program.
        out = jax.device_get(sim._run(programs, args))
        expected = 0.8 ** np.arange(26)[:, None] * start[0]
        np.testing.assert_allclose(out.params[0], expected, rtol=1e-13, atol=1e-15)


def test_simulate_falls_back_when_the_one_kernel_program_does_not_compile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sim, "_compiled", LRU(lambda: sim.MAX_COMPILED))
    scene = _scene()
    first = simulate(scene)
    programs, _ = _programs_and_args(scene)
    calls = []

    def refused(*args: object) -> object:
        calls.append(args)
        raise jax.errors.JaxRuntimeError("UNIMPLEMENTED: Fusion kind not implemented on CPU")

    programs.run = refused
    again = simulate(scene.with_start((-1.0, 3.0)))
    back = simulate(scene)
    assert programs.one_kernel_failed and len(calls) == 1  # tried once, then never again
    for label, path in first.items():
        np.testing.assert_allclose(back[label].params, path.params, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(back[label].loss, path.loss, rtol=1e-12, atol=1e-12)
    assert again["gd"].params[0].tolist() == [-1.0, 3.0]


def test_a_moved_start_reuses_the_prepared_scene_and_an_edit_makes_a_new_one() -> None:
    scene = _scene()
    problem = scene.build_problem(minima="defer")
    simulate(scene, problem)
    prepared = sim._prepare(scene, problem)
    moved = scene.with_start((0.5, -1.0))
    paths = simulate(moved, problem)
    assert sim._prepare(moved, problem) is prepared
    assert paths["gd"].params[0].tolist() == [0.5, -1.0]
    # An edit is a new entries tuple: its values are read afresh, never a stale copy.
    edited = moved.replace_entry("gd", hyperparams={"learning_rate": 0.2})
    gd = simulate(edited, problem)["gd"]
    assert sim._prepare(edited, problem) is not prepared
    np.testing.assert_array_equal(gd.learning_rates, np.full(40, 0.2))
    np.testing.assert_allclose(gd.updates, -0.2 * gd.grads, rtol=1e-15, atol=1e-15)
    assert not gd.learning_rates.flags.writeable  # shared by every run of the scene
