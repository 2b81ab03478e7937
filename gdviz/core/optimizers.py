"""The update rules gdviz animates, built on optax.

Each rule is a row of :data:`RULES`: its hyperparameters (named as optax names them, with default,
range and slider scale) and a factory of the optax transformation, called inside ``jit`` with the
hyperparameters as traced values: a slider edit never recompiles.

Two conventions are supported, because optax and ``torch.optim`` disagree on two rules:

=========  ===============================================  ====================================
rule       ``convention = "optax"``                          ``convention = "pytorch"``
=========  ===============================================  ====================================
RMSprop    decay 0.9, ``g / sqrt(nu + eps)``                 decay 0.99, ``g / (sqrt(nu) + eps)``
AdaGrad    accumulator starts at 0.1, eps 1e-7 inside sqrt  starts at 0, eps 1e-10 outside sqrt
=========  ===============================================  ====================================

The other rules agree to the last digit in both libraries (AdaDelta once optax is given a learning
rate of 1.0: with its default ``None`` it climbs the loss).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import jax
import jax.numpy as jnp
import optax

from gdviz.core.specs import ParamSpec

Convention = Literal["optax", "pytorch"]
CONVENTIONS: tuple[Convention, ...] = ("optax", "pytorch")

InnerFactory = Callable[..., optax.GradientTransformation]


class ScaleByRssEpsOutsideState(NamedTuple):
    """State of :func:`scale_by_rss_eps_outside`: the running sum of squared gradients."""

    sum_of_squares: optax.Updates


def scale_by_rss_eps_outside(
    initial_accumulator_value: jax.typing.ArrayLike = 0.0,
    eps: jax.typing.ArrayLike = 1e-10,
) -> optax.GradientTransformation:
    r"""AdaGrad's scaling as ``torch.optim.Adagrad`` computes it: eps outside the square root.

    .. math::
      s_t = s_{t-1} + g_t^2, \qquad u_t = g_t / (\sqrt{s_t} + \epsilon)

    optax's :func:`optax.scale_by_rss` puts eps inside the root, ``g / sqrt(s + eps)``; the two
    differ by about ``eps / (2 s^{3/2})``, visible only while ``s`` is tiny.

    Args:
      initial_accumulator_value: the starting value of ``s`` (PyTorch: 0).
      eps: added to the denominator outside the root (PyTorch: 1e-10).

    Returns:
      An :class:`optax.GradientTransformation`.
    """

    def init_fn(params: optax.Params) -> ScaleByRssEpsOutsideState:
        return ScaleByRssEpsOutsideState(optax.tree.full_like(params, initial_accumulator_value))

    def update_fn(
        updates: optax.Updates, state: ScaleByRssEpsOutsideState, params: optax.Params = None
    ) -> tuple[optax.Updates, ScaleByRssEpsOutsideState]:
        del params
        sum_of_squares = jax.tree.map(lambda g, s: s + g * g, updates, state.sum_of_squares)
        updates = jax.tree.map(lambda g, s: g / (jnp.sqrt(s) + eps), updates, sum_of_squares)
        return updates, ScaleByRssEpsOutsideState(sum_of_squares)

    return optax.GradientTransformation(init_fn, update_fn)


def adagrad_eps_outside(
    learning_rate: optax.ScalarOrSchedule,
    initial_accumulator_value: jax.typing.ArrayLike = 0.0,
    eps: jax.typing.ArrayLike = 1e-10,
) -> optax.GradientTransformation:
    """AdaGrad in PyTorch's convention: :func:`scale_by_rss_eps_outside`, then the learning rate."""
    return optax.chain(
        scale_by_rss_eps_outside(initial_accumulator_value, eps),
        optax.scale_by_learning_rate(learning_rate),
    )


def _lr(default: float) -> ParamSpec:
    return ParamSpec("learning_rate", default, 1e-5, 10.0, scale="log", doc="step size")


_MOMENTUM = ParamSpec("momentum", 0.9, 0.0, 0.999, doc="decay of the velocity")


@dataclass(frozen=True)
class Rule:
    """One update rule.

    Attributes:
      name: the key in scene files.
      title: a readable name ("RMSprop").
      hyperparams: specs with the optax convention's defaults.
      pytorch_defaults: defaults that differ under ``convention = "pytorch"``.
      factory: the optax factory for a convention.
      maths: the update in one line, for tooltips.
    """

    name: str
    title: str
    hyperparams: tuple[ParamSpec, ...]
    factory: Callable[[Convention], InnerFactory]
    maths: str
    pytorch_defaults: Mapping[str, float] = field(default_factory=dict)

    def spec(self, name: str) -> ParamSpec | None:
        return next((h for h in self.hyperparams if h.name == name), None)

    def defaults(self, convention: Convention) -> dict[str, float]:
        values = {h.name: h.default for h in self.hyperparams}
        if convention == "pytorch":
            values.update(self.pytorch_defaults)
        return values


def _same(factory: InnerFactory) -> Callable[[Convention], InnerFactory]:
    return lambda convention: factory


RULES: dict[str, Rule] = {
    rule.name: rule
    for rule in (
        Rule(
            "sgd",
            "GD",
            (_lr(0.1),),
            _same(optax.sgd),
            "θ ← θ − η g",
        ),
        Rule(
            "momentum",
            "Momentum",
            (_lr(0.03), _MOMENTUM),
            _same(optax.sgd),
            "v ← μ v + g;  θ ← θ − η v",
        ),
        Rule(
            "nesterov",
            "Nesterov",
            (_lr(0.03), _MOMENTUM),
            _same(functools.partial(optax.sgd, nesterov=True)),
            "v ← μ v + g;  θ ← θ − η (g + μ v)",
        ),
        Rule(
            "adagrad",
            "AdaGrad",
            (
                _lr(0.5),
                ParamSpec("initial_accumulator_value", 0.1, 0.0, 10.0, doc="starting sum of g²"),
                ParamSpec("eps", 1e-7, 1e-12, 1.0, scale="log", doc="keeps the division finite"),
            ),
            lambda c: optax.adagrad if c == "optax" else adagrad_eps_outside,
            "s ← s + g²;  θ ← θ − η g / √(s + ε)",
            {"initial_accumulator_value": 0.0, "eps": 1e-10},
        ),
        Rule(
            "adadelta",
            "AdaDelta",
            (
                _lr(1.0),
                ParamSpec("rho", 0.9, 0.0, 0.9999, doc="decay of the running averages"),
                ParamSpec("eps", 1e-6, 1e-12, 1.0, scale="log", doc="starts the steps off zero"),
            ),
            _same(optax.adadelta),
            "E[g²] ← ρE[g²] + (1−ρ)g²;  u = √(E[Δ²]+ε)/√(E[g²]+ε) g;  θ ← θ − η u",
        ),
        Rule(
            "rmsprop",
            "RMSprop",
            (
                _lr(0.03),
                ParamSpec("decay", 0.9, 0.0, 0.9999, doc="decay of the mean of g²"),
                ParamSpec("eps", 1e-8, 1e-12, 1.0, scale="log", doc="keeps the division finite"),
            ),
            lambda c: (
                optax.rmsprop
                if c == "optax"
                else functools.partial(optax.rmsprop, eps_in_sqrt=False)
            ),
            "ν ← βν + (1−β)g²;  θ ← θ − η g / √(ν + ε)",
            {"decay": 0.99},
        ),
        Rule(
            "adam",
            "Adam",
            (
                _lr(0.1),
                ParamSpec("b1", 0.9, 0.0, 0.9999, doc="decay of the mean of g"),
                ParamSpec("b2", 0.999, 0.0, 0.99999, doc="decay of the mean of g²"),
                ParamSpec("eps", 1e-8, 1e-12, 1.0, scale="log", doc="keeps the division finite"),
            ),
            _same(optax.adam),
            "m ← β₁m + (1−β₁)g;  ν ← β₂ν + (1−β₂)g²;  θ ← θ − η m̂ / (√ν̂ + ε)",
        ),
    )
}

GRADIENT_NOISE = ParamSpec(
    "gradient_noise", 0.0, 0.0, 100.0, doc="std of seeded Gaussian noise added to each gradient"
)
"""Not a rule's hyperparameter: turns any rule stochastic on functions without data."""


def make_transform(
    rule: str, convention: Convention, hyperparams: Mapping[str, jax.typing.ArrayLike]
) -> optax.GradientTransformation:
    """The optax transformation of ``rule`` with these hyperparameters (traced or concrete).

    Called inside ``jit`` with the hyperparameters as traced arguments, so changing them never
    recompiles. ``optax.inject_hyperparams`` would do the same by carrying them in the state,
    at a few extra ops per step; gdviz recomputes a whole path on every edit and never changes a
    hyperparameter mid-run, so it passes them straight to the factory.
    """
    return RULES[rule].factory(convention)(**hyperparams)
