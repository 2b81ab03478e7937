"""A fair race: the learning rate of each entry tuned by a batched search before they race.

Comparing optimizers at hand-picked learning rates compares the picks (jettify/pytorch-optimizer
issue 71). :func:`tune` runs each entry alone over a log grid of learning rates at once (``vmap``
over the rate, inside one ``jit``: the whole grid costs about one compile and a few runs), then
over a finer grid around the best, and picks the rate that minimises the objective: the loss at
the last step (``"final_loss"``), or the steps until the loss first reaches ``threshold``
(``"steps_to"``; ties go to the lower final loss). Everything else of the entry stays as it is:
its schedule (the rate is its peak), weight decay, batches and noise, which are seeded, so the
same scene tunes to the same rates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

from gdviz.core.optimizers import RULES
from gdviz.core.scene import Scene, SceneError
from gdviz.core.simulate import (
    _plan,
    _traced_values,
    batch_schedule,
    compiled_scene,
    noise_schedule,
)
from gdviz.core.types import NDArray

Objective = Literal["final_loss", "steps_to"]
OBJECTIVES: tuple[Objective, ...] = ("final_loss", "steps_to")

COARSE = 25
"""Rates in the first, log-spaced grid over the learning rate's whole range."""

FINE = 17
"""Rates in the second grid, log-spaced between the best coarse rate's two neighbours."""


@dataclass(frozen=True)
class TuneCurve:
    """One entry's search: every rate tried and what it scored, sorted by rate.

    Attributes:
      rates: ``(n,)`` learning rates tried (coarse and fine grids together).
      final_loss: ``(n,)`` the loss at the last step (inf where the run diverged).
      objective: ``(n,)`` what was minimised (``final_loss``, or the steps to the threshold,
        ``steps + 1`` where it was never reached).
      best: the chosen rate.
    """

    rates: NDArray
    final_loss: NDArray
    objective: NDArray
    best: float


@dataclass(frozen=True)
class TuneResult:
    """What :func:`tune` found.

    Attributes:
      scene: the scene with the tuned entries' learning rates set.
      rates: the chosen rate per tuned label.
      curves: the tuning curve per tuned label (final loss against learning rate).
      objective, threshold: what was minimised.
    """

    scene: Scene
    rates: dict[str, float]
    curves: dict[str, TuneCurve]
    objective: Objective
    threshold: float | None


def _runner(scene: Scene, label: str):  # noqa: ANN202
    """``losses(rates) -> (len(rates), steps + 1)`` full-batch losses of entry ``label`` alone,
    one run per rate, batched with vmap inside the entry's compiled program."""
    entry = scene.entry(label)
    solo = scene.replace(optimizers=(entry,))
    problem = solo.build_problem(minima="defer")
    batched, shape, chunk = _plan(solo, problem)
    if chunk < solo.steps:
        raise SceneError(f"{label}: too many batch indices to tune in one piece; use fewer steps")
    programs = compiled_scene(problem.loss_fn, solo.convention, (entry.kind,), batched, shape)
    starts = np.array([solo.start_of(entry)], dtype=np.float64)
    values = _traced_values(entry, solo.convention, solo.steps)
    noise_stds = np.array([entry.gradient_noise], dtype=np.float64)
    consts, data = problem.jax_consts(), problem.full_batch()
    tables = (
        batch_schedule(problem.n, entry.batch_size, solo.steps, solo.seed).rows(0, solo.steps)
        if batched[0]
        else None,
    )
    noise = noise_schedule(solo.steps, solo.seed)

    def one(rate):  # noqa: ANN001, ANN202
        h = {**values, "learning_rate": rate}
        out = programs.run_all(starts, (h,), noise_stds, consts, data, tables, noise)
        # A refused run keeps its last sound loss: score it as diverged.
        return jnp.where(out.diverged_at[0] >= 0, jnp.inf, out.loss[0])

    batched_fn = jax.jit(jax.vmap(one))
    return lambda rates: np.asarray(batched_fn(jnp.asarray(rates, dtype=jnp.float64)))


def _scores(
    losses: NDArray, objective: Objective, threshold: float | None
) -> tuple[NDArray, NDArray]:
    final = losses[:, -1]
    if objective == "final_loss":
        return final, final
    reached = losses <= threshold
    steps = np.where(reached.any(axis=1), reached.argmax(axis=1), losses.shape[1]).astype(float)
    return final, steps


def _best(rates: NDArray, final: NDArray, score: NDArray) -> int:
    # Lowest score; ties (steps_to) go to the lower final loss, then the smaller rate.
    order = np.lexsort((rates, np.nan_to_num(final, nan=np.inf), score))
    return int(order[0])


def tune(
    scene: Scene,
    labels: Sequence[str] | None = None,
    objective: Objective = "final_loss",
    threshold: float | None = None,
    grid: tuple[float, float] | None = None,
    coarse: int = COARSE,
    fine: int = FINE,
) -> TuneResult:
    """Tune the learning rate of each entry in ``labels`` (default: the visible ones).

    Args:
      scene: the race; its steps, start, seed and every other setting are kept.
      labels: which entries to tune; the others keep their rates.
      objective: ``"final_loss"`` or ``"steps_to"`` (needs ``threshold``).
      threshold: the loss to reach, for ``"steps_to"``.
      grid: ``(low, high)`` of the coarse grid; default each rule's learning-rate range
        ``[1e-5, 10]`` narrowed to ``[1e-4, 10]``.
      coarse, fine: grid sizes (the fine grid spans the best coarse rate's two neighbours).

    Returns:
      A :class:`TuneResult`; ``result.scene`` races at the chosen rates.

    Raises:
      SceneError: an unknown label or objective, a missing threshold, a bad grid.
    """
    if objective not in OBJECTIVES:
        raise SceneError(f"objective: one of {', '.join(OBJECTIVES)}, got {objective!r}")
    if objective == "steps_to" and (threshold is None or not math.isfinite(threshold)):
        raise SceneError("threshold: steps_to needs a finite loss to reach")
    labels = (
        list(labels) if labels is not None else [e.label for e in scene.optimizers if e.visible]
    )
    for label in labels:
        scene.entry(label)
    if coarse < 3 or fine < 3:
        raise SceneError("grid: at least 3 rates per grid")
    result_scene = scene
    rates: dict[str, float] = {}
    curves: dict[str, TuneCurve] = {}
    for label in labels:
        entry = scene.entry(label)
        spec = RULES[entry.rule].spec("learning_rate")
        assert spec is not None
        low, high = grid if grid is not None else (max(spec.low, 1e-4), spec.high)
        if not (0 < low < high and math.isfinite(high)):
            raise SceneError(f"grid: must be 0 < low < high, got {(low, high)}")
        run = _runner(scene, label)
        first = np.geomspace(low, high, coarse)
        losses = run(first)
        final, score = _scores(losses, objective, threshold)
        i = _best(first, final, score)
        lo, hi = first[max(i - 1, 0)], first[min(i + 1, coarse - 1)]
        second = np.geomspace(lo, hi, fine)
        losses2 = run(second)
        final2, score2 = _scores(losses2, objective, threshold)
        all_rates = np.concatenate([first, second])
        all_final = np.concatenate([final, final2])
        all_score = np.concatenate([score, score2])
        order = np.argsort(all_rates, kind="stable")
        all_rates, all_final, all_score = all_rates[order], all_final[order], all_score[order]
        best = float(all_rates[_best(all_rates, all_final, all_score)])
        best = float(np.clip(best, spec.low, spec.high))
        rates[label] = best
        curves[label] = TuneCurve(all_rates, all_final, all_score, best)
        result_scene = result_scene.replace_entry(
            label, hyperparams={**entry.hyperparams, "learning_rate": best}
        )
    return TuneResult(result_scene, rates, curves, objective, threshold)


__all__ = ["OBJECTIVES", "TuneCurve", "TuneResult", "tune"]
