"""Basin and stability maps: outcomes against theory, against simulate, and their edges."""

from __future__ import annotations

from collections import deque

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gdviz.core import OptimizerEntry, Scene, load_scene, simulate
from gdviz.core import basins as bm
from gdviz.core.basins import DIVERGED, Cancelled, basins, stability
from tests.core.test_simulate import count_compilations


def _components(mask: np.ndarray) -> int:
    """4-connected regions of True in ``mask``."""
    seen = np.zeros_like(mask, dtype=bool)
    count = 0
    for start in zip(*np.nonzero(mask), strict=True):
        if seen[start]:
            continue
        count += 1
        queue = deque([start])
        seen[start] = True
        while queue:
            i, j = queue.popleft()
            for a, b in ((i + 1, j), (i - 1, j), (i, j + 1), (i, j - 1)):
                if (
                    0 <= a < mask.shape[0]
                    and 0 <= b < mask.shape[1]
                    and mask[a, b]
                    and not seen[a, b]
                ):
                    seen[a, b] = True
                    queue.append((a, b))
    return count


def test_every_start_of_every_convergent_rule_ends_in_the_bowls_minimum() -> None:
    scene = Scene(
        problem="quadratic",
        problem_params={"condition": 10.0, "angle": 20.0},
        steps=300,
        optimizers=(
            OptimizerEntry("sgd", "GD", {"learning_rate": 0.1}),
            OptimizerEntry("momentum", "Momentum", {"learning_rate": 0.03, "momentum": 0.9}),
            OptimizerEntry("nesterov", "Nesterov", {"learning_rate": 0.03, "momentum": 0.9}),
            OptimizerEntry("adagrad", "AdaGrad", {"learning_rate": 1.0}),
        ),
    )
    m = basins(scene, 16)
    assert m.outcome.shape == (4, 16, 16) and m.labels == ("GD", "Momentum", "Nesterov", "AdaGrad")
    assert np.all(m.outcome == 0)
    assert np.all((m.settle_step >= 1) & (m.settle_step <= 300))
    assert np.all(m.final_loss < 0.5 * m.tol**2 * 10)  # within tol of (0, 0) on a bowl of κ = 10
    # A start farther out settles later (GD on a bowl: distance shrinks geometrically).
    gd = m.settle_step[0]
    assert gd[0, 0] > gd[8, 8]


def test_gd_on_himmelblau_has_four_regions_each_holding_its_minimum() -> None:
    scene = load_scene("himmelblau-basins").replace(steps=150)  # the next test's program
    m = basins(scene, 24, labels=["GD"])
    gd = m.outcome[0]
    assert set(np.unique(gd)) == {0, 1, 2, 3}
    for k, (x, y) in enumerate(m.minima):
        i, j = np.argmin(np.abs(m.ys - y)), np.argmin(np.abs(m.xs - x))
        assert gd[i, j] == k
        assert _components(gd == k) == 1, k  # one region per minimum
        assert 0.2 < np.mean(gd == k) < 0.3  # about a quarter of the view each


def _expected(path, m, rect) -> tuple[int, int]:  # noqa: ANN001
    return bm.outcome_of_path(
        path.params,
        m.minima,
        m.tol,
        bm.still_tolerance(rect),
        bm.divergence_box(rect),
        path.diverged_at is not None,
    )


# float32 (GD and momentum under "auto"): the same outcome and settle step as simulate's float64
# run. The final loss is float64 at the float32 run's last point, ~1e-7 off simulate's: that
# moves a loss L = λ d² near a minimum by 2 δ / d of itself (5e-4 at L = 2.6e-5), so 1e-2 or 1e-8.
@pytest.mark.parametrize(
    ("precision", "rtol", "atol"), [("auto", 1e-2, 1e-8), ("float64", 1e-9, 1e-12)]
)
def test_the_map_is_simulate_run_from_each_pixel(precision, rtol, atol) -> None:  # noqa: ANN001
    scene = load_scene("himmelblau-basins").replace(steps=150)
    m = basins(scene, 24, precision=precision)
    rect = scene.view_rect()
    rng = np.random.default_rng(3)
    seen = set()
    for i, j in rng.integers(0, 24, size=(50, 2)):
        paths = simulate(scene.with_start((float(m.xs[j]), float(m.ys[i]))))
        for e, label in enumerate(m.labels):
            path = paths[label]
            expect = _expected(path, m, rect)
            assert expect == (m.outcome[e, i, j], m.settle_step[e, i, j]), (label, i, j)
            np.testing.assert_allclose(m.final_loss[e, i, j], path.loss[-1], rtol=rtol, atol=atol)
            seen.add(expect[0])
    assert {0, 1, 2, 3} <= seen


def test_float32_maps_agree_with_float64_and_auto_keeps_adaptive_rules_in_float64() -> None:
    scene = load_scene("himmelblau").replace(steps=150)
    labels = ["GD", "Momentum", "RMSprop"]
    exact = basins(scene, 24, labels=labels, precision="float64")
    auto = basins(scene, 24, labels=labels)
    single = basins(scene, 24, labels=labels, precision="float32")
    assert np.array_equal(auto.outcome, exact.outcome)
    assert np.array_equal(auto.settle_step, exact.settle_step)
    np.testing.assert_array_equal(auto.final_loss[2], exact.final_loss[2])  # RMSprop: float64
    assert not np.array_equal(auto.final_loss[:2], exact.final_loss[:2])  # GD, momentum: float32
    # All in float32: every run ends in the same minimum. RMSprop's settle step is another
    # matter: with its gradient gone its divisor fades, and it turns float32's rounding of the
    # point (~1e-7 of the view) into whole steps off the minimum (the reason for "auto").
    assert np.array_equal(single.outcome, exact.outcome)
    assert np.array_equal(single.settle_step[:2], exact.settle_step[:2])
    assert np.mean(single.settle_step[2] != exact.settle_step[2]) > 0.05


def test_schedules_modifiers_and_newton_run_as_in_simulate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bm, "FUSE_PIXELS", 0)  # float32 momentum and float64 Newton, one scan
    scene = Scene(
        problem="himmelblau",
        steps=40,
        optimizers=(
            OptimizerEntry(
                "momentum",
                "Everything",
                {"learning_rate": 0.0005, "momentum": 0.8},
                schedule="cosine",
                clip_norm=30.0,
                l2=0.05,
                weight_decay=0.1,
            ),
            OptimizerEntry("newton", "Newton", {"learning_rate": 0.5}),
        ),
    )
    m = basins(scene, 6)
    rect = scene.view_rect()
    for i, j in ((0, 0), (2, 4), (5, 1)):
        paths = simulate(scene.with_start((float(m.xs[j]), float(m.ys[i]))))
        for e, label in enumerate(m.labels):
            path = paths[label]
            expect = _expected(path, m, rect)
            assert expect == (m.outcome[e, i, j], m.settle_step[e, i, j]), (label, i, j)
            if expect[0] == DIVERGED:
                assert m.final_loss[e, i, j] == np.inf
            else:  # float32 for the first: see above
                np.testing.assert_allclose(
                    m.final_loss[e, i, j], path.loss[-1], rtol=1e-2, atol=1e-8
                )
    # From these pixels the slow, scheduled, decayed momentum has not arrived after 40 steps:
    # its final losses are far from a minimum's, so a map that dropped a modifier misses them.
    for i, j in ((0, 0), (2, 4), (5, 1)):
        assert m.outcome[0, i, j] == bm.NOT_SETTLED and m.final_loss[0, i, j] > 1e-3


def test_mini_batch_and_noisy_entries_use_the_scenes_seeded_schedules(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bm, "FUSE_PIXELS", 0)  # three batch sizes and noise in one scan
    scene = load_scene("stochastic-vs-batch").replace(steps=60)
    noisy = OptimizerEntry("sgd", "Noisy GD", {"learning_rate": 0.05}, gradient_noise=0.5)
    scene = scene.replace(optimizers=(*scene.optimizers[:2], noisy))
    m = basins(scene, 6)
    rect = scene.view_rect()
    for i, j in ((0, 0), (5, 3)):
        paths = simulate(scene.with_start((float(m.xs[j]), float(m.ys[i]))))
        for e, label in enumerate(m.labels):
            path = paths[label]
            assert _expected(path, m, rect) == (m.outcome[e, i, j], m.settle_step[e, i, j])
            # The same batches and noise (float32 runs: to 1e-6 of the loss).
            np.testing.assert_allclose(m.final_loss[e, i, j], path.loss[-1], rtol=1e-6)
    # Another seed draws other batches: the stochastic entries' losses change, batch GD's not.
    other = basins(scene.replace(seed=1), 6)
    assert np.array_equal(other.final_loss[0], m.final_loss[0])
    for e in (1, 2):
        assert not np.allclose(other.final_loss[e], m.final_loss[e])


def test_the_momentum_stability_map_matches_the_heavy_ball_theory() -> None:
    scene = load_scene("momentum-stability")
    s = stability(scene, "Momentum", ranges=((0.02, 0.2), (0.0, 0.9)), resolution=24)
    lam_max = scene.problem_params["condition"]
    theory = s.xs[None, :] * lam_max < 2 * (1 + s.ys[:, None])  # eta lambda < 2 (1 + mu)
    assert theory.any() and (~theory).any()
    # Within one pixel of the theoretical boundary either answer is allowed; nowhere else.
    edge = np.zeros_like(theory)
    edge[:, 1:] |= theory[:, 1:] != theory[:, :-1]
    edge[:, :-1] |= theory[:, 1:] != theory[:, :-1]
    wrong = (s.converged != theory) & ~edge
    assert not wrong.any(), np.argwhere(wrong)
    assert np.all(s.converged[~edge] == theory[~edge])
    assert np.all(s.final_loss[s.outcome == DIVERGED] == np.inf)
    # The momentum at the top of the range allows about 1.9 times the step of plain GD.
    top, bottom = s.converged[-1], s.converged[0]
    assert s.xs[top].max() > 1.7 * s.xs[bottom].max()


def test_divergence_and_nan_are_outcomes_never_errors() -> None:
    scene = Scene(  # the programs of the tests above: only the values differ
        problem="himmelblau",
        steps=150,
        optimizers=(
            OptimizerEntry("sgd", "huge", {"learning_rate": 5.0}),
            OptimizerEntry("momentum", "fine", {"learning_rate": 0.002, "momentum": 0.9}),
        ),
    )
    m = basins(scene, 24)
    assert np.all(m.outcome[0] == DIVERGED)  # overflows to inf and NaN within a few steps
    assert np.all(np.isinf(m.final_loss[0])) and np.all(m.settle_step[0] == -1)
    assert not np.any(m.outcome[1] == DIVERGED)
    assert np.all(np.isfinite(m.final_loss[1]))


def test_cancelling_stops_between_calls_and_progress_counts_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scene = load_scene("himmelblau-basins").replace(steps=150)
    told: list[tuple[int, int]] = []
    asked = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 1  # the first call runs, the second is refused

    with monkeypatch.context() as patch:
        patch.setattr(bm, "FUSE_PIXELS", 0)  # both entries in one program, as at 64² and more
        patch.setattr(bm, "MAX_CHUNK", 256)  # 24² = 576 starts: three calls of both entries
        with pytest.raises(Cancelled):
            basins(scene, 24, should_stop=stop, progress=lambda d, t: told.append((d, t)))
        assert told == [(1, 3)]
        told.clear()
        chunked = basins(scene, 24, progress=lambda d, t: told.append((d, t)))
        assert told == [(1, 3), (2, 3), (3, 3)]
    # Each call ran both entries, as each entry's own program does all 576 starts at once (the
    # programs of the tests above).
    whole = basins(scene, 24, progress=lambda d, t: told.append((d, t)))
    assert told[3:] == [(1, 2), (2, 2)]
    np.testing.assert_array_equal(chunked.final_loss, whole.final_loss)
    np.testing.assert_array_equal(chunked.settle_step, whole.settle_step)


ROOTED = ("adagrad", "adadelta", "rmsprop", "adam")
"""The rules' four ways with roots: rsqrt under a where, rsqrt, a root over a root, a root plus
eps (AdamW, NAdam, AMSGrad and schedule-free AdamW divide as Adam does)."""


def _himmelblau_runs(updates, starts: np.ndarray, steps: int = 30) -> list[np.ndarray]:  # noqa: ANN001
    """The last points of ``steps`` of each ``(tx, update)`` with Himmelblau's gradient, one run
    a start, all in one compiled program (a compile per rule took ~1 s)."""
    grad = jax.grad(lambda p: (p[0] ** 2 + p[1] - 11) ** 2 + (p[0] + p[1] ** 2 - 7) ** 2)

    def run(start):  # noqa: ANN001, ANN202
        ends = []
        for tx, update in updates:

            def step(carry, _, update=update):  # noqa: ANN001, ANN202
                p, state = carry
                g = grad(jnp.stack(p))
                u, state = update((g[0], g[1]), state, p)
                return ((p[0] + u[0], p[1] + u[1]), state), None

            p = (start[0], start[1])
            ends.append(jnp.stack(jax.lax.scan(step, (p, tx.init(p)), None, length=steps)[0][0]))
        return jnp.stack(ends)

    return list(np.asarray(jax.jit(jax.vmap(run))(starts)).swapaxes(0, 1))


def test_roots_apart_gives_xlas_own_bits() -> None:
    # Each rule's float64 update from 64 starts as XLA compiles it, and with every rsqrt
    # written 1 / sqrt as float64 maps do on a CPU: the same bits.
    starts = np.random.default_rng(0).uniform(-5, 5, (64, 2))
    txs = [
        bm.entry_transform(bm.EntryKind(name), "optax", bm.RULES[name].defaults("optax"))
        for name in ROOTED
    ]
    plain = _himmelblau_runs([(tx, tx.update) for tx in txs], starts)
    apart = _himmelblau_runs([(tx, bm._roots_apart(tx.update)) for tx in txs], starts)
    for name, tx, a, b in zip(ROOTED, txs, plain, apart, strict=True):
        assert a.dtype == np.float64 and np.ptp(a[:, 0]) > 1.0, name  # runs of their own
        np.testing.assert_array_equal(a, b, err_msg=name)
        p = (jnp.float64(1.0), jnp.float64(1.0))
        jaxpr = str(jax.make_jaxpr(bm._roots_apart(tx.update))(p, tx.init(p), p))
        assert "rsqrt" not in jaxpr and "optimization_barrier" in jaxpr, name  # rewritten


def test_values_never_recompile_and_bad_requests_are_scene_errors() -> None:
    scene = load_scene("momentum-stability").replace(steps=30)
    basins(scene, 8)
    stability(scene, "Momentum", resolution=8)
    edited = scene.replace_entry("Momentum", hyperparams={"learning_rate": 0.01, "momentum": 0.5})
    edited = edited.replace(view=((-3.0, 3.0), (-2.0, 2.0))).with_problem_param("condition", 20.0)
    with count_compilations() as compiled:
        basins(edited, 8)
        stability(edited, "Momentum", ranges=((0.001, 0.1), (0.1, 0.8)), resolution=8)
    assert compiled == []
    with pytest.raises(bm.SceneError, match="no entry"):
        stability(scene, "nobody")
    with pytest.raises(bm.SceneError, match="b1"):
        stability(scene, "Momentum", axes=("learning_rate", "b1"))
    with pytest.raises(bm.SceneError, match="resolution"):
        basins(scene, 1)
    with pytest.raises(bm.SceneError, match="precision"):
        basins(scene, 8, precision="float16")  # type: ignore[arg-type]
    with pytest.raises(bm.SceneError, match="log axis"):
        stability(scene, "Momentum", ranges=(None, (0.0, 0.5)), scales=("log", "log"))
