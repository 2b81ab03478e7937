"""The update rules gdviz animates, built on optax: a rule is ONE object.

Each rule is a :class:`Rule` in :data:`RULES`, and it answers every question gdviz asks about it:
its optax transformation (a factory called inside ``jit`` with the hyperparameters as traced
values, so a slider edit never recompiles), its hyperparameters (named as optax names them, with
default per convention, range, slider scale and symbol), its update equations per convention (one
line for tooltips and menus, several for the equation panel), how one recorded step comes apart
into the stages of the equation panel and the overlays, and whether it adapts its step size.
Nothing outside this module branches on a rule's name: a new rule is one :func:`register_rule`.

The plain-loop numpy form of every rule, independent of optax, is :mod:`gdviz.core.reference`.

Two conventions are supported, because optax and ``torch.optim`` disagree on some rules:

=========  ===============================================  ====================================
rule       ``convention = "optax"``                          ``convention = "pytorch"``
=========  ===============================================  ====================================
RMSprop    decay 0.9, ``g / sqrt(nu + eps)``                 decay 0.99, ``g / (sqrt(nu) + eps)``
AdaGrad    accumulator starts at 0.1, eps 1e-7 inside sqrt  starts at 0, eps 1e-10 outside sqrt
AdamW      ``weight_decay`` 1e-4 (``optax.adamw``)           1e-2 (``torch.optim.AdamW``); the same
                                                             algebra, decay applied to θ first
NAdam      Dozat's m̂ with Adam's β₁ powers                   ``momentum_decay`` ψ = 0.004: the
           (``optax.nadam``)                                 momentum β₁(1 − ½·0.96^(tψ)) changes
                                                             per step (``torch.optim.NAdam``)
AMSGrad    max of the bias-corrected ν̂ (``optax.amsgrad``)  max of the raw ν, bias-corrected
                                                             after (``Adam(amsgrad=True)``)
=========  ===============================================  ====================================

The other rules agree to the last digit in both libraries (AdaDelta once optax is given a learning
rate of 1.0: with its default ``None`` it climbs the loss). ``torch.optim`` (2.13) has no Lion,
sign descent, schedule-free methods or Newton: both conventions use optax's form of them.

Left out: Adafactor. It factors the second moment of a *matrix* parameter into row and column
statistics; gdviz's parameter is one 2-vector, for which Adafactor (optax's and torch's alike)
falls back to an unfactored RMS scaling plus update clipping and relative step sizes: RMSprop by
another name on this canvas, with nothing of its idea left to see.

Newton's method is a rule whose transformation takes the Hessian as well as the gradient
(``Rule.needs_hessian``): the simulation computes ``jax.hessian`` of the batch loss only for the
entries whose rule asks for it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, NamedTuple, TypeVar

import numpy as np

from gdviz.core.deferred import function, jax, jnp, optax
from gdviz.core.schedules import SCHEDULES
from gdviz.core.specs import ParamSpec
from gdviz.core.types import NDArray

Convention = Literal["optax", "pytorch"]
CONVENTIONS: tuple[Convention, ...] = ("optax", "pytorch")

InnerFactory = Callable[..., "optax.GradientTransformation"]

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


class ScaleByNadamTorchState(NamedTuple):
    """State of :func:`scale_by_nadam_torch`."""

    count: jax.Array
    mu_product: jax.Array
    mu: optax.Updates
    nu: optax.Updates


def nadam_momentum(b1: jax.typing.ArrayLike, momentum_decay: jax.typing.ArrayLike, t: object):  # noqa: ANN201
    """``torch.optim.NAdam``'s momentum at step ``t`` (from 1): ``β₁ (1 − ½ · 0.96^(t ψ))``."""
    return b1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))


def scale_by_nadam_torch(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    momentum_decay: jax.typing.ArrayLike = 4e-3,
) -> optax.GradientTransformation:
    r"""NAdam's scaling as ``torch.optim.NAdam`` computes it (``torch/optim/nadam.py``).

    .. math::
      μ_t = β_1 (1 − ½ · 0.96^{tψ}), \quad Π_t = \prod_{i \le t} μ_i, \quad
      m_t = β_1 m + (1 − β_1) g, \quad ν_t = β_2 ν + (1 − β_2) g^2, \\
      u_t = \frac{1 − μ_t}{1 − Π_t} \frac{g}{d} + \frac{μ_{t+1}}{1 − Π_t μ_{t+1}} \frac{m_t}{d},
      \quad d = \sqrt{ν_t / (1 − β_2^t)} + ε

    Warning:
      ``optax.nadam`` is Adam with Dozat's look-ahead mean
      ``m̂ = β₁ m_t / (1 − β₁^{t+1}) + (1 − β₁) g / (1 − β₁^t)`` and a constant β₁; torch's
      momentum warms up (ψ = 0.004) and its bias correction uses the product Π of the momenta.
      The two paths part from the first step.
    """

    def init_fn(params: optax.Params) -> ScaleByNadamTorchState:
        zeros = optax.tree.zeros_like(params)
        return ScaleByNadamTorchState(jnp.zeros([], jnp.int32), jnp.ones([]), zeros, zeros)

    def update_fn(
        updates: optax.Updates, state: ScaleByNadamTorchState, params: optax.Params = None
    ) -> tuple[optax.Updates, ScaleByNadamTorchState]:
        del params
        t = state.count + 1
        mu_t = nadam_momentum(b1, momentum_decay, t)
        mu_next = nadam_momentum(b1, momentum_decay, t + 1)
        product = state.mu_product * mu_t
        m = jax.tree.map(lambda g, m: b1 * m + (1 - b1) * g, updates, state.mu)
        nu = jax.tree.map(lambda g, v: b2 * v + (1 - b2) * g * g, updates, state.nu)
        out = jax.tree.map(
            lambda g, m, v: (
                ((1 - mu_t) / (1 - product) * g + mu_next / (1 - product * mu_next) * m)
                / (jnp.sqrt(v / (1 - b2**t)) + eps)
            ),
            updates,
            m,
            nu,
        )
        return out, ScaleByNadamTorchState(t, product, m, nu)

    return optax.GradientTransformation(init_fn, update_fn)


def nadam_torch(
    learning_rate: optax.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    momentum_decay: jax.typing.ArrayLike = 4e-3,
) -> optax.GradientTransformation:
    """NAdam in PyTorch's convention: :func:`scale_by_nadam_torch`, then the learning rate."""
    return optax.chain(
        scale_by_nadam_torch(b1, b2, eps, momentum_decay),
        optax.scale_by_learning_rate(learning_rate),
    )


def nadam_optax(
    learning_rate: optax.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    momentum_decay: jax.typing.ArrayLike = 4e-3,
) -> optax.GradientTransformation:
    """``optax.nadam``; ``momentum_decay`` is PyTorch's alone and ignored here."""
    del momentum_decay
    return optax.nadam(learning_rate, b1=b1, b2=b2, eps=eps)


class ScaleByAmsgradTorchState(NamedTuple):
    """State of :func:`scale_by_amsgrad_torch`."""

    count: jax.Array
    mu: optax.Updates
    nu: optax.Updates
    nu_max: optax.Updates


def scale_by_amsgrad_torch(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
) -> optax.GradientTransformation:
    r"""AMSGrad as ``torch.optim.Adam(amsgrad=True)`` computes it (``torch/optim/adam.py``).

    .. math::
      ν^{max}_t = \max(ν^{max}_{t-1}, ν_t), \qquad
      u_t = \frac{m_t / (1 − β_1^t)}{\sqrt{ν^{max}_t} / \sqrt{1 − β_2^t} + ε}

    Warning:
      ``optax.amsgrad`` keeps the maximum of the *bias-corrected* ``ν̂_t`` and divides by
      ``√ν̂^{max} + ε``; torch keeps the maximum of the raw ``ν_t`` and bias-corrects it with
      this step's ``t``. Early on ``ν̂`` shrinks as ``t`` grows, so the two maxima differ.
    """

    def init_fn(params: optax.Params) -> ScaleByAmsgradTorchState:
        zeros = optax.tree.zeros_like(params)
        return ScaleByAmsgradTorchState(jnp.zeros([], jnp.int32), zeros, zeros, zeros)

    def update_fn(
        updates: optax.Updates, state: ScaleByAmsgradTorchState, params: optax.Params = None
    ) -> tuple[optax.Updates, ScaleByAmsgradTorchState]:
        del params
        t = state.count + 1
        m = jax.tree.map(lambda g, m: b1 * m + (1 - b1) * g, updates, state.mu)
        nu = jax.tree.map(lambda g, v: b2 * v + (1 - b2) * g * g, updates, state.nu)
        nu_max = jax.tree.map(jnp.maximum, state.nu_max, nu)
        out = jax.tree.map(
            lambda m, v: m / (1 - b1**t) / (jnp.sqrt(v) / jnp.sqrt(1 - b2**t) + eps), m, nu_max
        )
        return out, ScaleByAmsgradTorchState(t, m, nu, nu_max)

    return optax.GradientTransformation(init_fn, update_fn)


def amsgrad_torch(
    learning_rate: optax.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
) -> optax.GradientTransformation:
    """AMSGrad in PyTorch's convention: :func:`scale_by_amsgrad_torch`, then the learning rate."""
    return optax.chain(
        scale_by_amsgrad_torch(b1, b2, eps), optax.scale_by_learning_rate(learning_rate)
    )


class ScaleByNewtonState(NamedTuple):
    """State of :func:`scale_by_newton`: the rows of the model matrix ``M = H + μ I`` last used."""

    model_x: jax.Array
    model_y: jax.Array


def newton_shift(hessian: jax.Array, damping: jax.typing.ArrayLike) -> jax.Array:
    """The smallest ``μ >= 0`` that lifts the 2x2 symmetric ``hessian``'s eigenvalues to ``damping``."""
    a, b, c = hessian[0, 0], 0.5 * (hessian[0, 1] + hessian[1, 0]), hessian[1, 1]
    smallest = 0.5 * (a + c) - jnp.sqrt(0.25 * (a - c) ** 2 + b * b)
    return jnp.maximum(0.0, damping - smallest)


def scale_by_newton(
    damping: jax.typing.ArrayLike = 0.1, *, damped: bool = True
) -> optax.GradientTransformationExtraArgs:
    r"""Newton's direction from the exact Hessian, passed as the extra argument ``hessian``.

    .. math::
      M = H + μ I, \quad μ = \max(0, δ − λ_{min}(H)), \qquad u = M^{-1} g

    The shift μ is the least that makes every eigenvalue of ``M`` at least δ (``damping``): a
    Levenberg-Marquardt-style modification (Nocedal & Wright, *Numerical Optimization*, 3.4) that
    leaves a Hessian already that curved untouched, so on a quadratic bowl whose curvatures are
    all ``>= δ`` the first step with η = 1 lands exactly on the minimum, and on an indefinite
    Hessian the step goes downhill instead of to the saddle. ``damped=False`` is the textbook
    ``u = H⁻¹ g``, which is drawn to any stationary point, saddles included.

    The state keeps the rows of ``M`` (the local quadratic model ``½ dᵀ M d + gᵀ d``) for the
    overlays.
    """

    def init_fn(params: optax.Params) -> ScaleByNewtonState:
        return ScaleByNewtonState(jnp.zeros_like(params), jnp.zeros_like(params))

    def update_fn(  # noqa: ANN202
        updates: optax.Updates,
        state: ScaleByNewtonState,
        params: optax.Params = None,
        *,
        hessian: jax.Array,
        **extra_args: object,
    ):
        del params, state, extra_args
        h = 0.5 * (hessian + hessian.T)
        if damped:
            h = h + newton_shift(h, damping) * jnp.eye(2)
        a, b, c = h[0, 0], h[0, 1], h[1, 1]
        det = a * c - b * b
        g = updates
        direction = jnp.stack([c * g[0] - b * g[1], a * g[1] - b * g[0]]) / det
        return direction, ScaleByNewtonState(h[0], h[1])

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def newton(
    learning_rate: optax.ScalarOrSchedule = 1.0, damping: jax.typing.ArrayLike = 0.1
) -> optax.GradientTransformationExtraArgs:
    """Damped Newton: :func:`scale_by_newton`, then the learning rate (the step's scale)."""
    return optax.chain(scale_by_newton(damping), optax.scale_by_learning_rate(learning_rate))


def newton_undamped(
    learning_rate: optax.ScalarOrSchedule = 1.0,
) -> optax.GradientTransformationExtraArgs:
    """Textbook Newton, ``θ ← θ − η H⁻¹ g``: drawn to saddles as much as to minima."""
    return optax.chain(scale_by_newton(damped=False), optax.scale_by_learning_rate(learning_rate))


class DecoupledDecayState(NamedTuple):
    """State of :func:`decoupled_weight_decay`: the step count for the schedule."""

    count: jax.Array


def decoupled_weight_decay(
    weight_decay: jax.typing.ArrayLike, learning_rate: optax.ScalarOrSchedule
) -> optax.GradientTransformation:
    r"""Adds ``−η_t λ θ`` to an update that already carries its ``−η_t`` scaling.

    ``chain(rule, decoupled_weight_decay(λ, η))`` equals optax's placement of
    :func:`optax.add_decayed_weights` just before :func:`optax.scale_by_learning_rate` (as
    ``optax.adamw`` does): ``u = −η_t (direction + λ θ)``, with the decay kept out of every
    momentum and second-moment statistic (Loshchilov & Hutter's decoupling). gdviz wraps a whole
    rule rather than splicing into its chain so that every rule, optax's aliases included, takes
    it the same way.
    """

    def init_fn(params: optax.Params) -> DecoupledDecayState:
        del params
        return DecoupledDecayState(jnp.zeros([], jnp.int32))

    def update_fn(
        updates: optax.Updates, state: DecoupledDecayState, params: optax.Params = None
    ) -> tuple[optax.Updates, DecoupledDecayState]:
        lr = learning_rate(state.count) if callable(learning_rate) else learning_rate
        out = jax.tree.map(lambda u, p: u - lr * weight_decay * p, updates, params)
        return out, DecoupledDecayState(state.count + 1)

    return optax.GradientTransformation(init_fn, update_fn)


def schedule_free_sgd(
    learning_rate: optax.ScalarOrSchedule = 1.0, b1: jax.typing.ArrayLike = 0.9
) -> optax.GradientTransformationExtraArgs:
    """``optax.contrib.schedule_free_sgd`` (no warmup, no weight decay)."""
    return optax.contrib.schedule_free_sgd(learning_rate, b1=b1)


def schedule_free_adamw(
    learning_rate: optax.ScalarOrSchedule = 0.0025,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
) -> optax.GradientTransformationExtraArgs:
    """``optax.contrib.schedule_free_adamw`` (no warmup, weight decay 0: its default)."""
    return optax.contrib.schedule_free_adamw(learning_rate, b1=b1, b2=b2, eps=eps)


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
      curvature: Newton's model matrix ``M`` (2x2): the local quadratic model
        ``m(d) = gᵀ d + ½ dᵀ M d`` whose minimum the step aims at (None otherwise).

    With weight decay, the record's ``update`` given to :attr:`Rule.stages` is the rule's part
    alone: the decay term ``−η λ θ`` is taken apart by :mod:`gdviz.core.teaching`.
    """

    direction: NDArray
    scale: NDArray
    state: dict[str, NDArray]
    accumulate: str
    velocity: NDArray | None = None
    lookahead: NDArray | None = None
    curvature: NDArray | None = None


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
      needs_hessian: the transformation's ``update`` takes ``hessian=`` (the exact Hessian of
        the batch loss at the point), computed only for such rules.
      recorded_state: which state vectors to record, by name (None: the first
        ``MAX_STATE_VECTORS`` in the state's order).
      takes_weight_decay: whether an entry may add decoupled ``weight_decay`` (schedule-free
        rules decay inside their averaged iterate, not as a term of the update: they may not).
    """

    name: str
    title: str
    hyperparams: tuple[HyperSpec, ...]
    factory: Callable[[Convention], InnerFactory]
    summary: Mapping[Convention, str]
    equations: Mapping[Convention, tuple[str, ...]]
    stages: Callable[[StepRecord], Stages]
    adaptive: bool = False
    needs_hessian: bool = False
    recorded_state: tuple[str, ...] | None = None
    takes_weight_decay: bool = True

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

    @property
    def own_weight_decay(self) -> bool:
        """Whether ``weight_decay`` is one of the rule's own hyperparameters (AdamW, Lion)."""
        return self.spec("weight_decay") is not None

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
_B1 = HyperSpec("b1", 0.9, 0.0, 0.9999, doc="decay of the mean of g", symbol="β₁")
_B2 = HyperSpec("b2", 0.999, 0.0, 0.99999, doc="decay of the mean of g²", symbol="β₂")


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


def _nadam_stages(r: StepRecord) -> Stages:
    h, m, nu, g = r.hyper, r.state["mu"], r.state["nu"], r.grad
    b1, b2, t = h["b1"], h["b2"], r.k + 1
    nu_hat = nu / (1 - b2**t)
    if r.convention == "optax":
        # optax.nadam: Dozat's look-ahead mean with Adam's beta1 powers.
        m_bar = b1 * m / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1**t)
        scale = h["learning_rate"] / (np.sqrt(nu_hat) + h["eps"])
    else:
        # torch.optim.NAdam: the momentum mu_t warms up; the product of the momenta corrects bias.
        psi = h["momentum_decay"]
        mus = np.array([b1 * (1 - 0.5 * 0.96 ** (i * psi)) for i in range(1, t + 2)])
        product = np.prod(mus[:t])
        m_bar = (1 - mus[t - 1]) / (1 - product) * g + mus[t] / (1 - product * mus[t]) * m
        scale = h["learning_rate"] / (np.sqrt(nu_hat) + h["eps"])
    caption = f"Accumulate: m = {show_vector(m)},  ν = {show_vector(nu)}; look ahead with m̄."
    return Stages(m_bar, scale, {"m": m, "ν": nu, "m̄": m_bar, "ν̂": nu_hat}, caption)


def _amsgrad_stages(r: StepRecord) -> Stages:
    h, m, nu_max = r.hyper, r.state["mu"], r.state["nu_max"]
    t = r.k + 1
    m_hat = m / (1 - h["b1"] ** t)
    if r.convention == "optax":  # the max of the bias-corrected nu-hat
        denom = np.sqrt(nu_max) + h["eps"]
    else:  # torch: the max of the raw nu, corrected after
        denom = np.sqrt(nu_max) / np.sqrt(1 - h["b2"] ** t) + h["eps"]
    caption = f"Accumulate: m = {show_vector(m)},  ν_max = {show_vector(nu_max)} (never shrinks)."
    return Stages(m_hat, h["learning_rate"] / denom, {"m": m, "ν_max": nu_max, "m̂": m_hat}, caption)


def _lion_stages(r: StepRecord) -> Stages:
    h = r.hyper
    c = h["b1"] * r.before["mu"] + (1 - h["b1"]) * r.grad
    direction = np.sign(c)
    caption = (
        f"Accumulate: c = β₁ m + (1 − β₁) g = {show_vector(c)};  "
        f"m ← β₂ m + (1 − β₂) g = {show_vector(r.state['mu'])}"
    )
    return Stages(direction, h["learning_rate"] * _ONES, {"m": r.state["mu"], "c": c}, caption)


def _sign_stages(r: StepRecord) -> Stages:
    caption = "Accumulate: sign descent keeps no state; only the sign of g counts."
    return Stages(np.sign(r.grad), r.hyper["learning_rate"] * _ONES, {}, caption)


def _schedule_free_parts(r: StepRecord, scale: NDArray) -> Stages:
    # The drawn point is y (where the gradient is taken); z is the base iterate, x their
    # running average (what to evaluate at the end): x = (y - (1 - b1) z) / b1.
    b1, z = r.hyper["b1"], r.state["z"]
    x = (r.point + r.update - (1 - b1) * z) / b1
    caption = (
        f"Accumulate: z ← z − η g = {show_vector(z)};  x ← (1 − c) x + c z = {show_vector(x)};  "
        "the path shows y = β₁ x + (1 − β₁) z"
    )
    shown = {"z": z, "x": x}
    if "nu" in r.state:
        shown["ν"] = r.state["nu"]
    return Stages(-r.update / scale, scale, shown, caption)


def _schedule_free_sgd_stages(r: StepRecord) -> Stages:
    return _schedule_free_parts(r, r.hyper["learning_rate"] * _ONES)


def _schedule_free_adamw_stages(r: StepRecord) -> Stages:
    h, t = r.hyper, r.k + 1
    nu_hat = r.state["nu"] / (1 - h["b2"] ** t)
    return _schedule_free_parts(r, h["learning_rate"] / (np.sqrt(nu_hat) + h["eps"]))


def _newton_stages(r: StepRecord) -> Stages:
    model = np.stack([r.state["model_x"], r.state["model_y"]])
    direction = np.linalg.solve(model, r.grad)
    caption = (
        f"Accumulate: the curvature M = [[{model[0, 0]:.4g}, {model[0, 1]:.4g}], "
        f"[{model[1, 0]:.4g}, {model[1, 1]:.4g}]] (the Hessian, lifted to at least δ where "
        "damped); the step aims at the minimum of the quadratic model"
    )
    return Stages(
        direction, r.hyper["learning_rate"] * _ONES, {"M⁻¹g": direction}, caption, curvature=model
    )


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
        same_factory(function("optax.sgd")),
        both("θ ← θ − η g"),
        both(("θ ← θ − η g",)),
        _sgd_stages,
    ),
    Rule(
        "momentum",
        "Momentum",
        (_lr(0.03), _MOMENTUM),
        same_factory(function("optax.sgd")),
        both("v ← μ v + g;  θ ← θ − η v"),
        both(("v ← μ v + g", "θ ← θ − η v")),
        _momentum_stages,
    ),
    Rule(
        "nesterov",
        "Nesterov",
        (_lr(0.03), _MOMENTUM),
        same_factory(functools.partial(function("optax.sgd"), nesterov=True)),
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
        same_factory(function("optax.adadelta")),
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
        same_factory(function("optax.adam")),
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
    Rule(
        "adamw",
        "AdamW",
        (
            _lr(0.1),
            _B1,
            _B2,
            _eps(1e-8, "keeps the division finite"),
            HyperSpec(
                "weight_decay",
                1e-4,
                0.0,
                1.0,
                doc="decoupled pull of θ toward 0, per unit of η",
                symbol="λ",
                pytorch_default=1e-2,
            ),
        ),
        same_factory(function("optax.adamw")),
        {
            "optax": "Adam's m̂, ν̂;  θ ← θ − η (m̂ / (√ν̂ + ε) + λ θ)",
            "pytorch": "θ ← θ − η λ θ;  then Adam's step θ ← θ − η m̂ / (√ν̂ + ε)",
        },
        {
            "optax": (
                "m ← β₁ m + (1 − β₁) g,   ν ← β₂ ν + (1 − β₂) g²",
                "m̂ = m ⁄ (1 − β₁ᵗ),  ν̂ = ν ⁄ (1 − β₂ᵗ)",
                "θ ← θ − η (m̂ ⁄ (√ν̂ + ε) + λ θ)",
            ),
            "pytorch": (
                "θ ← θ − η λ θ   (before the Adam step)",
                "m ← β₁ m + (1 − β₁) g,   ν ← β₂ ν + (1 − β₂) g²",
                "m̂ = m ⁄ (1 − β₁ᵗ),  ν̂ = ν ⁄ (1 − β₂ᵗ)",
                "θ ← θ − η m̂ ⁄ (√ν̂ + ε)",
            ),
        },
        _adam_stages,
        adaptive=True,
    ),
    Rule(
        "nadam",
        "NAdam",
        (
            _lr(0.1),
            _B1,
            _B2,
            _eps(1e-8, "keeps the division finite"),
            HyperSpec(
                "momentum_decay",
                4e-3,
                0.0,
                1.0,
                doc="PyTorch only: how fast the momentum warms up (ignored under optax)",
                symbol="ψ",
            ),
        ),
        lambda c: nadam_optax if c == "optax" else nadam_torch,
        {
            "optax": "Adam with m̄ = β₁ m̂ₜ₊₁ + (1 − β₁) ĝ;  θ ← θ − η m̄ / (√ν̂ + ε)",
            "pytorch": "μₜ = β₁(1 − ½·0.96^(tψ));  θ ← θ − η m̄ / (√ν̂ + ε), m̄ from μₜ, μₜ₊₁",
        },
        {
            "optax": (
                "m ← β₁ m + (1 − β₁) g,   ν ← β₂ ν + (1 − β₂) g²",
                "m̄ = β₁ m ⁄ (1 − β₁ᵗ⁺¹) + (1 − β₁) g ⁄ (1 − β₁ᵗ)",
                "θ ← θ − η m̄ ⁄ (√(ν ⁄ (1 − β₂ᵗ)) + ε)",
            ),
            "pytorch": (
                "μₜ = β₁ (1 − ½ · 0.96^(t ψ)),   Πₜ = μ₁ ⋯ μₜ",
                "m ← β₁ m + (1 − β₁) g,   ν ← β₂ ν + (1 − β₂) g²",
                "m̄ = (1 − μₜ) g ⁄ (1 − Πₜ) + μₜ₊₁ m ⁄ (1 − Πₜ μₜ₊₁)",
                "θ ← θ − η m̄ ⁄ (√(ν ⁄ (1 − β₂ᵗ)) + ε)",
            ),
        },
        _nadam_stages,
        adaptive=True,
    ),
    Rule(
        "amsgrad",
        "AMSGrad",
        (_lr(0.1), _B1, _B2, _eps(1e-8, "keeps the division finite")),
        lambda c: optax.amsgrad if c == "optax" else amsgrad_torch,
        {
            "optax": "ν̂ₘₐₓ ← max(ν̂ₘₐₓ, ν̂);  θ ← θ − η m̂ / (√ν̂ₘₐₓ + ε)",
            "pytorch": "νₘₐₓ ← max(νₘₐₓ, ν);  θ ← θ − η m̂ / (√νₘₐₓ ⁄ √(1 − β₂ᵗ) + ε)",
        },
        {
            "optax": (
                "m ← β₁ m + (1 − β₁) g,   ν ← β₂ ν + (1 − β₂) g²",
                "ν̂ₘₐₓ ← max(ν̂ₘₐₓ, ν ⁄ (1 − β₂ᵗ))",
                "θ ← θ − η m̂ ⁄ (√ν̂ₘₐₓ + ε),   m̂ = m ⁄ (1 − β₁ᵗ)",
            ),
            "pytorch": (
                "m ← β₁ m + (1 − β₁) g,   ν ← β₂ ν + (1 − β₂) g²",
                "νₘₐₓ ← max(νₘₐₓ, ν)",
                "θ ← θ − η m̂ ⁄ (√νₘₐₓ ⁄ √(1 − β₂ᵗ) + ε),   m̂ = m ⁄ (1 − β₁ᵗ)",
            ),
        },
        _amsgrad_stages,
        adaptive=True,
        recorded_state=("mu", "nu_max"),
    ),
    Rule(
        "lion",
        "Lion",
        (
            _lr(0.01),
            HyperSpec("b1", 0.9, 0.0, 0.9999, doc="mix of m and g in the sign", symbol="β₁"),
            HyperSpec("b2", 0.99, 0.0, 0.9999, doc="decay of the momentum", symbol="β₂"),
            HyperSpec(
                "weight_decay",
                1e-3,
                0.0,
                1.0,
                doc="decoupled pull of θ toward 0, per unit of η",
                symbol="λ",
            ),
        ),
        same_factory(function("optax.lion")),
        both("c = β₁m + (1−β₁)g;  θ ← θ − η (sign(c) + λθ);  m ← β₂m + (1−β₂)g"),
        both(
            (
                "c = β₁ m + (1 − β₁) g",
                "θ ← θ − η (sign(c) + λ θ)",
                "m ← β₂ m + (1 − β₂) g",
            )
        ),
        _lion_stages,
    ),
    Rule(
        "sign_descent",
        "Sign descent",
        (_lr(0.05),),
        same_factory(function("optax.sign_sgd")),
        both("θ ← θ − η sign(g)"),
        both(("θ ← θ − η sign(g)",)),
        _sign_stages,
    ),
    Rule(
        "schedule_free_sgd",
        "Schedule-free SGD",
        (
            _lr(0.1),
            HyperSpec("b1", 0.9, 0.0, 0.9999, doc="how close y stays to the average x", symbol="β"),
        ),
        same_factory(schedule_free_sgd),
        both("z ← z − η ∇f(y);  x ← (1−c)x + cz;  y ← βx + (1−β)z  (the path is y)"),
        both(
            (
                "z ← z − η ∇f(y)",
                "x ← (1 − cₜ) x + cₜ z,   cₜ = η² ⁄ Σ η²  (1/t for a constant η)",
                "y ← β x + (1 − β) z   (drawn: the gradient is taken at y)",
            )
        ),
        _schedule_free_sgd_stages,
        takes_weight_decay=False,
    ),
    Rule(
        "schedule_free_adamw",
        "Schedule-free AdamW",
        (
            _lr(0.1),
            HyperSpec(
                "b1", 0.9, 0.0, 0.9999, doc="how close y stays to the average x", symbol="β₁"
            ),
            _B2,
            _eps(1e-8, "keeps the division finite"),
        ),
        same_factory(schedule_free_adamw),
        both("ν ← β₂ν + (1−β₂)g²;  z ← z − η g / (√ν̂ + ε);  x, y as schedule-free SGD"),
        both(
            (
                "ν ← β₂ ν + (1 − β₂) g²,   ν̂ = ν ⁄ (1 − β₂ᵗ)",
                "z ← z − η g ⁄ (√ν̂ + ε)",
                "x ← (1 − cₜ) x + cₜ z,   y ← β₁ x + (1 − β₁) z   (drawn: y)",
            )
        ),
        _schedule_free_adamw_stages,
        adaptive=True,
        takes_weight_decay=False,
    ),
    Rule(
        "newton",
        "Newton (damped)",
        (
            _lr(1.0),
            HyperSpec(
                "damping",
                0.1,
                1e-6,
                100.0,
                scale="log",
                doc="least curvature of the model: the Hessian is lifted to at least this",
                symbol="δ",
            ),
        ),
        same_factory(newton),
        both("M = H + μI, μ = max(0, δ − λₘᵢₙ(H));  θ ← θ − η M⁻¹ g"),
        both(
            (
                "H = ∇²f(θ),   μ = max(0, δ − λₘᵢₙ(H))",
                "M = H + μ I   (positive definite: a bowl, never a saddle)",
                "θ ← θ − η M⁻¹ g",
            )
        ),
        _newton_stages,
        needs_hessian=True,
    ),
    Rule(
        "newton_undamped",
        "Newton (undamped)",
        (_lr(1.0),),
        same_factory(newton_undamped),
        both("θ ← θ − η H⁻¹ g  (heads for any stationary point, saddles too)"),
        both(("H = ∇²f(θ)", "θ ← θ − η H⁻¹ g   (to the nearest stationary point: a saddle too)")),
        _newton_stages,
        needs_hessian=True,
    ),
):
    register_rule(_rule)
del _rule

GRADIENT_NOISE = ParamSpec(
    "gradient_noise", 0.0, 0.0, 100.0, doc="std of seeded Gaussian noise added to each gradient"
)
"""Not a rule's hyperparameter: turns any rule stochastic on functions without data."""

WEIGHT_DECAY = ParamSpec(
    "weight_decay",
    0.0,
    0.0,
    1.0,
    doc="decoupled decay: adds −η λ θ to each update (AdamW's way), 0 = off",
)
"""An entry's decoupled weight decay, for rules without their own (AdamW and Lion have one)."""

L2 = ParamSpec(
    "l2", 0.0, 0.0, 10.0, doc="adds (l2 / 2)·|θ|² to the loss the entry descends, 0 = off"
)
"""An entry's L2 term: its gradient gains ``l2 · θ`` (coupled: it passes through the rule)."""

CLIP_NORM = ParamSpec(
    "clip_norm", 0.0, 0.0, 1e6, scale="log", doc="clips the gradient to this norm, 0 = off"
)
"""An entry's gradient clipping by global norm (``optax.clip_by_global_norm``)."""

MODIFIERS = (WEIGHT_DECAY, L2, CLIP_NORM)
"""What any entry may add to its rule, besides a schedule and gradient noise."""


class EntryKind(NamedTuple):
    """What about an entry shapes its compiled program (values of its numbers do not).

    Attributes:
      rule: the rule's name.
      schedule: the schedule kind (``"constant"``: the learning rate is a plain number).
      decay: whether a decoupled weight decay is added (rules with their own ``weight_decay``
        carry it in their hyperparameters and say False here).
      l2: whether the loss gains an L2 term.
      clip: whether the gradient is clipped.
    """

    rule: str
    schedule: str = "constant"
    decay: bool = False
    l2: bool = False
    clip: bool = False


def entry_transform(
    kind: EntryKind, convention: Convention, values: Mapping[str, object]
) -> optax.GradientTransformation:
    """The transformation of one entry: its rule with its schedule and decoupled decay.

    ``values``: the rule's hyperparameters by name, plus ``"schedule"`` (the schedule's values)
    when ``kind.schedule`` is not constant and ``"weight_decay"`` when ``kind.decay``; traced or
    concrete. The L2 term and clipping act on the gradient (see :mod:`gdviz.core.simulate`).
    """
    rule = RULES[kind.rule]
    hyper = {h.name: values[h.name] for h in rule.hyperparams}
    lr = hyper["learning_rate"]
    if kind.schedule != "constant":
        lr = SCHEDULES[kind.schedule].make(lr, values["schedule"])  # type: ignore[arg-type]
        hyper["learning_rate"] = lr
    tx = rule.transform(convention, hyper)
    if kind.decay:
        tx = optax.chain(tx, decoupled_weight_decay(values["weight_decay"], lr))
    return tx


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
