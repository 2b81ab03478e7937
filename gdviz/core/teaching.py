"""What one step of one optimizer did, decomposed for the overlays and the equation panel.

Everything here is read back from a trajectory's recorded gradient, update and optimizer state:
nothing is recomputed, so what the overlays draw is what the optimizer did. Each rule's numbers
satisfy its update equation, and a test checks ``update == -scale * direction`` to the last
digit for every rule in both conventions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gdviz.core.optimizers import Convention
from gdviz.core.scene import OptimizerEntry
from gdviz.core.simulate import Trajectory
from gdviz.core.types import NDArray

ADAPTIVE = ("adagrad", "adadelta", "rmsprop", "adam")


@dataclass(frozen=True)
class StepParts:
    """Step ``k`` of one optimizer: from ``point`` to ``point + update``.

    Attributes:
      rule, k: which rule and step.
      point: ``θ_k``.
      grad: ``g_k``, the gradient the step used.
      update: ``u_k`` with ``θ_{k+1} = θ_k + u_k``.
      direction: what the step size multiplies: ``g`` (or Adam's bias-corrected ``m̂``, or the
        momentum rules' ``v``, or Nesterov's ``g + μ v``).
      scale: the effective step size per axis, ``u = −scale · direction``.
      velocity: the momentum rules' displacement carried by momentum, ``−η v_k`` (None otherwise).
      lookahead: Nesterov's look-ahead point ``θ_k − η μ v_k`` (None otherwise).
      state: the named state values after the step (``v``, ``m``, ``ν``, ``s``, ...).
      hyper: the hyperparameters in force.
    """

    rule: str
    k: int
    point: NDArray
    grad: NDArray
    update: NDArray
    direction: NDArray
    scale: NDArray
    velocity: NDArray | None = None
    lookahead: NDArray | None = None
    state: dict[str, NDArray] = field(default_factory=dict)
    hyper: dict[str, float] = field(default_factory=dict)


def step_parts(
    path: Trajectory, entry: OptimizerEntry, convention: Convention, k: int
) -> StepParts:
    """Decompose step ``k`` (0 <= k < steps) of ``path``, run by ``entry`` in ``convention``."""
    k = int(np.clip(k, 0, path.steps - 1))
    h = entry.resolved_hyperparams(convention)
    lr = h["learning_rate"]
    g, u, p = path.grads[k], path.updates[k], path.params[k]
    st = {name: v[k] for name, v in path.state.items()}
    ones = np.ones(2)
    rule = entry.rule
    velocity = lookahead = None
    if rule == "sgd":
        direction, scale, state = g, lr * ones, {}
    elif rule in ("momentum", "nesterov"):
        v = st["trace"]
        velocity = -lr * v
        state = {"v": v}
        if rule == "momentum":
            direction = v
        else:
            direction = g + h["momentum"] * v
            lookahead = p - lr * h["momentum"] * v
        scale = lr * ones
    elif rule == "adagrad":
        s = st["sum_of_squares"]
        root = np.sqrt(s + h["eps"]) if convention == "optax" else np.sqrt(s) + h["eps"]
        direction, scale, state = g, lr / root, {"s": s}
    elif rule == "rmsprop":
        nu = st["nu"]
        root = np.sqrt(nu + h["eps"]) if convention == "optax" else np.sqrt(nu) + h["eps"]
        direction, scale, state = g, lr / root, {"ν": nu}
    elif rule == "adadelta":
        e_g = st["e_g"]
        e_x_before = path.state["e_x"][k - 1] if k > 0 else np.zeros(2)
        direction = g
        scale = lr * np.sqrt(e_x_before + h["eps"]) / np.sqrt(e_g + h["eps"])
        state = {"E[g²]": e_g, "E[Δ²]": st["e_x"]}
    elif rule == "adam":
        m, nu = st["mu"], st["nu"]
        t = k + 1
        m_hat = m / (1 - h["b1"] ** t)
        nu_hat = nu / (1 - h["b2"] ** t)
        direction = m_hat
        scale = lr / (np.sqrt(nu_hat) + h["eps"])
        state = {"m": m, "ν": nu, "m̂": m_hat, "ν̂": nu_hat}
    else:
        raise ValueError(f"unknown rule {rule!r}")
    return StepParts(
        rule=rule,
        k=k,
        point=p,
        grad=g,
        update=u,
        direction=np.asarray(direction),
        scale=np.asarray(scale),
        velocity=velocity,
        lookahead=lookahead,
        state=state,
        hyper=h,
    )


EQUATIONS: dict[tuple[str, Convention], tuple[str, ...]] = {}
"""Each rule's update as lines of Unicode maths, per convention (the same where they agree)."""

_SHARED = {
    "sgd": ("θ ← θ − η g",),
    "momentum": ("v ← μ v + g", "θ ← θ − η v"),
    "nesterov": ("v ← μ v + g", "θ ← θ − η (g + μ v)"),
    "adadelta": (
        "E[g²] ← ρ E[g²] + (1 − ρ) g²",
        "Δ = √(E[Δ²] + ε) ⁄ √(E[g²] + ε) · g",
        "E[Δ²] ← ρ E[Δ²] + (1 − ρ) Δ²",
        "θ ← θ − η Δ",
    ),
    "adam": (
        "m ← β₁ m + (1 − β₁) g",
        "ν ← β₂ ν + (1 − β₂) g²",
        "m̂ = m ⁄ (1 − β₁ᵗ),  ν̂ = ν ⁄ (1 − β₂ᵗ)",
        "θ ← θ − η m̂ ⁄ (√ν̂ + ε)",
    ),
}
for _rule, _lines in _SHARED.items():
    EQUATIONS[(_rule, "optax")] = EQUATIONS[(_rule, "pytorch")] = _lines
EQUATIONS[("adagrad", "optax")] = ("s ← s + g²   (s₀ = 0.1)", "θ ← θ − η g ⁄ √(s + ε)")
EQUATIONS[("adagrad", "pytorch")] = ("s ← s + g²   (s₀ = 0)", "θ ← θ − η g ⁄ (√s + ε)")
EQUATIONS[("rmsprop", "optax")] = ("ν ← β ν + (1 − β) g²", "θ ← θ − η g ⁄ √(ν + ε)")
EQUATIONS[("rmsprop", "pytorch")] = ("ν ← β ν + (1 − β) g²", "θ ← θ − η g ⁄ (√ν + ε)")

STAGES = ("gradient", "accumulate", "scale", "step")


def stage_captions(parts: StepParts) -> list[str]:
    """One caption per stage (gradient → accumulate → scale → step) with the step's numbers."""

    def vec(a: NDArray | None) -> str:
        return "—" if a is None else f"({a[0]:.4g}, {a[1]:.4g})"

    r = parts.rule
    h = parts.hyper
    caps = [f"1. Gradient at θ = {vec(parts.point)}:  g = {vec(parts.grad)}."]
    if r == "sgd":
        caps.append("2. Accumulate: plain gradient descent keeps no state.")
    elif r in ("momentum", "nesterov"):
        caps.append(
            f"2. Accumulate: v ← μ v + g = {vec(parts.state['v'])}   (μ = {h['momentum']:g})."
        )
    elif r in ("adagrad", "rmsprop"):
        name = "s ← s + g²" if r == "adagrad" else "ν ← β ν + (1 − β) g²"
        key = "s" if r == "adagrad" else "ν"
        caps.append(f"2. Accumulate squared gradients: {name} = {vec(parts.state[key])}.")
    elif r == "adadelta":
        caps.append(f"2. Accumulate: E[g²] = {vec(parts.state['E[g²]'])}.")
    else:
        caps.append(f"2. Accumulate: m = {vec(parts.state['m'])},  ν = {vec(parts.state['ν'])}.")
    caps.append(
        f"3. Scale: the step size per axis is {vec(parts.scale)}, times {vec(parts.direction)}."
    )
    caps.append(
        f"4. Step: θ ← θ + u with u = {vec(parts.update)}, to {vec(parts.point + parts.update)}."
    )
    return caps
