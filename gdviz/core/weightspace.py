"""Every optimizer entry of a network scene trained in full weight space, and the picture of it.

A network scene (``[problem] name = "mlp"``, :mod:`gdviz.core.mlp`) runs each entry from the same
seeded initial weights with the scene's seeded mini-batches
(:func:`gdviz.core.simulate.batch_schedule`: entries with one batch size see the same batches),
with the same rules, conventions and modifiers as the two-parameter scenes
(:func:`gdviz.core.optimizers.entry_transform`; an L2 term and clipping act on the gradient as
in :mod:`gdviz.core.simulate`), in ONE ``lax.scan`` under ``jit``. Each step records the full weights, the full-batch loss and the
train accuracy (:class:`WeightPath`). Divergence is :mod:`gdviz.core.simulate`'s: the first step
whose loss or weights are not finite, whose loss passes ``LOSS_GROWTH`` times the starting loss or
whose weights pass ``PARAM_LIMIT`` is refused, and the path stays at its last sound point.

Not every entry fits a network: Newton's rules need a 2x2 Hessian, ``gradient_noise`` and own
starts are two-parameter ideas (:class:`gdviz.core.scene.Scene` refuses them).

:func:`picture` adds what a view draws: the plane (:mod:`gdviz.core.plane`) the scene asks for,
every path projected onto it, a view rectangle and the faithfulness readout;
:func:`picture_surface` the loss over a grid on that plane (its own call: it is the slow part).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from gdviz.core.deferred import jax, jnp, optax
from gdviz.core.lru import LRU
from gdviz.core.mlp import Arch, Network
from gdviz.core.optimizers import Convention, EntryKind, entry_transform
from gdviz.core.plane import (
    Faithfulness,
    Plane,
    PlaneSurface,
    faithfulness,
    fit_plane,
    surface,
    view_of,
)
from gdviz.core.scene import OptimizerEntry, Scene, SceneError
from gdviz.core.simulate import (
    LOSS_GROWTH,
    PARAM_LIMIT,
    BatchSchedule,
    batch_schedule,
    learning_rates,
)
from gdviz.core.types import Array, NDArray

__all__ = ["Picture", "WeightPath", "picture", "picture_surface", "train"]

Rect = tuple[tuple[float, float], tuple[float, float]]


@dataclass(frozen=True, eq=False)
class WeightPath:
    """One entry's run in full weight space, as numpy arrays indexed by step.

    Attributes:
      label: the entry's label.
      weights: ``(steps + 1, P)`` the weights after each step, the initial weights first.
      loss: ``(steps + 1,)`` the full-batch loss at each (the network's own loss: without an
        entry's L2 term, so entries compare on one measure).
      accuracy: ``(steps + 1,)`` the train accuracy at each (classes), or None (regression).
      diverged_at: the first refused step, or None; from it on every array repeats the last
        sound point.
      batches: the entry's mini-batch schedule (None: full batch).
      learning_rates: ``(steps,)`` the learning rate each step used (its schedule's value).
    """

    label: str
    weights: NDArray
    loss: NDArray
    accuracy: NDArray | None
    diverged_at: int | None
    batches: BatchSchedule | None
    learning_rates: NDArray

    @property
    def steps(self) -> int:
        return int(self.weights.shape[0]) - 1

    def first_step_reaching(self, accuracy: float) -> int | None:
        """The first step whose train accuracy is at least ``accuracy``, or None (never, or a
        regression)."""
        if self.accuracy is None:
            return None
        hits = np.flatnonzero(self.accuracy >= accuracy)
        return int(hits[0]) if hits.size else None


# --- the compiled run -----------------------------------------------------------------------------


def _clip(g: Array, max_norm: Array) -> Array:
    # optax's own rule (a flat vector is its own global norm).
    return optax.clip_by_global_norm(max_norm).update(g, optax.EmptyState())[0]


class _Program:
    """The jitted run of one structure: architecture, convention, entry kinds, which batch table
    each entry reads (or none), steps and data size.

    The network's forward and backward passes are the costly part of a step, and they are the
    same function for every entry: the scan body takes them once per group of entries that see
    the same data (the full batch, or one batch table), with ``vmap`` over the group's weights,
    and then applies each entry's own rule to its gradient. Nine entries x 500 steps on a 2-8-8-1
    net with 200 points (the machine loaded, one run): 465 ms with a pass per entry, compiled in
    10 s; 249 ms grouped, compiled in 4.3 s. Later, nine different rules: 180-235 ms of CPU time
    (wall time up to twice that while other processes took the cores).

    The rules' own updates stay per entry, a dozen tiny elementwise ops each: nine Adams took
    295 ms where nine SGDs took 171 ms. Entries of one rule could share theirs under ``vmap``
    (three learning rates of one rule, say); nine different rules could not.

    float64, as the rest of the core: the same run in float32 took 161 ms (float64's tanh costs
    ~4x float32's on this CPU: 74 vs 19 ms for 14.4 M), within the 0.3 s goal either way, so the
    paths keep matching plain-loop references to 1e-9 and every schedule's float64 arithmetic.
    """

    def __init__(
        self,
        arch: Arch,
        convention: Convention,
        kinds: tuple[EntryKind, ...],
        tables: tuple[int | None, ...],
    ) -> None:
        metrics = arch.metrics
        full_grad = jax.vmap(jax.value_and_grad(metrics, has_aux=True), in_axes=(0, None, None))
        batch_grad = jax.vmap(jax.grad(arch.loss_fn), in_axes=(0, None, None))
        all_metrics = jax.vmap(metrics, in_axes=(0, None, None))
        # Entry indices per group: the full-batch entries, then each batch table's.
        groups = [
            (t, [i for i, ti in enumerate(tables) if ti == t])
            for t in dict.fromkeys(tables)  # first-seen order
        ]

        def gradients(w, x, y, idx):  # noqa: ANN001, ANN202
            """``(loss, accuracy, gradient)`` of every entry, in entry order."""
            loss, acc, grad = [None] * len(kinds), [None] * len(kinds), [None] * len(kinds)
            for t, members in groups:
                whole = members == list(range(len(kinds)))
                sub = w if whole else w[jnp.asarray(members)]
                if t is None:
                    (ls, ac), gs = full_grad(sub, x, y)
                else:
                    # The loss is the full batch's; the gradient the mini-batch's.
                    ls, ac = all_metrics(sub, x, y)
                    rows = idx[t]
                    gs = batch_grad(sub, x[rows], y[rows])
                for k, i in enumerate(members):
                    loss[i], acc[i], grad[i] = ls[k], ac[k], gs[k]
            return jnp.stack(loss), jnp.stack(acc), grad

        def run(w0, hyperparams, x, y, batch_tables):  # noqa: ANN001, ANN202
            txs = [
                entry_transform(k, convention, h) for k, h in zip(kinds, hyperparams, strict=True)
            ]
            states0 = tuple(tx.init(w0) for tx in txs)

            def step(carry, idx):  # noqa: ANN001, ANN202
                w, states = carry
                loss, acc, grads = gradients(w, x, y, idx)
                updates, new_states = [], []
                for i, tx in enumerate(txs):
                    g, kind, h = grads[i], kinds[i], hyperparams[i]
                    if kind.l2:
                        g = g + h["l2"] * w[i]
                    if kind.clip:
                        g = _clip(g, h["clip_norm"])
                    u, state = tx.update(g, states[i], w[i])
                    updates.append(u)
                    new_states.append(state)
                w = w + jnp.stack(updates)
                return (w, tuple(new_states)), (w, loss, acc)

            w_start = jnp.broadcast_to(w0, (len(txs), w0.shape[0]))
            (w_last, _), (ws, losses, accs) = jax.lax.scan(step, (w_start, states0), batch_tables)
            # The loss at the last point was never a step's start: one more forward pass.
            loss_last, acc_last = all_metrics(w_last, x, y)
            weights = jnp.concatenate([w_start[None], ws])
            loss = jnp.concatenate([losses, loss_last[None]])
            acc = jnp.concatenate([accs, acc_last[None]])
            return _finish(weights.swapaxes(0, 1), loss.T, acc.T)

        self.run = jax.jit(run)


def _finish(weights: Array, loss: Array, acc: Array) -> tuple[Array, Array, Array, Array]:
    """simulate's divergence rule on ``(entries, steps + 1, ...)`` paths: the first point whose
    loss or weights are not finite, whose loss passes ``LOSS_GROWTH x max(|loss_0|, 1)`` or whose
    weights pass ``PARAM_LIMIT`` is refused, and every array repeats the last sound point from
    there. Returns ``(weights, loss, accuracy, diverged_at)``, ``diverged_at`` -1 for none."""
    limit = LOSS_GROWTH * jnp.maximum(jnp.abs(loss[:, :1]), 1.0)
    sound = jnp.isfinite(loss) & (jnp.abs(loss) <= limit)
    sound &= jnp.all(jnp.isfinite(weights), axis=2)
    sound &= jnp.max(jnp.abs(weights), axis=2) <= PARAM_LIMIT
    total = loss.shape[1]
    all_sound = sound.all(axis=1, keepdims=True)
    first_bad = jnp.argmin(sound, axis=1)[:, None]
    diverged_at = jnp.where(all_sound, -1, first_bad)[:, 0]
    last_good = jnp.where(all_sound, total - 1, jnp.maximum(first_bad - 1, 0))
    index = jnp.minimum(jnp.arange(total)[None, :], last_good)
    return (
        jnp.take_along_axis(weights, index[..., None], axis=1),
        jnp.take_along_axis(loss, index, axis=1),
        jnp.take_along_axis(acc, index, axis=1),
        diverged_at,
    )


MAX_COMPILED = 8
"""Compiled runs kept (least recently used first out): one per structure and shape."""

_compiled: LRU[tuple[object, ...], _Program] = LRU(lambda: MAX_COMPILED)


def _program(
    arch: Arch,
    convention: Convention,
    kinds: tuple[EntryKind, ...],
    tables: tuple[int | None, ...],
    shape: tuple[object, ...],
) -> _Program:
    key = (arch, convention, kinds, tables, shape)
    return _compiled.get_or_make(key, lambda: _Program(arch, convention, kinds, tables))


def _traced_values(entry: OptimizerEntry, convention: Convention, steps: int) -> dict[str, object]:
    """What ``entry_transform`` and the scan read of an entry, as float64 scalars (traced: an
    edit never recompiles)."""
    f = np.float64
    values: dict[str, object] = {k: f(v) for k, v in entry.resolved_hyperparams(convention).items()}
    kind = entry.kind
    if kind.schedule != "constant":
        values["schedule"] = {k: f(v) for k, v in entry.resolved_schedule(steps).items()}
    if kind.decay:
        values["weight_decay"] = f(entry.weight_decay)
    if kind.l2:
        values["l2"] = f(entry.l2)
    if kind.clip:
        values["clip_norm"] = f(entry.clip_norm)
    return values


def train(scene: Scene, network: Network | None = None) -> dict[str, WeightPath]:
    """Train every entry of the network ``scene``; ``{label: WeightPath}`` in scene order.

    Args:
      scene: a network scene (``scene.is_network``).
      network: its network if built already (``scene.build_network()`` otherwise).

    Raises:
      SceneError: not a network scene, or the loss at the initial weights is not finite.
    """
    if not scene.is_network:
        raise SceneError(
            f"problem {scene.problem!r} has two parameters: simulate() runs it, not train()"
        )
    network = network or scene.build_network()
    entries = scene.optimizers
    n, steps = network.n, scene.steps
    # Entries with one batch size share one schedule (common random numbers), so one table.
    sizes = sorted({e.batch_size for e in entries if e.batch_size is not None and e.batch_size < n})
    schedules = {b: batch_schedule(n, b, steps, scene.seed) for b in sizes}
    tables = tuple(
        sizes.index(e.batch_size) if e.batch_size in schedules else None for e in entries
    )
    program = _program(
        network.arch,
        scene.convention,
        tuple(e.kind for e in entries),
        tables,
        (steps, n, tuple(sizes)),
    )
    hyper = tuple(_traced_values(e, scene.convention, steps) for e in entries)
    batch_tables = tuple(schedules[b].rows(0, steps) for b in sizes)
    xs = batch_tables if batch_tables else jnp.zeros((steps, 0), jnp.int32)
    out = program.run(network.init, hyper, network.x, network.y, xs)
    weights, loss, acc, diverged = (np.asarray(a) for a in out)
    paths = {}
    for i, e in enumerate(entries):
        if diverged[i] == 0:
            raise SceneError(f"{e.label}: the loss at the initial weights is not finite")
        paths[e.label] = WeightPath(
            label=e.label,
            weights=weights[i],
            loss=loss[i],
            accuracy=acc[i] if network.classify else None,
            diverged_at=None if diverged[i] < 0 else int(diverged[i]),
            batches=schedules.get(e.batch_size) if tables[i] is not None else None,  # type: ignore[arg-type]
            learning_rates=learning_rates(scene, e.label),
        )
    return paths


# --- what a view draws ----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Picture:
    """A trained network scene on its plane: everything a view draws but the surface.

    Attributes:
      network: the problem (data, architecture, initial weights; ``predictions`` for the
        decision boundary or fitted curve at any step).
      paths: ``{label: WeightPath}`` in scene order.
      plane: the plane the scene asked for, fitted to these paths.
      coords: ``{label: (steps + 1, 2)}`` each path projected onto the plane.
      view: a square rectangle of plane coordinates around every projected point (the scene's
        ``[view]`` when it gives one).
      faithfulness: how far to trust the picture (see :class:`gdviz.core.plane.Faithfulness`).
    """

    network: Network
    paths: Mapping[str, WeightPath]
    plane: Plane
    coords: Mapping[str, NDArray]
    view: Rect
    faithfulness: Faithfulness


def picture(
    scene: Scene,
    paths: Mapping[str, WeightPath] | None = None,
    network: Network | None = None,
) -> Picture:
    """Train ``scene`` (unless ``paths`` are given) and fit, project and judge its plane.

    Args:
      network: its network if built already, or with other initial weights (the window's
        start handle moves them within the plane: ``dataclasses.replace(network, init=...)``);
        ``scene.build_network()`` otherwise. The plane goes through its ``init``.

    Raises:
      SceneError: as :func:`train`, or the plane cannot be made (see :func:`fit_plane`).
    """
    network = network or scene.build_network()
    paths = paths if paths is not None else train(scene, network)
    weights = {label: p.weights for label, p in paths.items()}
    plane = fit_plane(scene.plane_spec, network, weights)
    coords = {label: plane.project(w) for label, w in weights.items()}
    view = scene.view if scene.view is not None else view_of(list(coords.values()))
    judged = faithfulness(network, plane, weights, {k: p.loss for k, p in paths.items()})
    return Picture(network, paths, plane, coords, view, judged)


def picture_surface(picture: Picture, resolution: int = 128) -> PlaneSurface:
    """The loss over a ``resolution``² grid of the picture's view on its plane."""
    return surface(picture.network, picture.plane, picture.view, resolution)
