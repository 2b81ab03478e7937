"""Loss surfaces on a grid, evaluated with ``vmap`` under ``jit``."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from gdviz.core.problems import Problem, Rect
from gdviz.core.types import Array, Batch, Consts, LossFn, NDArray


@dataclass(frozen=True, eq=False)
class Surface:
    """The loss on a regular grid.

    Attributes:
      xs: ``(nx,)`` first-parameter values (columns).
      ys: ``(ny,)`` second-parameter values (rows).
      loss: ``(ny, nx)`` with ``loss[i, j]`` the loss at ``(xs[j], ys[i])`` (``meshgrid`` 'xy').
      rect: the rectangle covered.
    """

    xs: NDArray
    ys: NDArray
    loss: NDArray
    rect: Rect


@functools.cache
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
) -> Surface:
    """The full-batch loss of ``problem`` over ``rect`` (its default view if None).

    Args:
      problem: the problem.
      rect: ``((x_min, x_max), (y_min, y_max))``.
      resolution: points per axis, or ``(nx, ny)``.
      batch_indices: sample indices of one mini-batch: the surface that batch sees
        (data problems only).
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
    return Surface(xs=xs, ys=ys, loss=np.asarray(z), rect=((x0, x1), (y0, y1)))
