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
