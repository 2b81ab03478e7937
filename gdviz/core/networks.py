"""Toy networks with exactly two trainable parameters, so the loss surface is exact.

No random or PCA projection of a bigger weight space: the two axes are the weights being trained,
everything else is fixed. Their minima have no closed form, so they are found numerically
(:mod:`gdviz.core.minima`) when the problem is built (unless deferred: see
:func:`gdviz.core.problems.make_problem`), and labelled global or local. Each fits seeded
synthetic data, or the scene's own points (the ``data`` option). They are registered in
:mod:`gdviz.core.registry` at the end of this module.
"""

from __future__ import annotations

import numpy as np

from gdviz.core.datafile import Dataset
from gdviz.core.deferred import jax, jnp
from gdviz.core.problems import Problem, Rect, data_option, sample_mean
from gdviz.core.registry import ProblemSpec, register
from gdviz.core.specs import ParamSpec
from gdviz.core.types import Batch, Consts, NDArray, Params

# --- one sigmoid neuron: y = sigmoid(w x + b) -----------------------------------------------------


def neuron_predict(p: Params, c: Consts, x: jax.Array) -> jax.Array:
    del c
    return jax.nn.sigmoid(p[0] * x + p[1])


def neuron_loss(p: Params, c: Consts, batch: Batch) -> jax.Array:
    x, y = batch[0], batch[1]
    return sample_mean((neuron_predict(p, c, x) - y) ** 2, batch)


# --- one tanh unit with an output weight: y = v tanh(w x) ----------------------------------------


def tanh_unit_predict(p: Params, c: Consts, x: jax.Array) -> jax.Array:
    del c
    return p[1] * jnp.tanh(p[0] * x)


def tanh_unit_loss(p: Params, c: Consts, batch: Batch) -> jax.Array:
    x, y = batch[0], batch[1]
    return sample_mean((tanh_unit_predict(p, c, x) - y) ** 2, batch)


# --- a 1-2-1 tanh network, its two input weights trained ----------------------------------------

# The fixed weights and the teacher were found by a search for a surface with one global and one
# clearly worse local minimum, both well inside the view (see tests/core/test_networks.py).
MLP_FIXED = {"a1": 1.5, "b1": 0.9, "a2": -1.0, "b2": 0.1}
MLP_TEACHER = (1.6, 0.2)


def tiny_mlp_predict(p: Params, c: Consts, x: jax.Array) -> jax.Array:
    """``a1 tanh(w1 x + b1) + a2 tanh(w2 x + b2)`` with ``(w1, w2) = p`` trained."""
    return c["a1"] * jnp.tanh(p[0] * x + c["b1"]) + c["a2"] * jnp.tanh(p[1] * x + c["b2"])


def tiny_mlp_loss(p: Params, c: Consts, batch: Batch) -> jax.Array:
    x, y = batch[0], batch[1]
    return sample_mean((tiny_mlp_predict(p, c, x) - y) ** 2, batch)


# --- builders -------------------------------------------------------------------------------------


def _network(
    name: str,
    title: str,
    loss_fn,  # noqa: ANN001
    predict_fn,  # noqa: ANN001
    consts: dict[str, float],
    x: NDArray,
    y: NDArray,
    axis_names: tuple[str, str],
    view: Rect,
    search: Rect,
) -> Problem:
    """The problem with its minima pending: ``make_problem`` searches ``search`` for them."""
    return Problem(
        name=name,
        title=title,
        loss_fn=loss_fn,
        consts=consts,
        axis_names=axis_names,
        view=view,
        minima=(),
        x=x,
        y=y,
        predict_fn=predict_fn,
        search=search,
        minima_pending=True,
    )


def make_neuron(n: int, noise: float, data_seed: int, data: Dataset | None = None) -> Problem:
    """sigmoid(w x + b) fit by least squares to noisy samples of sigmoid(2 x - 1)."""
    if data is not None:
        x, y = data.x, data.y
    else:
        rng = np.random.default_rng(data_seed)
        x = rng.uniform(-4.0, 4.0, n)
        y = 1.0 / (1.0 + np.exp(-(2.0 * x - 1.0))) + noise * rng.standard_normal(n)
    return _network(
        "neuron",
        "One sigmoid neuron: σ(w·x + b)",
        neuron_loss,
        neuron_predict,
        {},
        x,
        y,
        ("w", "b"),
        ((-6.0, 6.0), (-6.0, 6.0)),
        ((-6.0, 6.0), (-6.0, 6.0)),
    )


def make_tanh_unit(n: int, noise: float, data_seed: int, data: Dataset | None = None) -> Problem:
    """v tanh(w x) fit to noisy samples of 1.5 tanh(2 x): minima at ±(2, 1.5), a saddle at 0."""
    if data is not None:
        x, y = data.x, data.y
    else:
        rng = np.random.default_rng(data_seed)
        x = rng.uniform(-2.0, 2.0, n)
        y = 1.5 * np.tanh(2.0 * x) + noise * rng.standard_normal(n)
    return _network(
        "tanh_unit",
        "One tanh unit: v·tanh(w·x)",
        tanh_unit_loss,
        tanh_unit_predict,
        {},
        x,
        y,
        ("w", "v"),
        ((-4.0, 4.0), (-3.0, 3.0)),
        ((-4.0, 4.0), (-3.0, 3.0)),
    )


def make_tiny_mlp(n: int, noise: float, data_seed: int, data: Dataset | None = None) -> Problem:
    """A 1-2-1 tanh network; its input weights (w1, w2) are trained, the rest are fixed."""
    if data is not None:
        x, y = data.x, data.y
    else:
        rng = np.random.default_rng(data_seed)
        x = rng.uniform(-2.0, 2.0, n)
        teacher = tiny_mlp_predict(
            jnp.asarray(MLP_TEACHER),
            {k: jnp.asarray(v) for k, v in MLP_FIXED.items()},
            jnp.asarray(x),
        )
        y = np.asarray(teacher) + noise * rng.standard_normal(n)
    return _network(
        "tiny_mlp",
        "A 1-2-1 tanh network, two input weights trained",
        tiny_mlp_loss,
        tiny_mlp_predict,
        dict(MLP_FIXED),
        x,
        y,
        ("w₁", "w₂"),
        ((-4.0, 4.0), (-4.0, 4.0)),
        ((-4.0, 4.0), (-4.0, 4.0)),
    )


# --- the registry ---------------------------------------------------------------------------------


def _spec(name: str, summary: str, build, n: int, noise: float, seed: int) -> ProblemSpec:  # noqa: ANN001
    return ProblemSpec(
        name,
        summary,
        (
            ParamSpec("n", n, 2, 2000, integer=True, doc="number of data points", dataset=True),
            ParamSpec("noise", noise, 0.0, 2.0, doc="std of the noise on y", dataset=True),
            ParamSpec(
                "data_seed",
                seed,
                0,
                2**31 - 1,
                integer=True,
                doc="seed of the dataset",
                dataset=True,
            ),
        ),
        build,
        has_data=True,
        options=(data_option(1),),
    )


register(
    _spec(
        "neuron",
        "one sigmoid neuron σ(w·x + b): plateaus where it saturates",
        make_neuron,
        40,
        0.05,
        0,
    ),
    _spec(
        "tanh_unit",
        "v·tanh(w·x): two mirror-image minima and a saddle at 0",
        make_tanh_unit,
        40,
        0.1,
        0,
    ),
    _spec(
        "tiny_mlp",
        "two weights of a 1-2-1 tanh net: a local minimum that is not global",
        make_tiny_mlp,
        30,
        0.05,
        42,
    ),
)
