"""Loss surfaces over two parameters: analytic test functions and data-fitting problems.

This module defines :class:`Problem` and :func:`make_problem` and registers the analytic functions
and linear regression in :mod:`gdviz.core.registry`; :mod:`gdviz.core.networks` registers the toy
networks there. ``PROBLEMS`` and ``ProblemSpec`` are re-exported from the registry.

A :class:`Problem` is plain data around a pure, module-level loss function
``loss(params, consts, batch)``. Data problems carry a dataset ``(x, y)`` whose rows make the
mini-batches; analytic functions take the empty batch ``()``. The loss function object keys the
compile cache, and constants and data are traced, so editing them never recompiles.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

from gdviz.core.registry import PROBLEMS, ProblemSpec, register
from gdviz.core.specs import ParamSpec
from gdviz.core.types import Batch, Consts, LossFn, NDArray, Params, PredictFn

Rect = tuple[tuple[float, float], tuple[float, float]]
"""``((x_min, x_max), (y_min, y_max))`` in parameter space."""


@dataclass(frozen=True)
class Minimum:
    """A known minimum: where it is, its loss, and whether it is the lowest there is."""

    point: tuple[float, float]
    loss: float
    kind: Literal["global", "local"]


@dataclass(frozen=True, eq=False)
class Problem:
    """A loss over two parameters, with what a view needs to draw it.

    Attributes:
      name: registry name (snake_case).
      title: a human title.
      loss_fn: ``loss(params, consts, batch) -> scalar``; pure, module-level.
      consts: scalar constants of the loss (traced under jit).
      x, y: the dataset of a data problem (rows are samples), else None.
      axis_names: names of the two parameters, e.g. ``("m", "b")``.
      view: the default rectangle to show.
      minima: known minima, global ones first.
      predict_fn: ``predict(params, consts, x)`` for drawing the fitted model, data problems only.
    """

    name: str
    title: str
    loss_fn: LossFn
    consts: Mapping[str, float]
    axis_names: tuple[str, str]
    view: Rect
    minima: tuple[Minimum, ...]
    x: NDArray | None = None
    y: NDArray | None = None
    predict_fn: PredictFn | None = None
    params: Mapping[str, float] = field(default_factory=dict)

    @property
    def has_data(self) -> bool:
        return self.x is not None

    @property
    def n(self) -> int:
        """Number of samples (0 for analytic functions)."""
        return 0 if self.x is None else int(self.x.shape[0])

    def jax_consts(self) -> Consts:
        return {k: jnp.asarray(v, dtype=jnp.float64) for k, v in self.consts.items()}

    def full_batch(self) -> Batch:
        if self.x is None or self.y is None:
            return ()
        return (jnp.asarray(self.x), jnp.asarray(self.y))

    def loss(self, params: tuple[float, float] | NDArray) -> float:
        """The full-batch loss at one point (a convenience; not for loops)."""
        p = jnp.asarray(params, dtype=jnp.float64)
        return float(self.loss_fn(p, self.jax_consts(), self.full_batch()))

    @property
    def best_loss(self) -> float | None:
        """The lowest known loss, or None when no minimum is known (a saddle)."""
        return min((m.loss for m in self.minima), default=None)


# --- loss functions: module-level so that they are stable keys for the compile cache -------------


def quadratic_loss(p: Params, c: Consts, batch: Batch) -> jax.Array:
    del batch
    cos, sin = jnp.cos(c["angle"]), jnp.sin(c["angle"])
    u = cos * p[0] + sin * p[1]
    v = -sin * p[0] + cos * p[1]
    return 0.5 * (u**2 + c["condition"] * v**2)


def valley_loss(p: Params, c: Consts, batch: Batch) -> jax.Array:
    # A pseudo-Huber floor: far away the slope along x is a constant ~1, so plain GD walks at a
    # steady pace while momentum builds up speed; the walls across y are `steepness` times stiffer.
    del batch
    return jnp.sqrt(1.0 + (p[0] - c["floor_min"]) ** 2) - 1.0 + 0.5 * c["steepness"] * p[1] ** 2


def rosenbrock_loss(p: Params, c: Consts, batch: Batch) -> jax.Array:
    del batch
    return (c["a"] - p[0]) ** 2 + c["b"] * (p[1] - p[0] ** 2) ** 2


def beale_loss(p: Params, c: Consts, batch: Batch) -> jax.Array:
    del c, batch
    x, y = p[0], p[1]
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def himmelblau_loss(p: Params, c: Consts, batch: Batch) -> jax.Array:
    del c, batch
    x, y = p[0], p[1]
    return (x**2 + y - 11.0) ** 2 + (x + y**2 - 7.0) ** 2


def saddle_loss(p: Params, c: Consts, batch: Batch) -> jax.Array:
    del c, batch
    return p[0] ** 2 - p[1] ** 2


def line_predict(p: Params, c: Consts, x: jax.Array) -> jax.Array:
    del c
    return p[0] * x + p[1]


def linear_regression_loss(p: Params, c: Consts, batch: Batch) -> jax.Array:
    """Mean squared error of the line ``y = m x + b`` on the batch."""
    x, y = batch
    return jnp.mean((line_predict(p, c, x) - y) ** 2)


# --- builders -------------------------------------------------------------------------------------


def _quadratic(condition: float, angle: float) -> Problem:
    return Problem(
        name="quadratic",
        title=f"Quadratic bowl (condition number {condition:g})",
        loss_fn=quadratic_loss,
        consts={"condition": condition, "angle": math.radians(angle)},
        axis_names=("x", "y"),
        view=((-5.0, 5.0), (-5.0, 5.0)),
        minima=(Minimum((0.0, 0.0), 0.0, "global"),),
    )


def _valley(steepness: float, floor_min: float) -> Problem:
    return Problem(
        name="valley",
        title="A long, narrow valley",
        loss_fn=valley_loss,
        consts={"steepness": steepness, "floor_min": floor_min},
        axis_names=("x", "y"),
        view=((-7.0, 5.0), (-3.0, 3.0)),
        minima=(Minimum((floor_min, 0.0), 0.0, "global"),),
    )


def _rosenbrock(a: float, b: float) -> Problem:
    return Problem(
        name="rosenbrock",
        title="Rosenbrock's banana valley",
        loss_fn=rosenbrock_loss,
        consts={"a": a, "b": b},
        axis_names=("x", "y"),
        view=((-2.0, 2.0), (-1.0, 3.0)),
        minima=(Minimum((a, a * a), 0.0, "global"),),
    )


def _beale() -> Problem:
    return Problem(
        name="beale",
        title="Beale's function",
        loss_fn=beale_loss,
        consts={},
        axis_names=("x", "y"),
        view=((-4.5, 4.5), (-4.5, 4.5)),
        minima=(Minimum((3.0, 0.5), 0.0, "global"),),
    )


_HIMMELBLAU_MINIMA = (
    (3.0, 2.0),
    (-2.805118086952745, 3.131312518250573),
    (-3.779310253377747, -3.283185991286170),
    (3.584428340330492, -1.848126526964404),
)


def _himmelblau() -> Problem:
    return Problem(
        name="himmelblau",
        title="Himmelblau's function: four equal minima",
        loss_fn=himmelblau_loss,
        consts={},
        axis_names=("x", "y"),
        view=((-6.0, 6.0), (-6.0, 6.0)),
        minima=tuple(Minimum(m, 0.0, "global") for m in _HIMMELBLAU_MINIMA),
    )


def _saddle() -> Problem:
    return Problem(
        name="saddle",
        title="A saddle point: x² − y²",
        loss_fn=saddle_loss,
        consts={},
        axis_names=("x", "y"),
        view=((-2.0, 2.0), (-2.0, 2.0)),
        minima=(),
    )


def regression_data(
    n: int, noise: float, true_m: float, true_b: float, data_seed: int
) -> tuple[NDArray, NDArray]:
    """A seeded synthetic dataset: x uniform on [0, 2], y = true_m x + true_b + noise N(0, 1)."""
    rng = np.random.default_rng(data_seed)
    x = rng.uniform(0.0, 2.0, size=n)
    y = true_m * x + true_b + noise * rng.standard_normal(n)
    return x, y


def _linear_regression(
    n: int, noise: float, true_m: float, true_b: float, data_seed: int
) -> Problem:
    x, y = regression_data(n, noise, true_m, true_b, data_seed)
    design = np.stack([x, np.ones_like(x)], axis=1)
    (m_hat, b_hat), *_ = np.linalg.lstsq(design, y, rcond=None)
    best = float(np.mean((m_hat * x + b_hat - y) ** 2))
    view = ((round(m_hat) - 5.0, round(m_hat) + 5.0), (round(b_hat) - 5.0, round(b_hat) + 5.0))
    return Problem(
        name="linear_regression",
        title="Linear regression: mean squared error over (m, b)",
        loss_fn=linear_regression_loss,
        consts={},
        axis_names=("m", "b"),
        view=view,
        minima=(Minimum((float(m_hat), float(b_hat)), best, "global"),),
        x=x,
        y=y,
        predict_fn=line_predict,
    )


register(
    ProblemSpec(
        "quadratic",
        "bowl ½(u² + κ v²), axes turned by `angle` degrees",
        (
            ParamSpec("condition", 10.0, 1.0, 1000.0, scale="log", doc="condition number κ"),
            ParamSpec("angle", 0.0, -90.0, 90.0, doc="rotation of the axes, degrees"),
        ),
        _quadratic,
    ),
    ProblemSpec(
        "valley",
        "long narrow valley with a gentle floor",
        (
            ParamSpec("steepness", 10.0, 1.0, 200.0, scale="log", doc="stiffness of the walls"),
            ParamSpec("floor_min", 3.0, -5.0, 5.0, doc="where the floor is lowest"),
        ),
        _valley,
    ),
    ProblemSpec(
        "rosenbrock",
        "(a − x)² + b (y − x²)²",
        (
            ParamSpec("a", 1.0, -2.0, 2.0),
            ParamSpec("b", 100.0, 0.0, 1000.0),
        ),
        _rosenbrock,
    ),
    ProblemSpec("beale", "Beale's function, minimum at (3, 0.5)", (), _beale),
    ProblemSpec("himmelblau", "four minima of equal depth", (), _himmelblau),
    ProblemSpec("saddle", "x² − y²: a saddle point at the origin", (), _saddle),
    ProblemSpec(
        "linear_regression",
        "mean squared error of y = m x + b on synthetic data",
        (
            ParamSpec("n", 100, 2, 10_000, integer=True, doc="number of data points"),
            ParamSpec("noise", 0.5, 0.0, 10.0, doc="std of the noise on y"),
            ParamSpec("true_m", 2.0, -10.0, 10.0, doc="slope the data come from"),
            ParamSpec("true_b", 1.0, -10.0, 10.0, doc="intercept the data come from"),
            ParamSpec("data_seed", 0, 0, 2**31 - 1, integer=True, doc="seed of the dataset"),
        ),
        _linear_regression,
        has_data=True,
    ),
)


def make_problem(name: str, params: Mapping[str, float] | None = None) -> Problem:
    """Build a registered problem with ``params`` over its defaults.

    Raises:
      KeyError: unknown problem or parameter name.
      ValueError: a value out of its range.
    """
    spec = PROBLEMS[name]
    given = dict(params or {})
    values: dict[str, float] = {}
    for p in spec.params:
        value = given.pop(p.name, p.default)
        err = p.problem_with(value)
        if err:
            raise ValueError(f"{p.name} {err}")
        values[p.name] = p.coerce(value)
    if given:
        raise KeyError(f"unknown parameter(s) for {name}: {', '.join(sorted(given))}")
    return dataclasses.replace(spec.build(**values), params=values)
