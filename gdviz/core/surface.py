"""Loss surfaces on a grid, evaluated with ``vmap`` under ``jit``."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from gdviz.core.deferred import jax, jnp
from gdviz.core.problems import Problem, Rect
from gdviz.core.types import Array, Batch, Consts, LossFn, NDArray


@dataclass(frozen=True, eq=False)
class Surface:
    """The loss on a regular grid.

    Attributes:
      xs: ``(nx,)`` first-parameter values (columns).
      ys: ``(ny,)`` second-parameter values (rows).
      loss: ``(ny, nx)`` with ``loss[i, j]`` the loss at ``(xs[j], ys[i])`` (``meshgrid`` 'xy'),
        plus ``(l2 / 2)·|θ|²`` when ``l2`` is not 0.
      rect: the rectangle covered.
      l2: the L2 coefficient included in ``loss`` (0: the problem's own loss).
    """

    xs: NDArray
    ys: NDArray
    loss: NDArray
    rect: Rect
    l2: float = 0.0


def l2_term(points: NDArray, l2: float) -> NDArray:
    """``(l2 / 2)·|θ|²`` at ``(..., 2)`` points: the term an entry's ``l2`` adds to its loss (its
    gradient is ``l2 · θ``, as :func:`gdviz.core.simulate.simulate` adds it)."""
    p = np.asarray(points, dtype=np.float64)
    return 0.5 * l2 * (p[..., 0] ** 2 + p[..., 1] ** 2)


COMPILED = 16
"""Compiled grid, point and prediction functions kept per kind, least recently used first out:
each typed formula is a new loss function, and a session of formulas must not keep them all."""


@functools.lru_cache(maxsize=COMPILED)
def _grid_fn(loss_fn: LossFn):  # noqa: ANN202 (a jitted fn)
    def at(x: Array, y: Array, consts: Consts, batch: Batch) -> Array:
        return loss_fn(jnp.stack([x, y]), consts, batch)

    row = jax.vmap(at, in_axes=(0, None, None, None))
    grid = jax.vmap(row, in_axes=(None, 0, None, None))
    return jax.jit(grid)


def surface(
    problem: Problem,
    rect: Rect | None = None,
    resolution: int | tuple[int, int] = 256,
    batch_indices: NDArray | None = None,
    l2: float = 0.0,
) -> Surface:
    """The full-batch loss of ``problem`` over ``rect`` (its default view if None).

    Args:
      problem: the problem.
      rect: ``((x_min, x_max), (y_min, y_max))``.
      resolution: points per axis, or ``(nx, ny)``.
      batch_indices: sample indices of one mini-batch: the surface that batch sees
        (data problems only).
      l2: the regularised loss ``loss + (l2 / 2)·|θ|²`` (:attr:`gdviz.core.scene.Scene.surface_l2`:
        the loss the visible entries descend when they share an L2 term). Added after the grid
        is evaluated, so another ``l2`` compiles nothing.
    """
    (x0, x1), (y0, y1) = rect if rect is not None else problem.view
    nx, ny = (resolution, resolution) if isinstance(resolution, int) else resolution
    xs = np.linspace(x0, x1, nx)
    ys = np.linspace(y0, y1, ny)
    batch = problem.full_batch()
    if batch_indices is not None:
        if not problem.has_data:
            raise ValueError(f"problem {problem.name!r} has no data to take a batch of")
        idx = jnp.asarray(batch_indices)
        batch = tuple(a[idx] for a in batch)
    z = _grid_fn(problem.loss_fn)(jnp.asarray(xs), jnp.asarray(ys), problem.jax_consts(), batch)
    loss = np.asarray(z)
    if l2:
        grid = np.stack(np.meshgrid(xs, ys, indexing="xy"), axis=-1)
        loss = loss + l2_term(grid, l2)
    return Surface(xs=xs, ys=ys, loss=loss, rect=((x0, x1), (y0, y1)), l2=float(l2))


@functools.lru_cache(maxsize=COMPILED)
def _points_fn(loss_fn: LossFn):  # noqa: ANN202 (a jitted fn)
    value_and_grad = jax.vmap(jax.value_and_grad(loss_fn), in_axes=(0, None, None))
    return jax.jit(value_and_grad)


def loss_and_grad_at(problem: Problem, points: NDArray) -> tuple[NDArray, NDArray]:
    """Full-batch loss ``(k,)`` and gradient ``(k, 2)`` at ``(k, 2)`` points, in one call."""
    pts = jnp.asarray(np.asarray(points, dtype=np.float64).reshape(-1, 2))
    loss, grad = _points_fn(problem.loss_fn)(pts, problem.jax_consts(), problem.full_batch())
    return np.asarray(loss), np.asarray(grad)


@functools.lru_cache(maxsize=COMPILED)
def _predict_fn(predict_fn):  # noqa: ANN001, ANN202 (a jitted fn)
    return jax.jit(jax.vmap(predict_fn, in_axes=(0, None, None)))


def predictions(problem: Problem, params: NDArray, xs: NDArray) -> NDArray:
    """The fitted model of each parameter row at ``xs``: ``(k, len(xs))``; data problems only."""
    if problem.predict_fn is None:
        raise ValueError(f"problem {problem.name!r} has no model to draw in data space")
    out = _predict_fn(problem.predict_fn)(
        jnp.asarray(np.asarray(params, dtype=np.float64).reshape(-1, 2)),
        problem.jax_consts(),
        jnp.asarray(xs, dtype=jnp.float64),
    )
    return np.asarray(out)
