"""Finding a surface's minima numerically: for toy networks, whose minima have no closed form.

Candidates are the cells of a grid lower than their eight neighbours, and any hints the caller
gives (a typed formula's ``minima``); each is polished by damped Newton steps with JAX's exact
gradient and Hessian, and kept only where the gradient vanishes (norm < 1e-10, relative to the
curvature where that exceeds 1: see :func:`converged`), the Hessian is
positive definite and the point lies inside the searched rectangle. The lowest is labelled global
(:func:`gdviz.core.problems.labelled`).
"""

from __future__ import annotations

import functools

import numpy as np

from gdviz.core.deferred import jax, jnp
from gdviz.core.types import Batch, Consts, LossFn, NDArray

GRAD_TOL = 1e-10

MAX_CANDIDATES = 64
"""Grid candidates polished at most, the lowest first (each polish costs ~0.5-5 ms)."""


@functools.lru_cache(maxsize=32)  # bounded: every typed formula is a new loss function
def _derivatives(loss_fn: LossFn):  # noqa: ANN202 (jitted fns)
    value_grad = jax.jit(jax.value_and_grad(loss_fn))
    hessian = jax.jit(jax.hessian(loss_fn))
    grid = jax.jit(jax.vmap(jax.vmap(loss_fn, in_axes=(0, None, None)), in_axes=(0, None, None)))
    return value_grad, hessian, grid


def polish(
    loss_fn: LossFn, consts: Consts, batch: Batch, start: NDArray, iterations: int = 100
) -> tuple[NDArray, float, NDArray, NDArray]:
    """Damped Newton from ``start``: returns the point, its loss, gradient and Hessian.

    The 2x2 algebra runs in numpy: eager ``jnp.linalg`` calls cost ~0.1 ms each in dispatch,
    most of a polish's time.
    """
    value_grad, hessian, _ = _derivatives(loss_fn)
    p = np.asarray(start, dtype=np.float64)
    value, g = _host(value_grad(p, consts, batch))
    h = np.asarray(hessian(p, consts, batch))
    for _ in range(iterations):
        if not (np.isfinite(value) and np.all(np.isfinite(h)) and np.all(np.isfinite(g))):
            break
        # Levenberg-style damping: a Newton step where the Hessian is convex, a short gradient
        # step blend where it is not; halve until the loss goes down.
        lam = max(0.0, -float(np.linalg.eigvalsh(h).min())) + 1e-9
        try:
            step = -np.linalg.solve(h + lam * np.eye(2), g)
        except np.linalg.LinAlgError:
            break
        for _ in range(30):
            new_value, new_g = _host(value_grad(p + step, consts, batch))
            if new_value <= value:
                break
            step = step / 2
        else:
            break
        p, value, g = p + step, new_value, new_g
        h = np.asarray(hessian(p, consts, batch))
        if converged(g, h):
            break
    return p, float(value), g, h


def converged(g: NDArray, h: NDArray) -> bool:
    """Whether the gradient vanishes: ``|g| < GRAD_TOL * max(1, |H|)``.

    Relative to the curvature, because float64 cannot make the gradient of a steep well smaller
    than ~1e-16 of its terms: a typed ``-20*exp(-r**2/1e-5)`` (curvature 4e6) stops at
    ``|g|`` ~ 3e-10, a point within 1e-16 of the minimum.
    """
    scale = max(1.0, float(np.abs(h).max())) if np.all(np.isfinite(h)) else 1.0
    return bool(np.all(np.isfinite(g)) and float(np.linalg.norm(g)) < GRAD_TOL * scale)


def _host(value_and_grad: tuple[object, object]) -> tuple[float, NDArray]:
    value, g = value_and_grad
    return float(value), np.asarray(g, dtype=np.float64)


Rect = tuple[tuple[float, float], tuple[float, float]]


def grid_values(
    loss_fn: LossFn, consts: Consts, batch: Batch, rect: Rect, resolution: int = 96
) -> tuple[NDArray, NDArray, NDArray]:
    """``(xs, ys, z)``: the loss on a ``resolution``² grid over ``rect``, ``z[i, j]`` at
    ``(xs[j], ys[i])``; non-finite values are kept as they are."""
    _, _, grid = _derivatives(loss_fn)
    (x0, x1), (y0, y1) = rect
    xs, ys = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    pts = jnp.asarray(np.stack(np.meshgrid(xs, ys, indexing="xy"), axis=-1))
    return xs, ys, np.asarray(grid(pts, consts, batch))


def find_minima(
    loss_fn: LossFn,
    consts: Consts,
    batch: Batch,
    rect: Rect,
    resolution: int = 96,
    *,
    starts: tuple[tuple[float, float], ...] = (),
    grid: tuple[NDArray, NDArray, NDArray] | None = None,
) -> list[tuple[tuple[float, float], float]]:
    """Every strict local minimum inside ``rect`` as ``[((x, y), loss)]``, lowest first.

    Args:
      starts: extra points to polish from (hints), besides the grid's candidates.
      grid: :func:`grid_values` of the same loss and ``rect``, when the caller has it already.
    """
    xs, ys, z = grid if grid is not None else grid_values(loss_fn, consts, batch, rect, resolution)
    (x0, x1), (y0, y1) = rect
    inner = z[1:-1, 1:-1]
    # A candidate is no higher than its eight neighbours and lower than one of them: ties count
    # (a symmetric bowl centred between grid points has four equal lowest cells), flat plateaus
    # do not (floor(x) would give thousands).
    lower = np.isfinite(inner)
    below_one = np.zeros_like(inner, dtype=bool)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                other = z[1 + di : z.shape[0] - 1 + di, 1 + dj : z.shape[1] - 1 + dj]
                lower &= inner <= other
                below_one |= inner < other
    rows, cols = np.nonzero(lower & below_one)
    order = np.argsort(inner[rows, cols], kind="stable")[:MAX_CANDIDATES]
    candidates = [np.array([xs[cols[k] + 1], ys[rows[k] + 1]]) for k in order]
    candidates += [np.asarray(s, dtype=np.float64) for s in starts]
    found: list[tuple[tuple[float, float], float]] = []
    for start in candidates:
        p, value, g, h = polish(loss_fn, consts, batch, start)
        if not (np.all(np.isfinite(p)) and np.isfinite(value) and np.all(np.isfinite(h))):
            continue
        inside = x0 <= p[0] <= x1 and y0 <= p[1] <= y1
        if not inside or not converged(g, h) or np.linalg.eigvalsh(h).min() <= 0:
            continue
        if all(np.hypot(*(p - np.asarray(q))) > 1e-6 for q, _ in found):
            found.append(((float(p[0]), float(p[1])), value))
    return sorted(found, key=lambda m: m[1])
