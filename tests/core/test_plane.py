"""Planes through weight space (gdviz.core.plane) and the network scenes' checked claims.

Most tests fit planes to synthetic paths (numpy arrays, no training): a plane only needs weight
vectors and the network's layout. The claims of the three built-in network scenes (moons,
random-plane, spirals-lr) are checked by training them.
"""

from __future__ import annotations

import numpy as np
import pytest

from gdviz.core import weightspace
from gdviz.core.mlp import make_network
from gdviz.core.plane import (
    Plane,
    PlaneSpec,
    faithfulness,
    filter_normalized,
    fit_plane,
    plane_from_table,
    surface,
    view_of,
)
from gdviz.core.scene import SceneError, load_scene

NET = make_network({"hidden": [3], "n": 12})  # 2-3-1: 13 weights


def _paths(seed: int = 0, count: int = 3, steps: int = 20) -> dict[str, np.ndarray]:
    """Random walks from the network's init, mostly along a few directions (like real paths)."""
    rng = np.random.default_rng(seed)
    main = rng.normal(size=(3, NET.n_weights))
    out = {}
    for i in range(count):
        moves = (
            rng.normal(size=(steps, 3)) @ main * 0.1
            + rng.normal(size=(steps, NET.n_weights)) * 0.01
        )
        out[f"e{i}"] = NET.init + np.concatenate(
            [np.zeros((1, NET.n_weights)), np.cumsum(moves, axis=0)]
        )
    return out


def _grid(plane: Plane) -> np.ndarray:
    a, b = np.meshgrid(np.linspace(-3.0, 2.0, 7), np.linspace(-1.0, 4.0, 5))
    return np.stack([a.ravel(), b.ravel()], axis=1)


def test_pca_directions_are_orthonormal_and_explain_what_the_svd_says() -> None:
    paths = _paths()
    plane = fit_plane(PlaneSpec("pca"), NET, paths)
    assert np.allclose(plane.directions @ plane.directions.T, np.eye(2), atol=1e-12)
    assert plane.orthonormal and np.array_equal(plane.origin, NET.init)
    stacked = np.concatenate(list(paths.values())) - NET.init
    s = np.linalg.svd(stacked, compute_uv=False)
    judged = faithfulness(NET, plane, paths, {k: np.zeros(len(v)) for k, v in paths.items()})
    assert judged.explained == pytest.approx((s[0] ** 2 + s[1] ** 2) / np.sum(s**2), rel=1e-12)
    assert 0.5 < judged.explained < 1.0
    # It is the best plane through the origin: no other holds more of the paths.
    rng = np.random.default_rng(1)
    for _ in range(20):
        q, _ = np.linalg.qr(rng.normal(size=(NET.n_weights, 2)))
        other = Plane("pca", NET.init, np.ascontiguousarray(q.T))
        assert other.explained(np.concatenate(list(paths.values()))) < judged.explained


def test_the_origin_is_the_init_the_mean_end_or_an_entrys_end() -> None:
    paths = _paths()
    ends = np.stack([w[-1] for w in paths.values()])
    assert np.allclose(fit_plane(PlaneSpec("pca", "end"), NET, paths).origin, ends.mean(axis=0))
    assert np.array_equal(fit_plane(PlaneSpec("random", "e1"), NET, paths).origin, ends[1])
    with pytest.raises(SceneError, match="no entry called 'e9'"):
        fit_plane(PlaneSpec("pca", "e9"), NET, paths)


def test_filter_normalization_matches_a_hand_computation() -> None:
    net = make_network({"hidden": [2], "n": 4})  # 2-2-1: W1 (2, 2), b1 (2,), W2 (1, 2), b2 (1,)
    w = np.array([3.0, 4.0, 0.0, 2.0, 1.0, 1.0, 1.0, 2.0, 5.0])
    d = np.array([1.0, 0.0, 0.0, 3.0, 7.0, 7.0, 2.0, 2.0, 9.0])
    # Rows of W1: |(3, 4)| = 5 over |(1, 0)| = 1 -> (5, 0); |(0, 2)| = 2 over |(0, 3)| = 3 ->
    # (0, 2). W2's one row: |(1, 2)| = sqrt 5 over |(2, 2)| = sqrt 8 -> sqrt(5/8) (2, 2).
    # Biases: 0 (ignore="biasbn").
    r = np.sqrt(5 / 8) * 2
    assert np.allclose(filter_normalized(d, w, net.arch), [5, 0, 0, 2, 0, 0, r, r, 0], atol=1e-9)


def test_a_random_plane_is_seeded_and_filter_normalized_to_its_origin() -> None:
    paths = _paths()
    plane = fit_plane(PlaneSpec("random", seed=4), NET, paths)
    again = fit_plane(PlaneSpec("random", seed=4), NET, paths)
    other = fit_plane(PlaneSpec("random", seed=5), NET, paths)
    assert np.array_equal(plane.directions, again.directions)
    assert not np.allclose(plane.directions, other.directions)
    assert not plane.orthonormal  # filter normalization leaves them neither unit nor orthogonal
    for d in plane.directions:
        for L in NET.layers:
            rows = d[L.weights].reshape(L.fan_out, L.fan_in)
            ref = plane.origin[L.weights].reshape(L.fan_out, L.fan_in)
            assert np.allclose(np.linalg.norm(rows, axis=1), np.linalg.norm(ref, axis=1))
            assert not d[L.biases].any()


@pytest.mark.parametrize(
    "spec",
    [PlaneSpec("pca"), PlaneSpec("random", seed=2), PlaneSpec("minima", entries=("e0", "e2"))],
)
def test_the_planes_own_grid_points_project_to_themselves(spec: PlaneSpec) -> None:
    plane = fit_plane(spec, NET, _paths())
    coords = _grid(plane)
    points = plane.lift(coords)
    assert np.allclose(plane.project(points), coords, rtol=0, atol=1e-12)
    # ... and a point off the plane projects to its nearest point on it (least squares):
    off = points[3] + np.random.default_rng(0).normal(size=NET.n_weights)
    foot = plane.lift(plane.project(off))
    assert np.allclose(plane.directions @ (off - foot), 0.0, atol=1e-12)


def test_a_minima_plane_holds_the_init_and_both_end_points() -> None:
    paths = _paths()
    plane = fit_plane(PlaneSpec("minima", entries=("e0", "e2")), NET, paths)
    assert plane.orthonormal
    a, b = paths["e0"][-1], paths["e2"][-1]
    assert np.allclose(plane.project(NET.init), 0.0)
    assert np.allclose(plane.project(a), [np.linalg.norm(a - NET.init), 0.0])
    assert plane.project(b)[1] > 0
    assert np.allclose(plane.lift(plane.project(b)), b)  # b lies in the plane
    line = {"e0": paths["e0"], "e2": NET.init + 2 * (paths["e0"] - NET.init)}
    with pytest.raises(SceneError, match="end on one line through the init"):
        fit_plane(PlaneSpec("minima", entries=("e0", "e2")), NET, line)


def test_the_surface_is_the_loss_at_the_lifted_grid_points() -> None:
    paths = _paths()
    plane = fit_plane(PlaneSpec("random", seed=3), NET, paths)
    got = surface(NET, plane, ((-1.0, 2.0), (-2.0, 1.0)), 9)
    assert got.loss.shape == (9, 9) and got.xs[0] == -1.0 and got.ys[-1] == 1.0
    for i, j in [(0, 0), (4, 7), (8, 2)]:
        want = NET.loss(plane.lift(np.array([got.xs[j], got.ys[i]])))
        assert got.loss[i, j] == pytest.approx(want, rel=1e-5)  # a float32 picture
    with pytest.raises(SceneError, match="resolution: must be in"):
        surface(NET, plane, ((-1.0, 2.0), (-2.0, 1.0)), 1)
    with pytest.raises(SceneError, match="view: must be finite"):
        surface(NET, plane, ((1.0, -1.0), (-2.0, 1.0)), 9)


def test_faithfulness_of_paths_on_and_off_the_plane() -> None:
    paths = _paths(count=2, steps=6)
    plane = fit_plane(PlaneSpec("pca"), NET, paths)
    on = {k: plane.lift(plane.project(w)) for k, w in paths.items()}  # the paths' feet
    loss_on = {k: np.array([NET.loss(p) for p in w]) for k, w in on.items()}
    judged = faithfulness(NET, plane, on, loss_on)
    assert judged.explained == pytest.approx(1.0) and judged.max_gap < 1e-12
    true_loss = {k: np.array([NET.loss(p) for p in w]) for k, w in paths.items()}
    judged = faithfulness(NET, plane, paths, true_loss)
    for k in paths:
        gaps = np.abs(true_loss[k] - loss_on[k])
        assert judged.gap_by_entry[k] == pytest.approx(gaps.max(), rel=1e-9)
        assert judged.gap_step_by_entry[k] == int(np.argmax(gaps))
        assert np.allclose(judged.plane_loss[k], loss_on[k], rtol=1e-12)
        assert judged.explained_by_entry[k] == pytest.approx(plane.explained(paths[k]))
    assert judged.max_gap == max(judged.gap_by_entry.values()) > 0
    # Without the gaps (a drag's outdated move): the same shares, nothing else worked out.
    pending = faithfulness(NET, plane, paths, true_loss, gaps=False)
    assert pending.gaps_pending and not judged.gaps_pending
    assert pending.explained == judged.explained
    assert pending.explained_by_entry == judged.explained_by_entry
    assert not pending.gap_by_entry and not pending.gap_step_by_entry and not pending.plane_loss


def test_view_of_holds_every_point_and_is_square() -> None:
    (x0, x1), (y0, y1) = view_of([np.array([[0.0, 0.0], [4.0, 1.0]]), np.array([[1.0, -1.0]])])
    assert x0 < 0 and x1 > 4 and y0 < -1 and y1 > 1
    assert x1 - x0 == pytest.approx(y1 - y0)
    (x0, x1), _ = view_of([np.zeros((3, 2))])  # one point: still a rectangle
    assert x0 < x1


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"kind": "flat"}, "plane.kind: must be one of pca, random, minima"),
        ({"kind": "minima"}, "plane.entries: a minima plane needs two entries"),
        ({"kind": "minima", "entries": ["a", "a"]}, "must be two different entries"),
        ({"kind": "minima", "entries": ["a", "b"], "through": "end"}, "goes through the init"),
        ({"kind": "pca", "seed": 3}, "plane.seed: only a random plane takes a seed"),
        ({"kind": "random", "seed": -1}, "plane.seed: must be an integer"),
        ({"kind": "pca", "through": 3}, "plane.through: must be"),
        ({"kind": "pca", "tilt": 3}, "plane.tilt: unknown key"),
    ],
)
def test_plane_tables_are_checked(table: dict[str, object], message: str) -> None:
    with pytest.raises(SceneError) as err:
        plane_from_table(table)
    assert message in str(err.value)


def test_plane_tables_round_trip() -> None:
    for spec in (
        PlaneSpec(),
        PlaneSpec("random", "Adam", seed=9),
        PlaneSpec("minima", entries=("SGD", "Adam")),
    ):
        assert plane_from_table(spec.to_table()) == spec
    assert PlaneSpec().to_table() == {"kind": "pca"}


# --- the network scenes' claims -------------------------------------------------------------------


@pytest.fixture(scope="module")
def moons() -> weightspace.Picture:
    return weightspace.picture(load_scene("moons"))


def test_moons_claims(moons: weightspace.Picture) -> None:
    """Caption: Adam and momentum pass 95% train accuracy within 150 steps; plain SGD is still
    below it after 300; the PCA plane holds over 90% of the paths' movement."""
    paths = moons.paths
    assert paths["SGD"].steps == 300 and paths["SGD"].first_step_reaching(0.95) is None
    for label in ("Adam", "Momentum"):
        assert paths[label].first_step_reaching(0.95) <= 150  # type: ignore[operator]
    assert moons.faithfulness.explained > 0.9
    assert all(np.array_equal(c[0], [0.0, 0.0]) for c in moons.coords.values())  # from the init
    assert all(p.batches is paths["SGD"].batches for p in paths.values())  # the same batches


def test_random_plane_claims(moons: weightspace.Picture) -> None:
    """Caption: the same runs; the random plane holds under 10% of their movement, and the
    surface under a path differs from its own loss by more than half the starting loss."""
    scene = load_scene("random-plane")
    base = load_scene("moons")
    assert scene.replace(title="", caption="", plane=None) == base.replace(
        title="", caption="", plane=None
    )  # the same runs
    picture = weightspace.picture(scene, moons.paths)
    assert picture.plane.kind == "random" and not picture.plane.orthonormal
    assert picture.faithfulness.explained < 0.1
    start = moons.paths["Adam"].loss[0]
    assert picture.faithfulness.max_gap > 0.5 * start
    assert moons.faithfulness.max_gap < picture.faithfulness.max_gap


def test_spirals_lr_claims() -> None:
    """Caption: at 0.1 Adam passes 95% within 200 steps; at 0.01 it is under 70% after 1000
    steps; at 1.0 it never reaches 95%."""
    scene = load_scene("spirals-lr")
    paths = weightspace.train(scene)
    assert scene.build_network().n_weights == 337 and scene.steps == 1000
    assert paths["Adam, lr 0.1"].first_step_reaching(0.95) <= 200  # type: ignore[operator]
    assert paths["Adam, lr 0.01"].accuracy[-1] < 0.7  # type: ignore[index]
    assert paths["Adam, lr 1.0"].first_step_reaching(0.95) is None
    assert all(p.diverged_at is None for p in paths.values())
