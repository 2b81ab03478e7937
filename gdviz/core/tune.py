"""A fair race: the learning rate of each entry tuned by a batched search before they race.

Comparing optimizers at hand-picked learning rates compares the picks (jettify/pytorch-optimizer
issue 71). :func:`tune` runs each entry alone over a log grid of learning rates at once (``vmap``
over the rate, inside one ``jit``: the whole grid costs about one compile and a few runs), then
over a finer grid around the best, and picks the rate that minimises the objective: the loss at
the last step (``"final_loss"``), or the steps until the loss first reaches ``threshold``
(``"steps_to"``; ties go to the lower final loss). Everything else of the entry stays as it is:
its schedule (the rate is its peak), weight decay, batches and noise, which are seeded, so the
same scene tunes to the same rates.

The batched run is compiled once per structure, as :mod:`gdviz.core.simulate` compiles its
programs: the loss, the convention, the entry's kind (rule, schedule kind, modifiers), which
entries take mini-batches, the shape (steps, data and batch sizes) and the grid's length key an
LRU of :data:`MAX_COMPILED` programs, and the rates, start, hyperparameters, schedule values,
problem constants, data, batches and noise are traced arguments. Tuning the same race again, or
after a drag of the start or an edit of any number, compiles nothing; both grids are run at one
length, so a structure compiles once, not once per grid. Measured on a 2-core CPU, the fair-race
scene's five entries: 4.7 s the first time, 0.01 s every time after (a fresh program per call
took 8.0 s, then 7.4 s each time again).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from gdviz.core.deferred import jax, jnp
from gdviz.core.lru import LRU
from gdviz.core.optimizers import RULES
from gdviz.core.scene import Scene, SceneError
from gdviz.core.simulate import (
    MAX_COMPILED,
    _plan,
    _Programs,
    _traced_values,
    batch_schedule,
    noise_schedule,
)
from gdviz.core.types import Array, NDArray

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

    @property
    def diverged(self) -> bool:
        """Every rate tried diverged: there is no rate to recommend."""
        return not np.isfinite(self.final_loss).any()

    def at_best(self) -> tuple[float, float]:
        """``(final loss, objective)`` of the run at the chosen rate (inf if it diverged)."""
        i = int(np.argmin(np.abs(self.rates - self.best)))
        return float(self.final_loss[i]), float(self.objective[i])


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


_programs: LRU[tuple[object, ...], Callable[..., Array]] = LRU(lambda: MAX_COMPILED)
_traces = [0]  # bumped inside the traced function: once per compile (or persistent-cache load)


def _batched_program(key: tuple[object, ...]) -> Callable[..., Array]:
    """The jitted ``losses(rates, starts, values, noise_stds, consts, data, tables, noise)`` of
    one structure: ``(len(rates), steps + 1)`` full-batch losses, one run per rate (vmap), inf
    where the run diverged. Cached by ``key`` (LRU, at most :data:`MAX_COMPILED`)."""
    return _programs.get_or_make(key, lambda: _make_batched_program(key))


def _make_batched_program(key: tuple[object, ...]) -> Callable[..., Array]:
    loss_fn, convention, kind, batched, shape, _length = key
    # Its own programs, not simulate's LRU: a tuning run would push out the window's
    # compiled races while adding none it could use (the scan is compiled inside this jit).
    run_all = _Programs(loss_fn, convention, (kind,), batched).run_all  # type: ignore[arg-type]

    def losses(rates, starts, values, noise_stds, consts, data, tables, noise):  # noqa: ANN001, ANN202
        _traces[0] += 1

        def one(rate):  # noqa: ANN001, ANN202
            h = {**values, "learning_rate": rate}
            out = run_all(starts, (h,), noise_stds, consts, data, tables, noise)
            # A refused run keeps its last sound loss: score it as diverged.
            return jnp.where(out.diverged_at[0] >= 0, jnp.inf, out.loss[0])

        return jax.vmap(one)(rates)

    return jax.jit(losses)


def compiled_count() -> int:
    """How many compiled tuning programs the LRU holds now (at most MAX_COMPILED)."""
    return len(_programs)


def trace_count() -> int:
    """How many times a tuning program was traced in this process: each trace is one compile
    (or one load from JAX's persistent cache); a reused program adds none."""
    return _traces[0]


def _runner(scene: Scene, label: str, length: int) -> Callable[[NDArray], NDArray]:
    """``losses(rates) -> (len(rates), steps + 1)`` full-batch losses of entry ``label`` alone,
    one run per rate, batched with vmap inside the structure's compiled program. Grids are run
    ``length`` rates at a time (a shorter one padded with its last rate): one compiled shape."""
    entry = scene.entry(label)
    solo = scene.replace(optimizers=(entry,))
    problem = solo.build_problem(minima="defer")
    batched, shape, chunk = _plan(solo, problem)
    if chunk < solo.steps:
        raise SceneError(f"{label}: too many batch indices to tune in one piece; use fewer steps")
    key = (problem.loss_fn, solo.convention, entry.kind, batched, shape, length)
    program = _batched_program(key)
    # Every number below is a traced argument: another start, rate or value compiles nothing.
    values = _traced_values(entry, solo.convention, solo.steps)
    del values["learning_rate"]  # each run's own rate takes its place
    args = (
        np.array([solo.start_of(entry)], dtype=np.float64),
        values,
        np.array([entry.gradient_noise], dtype=np.float64),
        problem.jax_consts(),
        problem.full_batch(),
        (
            batch_schedule(problem.n, entry.batch_size, solo.steps, solo.seed).rows(0, solo.steps)
            if batched[0]
            else None,
        ),
        noise_schedule(solo.steps, solo.seed),
    )

    def run(rates: NDArray) -> NDArray:
        n = len(rates)
        if n > length:
            raise ValueError(f"at most {length} rates per run, got {n}")
        padded = np.concatenate([rates, np.full(length - n, rates[-1])]).astype(np.float64)
        return np.asarray(program(jnp.asarray(padded), *args))[:n]

    return run


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
        run = _runner(scene, label, max(coarse, fine))
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


__all__ = ["OBJECTIVES", "TuneCurve", "TuneResult", "compiled_count", "trace_count", "tune"]
