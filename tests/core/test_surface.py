"""Loss grids equal the loss evaluated point by point."""

from __future__ import annotations

import numpy as np
import pytest

from gdviz.core import PROBLEMS, make_problem, surface


@pytest.mark.parametrize("name", PROBLEMS)
def test_grid_equals_pointwise_loss(name: str) -> None:
    problem = make_problem(name)
    s = surface(problem, resolution=(33, 17))
    assert s.loss.shape == (17, 33)
    assert (s.xs[0], s.xs[-1]) == problem.view[0] and (s.ys[0], s.ys[-1]) == problem.view[1]
    for i, j in [(0, 0), (16, 32), (5, 11), (9, 3)]:
        assert s.loss[i, j] == pytest.approx(problem.loss((s.xs[j], s.ys[i])), rel=1e-12, abs=1e-12)


def test_known_minima_are_lowest_on_a_fine_grid() -> None:
    for name in ("quadratic", "valley", "rosenbrock", "beale", "himmelblau", "linear_regression"):
        problem = make_problem(name)
        s = surface(problem, resolution=256)
        assert problem.best_loss is not None
        assert problem.best_loss <= s.loss.min() + 1e-12
        for m in problem.minima:
            assert problem.loss(m.point) == pytest.approx(m.loss, abs=1e-9)


def test_batch_surface_is_the_loss_of_that_batch() -> None:
    problem = make_problem("linear_regression", {"n": 30})
    idx = np.array([2, 5, 7, 19])
    s = surface(problem, ((-1.0, 3.0), (-2.0, 2.0)), resolution=9, batch_indices=idx)
    x, y = problem.x[idx], problem.y[idx]
    for i, j in [(0, 0), (4, 7), (8, 8)]:
        direct = np.mean((s.xs[j] * x + s.ys[i] - y) ** 2)
        assert s.loss[i, j] == pytest.approx(direct, rel=1e-12)
    full = surface(problem, ((-1.0, 3.0), (-2.0, 2.0)), resolution=9)
    assert np.abs(full.loss - s.loss).max() > 1e-3
    with pytest.raises(ValueError, match="no data"):
        surface(make_problem("beale"), batch_indices=idx)


def test_a_session_of_typed_formulas_keeps_a_bounded_number_of_compiled_grids() -> None:
    from gdviz.core import load_scene
    from gdviz.core.surface import COMPILED, _grid_fn

    scene = load_scene("saddle-point")
    for k in range(COMPILED + 3):
        problem = scene.with_expression(f"x**2 + {k + 1}*y**2").build_problem(minima="defer")
        surface(problem, ((-1.0, 1.0), (-1.0, 1.0)), 8)
    assert _grid_fn.cache_info().currsize <= COMPILED


def test_l2_surface_is_the_loss_an_l2_entry_descends() -> None:
    """With ``l2`` the grid is the loss plus ``(l2 / 2)·|θ|²``, pointwise; and its slope is the
    gradient the simulation gives an entry with that ``l2`` (one convention in both places)."""
    from gdviz.core import OptimizerEntry, Scene, simulate

    problem = make_problem("rosenbrock")
    rect = ((-1.5, 2.0), (-0.5, 3.0))
    plain = surface(problem, rect, resolution=(13, 11))
    s = surface(problem, rect, resolution=(13, 11), l2=0.3)
    assert s.l2 == 0.3 and plain.l2 == 0.0
    for i, j in [(0, 0), (10, 12), (4, 7)]:
        x, y = s.xs[j], s.ys[i]
        expected = problem.loss((x, y)) + 0.15 * (x * x + y * y)
        assert s.loss[i, j] == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(s.loss - plain.loss, 0.15 * (s.xs[None] ** 2 + s.ys[:, None] ** 2))

    start, h = (-1.2, 1.7), 1e-4
    entry = OptimizerEntry("sgd", "GD + L2", {"learning_rate": 1e-3}, l2=0.3)
    scene = Scene(problem="rosenbrock", optimizers=(entry,), steps=1, start=start)
    path = simulate(scene)["GD + L2"]
    box = ((start[0] - h, start[0] + h), (start[1] - h, start[1] + h))
    tiny = surface(problem, box, resolution=3, l2=0.3).loss
    slope = np.array([tiny[1, 2] - tiny[1, 0], tiny[2, 1] - tiny[0, 1]]) / (2 * h)
    np.testing.assert_allclose(slope, path.grads[0], rtol=1e-6)
