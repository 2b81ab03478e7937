"""Finding a surface's minima numerically: for toy networks, whose minima have no closed form.

Candidates are the cells of a grid lower than their eight neighbours; each is polished by damped
Newton steps with JAX's exact gradient and Hessian, and kept only where the gradient vanishes
(norm < 1e-10) and the Hessian is positive definite. The lowest is labelled global.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from gdviz.core.types import Batch, Consts, LossFn, NDArray

GRAD_TOL = 1e-10


@functools.cache
def _derivatives(loss_fn: LossFn):  # noqa: ANN202 (jitted fns)
    value_grad = jax.jit(jax.value_and_grad(loss_fn))
    hessian = jax.jit(jax.hessian(loss_fn))
    grid = jax.jit(jax.vmap(jax.vmap(loss_fn, in_axes=(0, None, None)), in_axes=(0, None, None)))
    return value_grad, hessian, grid


def polish(
    loss_fn: LossFn, consts: Consts, batch: Batch, start: NDArray, iterations: int = 100
) -> tuple[NDArray, float, NDArray, NDArray]:
    """Damped Newton from ``start``: returns the point, its loss, gradient and Hessian."""
    value_grad, hessian, _ = _derivatives(loss_fn)
    p = jnp.asarray(start, dtype=jnp.float64)
    value, g = value_grad(p, consts, batch)
    for _ in range(iterations):
        h = hessian(p, consts, batch)
        # Levenberg-style damping: a Newton step where the Hessian is convex, a short gradient
        # step blend where it is not; halve until the loss goes down.
        lam = max(0.0, -float(jnp.linalg.eigvalsh(h).min())) + 1e-9
        step = -jnp.linalg.solve(h + lam * jnp.eye(2), g)
        for _ in range(30):
            new_value, new_g = value_grad(p + step, consts, batch)
            if new_value <= value:
                break
            step = step / 2
        else:
            break
        p, value, g = p + step, new_value, new_g
        if float(jnp.linalg.norm(g)) < GRAD_TOL:
            break
    return np.asarray(p), float(value), np.asarray(g), np.asarray(hessian(p, consts, batch))


def find_minima(
    loss_fn: LossFn,
    consts: Consts,
    batch: Batch,
    rect: tuple[tuple[float, float], tuple[float, float]],
    resolution: int = 96,
) -> list[tuple[tuple[float, float], float]]:
    """Every strict local minimum inside ``rect`` as ``[((x, y), loss)]``, lowest first."""
    _, _, grid = _derivatives(loss_fn)
    (x0, x1), (y0, y1) = rect
    xs, ys = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    pts = jnp.asarray(np.stack(np.meshgrid(xs, ys, indexing="xy"), axis=-1))
    z = np.asarray(grid(pts, consts, batch))
    inner = z[1:-1, 1:-1]
    lower = np.ones_like(inner, dtype=bool)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                lower &= inner < z[1 + di : z.shape[0] - 1 + di, 1 + dj : z.shape[1] - 1 + dj]
    found: list[tuple[tuple[float, float], float]] = []
    for i, j in zip(*np.nonzero(lower), strict=True):
        p, value, g, h = polish(loss_fn, consts, batch, np.array([xs[j + 1], ys[i + 1]]))
        inside = x0 <= p[0] <= x1 and y0 <= p[1] <= y1
        if not inside or np.linalg.norm(g) > GRAD_TOL or np.linalg.eigvalsh(h).min() <= 0:
            continue
        if all(np.hypot(*(p - np.asarray(q))) > 1e-6 for q, _ in found):
            found.append(((float(p[0]), float(p[1])), value))
    return sorted(found, key=lambda m: m[1])
