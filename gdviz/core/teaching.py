"""What one step of one optimizer did, decomposed for the overlays and the equation panel.

Everything here is read back from a trajectory's recorded gradient, update and optimizer state:
nothing is recomputed, so what the overlays draw is what the optimizer did. How a step comes apart
is the rule's own knowledge (:attr:`gdviz.core.optimizers.Rule.stages`); this module reads the
trajectory and lays the parts out. Each rule's numbers satisfy its update equation, and a test
checks ``update == -scale * direction`` to the last digit for every rule in both conventions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gdviz.core.optimizers import RULES, Convention, StepRecord, show_vector
from gdviz.core.scene import OptimizerEntry
from gdviz.core.simulate import Trajectory
from gdviz.core.types import NDArray


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
      accumulate: the caption of the accumulate stage, with this step's numbers.
      adaptive: whether the rule adapts its step size per axis (the overlays draw ``scale``).
      decay: the decoupled weight decay's part of the update, ``−η_k λ θ_k`` (None without
        decay): ``update = −scale · direction + decay``; the overlays draw it as its own arrow.
      curvature: Newton's model matrix ``M`` (2x2), None for other rules: the quadratic model
        ``m(θ) = f + gᵀ(θ − θ_k) + ½ (θ − θ_k)ᵀ M (θ − θ_k)`` has its minimum at
        ``θ_k − M⁻¹ g`` and level sets that are ellipses with axes along M's eigenvectors,
        half-lengths ∝ 1/√eigenvalue (:func:`quadratic_model`).
      learning_rate: η_k, the schedule's value at step k (the entry's learning rate without one).
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
    accumulate: str = ""
    adaptive: bool = False
    decay: NDArray | None = None
    curvature: NDArray | None = None
    learning_rate: float = 0.0


def step_parts(
    path: Trajectory, entry: OptimizerEntry, convention: Convention, k: int
) -> StepParts:
    """Decompose step ``k`` (0 <= k < steps) of ``path``, run by ``entry`` in ``convention``."""
    k = int(np.clip(k, 0, path.steps - 1))
    rule = RULES[entry.rule]
    h = entry.resolved_hyperparams(convention)
    if path.learning_rates is not None:  # a schedule's value at this step
        h["learning_rate"] = float(path.learning_rates[k])
    decay = None if path.decay is None else path.decay[k]
    zeros = np.zeros(2)
    record = StepRecord(
        k=k,
        point=path.params[k],
        grad=path.grads[k],
        update=path.updates[k] - (0.0 if decay is None else decay),
        state={name: v[k] for name, v in path.state.items()},
        before={name: v[k - 1] if k > 0 else zeros for name, v in path.state.items()},
        hyper=h,
        convention=convention,
    )
    stages = rule.stages(record)
    if decay is not None:
        stages = stages._replace(
            accumulate=stages.accumulate + f";  decay −η λ θ = {show_vector(decay)}"
        )
    return StepParts(
        rule=entry.rule,
        k=k,
        point=record.point,
        grad=record.grad,
        update=path.updates[k],
        direction=np.asarray(stages.direction),
        scale=np.asarray(stages.scale),
        velocity=stages.velocity,
        lookahead=stages.lookahead,
        state=stages.state,
        hyper=h,
        accumulate=stages.accumulate,
        adaptive=rule.adaptive,
        decay=decay,
        curvature=stages.curvature,
        learning_rate=h["learning_rate"],
    )


def quadratic_model(parts: StepParts) -> tuple[NDArray, NDArray] | None:
    """Newton's local model at step ``k``: ``(centre, M)``, or None for a rule without one.

    ``centre = θ_k − M⁻¹ g`` is where the model is lowest (the step with η = 1 goes there); the
    window draws the level set ``½ (θ − centre)ᵀ M (θ − centre) = c`` as an ellipse at the head:
    axes along M's eigenvectors (``np.linalg.eigh``), half-lengths ``√(2c / eigenvalue)``.
    """
    if parts.curvature is None:
        return None
    return parts.point - np.linalg.solve(parts.curvature, parts.grad), parts.curvature


STAGES = ("gradient", "accumulate", "scale", "step")


def stage_captions(parts: StepParts) -> list[str]:
    """One caption per stage (gradient → accumulate → scale → step) with the step's numbers."""
    vec = show_vector
    return [
        f"1. Gradient at θ = {vec(parts.point)}:  g = {vec(parts.grad)}.",
        f"2. {parts.accumulate}",
        f"3. Scale: the step size per axis is {vec(parts.scale)}, times {vec(parts.direction)}.",
        f"4. Step: θ ← θ + u with u = {vec(parts.update)}, to {vec(parts.point + parts.update)}.",
    ]
