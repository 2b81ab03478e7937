"""Every built-in scene's caption says something about its paths; here the numbers say it too."""

from __future__ import annotations

import numpy as np
import pytest

from gdviz.core import builtin_scene_names, load_scene, simulate
from gdviz.core import reference as ref
from gdviz.core.surface import loss_and_grad_at

EXPECTED = {
    "linear-regression",
    "ill-conditioned",
    "beale",
    "long-valley",
    "saddle-point",
    "local-minimum",
    "stochastic-vs-batch",
    "rosenbrock",
    "himmelblau",
    "neuron",
    "adaptive",
    "himmelblau-basins",
    "local-minimum-basins",
    "momentum-stability",
    "schedules",
    "weight-decay",
    "newton",
    "newton-saddle",
    "fair-race",
}


def _run(name: str):  # noqa: ANN202
    scene = load_scene(name)
    return scene, scene.build_problem(), simulate(scene)


def _first_near(path, point, radius: float) -> int | None:  # noqa: ANN001
    d = np.linalg.norm(path.params - np.asarray(point), axis=1)
    hits = np.nonzero(d < radius)[0]
    return int(hits[0]) if hits.size else None


NETWORK_SCENES = {"moons", "random-plane", "spirals-lr"}
"""Built-in network scenes: trained in weight space, their claims checked in test_plane.py."""


def test_the_built_in_scenes_are_the_ones_promised() -> None:
    assert set(builtin_scene_names()) == EXPECTED | NETWORK_SCENES


@pytest.mark.parametrize("name", sorted(EXPECTED | NETWORK_SCENES))
def test_every_scene_has_a_title_and_a_two_or_three_sentence_caption(name: str) -> None:
    scene = load_scene(name)
    sentences = [s for s in scene.caption.replace("?", ".").split(". ") if s.strip()]
    assert scene.title and 2 <= len(sentences) <= 4, scene.caption


def test_linear_regression_all_nine_reach_the_minimum_region() -> None:
    scene, problem, paths = _run("linear-regression")
    assert len(paths) == 9
    best = problem.minima[0]
    for label, path in paths.items():
        assert path.loss[-1] < best.loss * 1.2, label
    assert len({tuple(np.round(p.params[40], 3)) for p in paths.values()}) == 9  # all different


def test_linear_regression_sgd_has_a_noise_floor_and_adadelta_arrives_last() -> None:
    _, problem, paths = _run("linear-regression")
    best = problem.minima[0].loss
    sgd = paths["SGD (batch 1)"].loss[150:] / best
    assert 1.1 < sgd.mean() < 1.25  # about 15% above the best on average
    assert sgd.max() > 1.8  # at times twice it
    assert np.sum(np.diff(sgd) > 0) > 50  # jumping, not settling
    assert paths["Mini-batch GD (16)"].loss[150:].mean() / best < 1.03
    # AdaDelta: the smallest steps of all nine, and the last to arrive.
    target = problem.minima[0].point
    steps = {k: np.linalg.norm(p.updates, axis=1) for k, p in paths.items()}
    ada = steps.pop("AdaDelta")
    assert ada.max() < 0.08 < min(s.max() for s in steps.values())
    arrive = {k: _first_near(p, target, 0.3) for k, p in paths.items()}
    assert all(t is not None for t in arrive.values())
    assert max(arrive, key=arrive.get) == "AdaDelta"
    # Once there its step size grows back, and after step 280 it bounces about the minimum.
    there = _first_near(paths["AdaDelta"], target, 0.001)
    assert there is not None and there < 280
    assert ada[there:280].max() < 0.01 and ada[-10:].min() > 0.05
    loss = paths["AdaDelta"].loss
    assert loss[-1] > 1.01 * loss[there:280].min()


def test_local_minimum_gd_stays_in_the_hollow_momentum_rolls_out() -> None:
    scene, problem, paths = _run("local-minimum")
    glob, local = problem.minima
    gd, mom = paths["GD"], paths["Momentum"]
    assert gd.params[0].tolist() == list(scene.start) == mom.params[0].tolist()
    # GD ends at a stationary point whose loss is clearly above the global minimum's.
    _, grad = loss_and_grad_at(problem, gd.params[-1])
    assert np.linalg.norm(grad) < 1e-3
    assert np.linalg.norm(gd.params[-1] - np.asarray(local.point)) < 0.05
    assert gd.loss[-1] > glob.loss + 0.3
    # Momentum passes near the hollow and ends lower: at the global minimum.
    assert mom.loss[-1] < gd.loss[-1] - 0.3
    assert np.linalg.norm(mom.params[-1] - np.asarray(glob.point)) < 0.05
    # Its loss rises while it climbs over the rim, and stays above GD's until about step 100.
    assert mom.loss[10:60].max() > mom.loss[:15].min() + 0.15
    above = np.nonzero(mom.loss > gd.loss)[0]
    assert 90 <= above.max() <= 110 and np.all(mom.loss[20:90] > gd.loss[20:90])
    assert np.all(mom.loss[130:] < gd.loss[130:] - 0.3)  # then far below


def test_himmelblau_rules_end_in_different_minima() -> None:
    _, problem, paths = _run("himmelblau")
    ends = set()
    for label, path in paths.items():
        d = [np.linalg.norm(path.params[-1] - np.asarray(m.point)) for m in problem.minima]
        assert min(d) < 0.1, label
        ends.add(int(np.argmin(d)))
    assert len(ends) >= 2


def test_himmelblau_momentum_loops_rmsprop_is_kicked_off_its_minimum() -> None:
    scene, problem, paths = _run("himmelblau")

    def own_minimum(path) -> np.ndarray:  # noqa: ANN001
        points = [np.asarray(m.point) for m in problem.minima]
        return min(points, key=lambda q: np.linalg.norm(path.params[-1] - q))

    mom = paths["Momentum"]
    rel = mom.params - own_minimum(mom)
    dist = np.linalg.norm(rel, axis=1)
    k = int(np.argmax(dist < 0.65))  # first close to its minimum ...
    assert dist[k:].max() > 0.7  # ... then past it, and around it
    turn = np.unwrap(np.arctan2(rel[:, 1], rel[:, 0]))
    assert abs(turn[-1] - turn[k]) > 2 * np.pi
    assert dist[-1] < 1e-3
    rms = paths["RMSprop"]
    lr = scene.entry("RMSprop").hyperparams["learning_rate"]
    best = int(np.argmin(rms.loss))
    assert best <= 100 and rms.loss[best] < 1e-20  # exactly on it by step 100
    assert np.all((rms.loss[-50:] > 0.04) & (rms.loss[-50:] < 0.05))  # kicked off: near 0.05
    # Hopping with the full learning rate along each axis, between two points around it.
    assert np.allclose(np.abs(rms.updates[-50:]), lr, rtol=0.1)
    np.testing.assert_allclose(rms.params[-1], rms.params[-3], atol=1e-6)
    centre = (rms.params[-1] + rms.params[-2]) / 2
    assert np.linalg.norm(centre - own_minimum(rms)) < 0.01


def test_saddle_point_gd_leaves_later_than_the_adaptive_rules() -> None:
    _, _, paths = _run("saddle-point")

    def leaves(label: str) -> int:
        y = np.abs(paths[label].params[:, 1])
        return int(np.argmax(y > 0.5))

    assert leaves("SGD") > 60
    for adaptive in ("AdaGrad", "RMSprop", "Adam"):
        assert leaves(adaptive) < leaves("SGD") / 2.5, adaptive
    assert leaves("Momentum") > 60


def test_saddle_point_fast_runaways_and_slow_drifters() -> None:
    scene, _, paths = _run("saddle-point")
    for label in ("SGD", "Momentum", "Nesterov", "AdaDelta"):
        path = paths[label]
        end = path.steps if path.diverged_at is None else path.diverged_at - 1
        assert path.loss[: end + 1].min() < -2e6, label
    for label in ("SGD", "Momentum", "Nesterov"):
        assert 150 <= paths[label].diverged_at <= 180, label
    assert paths["AdaDelta"].diverged_at is None
    for label in ("AdaGrad", "RMSprop", "Adam"):
        path = paths[label]
        lr = scene.entry(label).hyperparams["learning_rate"]
        assert np.abs(path.updates).max() < 4 * lr, label
        assert path.diverged_at is None and -40 < path.loss[-1] < 0, label


def test_ill_conditioned_momentum_beats_gd() -> None:
    _, problem, paths = _run("ill-conditioned")
    zero = (0.0, 0.0)
    gd, mom = _first_near(paths["GD"], zero, 0.05), _first_near(paths["Momentum"], zero, 0.05)
    assert mom is not None and (gd is None or gd > 2 * mom)
    assert paths["Nesterov"].diverged_at is None


def test_ill_conditioned_gd_zig_zags_momentum_swings_nesterov_glides() -> None:
    scene, _, paths = _run("ill-conditioned")
    angle = np.radians(scene.problem_params["angle"])

    def across(label: str) -> np.ndarray:  # the coordinate along the steep direction
        p = paths[label].params
        return -np.sin(angle) * p[:, 0] + np.cos(angle) * p[:, 1]

    def rises(label: str) -> int:
        return int(np.sum(np.diff(paths[label].loss) > 0))

    assert np.all(np.diff(np.sign(across("GD")[:100])) != 0)  # wall to wall, every step
    assert rises("GD") == 0
    assert rises("Momentum") > 50  # jagged
    assert np.all(np.abs(across("Nesterov")[5:]) < 1e-2)  # no swinging after five steps
    assert rises("Nesterov") == 0


def test_long_valley_momentum_and_adaptive_rules_outrun_sgd() -> None:
    scene, problem, paths = _run("long-valley")
    target = problem.minima[0].point
    sgd = _first_near(paths["SGD"], target, 0.3)
    assert sgd is not None
    for faster in ("Momentum", "Nesterov", "AdaGrad", "Adam"):
        t = _first_near(paths[faster], target, 0.3)
        assert t is not None and t < 0.7 * sgd, faster
    # SGD walks the gently sloping floor at a nearly constant pace.
    steps = np.linalg.norm(paths["SGD"].updates[20:100], axis=1)
    assert steps.std() < 0.1 * steps.mean()


def test_long_valley_rmsprop_ends_hopping_across_the_floor() -> None:
    _, _, paths = _run("long-valley")
    rms = paths["RMSprop"]
    tail = rms.params[-50:]
    assert np.all(np.abs(tail[:, 0] - 3.0) < 1e-3)  # at the minimum along the floor ...
    assert np.all((np.abs(tail[:, 1]) > 0.02) & (np.abs(tail[:, 1]) < 0.03))  # ... but not on it
    assert np.all(np.diff(np.sign(tail[:, 1])) != 0)  # one side, then the other, every step
    assert np.all((rms.loss[-50:] > 0.005) & (rms.loss[-50:] < 0.007))  # loss near 0.006


def _valley_grad(steepness: float, floor_min: float):  # noqa: ANN202
    def grad(p: np.ndarray) -> np.ndarray:
        d = p[0] - floor_min
        return np.array([d / np.sqrt(1.0 + d * d), steepness * p[1]])

    return grad


def test_long_valley_adadelta_reaches_the_minimum_then_climbs_out() -> None:
    scene, _, paths = _run("long-valley")
    ada = paths["AdaDelta"]
    steepness = scene.problem_params["steepness"]
    best = int(np.argmin(ada.loss))
    assert 110 <= best <= 130 and ada.loss[best] < 1e-10  # the minimum by step 120
    assert ada.loss[-1] > 0.3 and ada.loss[200] < ada.loss[250] < ada.loss[-1]  # climbs out
    # Its step size across the valley, |update| / |gradient|: well below the 2 / steepness
    # that the walls allow on the way down, past it once the gradients have faded.
    across = np.abs(ada.updates[:, 1]) / np.maximum(np.abs(ada.grads[:, 1]), 1e-300)
    assert across[:70].max() < 2.0 / steepness < across[100:124].min()
    # Bouncing across the valley in ever wider swings, not along it.
    y = ada.params[:, 1]
    assert np.all(np.diff(np.sign(y[-30:])) != 0)
    assert abs(y[150]) < abs(y[200]) < abs(y[-1])
    assert np.all(np.abs(ada.params[150:, 0] - 3.0) < 1e-3)
    # AdaDelta itself: Zeiler's plain loop (as torch.optim.Adadelta) takes the same path.
    entry = scene.entry("AdaDelta")
    plain = ref.run(
        "adadelta",
        scene.convention,
        _valley_grad(steepness, scene.problem_params["floor_min"]),
        scene.start,
        scene.steps,
        **entry.resolved_hyperparams(scene.convention),
    )
    np.testing.assert_allclose(ada.params, plain, atol=1e-9)


def test_beale_adaptive_rules_arrive_first_and_sgd_not_at_all() -> None:
    _, problem, paths = _run("beale")
    target = problem.minima[0].point
    assert _first_near(paths["SGD"], target, 0.3) is None
    slow = _first_near(paths["Momentum"], target, 0.3)
    for fast in ("AdaGrad", "Adam", "RMSprop"):
        t = _first_near(paths[fast], target, 0.3)
        assert t is not None and (slow is None or t < slow), fast


def test_beale_rmsprop_ends_hopping_while_adam_keeps_falling() -> None:
    scene, problem, paths = _run("beale")
    rms, adam = paths["RMSprop"], paths["Adam"]
    lr = scene.entry("RMSprop").hyperparams["learning_rate"]
    assert np.allclose(np.abs(rms.updates[-50:]), lr, rtol=0.1)  # its full step, every step
    np.testing.assert_allclose(rms.params[-1], rms.params[-3], atol=1e-4)  # to and fro
    centre = (rms.params[-1] + rms.params[-2]) / 2
    assert np.linalg.norm(centre - np.asarray(problem.minima[0].point)) < 0.01
    assert np.all((rms.loss[-100:] > 0.00085) & (rms.loss[-100:] < 0.00095))  # near 0.0009
    assert adam.loss[-1] < 0.5 * adam.loss[-100] and adam.loss[-1] < 0.5 * rms.loss[-1]


def test_stochastic_vs_batch_same_batches_smooth_and_noisy() -> None:
    _, problem, paths = _run("stochastic-vs-batch")
    batch, mini, sgd = paths["Batch GD"], paths["Mini-batch GD (10)"], paths["SGD (batch 1)"]
    assert np.all(np.diff(batch.loss) <= 1e-15)  # full batch: the loss only goes down
    assert np.sum(np.diff(sgd.loss) > 0) > 30  # one point per step: it often goes up
    assert np.sum(np.diff(mini.loss) > 0) > 10
    # "never quite settles": long after batch GD has arrived, SGD's loss still jumps above it.
    late = slice(200, None)
    assert np.all(batch.loss[late] < 1.05 * problem.minima[0].loss)
    assert np.sum(sgd.loss[late] > 1.2 * batch.loss[late]) > 10
    for path in paths.values():
        assert path.loss[-1] < problem.minima[0].loss * 1.2


def test_rosenbrock_nesterov_and_adam_arrive_gd_crawls_adagrad_stalls() -> None:
    _, _, paths = _run("rosenbrock")
    first = {k: _first_near(p, (1.0, 1.0), 0.05) for k, p in paths.items()}
    assert first["Nesterov"] is not None and first["Adam"] is not None
    assert first["GD"] is None or first["GD"] > first["Nesterov"]
    assert first["AdaGrad"] is None
    assert paths["AdaGrad"].loss[-1] > 1.0  # stalled halfway, far up the valley
    # Only Nesterov and Adam get within 0.01 of the minimum.
    close = {k for k, p in paths.items() if _first_near(p, (1.0, 1.0), 0.01) is not None}
    assert close == {"Nesterov", "Adam"}


def test_rosenbrock_gd_is_flung_across_the_valley_then_creeps() -> None:
    _, _, paths = _run("rosenbrock")
    gd = paths["GD"]
    assert 12 < gd.loss[0] < 13 and gd.loss[:10].max() > 500  # from 12 to over 500
    assert np.sum(np.diff(gd.loss[:10]) > 0) >= 2  # back and forth, not one slip
    near = _first_near(gd, (1.0, 1.0), 0.3)
    assert near is not None and near <= 10  # near (1, 1) within ten steps
    # ... and then the last few hundredths take hundreds of steps.
    hundredths = _first_near(gd, (1.0, 1.0), 0.05)
    assert hundredths is None or hundredths > 300
    assert _first_near(gd, (1.0, 1.0), 0.02) is None


def test_rosenbrock_adagrad_fills_its_sum_of_squares_on_the_far_wall() -> None:
    scene, _, paths = _run("rosenbrock")
    ada = paths["AdaGrad"]
    assert ada.params[1, 0] < scene.start[0] - 0.5  # the first step jumps across, onto the far wall
    assert ada.loss[1] > 2000
    sos = ada.state["sum_of_squares"]
    assert np.all(sos[1] > 0.99 * sos[-1])  # after two steps it holds 99% of what it ever will
    steps = np.linalg.norm(ada.updates, axis=1)
    ratio = steps[10:] / steps[0]
    assert ratio.max() < 2e-3 and ratio.min() > 5e-4  # about a thousandth of the first step


def test_neuron_adam_leaves_the_plateau_gd_does_not() -> None:
    _, problem, paths = _run("neuron")
    target = problem.minima[0].point
    adam = _first_near(paths["Adam"], target, 0.3)
    assert adam is not None and adam < 60
    assert _first_near(paths["GD"], target, 0.3) is None
    mom = _first_near(paths["Momentum"], target, 0.3)
    assert mom is None or mom > 200
    # The plateau: GD's steps are tiny although it is far from the minimum.
    assert np.linalg.norm(paths["GD"].updates[:100], axis=1).max() < 0.05
    # Adam swings back and forth across the minimum a few times: bumps in its loss.
    dist = np.linalg.norm(paths["Adam"].params - np.asarray(target), axis=1)
    assert dist[adam:60].max() > 0.25 and dist[-1] < 0.01
    loss = paths["Adam"].loss
    k = np.arange(adam, len(loss) - 1)
    bumps = k[(loss[k] > loss[k - 1]) & (loss[k] > loss[k + 1])]
    assert len(bumps) >= 3


def test_adaptive_adagrad_steps_shrink_rmsprop_and_adam_arrive() -> None:
    _, problem, paths = _run("adaptive")
    target = problem.minima[0].point
    steps = np.linalg.norm(paths["AdaGrad"].updates, axis=1)
    assert np.all(np.diff(steps[5:]) <= 1e-12)  # only ever shorter
    assert _first_near(paths["AdaGrad"], target, 0.3) is None
    for label in ("RMSprop", "Adam"):
        assert _first_near(paths[label], target, 0.3) is not None, label


def test_adaptive_adam_swings_through_the_minimum_rmsprop_hops() -> None:
    _, problem, paths = _run("adaptive")
    floor_min = problem.minima[0].point[0]
    adam = paths["Adam"]
    along = adam.params[:, 0] - floor_min
    assert 0.2 < along.max() < 0.3  # overshoots by a quarter unit
    passes = np.nonzero(np.diff(np.sign(along[1:])) != 0)[0] + 1  # last step on each side
    assert len(passes) >= 6
    swings = [
        np.abs(along[a + 1 : b + 1]).max() for a, b in zip(passes[:-1], passes[1:], strict=True)
    ]
    ratios = np.array(swings[1:]) / np.array(swings[:-1])
    assert np.all((ratios > 0.15) & (ratios < 0.35)), ratios  # each about a quarter of the last
    # Every dip of its loss after it first arrives is a pass through the minimum.
    loss = adam.loss
    k = np.arange(passes[0] - 5, len(loss) - 1)
    dips = k[(loss[k] < loss[k - 1]) & (loss[k] < loss[k + 1])]
    assert len(dips) == len(passes)
    assert np.all(np.abs(dips - passes) <= 1)
    # RMSprop: at the minimum along the floor, hopping across it with its full step.
    rms = paths["RMSprop"]
    tail = rms.params[-50:]
    assert np.all(np.abs(tail[:, 0] - floor_min) < 1e-3)
    assert np.all(np.diff(np.sign(tail[:, 1])) != 0)
    assert np.all((rms.loss[-50:] > 0.0025) & (rms.loss[-50:] < 0.0035))  # near 0.003


def _regions(mask: np.ndarray) -> int:
    """4-connected regions of True in ``mask`` (a flood fill)."""
    seen = np.zeros_like(mask, dtype=bool)
    count = 0
    for first in zip(*np.nonzero(mask), strict=True):
        if seen[first]:
            continue
        count += 1
        stack = [first]
        seen[first] = True
        while stack:
            i, j = stack.pop()
            for a, b in ((i + 1, j), (i - 1, j), (i, j + 1), (i, j - 1)):
                inside = 0 <= a < mask.shape[0] and 0 <= b < mask.shape[1]
                if inside and mask[a, b] and not seen[a, b]:
                    seen[a, b] = True
                    stack.append((a, b))
    return count


def test_himmelblau_basins_gd_quadrants_momentum_fragments() -> None:
    from gdviz.core.basins import basins

    scene = load_scene("himmelblau-basins")
    m = basins(scene, 40)
    gd, mom = m.outcome[m.index("GD")], m.outcome[m.index("Momentum")]
    gx, gy = np.meshgrid(m.xs, m.ys, indexing="xy")
    d2 = [(gx - x) ** 2 + (gy - y) ** 2 for x, y in m.minima]
    closest = np.argmin(np.stack(d2), axis=0)
    assert np.all(gd >= 0) and np.all(mom >= 0)  # every start ends in a minimum
    for k in range(4):
        # GD: one region per minimum, about a quarter of the view, holding that minimum.
        assert _regions(gd == k) == 1 and 0.2 < np.mean(gd == k) < 0.3, k
        assert gd.flat[np.argmin(d2[k])] == k
        # Momentum: each minimum's starts lie in several pieces.
        assert _regions(mom == k) >= 3, k
    # Many starts beside one minimum overshoot it: GD keeps nearly all of them, momentum not.
    assert np.mean(gd == closest) > 0.9
    assert np.mean(mom != closest) > 0.3
    # The scene's own start: both settle in a minimum.
    paths = simulate(scene)
    for path in paths.values():
        assert min(np.linalg.norm(path.params[-1] - p) for p in m.minima) < m.tol


def test_local_minimum_basins_momentum_rescues_a_few_and_loses_more() -> None:
    from gdviz.core.basins import basins

    scene = load_scene("local-minimum-basins")
    kinds = [m.kind for m in scene.build_problem().minima]
    best, hollow = kinds.index("global"), kinds.index("local")
    m = basins(scene, 32)
    gd, mom = m.outcome[m.index("GD")], m.outcome[m.index("Momentum")]
    # GD: every start settles, about a third of them in the local minimum.
    assert np.all(gd >= 0) and 0.25 < np.mean(gd == hollow) < 0.4
    # Momentum: nearly every start settles in 1000 steps; it rescues a few of GD's lost starts
    # and loses more of GD's won ones.
    assert np.mean(mom < 0) < 0.1
    rescued = np.mean((gd == hollow) & (mom == best))
    lost = np.mean((gd == best) & (mom == hollow))
    assert 0 < rescued < 0.05 and lost > 2 * rescued
    assert np.mean(mom == best) <= np.mean(gd == best)  # "on balance it does no better"
    # The scene's own start is one of the rescued ones (the local-minimum scene's story).
    paths = simulate(scene)
    ends = {k: paths[k].params[-1] for k in ("GD", "Momentum")}
    assert np.linalg.norm(ends["GD"] - m.minima[hollow]) < m.tol
    assert np.linalg.norm(ends["Momentum"] - m.minima[best]) < m.tol


def test_momentum_stability_more_momentum_allows_a_larger_step() -> None:
    from gdviz.core.basins import stability

    scene = load_scene("momentum-stability")
    lam_max = scene.problem_params["condition"]
    s = stability(scene, "Momentum", ranges=((0.02, 0.2), (0.0, 0.9)), resolution=20)
    theory = s.xs[None, :] * lam_max < 2 * (1 + s.ys[:, None])
    # Off the boundary's pixels the map is the theory.
    edge = np.zeros_like(theory)
    edge[:, 1:] |= theory[:, 1:] != theory[:, :-1]
    edge[:, :-1] |= theory[:, 1:] != theory[:, :-1]
    assert np.array_equal(s.converged[~edge], theory[~edge])
    # The largest stable step grows with the momentum: about 1.9 times at mu = 0.9.
    largest = np.array([s.xs[row].max() if row.any() else 0.0 for row in s.converged])
    assert np.all(np.diff(largest) >= 0) and largest[-1] > 1.7 * largest[0]
    # The scene's own setting converges: its path reaches the minimum.
    path = simulate(scene)["Momentum"]
    assert path.diverged_at is None and np.linalg.norm(path.params[-1]) < 1e-3


# --- the scenes of schedules, weight decay, Newton's method and a tuned race -----------------------
# Each is simulated once for the module (a fixture), and every test of it reads that run.


@pytest.fixture(scope="module")
def schedules_run():  # noqa: ANN201
    return _run("schedules")


@pytest.fixture(scope="module")
def weight_decay_run():  # noqa: ANN201
    return _run("weight-decay")


@pytest.fixture(scope="module")
def newton_run():  # noqa: ANN201
    return _run("newton")


@pytest.fixture(scope="module")
def newton_saddle_run():  # noqa: ANN201
    return _run("newton-saddle")


@pytest.fixture(scope="module")
def fair_race_run():  # noqa: ANN201
    return _run("fair-race")


def test_schedules_only_the_schedule_differs_and_follows_optax(schedules_run) -> None:  # noqa: ANN001
    import optax

    scene, _, paths = schedules_run
    entries = {e.label: e for e in scene.optimizers}
    assert {e.rule for e in entries.values()} == {"adam"}
    assert len({tuple(sorted(e.hyperparams.items())) for e in entries.values()}) == 1
    assert entries["Constant"].hyperparams["learning_rate"] == 1.0
    # The rates each step used are optax's own schedules' values.
    k = np.arange(scene.steps)
    expected = {
        "Constant": np.ones(scene.steps),
        "Step decay": optax.exponential_decay(1.0, 300, 0.1, staircase=True)(k),
        "Warmup + cosine": optax.warmup_cosine_decay_schedule(0.0, 1.0, 80, 800, 0.0)(k),
    }
    for label, rates in expected.items():
        np.testing.assert_allclose(paths[label].learning_rates, rates, rtol=1e-12, atol=1e-15)


def test_schedules_constant_is_flung_step_decay_stalls_warmup_cosine_arrives(
    schedules_run,  # noqa: ANN001
) -> None:
    _, _, paths = schedules_run
    const, step, warm = paths["Constant"], paths["Step decay"], paths["Warmup + cosine"]

    def first_below(path, level: float) -> int | None:  # noqa: ANN001
        hits = np.nonzero(path.loss < level)[0]
        return int(hits[0]) if hits.size else None

    # Constant: flung across the valley at once (12 to over 2000), 0.01 only at step 618.
    assert 12 < const.loss[0] < 13 and const.loss[:10].max() > 2000
    assert np.ptp(const.params[:10, 0]) > 1.0  # across the valley and back
    assert first_below(const, 0.01) == 618
    # Step decay: the constant run until step 300, then stuck far up the valley above 0.2.
    np.testing.assert_array_equal(step.params[:301], const.params[:301])
    assert step.learning_rates[299] == 1.0 and step.learning_rates[300] == pytest.approx(0.1)
    assert np.linalg.norm(step.params[300] - 1.0) > 0.5
    assert step.loss[300:].min() > 0.2 and step.loss[-1] > 0.9 * step.loss[600]
    # Warmup + cosine: never flung (its loss stays within 20% of the start's), 0.01 by step
    # 150, a millionth by step 300, and it ends far below both.
    assert warm.loss.max() < 1.2 * warm.loss[0]
    assert first_below(warm, 0.01) <= 150 and first_below(warm, 1e-6) <= 300
    assert warm.loss[-1] < 1e-6 * min(const.loss[-1], step.loss[-1])


def _design(problem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # noqa: ANN001
    """The MSE's Hessian ``H`` over (m, b), the least-squares fit, and the data's x."""
    x, y = np.asarray(problem.x), np.asarray(problem.y)
    a = np.stack([x, np.ones_like(x)], axis=1)
    fit, *_ = np.linalg.lstsq(a, y, rcond=None)
    return 2.0 * a.T @ a / len(x), fit, x


def test_weight_decay_the_valley_is_long_and_l2_ends_at_the_ridge_fit(weight_decay_run) -> None:  # noqa: ANN001
    scene, problem, paths = weight_decay_run
    hessian, fit, x = _design(problem)
    assert x.min() >= 2.0 and x.max() <= 4.0
    curvatures, axes = np.linalg.eigh(hessian)
    assert curvatures[1] / curvatures[0] > 200  # a long, flat valley
    np.testing.assert_allclose(fit, problem.minima[0].point, atol=1e-9)
    # Adam + L2 descends f + (0.5 / 2)|θ|²: it stops where H (θ − fit) + 0.5 θ = 0.
    l2 = scene.entry("Adam + L2 (0.5)").l2
    ridge = np.linalg.solve(hessian + l2 * np.eye(2), hessian @ fit)
    end = paths["Adam + L2 (0.5)"].params[-1]
    assert np.linalg.norm(end - ridge) < 2e-3
    assert np.round(end, 2).tolist() == [1.06, 0.65]
    # Far down the valley: the shift from the fit lies along the flat axis.
    shift = end - fit
    assert np.linalg.norm(shift) > 1.5
    assert abs(axes[:, 0] @ shift) > 20 * abs(axes[:, 1] @ shift)


def test_weight_decay_adamw_stops_where_its_step_balances_the_pull(weight_decay_run) -> None:  # noqa: ANN001
    scene, problem, paths = weight_decay_run
    entry = scene.entry("AdamW (decay 0.5)")
    h = entry.resolved_hyperparams(scene.convention)
    lam, b1, b2, eps = h["weight_decay"], h["b1"], h["b2"], h["eps"]
    assert lam == 0.5 == scene.entry("Adam + L2 (0.5)").l2 and b2 == 0.9
    adamw = paths["AdamW (decay 0.5)"]
    t = np.arange(1, adamw.steps + 1)[:, None]
    m_hat = adamw.state["mu"] / (1 - b1**t)
    v_hat = adamw.state["nu"] / (1 - b2**t)
    step = m_hat / (np.sqrt(v_hat) + eps)
    theta = adamw.params[:-1]
    rest = slice(-200, None)
    # The fixed point m̂ / (√ν̂ + ε) = −λ θ, on average over the last 200 steps (it jitters).
    assert np.all(np.abs((step[rest] + lam * theta[rest]).mean(axis=0)) < 0.01)
    # At rest Adam's step is at most 1 per weight, so no weight passes 1 / λ = 2.
    assert np.abs(step[-500:]).max() <= 1.0
    assert np.abs(adamw.params[-500:]).max() < 1.0 / lam
    m, b = adamw.params[-1]
    assert 1.97 < b < 2.0  # just under 2
    # m is the best slope for that b: d(MSE)/dm = 0 there.
    x, y = np.asarray(problem.x), np.asarray(problem.y)
    best_m = (np.sum(x * y) - b * np.sum(x)) / np.sum(x * x)
    assert abs(m - best_m) < 5e-3 and round(m, 2) == 0.67
    # The same end as least squares with every weight at most 2 (projected gradient in numpy).
    hessian, fit, _ = _design(problem)
    box = np.zeros(2)
    for _ in range(20_000):
        box = np.clip(box - 0.04 * hessian @ (box - fit), -1.0 / lam, 1.0 / lam)
    assert np.linalg.norm(adamw.params[-1] - box) < 0.02
    # Much nearer the least-squares fit (the star) than Adam + L2.
    l2_end = paths["Adam + L2 (0.5)"].params[-1]
    assert np.linalg.norm(adamw.params[-1] - fit) < 0.3 * np.linalg.norm(l2_end - fit)


def _rosenbrock_newton(start, steps: int, damping: float) -> np.ndarray:  # noqa: ANN001
    """Damped Newton on Rosenbrock (a = 1, b = 100) as a plain loop: analytic gradient and
    Hessian, the Hessian lifted by the least μ that makes its eigenvalues at least δ."""
    p = np.array(start, dtype=float)
    out = [p.copy()]
    for _ in range(steps):
        x, y = p
        g = np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])
        hess = np.array([[2 - 400 * (y - 3 * x * x), -400 * x], [-400 * x, 200.0]])
        mu = max(0.0, damping - np.linalg.eigvalsh(hess)[0])
        p = p - np.linalg.solve(hess + mu * np.eye(2), g)
        out.append(p.copy())
    return np.array(out)


def test_newton_strides_across_the_valley_gd_and_adam_barely_start(newton_run) -> None:  # noqa: ANN001
    scene, _, paths = newton_run
    newton = paths["Newton (damped)"]
    damping = scene.entry("Newton (damped)").hyperparams["damping"]
    plain = _rosenbrock_newton(scene.start, scene.steps, damping)
    np.testing.assert_allclose(newton.params, plain, atol=1e-9)
    # Ten long strides (one onto the far wall, loss 112), then a loss below 0.003.
    strides = np.linalg.norm(newton.updates[:10], axis=1)
    assert strides.mean() > 0.5 and np.sum(strides > 0.3) >= 8
    k = int(np.argmax(newton.loss[:10]))
    assert 100 < newton.loss[k] < 120 and newton.params[k, 0] > 0.9 and newton.params[k, 1] < 0
    assert newton.loss[10] < 0.003
    # GD and Adam after all 120 steps: on the valley floor, still beside the start.
    for label in ("GD", "Adam"):
        x, y = paths[label].params[-1]
        assert x < -1.0 and abs(y - x * x) < 0.05 and paths[label].loss[-1] > 4.0, label


def test_newton_loss_shrinks_by_the_damped_rate_near_the_minimum(newton_run) -> None:  # noqa: ANN001
    scene, _, paths = newton_run
    loss = paths["Newton (damped)"].loss
    damping = scene.entry("Newton (damped)").hyperparams["damping"]
    floor = np.linalg.eigvalsh(np.array([[802.0, -400.0], [-400.0, 200.0]]))[0]  # at (1, 1)
    assert round(floor, 1) == 0.4
    # Along the floor each step covers δ⁻¹·0.4 of what is left: the loss shrinks by (1 − 0.4/δ)².
    rate = (1 - floor / damping) ** 2
    assert round(rate, 2) == 0.64
    np.testing.assert_allclose(loss[41:] / loss[40:-1], rate, rtol=1e-3)
    assert loss[-1] > 1e-28  # still far above the rounding floor (about 1e-32) at the end


def test_newton_saddle_undamped_climbs_to_it_damped_goes_downhill(newton_saddle_run) -> None:  # noqa: ANN001
    from gdviz.core.surface import predictions

    _, problem, paths = newton_saddle_run
    y = np.asarray(problem.y)
    origin = np.zeros((1, 2))
    saddle_loss, grad = loss_and_grad_at(problem, origin)
    assert saddle_loss[0] == pytest.approx(np.mean(y**2)) and round(saddle_loss[0], 2) == 1.79
    assert np.all(grad == 0)
    # A saddle: curvature of both signs (central differences of the gradient).
    h = 1e-5
    _, g_plus = loss_and_grad_at(problem, h * np.eye(2))
    _, g_minus = loss_and_grad_at(problem, -h * np.eye(2))
    hessian = (g_plus - g_minus) / (2 * h)  # row i: the gradient's derivative along axis i
    curv = np.linalg.eigvalsh(0.5 * (hessian + hessian.T))
    assert curv[0] < -1.0 < 1.0 < curv[1]
    # Two mirror-image minima.
    a, b = (np.asarray(m.point) for m in problem.minima)
    np.testing.assert_allclose(a, -b, atol=1e-6)
    # Undamped: down to 1.58 after one step, then back up on the saddle by step 3, for good.
    undamped = paths["Newton (undamped)"]
    assert undamped.loss[1] < 1.6 and round(undamped.loss[1], 2) == 1.58
    assert np.all(np.linalg.norm(undamped.params[3:], axis=1) < 0.01)
    np.testing.assert_allclose(undamped.loss[3:], saddle_loss[0], rtol=1e-4)
    xs = np.linspace(-2.0, 2.0, 9)
    assert np.abs(predictions(problem, undamped.params[-1:], xs)).max() < 1e-6  # a flat line
    # Damped: every step downhill, within 5% of the minimum's loss by step 17, then at it.
    damped = paths["Newton (damped)"]
    best = problem.minima[0].loss
    assert np.all(np.diff(damped.loss) <= 0)
    assert int(np.argmax(damped.loss < 1.05 * best)) <= 17
    assert min(np.linalg.norm(damped.params[-1] - p) for p in (a, b)) < 0.01
    # GD and Adam roll off the saddle too, far below its loss.
    for label in ("GD", "Adam"):
        assert paths[label].loss[-1] < 0.02, label


def test_fair_race_rates_are_the_tuners_and_each_beats_its_neighbours(fair_race_run) -> None:  # noqa: ANN001
    from gdviz.core.optimizers import RULES
    from gdviz.core.tune import COARSE, FINE, tune

    scene, _, paths = fair_race_run
    rates = {e.label: e.hyperparams["learning_rate"] for e in scene.optimizers}
    # The caption's grid: 25 rates over [1e-4, 10], then 17 between the best one's neighbours.
    assert (COARSE, FINE) == (25, 17)
    for e in scene.optimizers:
        spec = RULES[e.rule].spec("learning_rate")
        assert max(spec.low, 1e-4) == 1e-4 and spec.high == 10.0, e.label
    cell = (10.0 / 1e-4) ** (2 / (COARSE - 1) / (FINE - 1))  # one fine-grid step, as a ratio
    # Re-tuning reproduces a committed rate (GD: one entry keeps the test to ~3 s).
    again = tune(scene, labels=["GD"]).rates["GD"]
    assert abs(np.log(again / rates["GD"])) <= np.log(cell) + 1e-12
    # Every committed rate does better at step 200 than one fine-grid step either way.
    final = {k: p.loss[-1] for k, p in paths.items()}
    for factor in (cell, 1 / cell):
        moved = scene
        for e in scene.optimizers:
            moved = moved.replace_entry(
                e.label, hyperparams={**e.hyperparams, "learning_rate": rates[e.label] * factor}
            )
        for label, path in simulate(moved).items():
            worse = path.diverged_at is not None or path.loss[-1] > final[label]
            assert worse, (label, factor)


def test_fair_race_gd_at_the_theorys_rate_and_the_tuned_ranking(fair_race_run) -> None:  # noqa: ANN001
    from gdviz.core.optimizers import RULES

    scene, _, paths = fair_race_run
    kappa = scene.problem_params["condition"]
    gd_rate = scene.entry("GD").hyperparams["learning_rate"]
    theory = 2.0 / (1.0 + kappa)  # the constant rate with the fastest worst direction
    assert round(gd_rate, 4) == 0.0196 and round(theory, 4) == 0.0198
    assert gd_rate < theory < gd_rate * 1.062  # within one fine-grid step
    assert gd_rate < 2.0 / kappa < gd_rate * 1.062  # the next one up diverges
    # So large that GD bounces from wall to wall on every step.
    angle = np.radians(scene.problem_params["angle"])
    p = paths["GD"].params
    across = -np.sin(angle) * p[:, 0] + np.cos(angle) * p[:, 1]
    assert np.all(np.diff(np.sign(across)) != 0)
    final = {k: float(v.loss[-1]) for k, v in paths.items()}
    for label in ("Momentum", "Nesterov", "Adam"):
        assert final[label] < 1e-8 and final[label] < 1e-5 * final["GD"], label
    assert 5 < final["RMSprop"] / final["GD"] < 20  # about ten times above GD
    adam_rate = scene.entry("Adam").hyperparams["learning_rate"]
    usual = RULES["adam"].spec("learning_rate").default
    assert usual == 0.1 and round(adam_rate, 1) == 3.2 and round(adam_rate / usual) == 32
