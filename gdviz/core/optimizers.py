"""The update rules gdviz animates, built on optax: a rule is ONE object.

Each rule is a :class:`Rule` in :data:`RULES`, and it answers every question gdviz asks about it:
its optax transformation (a factory called inside ``jit`` with the hyperparameters as traced
values, so a slider edit never recompiles), its hyperparameters (named as optax names them, with
default per convention, range, slider scale and symbol), its update equations per convention (one
line for tooltips and menus, several for the equation panel), how one recorded step comes apart
into the stages of the equation panel and the overlays, and whether it adapts its step size.
Nothing outside this module branches on a rule's name: a new rule is one :func:`register_rule`.

The plain-loop numpy form of every rule, independent of optax, is :mod:`gdviz.core.reference`.

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
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, NamedTuple, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gdviz.core.specs import ParamSpec
from gdviz.core.types import NDArray

Convention = Literal["optax", "pytorch"]
CONVENTIONS: tuple[Convention, ...] = ("optax", "pytorch")

InnerFactory = Callable[..., optax.GradientTransformation]

_T = TypeVar("_T")


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


@dataclass(frozen=True)
class HyperSpec(ParamSpec):
    """A rule's hyperparameter: a :class:`ParamSpec` with its symbol and its PyTorch default.

    Attributes:
      symbol: how the equations write it (``η``, ``β₁``); the panel labels its control with it.
      pytorch_default: the default under ``convention = "pytorch"`` where it differs, else None.
    """

    symbol: str = ""
    pytorch_default: float | None = None

    def default_in(self, convention: Convention) -> float:
        if convention == "pytorch" and self.pytorch_default is not None:
            return self.pytorch_default
        return self.default


class StepRecord(NamedTuple):
    """What a trajectory recorded about step ``k`` of one rule, as :attr:`Rule.stages` reads it.

    Attributes:
      k: the step, from 0.
      point, grad, update: ``θ_k``, the gradient the step used, and ``u_k = θ_{k+1} − θ_k``.
      state: the state vectors after the step, by optax's field names (``mu``, ``trace``...).
      before: the same after step ``k − 1``; zeros at ``k = 0`` (only AdaDelta reads it, and its
        state starts at zero).
      hyper: the hyperparameters in force, by optax's names.
      convention: ``"optax"`` or ``"pytorch"``.
    """

    k: int
    point: NDArray
    grad: NDArray
    update: NDArray
    state: Mapping[str, NDArray]
    before: Mapping[str, NDArray]
    hyper: Mapping[str, float]
    convention: Convention


class Stages(NamedTuple):
    """One step taken apart (gradient → accumulate → scale → step): ``update = −scale · direction``.

    Attributes:
      direction: what the step size multiplies (``g``, ``v``, Adam's ``m̂``, ...).
      scale: the effective step size per axis.
      state: the named state values to show (``v``, ``m``, ``ν``, ``s``, ...), in the equations'
        own symbols.
      accumulate: the caption of the accumulate stage, with the step's numbers.
      velocity: the momentum rules' displacement carried by momentum, ``−η v`` (None otherwise).
      lookahead: Nesterov's look-ahead point ``θ − η μ v`` (None otherwise).
    """

    direction: NDArray
    scale: NDArray
    state: dict[str, NDArray]
    accumulate: str
    velocity: NDArray | None = None
    lookahead: NDArray | None = None


def show_vector(a: NDArray | None) -> str:
    """A 2-vector as the captions print it: ``(0.1234, -5.678)``; ``—`` for None."""
    return "—" if a is None else f"({a[0]:.4g}, {a[1]:.4g})"


_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


@dataclass(frozen=True)
class Rule:
    """One update rule: everything gdviz knows about it.

    Attributes:
      name: the key in scene files (snake_case).
      title: a readable name ("RMSprop"), the default label of a new entry.
      hyperparams: the specs, ``learning_rate`` among them, in the order the panel shows them.
      factory: the optax factory for a convention; called with the hyperparameters by name.
      summary: the update in one line per convention, for tooltips and the "Add optimizer" menu.
      equations: the update as lines of Unicode maths per convention, for the equation panel.
      stages: takes a recorded step apart for the equation panel's stages and the overlays; must
        give ``update = −scale · direction`` to rounding.
      adaptive: whether the step size per axis follows the gradients' history (the overlays draw
        it as an ellipse).
    """

    name: str
    title: str
    hyperparams: tuple[HyperSpec, ...]
    factory: Callable[[Convention], InnerFactory]
    summary: Mapping[Convention, str]
    equations: Mapping[Convention, tuple[str, ...]]
    stages: Callable[[StepRecord], Stages]
    adaptive: bool = False

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"rule name {self.name!r}: lowercase letters, digits and _")
        if self.spec("learning_rate") is None:
            raise ValueError(f"rule {self.name!r}: every rule has a learning_rate")
        for what in ("summary", "equations"):
            missing = set(CONVENTIONS) - set(getattr(self, what))
            if missing:
                raise ValueError(f"rule {self.name!r}: {what} lacks {', '.join(sorted(missing))}")

    def spec(self, name: str) -> HyperSpec | None:
        return next((h for h in self.hyperparams if h.name == name), None)

    def defaults(self, convention: Convention) -> dict[str, float]:
        return {h.name: h.default_in(convention) for h in self.hyperparams}

    def transform(
        self, convention: Convention, hyperparams: Mapping[str, jax.typing.ArrayLike]
    ) -> optax.GradientTransformation:
        """The optax transformation with these hyperparameters (traced or concrete)."""
        return self.factory(convention)(**hyperparams)


def both(value: _T) -> dict[Convention, _T]:
    """The same text in both conventions (where optax and torch.optim agree)."""
    return dict.fromkeys(CONVENTIONS, value)


def same_factory(factory: InnerFactory) -> Callable[[Convention], InnerFactory]:
    """The same optax factory in both conventions."""
    return lambda convention: factory


# --- the hyperparameters ----------------------------------------------------------------------


def _lr(default: float) -> HyperSpec:
    return HyperSpec("learning_rate", default, 1e-5, 10.0, scale="log", doc="step size", symbol="η")


def _eps(default: float, doc: str, pytorch: float | None = None) -> HyperSpec:
    return HyperSpec(
        "eps", default, 1e-12, 1.0, scale="log", doc=doc, symbol="ε", pytorch_default=pytorch
    )


_MOMENTUM = HyperSpec("momentum", 0.9, 0.0, 0.999, doc="decay of the velocity", symbol="μ")


# --- how each rule's recorded step comes apart ------------------------------------------------

_ONES = np.ones(2)


def _root(x: NDArray, eps: float, convention: Convention) -> NDArray:
    """optax's ``√(x + ε)`` or torch.optim's ``√x + ε``."""
    return np.sqrt(x + eps) if convention == "optax" else np.sqrt(x) + eps


def _sgd_stages(r: StepRecord) -> Stages:
    lr = r.hyper["learning_rate"]
    return Stages(r.grad, lr * _ONES, {}, "Accumulate: plain gradient descent keeps no state.")


def _momentum_caption(r: StepRecord, v: NDArray) -> str:
    return f"Accumulate: v ← μ v + g = {show_vector(v)}   (μ = {r.hyper['momentum']:g})."


def _momentum_stages(r: StepRecord) -> Stages:
    lr, v = r.hyper["learning_rate"], r.state["trace"]
    return Stages(v, lr * _ONES, {"v": v}, _momentum_caption(r, v), velocity=-lr * v)


def _nesterov_stages(r: StepRecord) -> Stages:
    lr, mu, v = r.hyper["learning_rate"], r.hyper["momentum"], r.state["trace"]
    return Stages(
        r.grad + mu * v,
        lr * _ONES,
        {"v": v},
        _momentum_caption(r, v),
        velocity=-lr * v,
        lookahead=r.point - lr * mu * v,
    )


def _adagrad_stages(r: StepRecord) -> Stages:
    s = r.state["sum_of_squares"]
    scale = r.hyper["learning_rate"] / _root(s, r.hyper["eps"], r.convention)
    caption = f"Accumulate squared gradients: s ← s + g² = {show_vector(s)}."
    return Stages(r.grad, scale, {"s": s}, caption)


def _rmsprop_stages(r: StepRecord) -> Stages:
    nu = r.state["nu"]
    scale = r.hyper["learning_rate"] / _root(nu, r.hyper["eps"], r.convention)
    caption = f"Accumulate squared gradients: ν ← β ν + (1 − β) g² = {show_vector(nu)}."
    return Stages(r.grad, scale, {"ν": nu}, caption)


def _adadelta_stages(r: StepRecord) -> Stages:
    h, e_g = r.hyper, r.state["e_g"]
    # Δ uses E[Δ²] from before this step: the step updates it after Δ is known.
    scale = h["learning_rate"] * np.sqrt(r.before["e_x"] + h["eps"]) / np.sqrt(e_g + h["eps"])
    shown = {"E[g²]": e_g, "E[Δ²]": r.state["e_x"]}
    return Stages(r.grad, scale, shown, f"Accumulate: E[g²] = {show_vector(e_g)}.")


def _adam_stages(r: StepRecord) -> Stages:
    h, m, nu = r.hyper, r.state["mu"], r.state["nu"]
    t = r.k + 1
    m_hat = m / (1 - h["b1"] ** t)
    nu_hat = nu / (1 - h["b2"] ** t)
    scale = h["learning_rate"] / (np.sqrt(nu_hat) + h["eps"])
    caption = f"Accumulate: m = {show_vector(m)},  ν = {show_vector(nu)}."
    return Stages(m_hat, scale, {"m": m, "ν": nu, "m̂": m_hat, "ν̂": nu_hat}, caption)


# --- the rules --------------------------------------------------------------------------------

RULES: dict[str, Rule] = {}
"""Every rule by name, built-in ones first. Extend it with :func:`register_rule` only: scene
validation, the panels and the simulation all read this one dict."""


def register_rule(rule: Rule) -> Rule:
    """Make ``rule`` known everywhere: scene files, the "Add optimizer" menu, the equation panel,
    the overlays, simulation and export. Returns the rule.

    Raises:
      ValueError: a rule of that name is registered already.

    Warning:
      Compiled programs are cached by rule *name* (:mod:`gdviz.core.simulate`): within one process,
      do not register a different rule under a name that was unregistered.
    """
    if rule.name in RULES:
        raise ValueError(f"a rule named {rule.name!r} is registered already")
    RULES[rule.name] = rule
    return rule


def unregister_rule(name: str) -> Rule:
    """Forget the rule ``name`` (tests that register their own undo it); returns it.

    Raises:
      KeyError: no rule of that name.
    """
    return RULES.pop(name)


for _rule in (
    Rule(
        "sgd",
        "GD",
        (_lr(0.1),),
        same_factory(optax.sgd),
        both("θ ← θ − η g"),
        both(("θ ← θ − η g",)),
        _sgd_stages,
    ),
    Rule(
        "momentum",
        "Momentum",
        (_lr(0.03), _MOMENTUM),
        same_factory(optax.sgd),
        both("v ← μ v + g;  θ ← θ − η v"),
        both(("v ← μ v + g", "θ ← θ − η v")),
        _momentum_stages,
    ),
    Rule(
        "nesterov",
        "Nesterov",
        (_lr(0.03), _MOMENTUM),
        same_factory(functools.partial(optax.sgd, nesterov=True)),
        both("v ← μ v + g;  θ ← θ − η (g + μ v)"),
        both(("v ← μ v + g", "θ ← θ − η (g + μ v)")),
        _nesterov_stages,
    ),
    Rule(
        "adagrad",
        "AdaGrad",
        (
            _lr(0.5),
            HyperSpec(
                "initial_accumulator_value",
                0.1,
                0.0,
                10.0,
                doc="starting sum of g²",
                symbol="s₀",
                pytorch_default=0.0,
            ),
            _eps(1e-7, "keeps the division finite", pytorch=1e-10),
        ),
        lambda c: optax.adagrad if c == "optax" else adagrad_eps_outside,
        {
            "optax": "s ← s + g²;  θ ← θ − η g / √(s + ε)",
            "pytorch": "s ← s + g²;  θ ← θ − η g / (√s + ε)",
        },
        {
            "optax": ("s ← s + g²   (s₀ = 0.1)", "θ ← θ − η g ⁄ √(s + ε)"),
            "pytorch": ("s ← s + g²   (s₀ = 0)", "θ ← θ − η g ⁄ (√s + ε)"),
        },
        _adagrad_stages,
        adaptive=True,
    ),
    Rule(
        "adadelta",
        "AdaDelta",
        (
            _lr(1.0),
            HyperSpec("rho", 0.9, 0.0, 0.9999, doc="decay of the running averages", symbol="ρ"),
            _eps(1e-6, "starts the steps off zero"),
        ),
        same_factory(optax.adadelta),
        both("E[g²] ← ρE[g²] + (1−ρ)g²;  u = √(E[Δ²]+ε)/√(E[g²]+ε) g;  θ ← θ − η u"),
        both(
            (
                "E[g²] ← ρ E[g²] + (1 − ρ) g²",
                "Δ = √(E[Δ²] + ε) ⁄ √(E[g²] + ε) · g",
                "E[Δ²] ← ρ E[Δ²] + (1 − ρ) Δ²",
                "θ ← θ − η Δ",
            )
        ),
        _adadelta_stages,
        adaptive=True,
    ),
    Rule(
        "rmsprop",
        "RMSprop",
        (
            _lr(0.03),
            HyperSpec(
                "decay",
                0.9,
                0.0,
                0.9999,
                doc="decay of the mean of g²",
                symbol="β",
                pytorch_default=0.99,
            ),
            _eps(1e-8, "keeps the division finite"),
        ),
        lambda c: (
            optax.rmsprop if c == "optax" else functools.partial(optax.rmsprop, eps_in_sqrt=False)
        ),
        {
            "optax": "ν ← βν + (1−β)g²;  θ ← θ − η g / √(ν + ε)",
            "pytorch": "ν ← βν + (1−β)g²;  θ ← θ − η g / (√ν + ε)",
        },
        {
            "optax": ("ν ← β ν + (1 − β) g²", "θ ← θ − η g ⁄ √(ν + ε)"),
            "pytorch": ("ν ← β ν + (1 − β) g²", "θ ← θ − η g ⁄ (√ν + ε)"),
        },
        _rmsprop_stages,
        adaptive=True,
    ),
    Rule(
        "adam",
        "Adam",
        (
            _lr(0.1),
            HyperSpec("b1", 0.9, 0.0, 0.9999, doc="decay of the mean of g", symbol="β₁"),
            HyperSpec("b2", 0.999, 0.0, 0.99999, doc="decay of the mean of g²", symbol="β₂"),
            _eps(1e-8, "keeps the division finite"),
        ),
        same_factory(optax.adam),
        both("m ← β₁m + (1−β₁)g;  ν ← β₂ν + (1−β₂)g²;  θ ← θ − η m̂ / (√ν̂ + ε)"),
        both(
            (
                "m ← β₁ m + (1 − β₁) g",
                "ν ← β₂ ν + (1 − β₂) g²",
                "m̂ = m ⁄ (1 − β₁ᵗ),  ν̂ = ν ⁄ (1 − β₂ᵗ)",
                "θ ← θ − η m̂ ⁄ (√ν̂ + ε)",
            )
        ),
        _adam_stages,
        adaptive=True,
    ),
):
    register_rule(_rule)
del _rule

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
    return RULES[rule].transform(convention, hyperparams)
