"""Toy networks: their minima are real minima, and the global one is the lowest there is."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gdviz.core import make_problem, surface

NETWORKS = ["neuron", "tanh_unit", "tiny_mlp"]


@pytest.mark.parametrize("name", NETWORKS)
def test_minima_have_zero_gradient_and_a_positive_definite_hessian(name: str) -> None:
    problem = make_problem(name)
    assert problem.minima and problem.minima[0].kind == "global"
    consts, batch = problem.jax_consts(), problem.full_batch()
    for m in problem.minima:
        p = jnp.asarray(m.point)
        g = np.asarray(jax.grad(problem.loss_fn)(p, consts, batch))
        h = np.asarray(jax.hessian(problem.loss_fn)(p, consts, batch))
        assert np.linalg.norm(g) < 1e-8
        assert np.linalg.eigvalsh(h).min() > 0
        assert problem.loss(m.point) == pytest.approx(m.loss, abs=1e-12)


@pytest.mark.parametrize("name", NETWORKS)
def test_the_global_minimum_is_the_lowest_on_a_dense_grid(name: str) -> None:
    problem = make_problem(name)
    grid = surface(problem, resolution=400)
    assert problem.minima[0].loss <= grid.loss.min() + 1e-12
    # ...and no point of the grid is much lower than the known minima claim: the search missed
    # no deeper basin inside the view.
    assert grid.loss.min() - problem.minima[0].loss < 1e-3


def test_tiny_mlp_has_a_genuine_local_minimum_that_is_not_global() -> None:
    problem = make_problem("tiny_mlp")
    kinds = [m.kind for m in problem.minima]
    assert kinds == ["global", "local"]
    glob, local = problem.minima
    assert local.loss > glob.loss + 0.3
    (x0, x1), (y0, y1) = problem.view
    for m in problem.minima:
        assert x0 < m.point[0] < x1 and y0 < m.point[1] < y1


def test_tanh_unit_has_two_mirror_minima_and_a_saddle_at_the_origin() -> None:
    problem = make_problem("tanh_unit")
    a, b = problem.minima
    assert a.kind == b.kind == "global"
    np.testing.assert_allclose(a.point, -np.asarray(b.point), atol=1e-8)
    consts, batch = problem.jax_consts(), problem.full_batch()
    zero = jnp.zeros(2)
    assert np.linalg.norm(jax.grad(problem.loss_fn)(zero, consts, batch)) < 1e-12
    eig = np.linalg.eigvalsh(jax.hessian(problem.loss_fn)(zero, consts, batch))
    assert eig.min() < 0 < eig.max()


def test_the_fitted_model_is_drawn_from_the_parameters() -> None:
    from gdviz.core.surface import predictions

    problem = make_problem("neuron")
    xs = np.linspace(-4, 4, 9)
    y = predictions(problem, np.array([[2.0, -1.0]]), xs)[0]
    np.testing.assert_allclose(y, 1 / (1 + np.exp(-(2 * xs - 1))), rtol=1e-12)
