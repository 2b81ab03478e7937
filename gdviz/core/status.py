"""What an optimizer is doing at a step, in words a class understands.

``converging`` (still moving), ``converged`` (settled at the lowest known loss), ``stuck``
(settled where the gradient vanishes but the loss is above the best known: a local minimum or
another stationary point), ``stalled`` (barely moving although the gradient is not small: steps
shrank, as AdaGrad's do), ``diverged`` (a step blew up; the path stops there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from gdviz.core.problems import Problem
from gdviz.core.simulate import Trajectory
from gdviz.core.surface import loss_and_grad_at

Kind = Literal["converging", "converged", "stuck", "stalled", "diverged"]

WINDOW = 20
"""Steps looked back over to decide whether a path has settled."""


@dataclass(frozen=True)
class Status:
    kind: Kind
    text: str


def classify(path: Trajectory, problem: Problem, step: int, scale: float) -> Status:
    """The status of ``path`` at ``step``.

    Args:
      path: the trajectory.
      problem: its problem (for known minima and the gradient).
      step: the playback step.
      scale: a length of the view (its diagonal): "not moving" means moving less than 1e-4 of it.
    """
    step = int(np.clip(step, 0, path.steps))
    if path.diverged_at is not None and step >= path.diverged_at:
        return Status("diverged", f"diverged at step {path.diverged_at}")
    if step < WINDOW:
        return Status("converging", "converging")
    here = path.params[step]
    moved = np.abs(path.params[step - WINDOW : step + 1] - here).max()
    if moved > 1e-4 * scale:
        return Status("converging", "converging")

    best = problem.best_loss
    start_loss = float(path.loss[0])
    loss = float(path.loss[step])
    tolerance = 1e-4 * max(abs(start_loss - (best if best is not None else loss)), 1e-12)
    if best is not None and loss - best <= tolerance:
        return Status("converged", "converged")

    _, grads = loss_and_grad_at(problem, np.stack([path.params[0], here]))
    start_grad, grad = (float(np.linalg.norm(g)) for g in grads)
    if grad > 1e-3 * max(start_grad, 1e-12):
        return Status("stalled", "stalled: steps too small")
    for m in problem.minima:
        if m.kind == "local" and np.linalg.norm(here - np.asarray(m.point)) < 1e-2 * scale:
            return Status("stuck", "stuck in a local minimum")
    return Status("stuck", "stuck at a stationary point")
