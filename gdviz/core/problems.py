"""Loss surfaces over two parameters: analytic test functions and data-fitting problems.

This module defines :class:`Problem` and :func:`make_problem` and registers the analytic functions,
the typed formula (``expression``, parsed by :mod:`gdviz.core.expression`) and linear regression in
:mod:`gdviz.core.registry`; :mod:`gdviz.core.networks` registers the toy networks there.
``PROBLEMS`` and ``ProblemSpec`` are re-exported from the registry.

Every data problem takes its own points instead of generated ones: the ``data`` option (a
:class:`gdviz.core.datafile.Dataset`). A scene that gives data must not give the parameters that
shape generated data (``n``, ``noise``, ``data_seed``, ...: ``ParamSpec.dataset``).

Minima without a closed form (networks, formulas) are searched numerically
(:mod:`gdviz.core.minima`). ``make_problem(..., minima="defer")`` skips that search (a problem with
``minima_pending``) for edits that must be quick, such as dragging a data point; :func:`with_minima`
runs it later.

A :class:`Problem` is plain data around a pure, module-level loss function
``loss(params, consts, batch)``. Data problems carry a dataset ``(x, y)`` whose rows make the
mini-batches; analytic functions take the empty batch ``()``. The loss function object keys the
compile cache, and constants and data are traced, so editing them never recompiles.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

import numpy as np

from gdviz.core.datafile import MAX_POINTS, Dataset, dataset_from_pairs
from gdviz.core.deferred import jax, jnp
from gdviz.core.expression import ExpressionError, parse_expression
from gdviz.core.minima import find_minima, grid_values
from gdviz.core.registry import PROBLEMS, ProblemSpec, register
from gdviz.core.specs import MAX_COORD, OptionSpec, ParamSpec, SceneError
from gdviz.core.types import Batch, Consts, LossFn, NDArray, Params, PredictFn

Rect = tuple[tuple[float, float], tuple[float, float]]
"""``((x_min, x_max), (y_min, y_max))`` in parameter space."""

ParamValue: TypeAlias = Hashable
"""A problem parameter's value: a number (``ParamSpec``), or what an ``OptionSpec`` stores (a
formula string, a tuple of numbers or pairs, a :class:`Dataset`). Always hashable: the problem
cache keys on the parameters."""

MinimaMode = Literal["find", "defer"]
"""``"find"``: search minima numerically where they have no closed form; ``"defer"``: not yet."""


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
      params: the parameters it was built from (numbers and options).
      search: the rectangle searched numerically for minima, or None when they are known exactly.
      hints: extra starting points for that search (a formula's ``minima``).
      minima_pending: the numerical search has not run yet (``minima`` is empty until
        :func:`with_minima`); see ``make_problem(..., minima="defer")``.
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
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    search: Rect | None = None
    hints: tuple[tuple[float, float], ...] = ()
    minima_pending: bool = False

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
        """``(x, y, w)`` padded to :func:`data_capacity` rows, or ``()`` without data.

        The padding rows repeat the first point with weight 0 and the real rows have weight 1,
        so :func:`sample_mean` gives the loss of the real points (equal to the unpadded mean to
        ~1e-16), while one more or one fewer point keeps the arrays' shape: adding a point in
        the window reuses the compiled programs (simulate, surface, minima) instead of compiling
        for seconds. Mini-batches index real rows only. Built once per problem.
        """
        return self._full_batch

    @functools.cached_property
    def _full_batch(self) -> Batch:
        if self.x is None or self.y is None:
            return ()
        n = self.n
        pad = data_capacity(n) - n
        x = np.concatenate([self.x, np.full(pad, self.x[0])])
        y = np.concatenate([self.y, np.full(pad, self.y[0])])
        w = np.concatenate([np.ones(n), np.zeros(pad)])
        return (jnp.asarray(x), jnp.asarray(y), jnp.asarray(w))

    def loss(self, params: tuple[float, float] | NDArray) -> float:
        """The full-batch loss at one point (a convenience; not for loops)."""
        p = jnp.asarray(params, dtype=jnp.float64)
        return float(self.loss_fn(p, self.jax_consts(), self.full_batch()))

    @property
    def best_loss(self) -> float | None:
        """The lowest known loss, or None when no minimum is known (a saddle)."""
        return min((m.loss for m in self.minima), default=None)


def data_capacity(n: int) -> int:
    """Rows a dataset of ``n`` points is padded to: the next power of two, at least 16.

    Adding a point to 100 recompiled the nine-entry regression scene for 3-4 s here; with 128
    rows it reuses the programs until the 129th point. The padding costs at most 2x the rows in
    full-batch losses (a few % of a simulate here).
    """
    return max(16, 1 << (max(n, 1) - 1).bit_length())


def sample_mean(values: jax.Array, batch: Batch) -> jax.Array:
    """The mean of per-sample ``values`` over a batch's real samples.

    A batch of three arrays carries 0/1 weights (:meth:`Problem.full_batch`, padded): padding
    rows count for nothing. ``sum(w * v) / sum(w)`` with all weights 1 is ``jnp.mean(v)``.
    """
    if len(batch) == 3:
        w = batch[2]
        return jnp.sum(w * values) / jnp.sum(w)
    return jnp.mean(values)


def labelled(found: list[tuple[tuple[float, float], float]]) -> tuple[Minimum, ...]:
    """Minima lowest first; every one within 1e-9 of the lowest loss is global."""
    if not found:
        return ()
    found = sorted(found, key=lambda m: m[1])
    lowest = found[0][1]
    tol = 1e-9 * max(1.0, abs(lowest))
    return tuple(Minimum(p, v, "global" if v - lowest <= tol else "local") for p, v in found)


def with_minima(problem: Problem) -> Problem:
    """``problem`` with its numerical minima searched (itself when nothing is pending).

    A grid over ``problem.search`` and the ``hints``, Newton-polished (:mod:`gdviz.core.minima`).
    """
    if not problem.minima_pending or problem.search is None:
        return problem
    found = find_minima(
        problem.loss_fn,
        problem.jax_consts(),
        problem.full_batch(),
        problem.search,
        starts=problem.hints,
    )
    return dataclasses.replace(problem, minima=labelled(found), minima_pending=False)


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
    x, y = batch[0], batch[1]
    return sample_mean((line_predict(p, c, x) - y) ** 2, batch)


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
    n: int, noise: float, true_m: float, true_b: float, data_seed: int, data: Dataset | None = None
) -> Problem:
    if data is not None:
        x, y = data.x, data.y
    else:
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


# --- a typed formula -------------------------------------------------------------------------------

DEFAULT_EXPR = "x**2 + 3*y**2"
"""The formula of an ``expression`` problem that gives none."""

DEFAULT_FORMULA_VIEW = (-4.0, 4.0, -4.0, 4.0)
"""``[xmin, xmax, ymin, ymax]`` of an ``expression`` problem that gives no view."""

MAX_HINTS = 16
"""A formula's ``minima`` hints: at most this many points."""

FORMULA_GRID = 96
"""Points per axis of the grid a formula is checked on (and its minima searched over)."""


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        v = float(value)
    except OverflowError:
        return None
    return v if math.isfinite(v) else None


def _check_expr(value: object) -> str:
    return parse_expression(value).text  # type: ignore[arg-type]  (any value: refused with a message)


def _check_formula_view(value: object) -> tuple[float, float, float, float]:
    shape = "must be [xmin, xmax, ymin, ymax], four finite numbers"
    if not isinstance(value, list | tuple) or len(value) != 4:
        raise SceneError(f"view: {shape}")
    numbers = [_number(v) for v in value]
    if any(v is None for v in numbers):
        raise SceneError(f"view: {shape}")
    x0, x1, y0, y1 = (float(v) for v in numbers)  # type: ignore[arg-type]
    if not (x0 < x1 and y0 < y1):
        raise SceneError(f"view: {shape} with xmin < xmax and ymin < ymax, got {list(numbers)}")
    if max(abs(x0), abs(x1), abs(y0), abs(y1)) > MAX_COORD:
        raise SceneError(f"view: must lie within ±{MAX_COORD:g} on both axes, got {list(numbers)}")
    return (x0, x1, y0, y1)


def _check_hints(value: object) -> tuple[tuple[float, float], ...]:
    if not isinstance(value, list | tuple) or len(value) > MAX_HINTS:
        raise SceneError(f"minima: must be an array of at most {MAX_HINTS} [x, y] points")
    hints = []
    for i, pair in enumerate(value):
        xy = [_number(v) for v in pair] if isinstance(pair, list | tuple) and len(pair) == 2 else []
        if len(xy) != 2 or None in xy or max(abs(xy[0]), abs(xy[1])) > MAX_COORD:  # type: ignore[arg-type]
            raise SceneError(
                f"minima[{i}]: must be a point [x, y] of finite numbers within ±{MAX_COORD:g}"
            )
        hints.append((float(xy[0]), float(xy[1])))  # type: ignore[arg-type]
    return tuple(hints)


def _list(value: tuple[object, ...]) -> list[object]:
    return [_list(v) if isinstance(v, tuple) else v for v in value]  # type: ignore[arg-type]


EXPRESSION_OPTIONS = (
    OptionSpec("expr", "the formula in x and y", _check_expr, str),
    OptionSpec("view", "[xmin, xmax, ymin, ymax] to show", _check_formula_view, _list),
    OptionSpec("minima", "points near minima, to polish from", _check_hints, _list),
)


def _expression(
    expr: str = DEFAULT_EXPR,
    view: tuple[float, float, float, float] = DEFAULT_FORMULA_VIEW,
    minima: tuple[tuple[float, float], ...] = (),
) -> Problem:
    """A typed formula: the loss is ``expr`` in ``(x, y)``.

    Raises:
      ExpressionError: the formula is refused; SceneError: it is a finite number nowhere on a
        96² grid over the view.
    """
    formula = parse_expression(expr)
    x0, x1, y0, y1 = view
    rect = ((x0, x1), (y0, y1))
    _, _, z = grid_values(formula.loss_fn, {}, (), rect, FORMULA_GRID)
    if not np.isfinite(z).any():
        raise ExpressionError(
            f"{formula.text} is not a finite number anywhere in the view "
            f"x in [{x0:g}, {x1:g}], y in [{y0:g}, {y1:g}]; change the formula or the view"
        )
    return Problem(
        name="expression",
        title=f"f(x, y) = {formula.text}",
        loss_fn=formula.loss_fn,
        consts={},
        axis_names=("x", "y"),
        view=rect,
        minima=(),
        search=rect,
        hints=minima,
        minima_pending=True,
    )


def data_option(low: int, high: int = MAX_POINTS) -> OptionSpec:
    """The ``data`` option of a data problem: ``low`` to ``high`` own points ``[[x, y], ...]``."""
    return OptionSpec(
        "data",
        f"your own points [[x, y], ...], {low:,} to {high:,} of them",
        functools.partial(dataset_from_pairs, low=low, high=high, key="data"),
        Dataset.pairs,
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
        "expression",
        "your own formula in x and y, e.g. (1 - x)**2 + 100*(y - x**2)**2",
        (),
        _expression,
        options=EXPRESSION_OPTIONS,
    ),
    ProblemSpec(
        "linear_regression",
        "mean squared error of y = m x + b on synthetic data",
        (
            ParamSpec("n", 100, 2, 10_000, integer=True, doc="number of data points", dataset=True),
            ParamSpec("noise", 0.5, 0.0, 10.0, doc="std of the noise on y", dataset=True),
            ParamSpec("true_m", 2.0, -10.0, 10.0, doc="slope the data come from", dataset=True),
            ParamSpec("true_b", 1.0, -10.0, 10.0, doc="intercept the data come from", dataset=True),
            ParamSpec(
                "data_seed", 0, 0, 2**31 - 1, integer=True, doc="seed of the dataset", dataset=True
            ),
        ),
        _linear_regression,
        has_data=True,
        options=(data_option(2),),
    ),
)


def make_problem(
    name: str, params: Mapping[str, ParamValue] | None = None, *, minima: MinimaMode = "find"
) -> Problem:
    """Build a registered problem with ``params`` over its defaults.

    Args:
      name: a registered problem.
      params: numbers for its ``ParamSpec`` parameters and values for its options (``expr``,
        ``view``, ``minima``, ``data``, ...), each checked.
      minima: ``"defer"`` skips the numerical minima search (``minima_pending``; see
        :func:`with_minima`); problems whose minima are exact ignore it.

    Raises:
      KeyError: unknown problem or parameter name.
      ValueError: a number out of its range.
      SceneError (a ValueError): an option refused (naming it), or own data given together with
        a parameter that shapes generated data.
    """
    spec = PROBLEMS[name]
    given = dict(params or {})
    if "data" in given and given["data"] is None:  # None: generated data, as if not given
        del given["data"]
    own_data = "data" in given and spec.option("data") is not None
    values: dict[str, ParamValue] = {}
    build: dict[str, ParamValue] = {}
    for p in spec.params:
        if own_data and p.dataset:
            if p.name in given:
                raise SceneError(
                    f"data and {p.name}: the scene gives its own data points, so none are "
                    f"generated; remove {p.name}"
                )
            build[p.name] = p.coerce(p.default)
            continue
        value = given.pop(p.name, p.default)
        err = p.problem_with(value)
        if err:
            raise ValueError(f"{p.name} {err}")
        values[p.name] = p.coerce(value)
    for option in spec.options:
        if option.name in given:
            values[option.name] = option.check(given.pop(option.name))
    if given:
        raise KeyError(f"unknown parameter(s) for {name}: {', '.join(sorted(given))}")
    problem = dataclasses.replace(spec.build(**build, **values), params=values)
    return with_minima(problem) if minima == "find" else problem
