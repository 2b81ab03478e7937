"""What an optimizer is doing at a step, in words a class understands.

``converging`` (the loss still falls), ``converged`` (at the lowest known loss), ``hovering``
(within 2% of the way from the minimum but still moving: SGD's noise floor), ``stuck``
(settled where the gradient vanishes but the loss is above the best known: a local minimum or
another stationary point), ``stalled`` (the loss has almost stopped falling although the gradient
is not small: the steps shrank, as AdaGrad's do), ``diverged`` (a step blew up; the path stops).
A regularised optimizer that rests where its L2 term or weight decay balances the loss's gradient
has ``converged`` to its own objective's minimum, and says so (it is not stalled: larger steps
would not take it further).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from gdviz.core.problems import Problem
from gdviz.core.simulate import Trajectory
from gdviz.core.surface import loss_and_grad_at

Kind = Literal["converging", "converged", "hovering", "stuck", "stalled", "diverged"]

WINDOW = 20
"""Steps looked back over to decide whether a path has settled."""


@dataclass(frozen=True)
class Status:
    kind: Kind
    text: str


def classify(
    path: Trajectory, problem: Problem, step: int, scale: float, l2: float = 0.0
) -> Status:
    """The status of ``path`` at ``step``.

    Args:
      path: the trajectory.
      problem: its problem (for known minima and the gradient).
      step: the playback step.
      scale: a length of the view (its diagonal): "not moving" means moving less than 1e-4 of it.
      l2: the entry's L2 coefficient (its recorded gradients are the regularised loss's).
    """
    step = int(np.clip(step, 0, path.steps))
    if path.diverged_at is not None and step >= path.diverged_at:
        return Status("diverged", f"diverged at step {path.diverged_at}")
    if step < WINDOW:
        return Status("converging", "converging")
    here = path.params[step]
    best = problem.best_loss
    loss = float(path.loss[step])
    reference = best if best is not None else float(path.loss[: step + 1].min())
    height = max(abs(float(path.loss[0]) - reference), 1e-12)  # how far it had to go
    gap = loss - reference
    if best is not None and gap <= 1e-4 * height:
        return Status("converged", "converged")

    moved = float(np.abs(path.params[step - WINDOW : step + 1] - here).max())
    settled = moved < 1e-4 * scale
    if step < 2 * WINDOW and not settled:
        return Status("converging", "converging")
    # Mean loss of the last window against the one before: robust to a stochastic path's noise.
    dropped = float(path.loss[max(step - 2 * WINDOW, 0) : step - WINDOW].mean()) - float(
        path.loss[step - WINDOW : step].mean()
    )
    # At this pace, closing the gap would take more than twice the steps taken so far.
    crawling = gap * WINDOW > 2 * step * max(dropped, 0.0)
    near = any(
        np.linalg.norm(here - np.asarray(m.point)) <= 0.05 * scale
        for m in problem.minima
        if m.kind == "global"
    )
    if near and gap <= 0.02 * height and crawling and not settled:
        # SGD's noise floor, or a constant step size rocking around the bottom.
        return Status("hovering", "hovering near the minimum")
    if not (settled or crawling):
        return Status("converging", "converging")

    _, grads = loss_and_grad_at(problem, np.stack([path.params[0], here]))
    start_grad, grad = (float(np.linalg.norm(g)) for g in grads)
    if grad > 1e-3 * max(start_grad, 1e-12):
        return _balanced(path, step, grad, l2) or Status("stalled", "stalled: steps too small")
    if not settled:
        return Status("converging", "converging")
    for m in problem.minima:
        if m.kind == "local" and np.linalg.norm(here - np.asarray(m.point)) < 1e-2 * scale:
            return Status("stuck", "stuck in a local minimum")
    return Status("stuck", "stuck at a stationary point")


def _balanced(path: Trajectory, step: int, grad: float, l2: float) -> Status | None:
    """``converged`` where a regulariser holds the path against a loss gradient of norm ``grad``.

    L2: the recorded gradient is the regularised loss's, ``∇f + l2 θ``; at its minimum it is a
    small part of ``∇f``. Decoupled decay: the update is the rule's step plus ``−η λ θ``; where
    they cancel, the update is a small part of the decay's pull (the weight-decay scene's AdamW:
    |u| = 0.002 against |ηλθ| = 0.021, while AdaGrad's stalled steps have no decay to cancel).
    """
    k = step - 1
    if path.decay is not None:
        pull = float(np.linalg.norm(path.decay[k]))
        if pull > 0 and float(np.linalg.norm(path.updates[k])) < 0.5 * pull:
            return Status("converged", "converged: weight decay balances the loss")
        return None
    if l2 > 0 and float(np.linalg.norm(path.grads[k])) < 0.1 * grad:
        return Status("converged", "converged: the L2 term balances the loss")
    return None
