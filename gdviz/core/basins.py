"""Basin maps and stability maps: one optimizer entry run from every pixel of a grid at once.

A **basin map** starts an entry from every pixel of a ``resolution x resolution`` grid over the
scene's view and records where each run ends: in which known minimum (``problem.minima``), or
diverged, or not settled; when it settled; its final loss. A **stability map** does the same over
a grid of two of one entry's hyperparameters (learning rate and momentum, say), from the entry's
start. Both are one compiled program per entry structure: ``vmap`` over the pixels (starts *and*
hyperparameters are vmapped arguments, so one program serves both maps) around one ``lax.scan``
over the steps, fed ``chunk`` pixels at a time. The update rules are the optax transformations of
:mod:`gdviz.core.optimizers` with the entry's schedule and modifiers, and the gradient is
simulate's (``jax.jacfwd`` of the problem's loss, with L2 and clipping), so a pixel's run is the
run :func:`gdviz.core.simulate.simulate` computes from that start.

What a run ends as (:func:`outcome_of_path` is the definition in plain numpy; the scan computes
the same with one counter in its carry, never the path):

- **a minimum** ``m >= 0``: the last point lies within ``tol`` of minimum ``m``; the settle step is
  the first step ``s`` such that every point from ``s`` to the end lies within ``tol`` of ``m``
  ("entered and stayed").
- :data:`DIVERGED`: a point after the start was not finite or left the divergence box (the view
  grown by :data:`BOX_FACTOR` view sizes on every side, within ±``PARAM_LIMIT``), or the final loss
  is not finite. Its final loss reads ``inf``: nothing non-finite but that reaches a caller.
- :data:`SETTLED`: near no known minimum, and its last step moved less than ``still_tol`` (a
  millionth of the view): it stopped somewhere else (a saddle, an unlisted minimum).
- :data:`NOT_SETTLED`: none of these (still moving, or hopping about a minimum wider than ``tol``).

The tolerance (:func:`tolerance`) is 1% of the view's shorter side, and never more than a quarter
of the distance between two known minima (so two minima's balls never touch). 1% of the view is
2.5 pixels of a 256-pixel map and well inside a minimum's marker on screen: a point that close is
*at* the minimum in any picture. Much tighter and the rules that end hopping about a minimum with
a constant step (RMSprop and Adam at about their learning rate: 0.05 on Himmelblau, 0.4% of the
view) would count as never settling although they never leave it.

Mini-batch entries use the scene's seeded schedule (:func:`gdviz.core.simulate.batch_schedule`)
and gradient-noise entries its seeded draws (:func:`gdviz.core.simulate.noise_schedule`): the same
batches and the same noise for every pixel, as every entry of a scene shares them.

**Precision.** A map runs in float32 or float64 (``precision``); by default ("auto") in float32
for the rules that do not adapt their step size and in float64 for those that do (and Newton's).
float32 halves the work of a step on a CPU's vector units (GD and momentum on Himmelblau: 2x), and
a classification within 1% of the view needs no more: on Himmelblau's five entries at 256² and
the tiny network at 128², float32 and float64 put every start in the same outcome, and GD's and
momentum's settle steps agree but for a handful of pixels on basin boundaries (a step either
way). The adaptive rules are another matter: once the gradient is gone their divisor fades, and
they turn float32's rounding of the point (~1e-7 of the view) into whole steps, so RMSprop's
settle steps differed on ~20% of the pixels (up to 88 steps). The final loss is computed in
float64 at the run's last point either way. Nothing here is CPU-specific: the same programs run
on a GPU where ``jax[cuda]`` is installed (:data:`CPU_COMPILER_OPTIONS` is given to CPUs only).

Cost: see ``gdviz bench --core`` (``basins_64_ms``, ``basins_256_ms``, ``basins_live_ms``, and
``basins_9x64_ms``, ``basins_9x256_ms`` for nine entries). The entries of a map run side by
side in one scan (:class:`_MapProgram`), in calls of a chunk of :func:`chunk_size` pixels of
each; ``should_stop`` is asked between calls, and ``progress(done, total)`` told after each, so
a window can run a map on a worker thread, progressively (64², then 128², then 256²) and cancel
it on any edit (:class:`Cancelled`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np

from gdviz.core.deferred import jax, jnp
from gdviz.core.lru import LRU
from gdviz.core.optimizers import RULES, Convention, EntryKind, entry_transform
from gdviz.core.problems import Problem, Rect
from gdviz.core.scene import OptimizerEntry, Scene, SceneError
from gdviz.core.simulate import (  # its gradient modifiers and values: the map is its run
    PARAM_LIMIT,
    _clip,
    _traced_values,
    batch_schedule,
    noise_schedule,
)
from gdviz.core.types import Array, Batch, Consts, LossFn, NDArray

__all__ = [
    "DIVERGED",
    "NOT_SETTLED",
    "PRECISION",
    "SETTLED",
    "BasinMap",
    "Cancelled",
    "StabilityMap",
    "basins",
    "default_range",
    "outcome_of_path",
    "stability",
    "tolerance",
]

DIVERGED = -1
"""Outcome: a point was not finite or left the divergence box."""

NOT_SETTLED = -2
"""Outcome: still moving at the end, near no known minimum."""

SETTLED = -3
"""Outcome: its last step moved less than ``still_tol``, near no known minimum."""

OUTCOME_NAMES = {DIVERGED: "diverged", NOT_SETTLED: "not settled", SETTLED: "settled elsewhere"}
"""How the negative outcomes read in legends (a minimum reads as its index)."""

TOL_FRACTION = 0.01
"""A run is at a minimum within this fraction of the view's shorter side (see the module note)."""

STILL_FRACTION = 1e-6
"""A step shorter than this fraction of the view's shorter side counts as standing still."""

BOX_FACTOR = 10.0
"""A run that leaves the view grown by this many view sizes on every side has diverged."""

CHUNK_ELEMS = 1 << 19
"""Pixels x (samples per gradient) per chunk, and :data:`MAX_CHUNK` pixels at most. Measured on
2 shared cores (local-minimum, momentum, 128², 400 steps, float64): 4.5 s with 546-pixel chunks,
3.8 s with 4096, 3.5 s with 16384; the run is bound by the loss's arithmetic (tanh), not by the
per-step overhead, past a few thousand pixels."""

MAX_CHUNK = 1 << 14
"""Pixels per chunk at most: a cancel waits for the call under way (one entry's chunk in a
window's map, which maps one entry). Every op of the scan body is
a kernel per step whose dispatch costs the same whatever the chunk, so larger chunks run faster:
the five Himmelblau entries at 256² took ~12% less CPU in chunks of 32768 and ~20% less in 65536,
but their slowest chunk (an adaptive rule, float64) took 0.3-0.45 s and 0.55 s, against 0.2 s."""

CALL_PIXELS = 1 << 18
"""Pixels of all the entries together per call at most (a call runs a chunk of each entry).
Large chunks pay: nine Himmelblau entries at 256² took 1.85 s of CPU in chunks of 16384 starts
per entry, 2.65 s in chunks of 4096, 3.9 s in chunks of 256 (2 shared cores, loaded). Up to 16
entries keep chunks of 16384."""

FUSE_PIXELS = 64 * 64
"""Maps of fewer pixels run each entry in a program of its own (one per entry structure, shared
by every map of that entry), maps of more all entries in one (a program per set of entries).
Small maps are quick either way, and their own programs compile once for many scenes: the
tests' many small maps compiled ~2x the code fused."""

MIN_CHUNK = 256
"""No chunk is smaller than this (a smaller map is one chunk, padded)."""

MAX_COMPILED = 16
"""Compiled map programs kept, least recently used first out (one per entry kind, convention,
loss, batching, shape and precision; ~1-2 MB each)."""

Precision = Literal["auto", "float32", "float64"]

PRECISIONS: tuple[Precision, ...] = ("auto", "float32", "float64")

PRECISION: Precision = "auto"
"""The maps' default arithmetic: float32 for the rules that do not adapt their step size, float64
for those that do (see the module note on precision)."""

CPU_COMPILER_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": ""}
"""XLA options for the map programs on a CPU (no other backend sees them): no YNNPACK fusions.
XLA hands float32 reductions (the mean over a dataset's samples in a network's gradient) to
YNNPACK, which ran the tiny network's map 16x slower than XLA's own loops (2.5 s vs 0.15 s of
CPU, GD at 64², 400 steps)."""


ROOTS_APART = True
"""On a CPU, float64 maps write ``rsqrt`` as ``1 / sqrt`` (:func:`_roots_apart`): same bits, faster."""


class Cancelled(Exception):  # noqa: N818 (a state, not an error)
    """``should_stop()`` returned True between two chunks; nothing is returned."""


Progress = Callable[[int, int], None]
"""``progress(done, total)``: calls done of all the map's calls (each a chunk of every entry)."""

StopCheck = Callable[[], bool]
"""``should_stop()``: asked before each call; True stops the map with :class:`Cancelled`."""

Scale = Literal["linear", "log"]


# --- the definition, in plain numpy ---------------------------------------------------------------


def tolerance(problem: Problem, rect: Rect) -> float:
    """How close to a known minimum a run must end to count as reaching it (see the module note).

    ``TOL_FRACTION`` of the view's shorter side, capped at a quarter of the smallest distance
    between two known minima.
    """
    (x0, x1), (y0, y1) = rect
    tol = TOL_FRACTION * min(x1 - x0, y1 - y0)
    points = np.array([m.point for m in problem.minima], dtype=np.float64).reshape(-1, 2)
    if len(points) > 1:
        gaps = np.linalg.norm(points[:, None] - points[None], axis=2)
        tol = min(tol, 0.25 * float(gaps[np.triu_indices(len(points), 1)].min()))
    return tol


def still_tolerance(rect: Rect) -> float:
    """A step shorter than this stands still: ``STILL_FRACTION`` of the view's shorter side."""
    (x0, x1), (y0, y1) = rect
    return STILL_FRACTION * min(x1 - x0, y1 - y0)


def divergence_box(rect: Rect) -> NDArray:
    """``[[x_lo, y_lo], [x_hi, y_hi]]``: the view grown by ``BOX_FACTOR`` sizes, within ±PARAM_LIMIT."""
    (x0, x1), (y0, y1) = rect
    w, h = x1 - x0, y1 - y0
    lo = np.maximum([x0 - BOX_FACTOR * w, y0 - BOX_FACTOR * h], -PARAM_LIMIT)
    hi = np.minimum([x1 + BOX_FACTOR * w, y1 + BOX_FACTOR * h], PARAM_LIMIT)
    return np.array([lo, hi], dtype=np.float64)


def outcome_of_path(
    params: NDArray,
    minima: NDArray,
    tol: float,
    still_tol: float,
    box: NDArray,
    diverged: bool = False,
) -> tuple[int, int]:
    """``(outcome, settle step)`` of one whole path: the definition the scan computes.

    Args:
      params: ``(steps + 1, 2)`` the points, the start first.
      minima: ``(m, 2)`` the known minima.
      tol, still_tol, box: see :func:`tolerance`, :func:`still_tolerance`,
        :func:`divergence_box`.
      diverged: the path was refused as diverged elsewhere (simulate's ``diverged_at``).

    Returns:
      The outcome (a minimum's index, or DIVERGED / SETTLED / NOT_SETTLED) and its settle step
      (-1 unless the outcome is a minimum).
    """
    params = np.asarray(params, dtype=np.float64)
    moved = params[1:]
    inside_box = np.all((moved >= box[0]) & (moved <= box[1]), axis=1)
    if diverged or not inside_box.all():
        return DIVERGED, -1
    minima = np.asarray(minima, dtype=np.float64).reshape(-1, 2)
    if len(minima):
        d2 = ((params[:, None, :] - minima[None]) ** 2).sum(axis=2)
        nearest = d2.argmin(axis=1)
        near = np.where(d2[np.arange(len(params)), nearest] <= tol * tol, nearest, -1)
        if near[-1] >= 0:
            away = np.nonzero(near != near[-1])[0]
            return int(near[-1]), int(away[-1] + 1) if away.size else 0
    last = params[-1] - params[-2]
    if float(last @ last) <= still_tol * still_tol:
        return SETTLED, -1
    return NOT_SETTLED, -1


# --- the compiled program ---------------------------------------------------------------------


@functools.cache
def _compiler_options() -> dict[str, str] | None:
    """:data:`CPU_COMPILER_OPTIONS` on a CPU backend that knows them; None elsewhere (a GPU)."""
    if jax.default_backend() != "cpu":
        return None
    try:  # an XLA without the option refuses it by name: then compile as it likes
        jax.jit(lambda x: x + 1, compiler_options=CPU_COMPILER_OPTIONS)(np.float32(0))
    except jax.errors.JaxRuntimeError:
        return None
    return CPU_COMPILER_OPTIONS


def _roots_apart(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with every square root as ``1 / sqrt(x)``: the same bits, in a vectorised loop.

    XLA's CPU backend leaves a float64 loop scalar when it holds an ``rsqrt``, which its
    simplifier also makes of every ``a / sqrt(x)``; written as ``1 / sqrt(x)``, the same two
    correctly rounded operations, the loop is vectorised (256² starts x 500 steps of one such
    update: 190 ms against 70 ms), and AdaGrad's, RMSprop's and AdaDelta's float64 64² maps took
    0.5-0.65x the time. An ``optimization_barrier`` after each root keeps the simplifier from
    turning ``1 / sqrt(x)`` back into ``rsqrt`` (XLA drops the barrier before fusing, so the
    loops stay as they were), and ``a / sqrt(x)`` is written ``a * (1 / sqrt(x))``, as the
    simplifier writes it. The arithmetic is XLA's own, bit for bit (tests/core/test_basins.py
    holds every adaptive rule to it); maps use this for float64 on a CPU only.
    """

    def run(*args: Any) -> Any:
        closed, shape = jax.make_jaxpr(fn, return_shape=True)(*args)
        roots: list[Any] = []
        out = _eval_roots_apart(closed.jaxpr, closed.consts, jax.tree.leaves(args), roots)
        return jax.tree.unflatten(jax.tree.structure(shape), out)

    return run


def _eval_roots_apart(jaxpr: Any, consts: Sequence[Any], args: Sequence[Any], roots: list[Any]):  # noqa: ANN202
    """Evaluate ``jaxpr`` as :func:`_roots_apart` says (the nested ``jit`` calls inlined)."""
    # Here, not at the top: jax.extend pulls in pallas, 45-80 ms of every window's start-up.
    from jax.extend import core as jex_core

    env: dict[Any, Any] = dict(zip(jaxpr.constvars, consts, strict=True))
    env.update(zip(jaxpr.invars, args, strict=True))

    def read(v: Any) -> Any:
        return v.val if isinstance(v, jex_core.Literal) else env[v]

    def root(x: Any) -> Any:
        r = jax.lax.optimization_barrier(jax.lax.sqrt(x))
        roots.append(r)
        return r

    for eqn in jaxpr.eqns:
        ins = [read(v) for v in eqn.invars]
        prim = eqn.primitive
        if prim is jax.lax.sqrt_p:
            outs = [root(ins[0])]
        elif prim is jax.lax.rsqrt_p:
            outs = [jax.lax.div(jnp.ones_like(ins[0]), root(ins[0]))]
        elif prim is jax.lax.div_p and any(ins[1] is r for r in roots):
            outs = [jax.lax.mul(ins[0], jax.lax.div(jnp.ones_like(ins[1]), ins[1]))]
        elif prim.name == "jit":
            sub = eqn.params["jaxpr"]
            outs = _eval_roots_apart(sub.jaxpr, sub.consts, ins, roots)
        else:
            result = prim.bind(*ins, **eqn.params)
            outs = result if prim.multiple_results else [result]
        env.update(zip(eqn.outvars, outs, strict=True))
    return [read(v) for v in jaxpr.outvars]


class _Member(NamedTuple):
    """What shapes one entry's part of a map program (the values of its numbers never do)."""

    loss_fn: LossFn
    convention: Convention
    kind: EntryKind
    batched: bool
    axes: tuple[tuple[str, int | None], ...]  # "start" and the values: 0 mapped, None not
    roots_apart: bool


_Pieces = tuple[Callable[[], Any], Callable[..., Any], Callable[..., tuple[Array, ...]]]


def _member_run(member: _Member, inputs: tuple[Any, ...]) -> _Pieces:
    """One entry's run from one pixel, as the three pieces a scan interleaves with others'.

    ``inputs``: ``(start, values, noise_std, consts, data, minima, tol2, box, consts64,
    data64)``. Returns ``init() -> carry``, ``advance(carry, (k, batch_idx, eps)) -> (carry,
    moved2)`` and ``finish(carry, moved2) -> (loss, entered, near, moved2)``.
    """
    start, values, noise_std, consts, data, minima, tol2, box, consts64, data64 = inputs
    loss_fn, kind, batched = member.loss_fn, member.kind, member.batched
    grad_fn = jax.jacfwd(loss_fn)  # as simulate: forward mode suits two parameters
    hess_fn = jax.jacfwd(jax.jacfwd(loss_fn))
    needs_hessian = RULES[kind.rule].needs_hessian
    tx = entry_transform(kind, member.convention, values)
    update = _roots_apart(tx.update) if member.roots_apart else tx.update

    def d2_nearest(p: tuple[Array, Array]) -> tuple[Array, Array]:
        # The minima one by one, on the two coordinates: a reduction over a (pixels, m, 2)
        # array or an argmin per step made the whole map 5-10x slower on CPU.
        best = (p[0] - minima[0, 0]) ** 2 + (p[1] - minima[0, 1]) ** 2
        j = jnp.zeros((), jnp.int32)
        for m in range(1, minima.shape[0]):
            d2 = (p[0] - minima[m, 0]) ** 2 + (p[1] - minima[m, 1]) ** 2
            j = jnp.where(d2 < best, m, j)
            best = jnp.minimum(d2, best)
        return best, j

    def init() -> Any:
        # The carry holds the point, the rule's state and one counter. Each array in the carry
        # costs a kernel per step on CPU, so nothing else is recorded. The point is two arrays
        # (x, y), not one (pixels, 2): contiguous, not strided (~20% of a map's time).
        p0 = (start[0], start[1])
        state0 = tx.init(jnp.stack(p0) if needs_hessian else p0)
        entered0 = jnp.where(d2_nearest(p0)[0] <= tol2, 0, -2).astype(jnp.int32)
        return p0, state0, entered0

    def advance(carry, xs):  # noqa: ANN001, ANN202
        p, state, entered = carry
        k, idx, eps = xs
        batch = tuple(a[idx] for a in data) if batched else data
        v = jnp.stack(p)
        g = grad_fn(v, consts, batch) + noise_std * eps
        if kind.l2:  # as simulate's scan body
            g = g + values["l2"] * v
        if kind.clip:
            g = _clip(g, values["clip_norm"])
        if needs_hessian:  # Newton's rules take the vector and its Hessian
            hess = hess_fn(v, consts, batch)
            if kind.l2:
                hess = hess + values["l2"] * jnp.eye(2, dtype=hess.dtype)
            u, state = tx.update(g, state, v, hessian=hess)
        else:  # the other rules act per leaf (optax's tree maps): x and y alone
            u, state = update((g[0], g[1]), state, p)
        q = (p[0] + u[0], p[1] + u[1])
        # A rule that computes in float64 whatever it is given (optax's Newton) keeps the
        # carry's precision: the scan's carry may not change type.
        q, state = jax.tree.map(lambda a, b: a.astype(b.dtype), (q, state), carry[:2])
        # NaN fails every comparison, so a non-finite point is outside the box too.
        out = ~((q[0] >= box[0, 0]) & (q[0] <= box[1, 0]))
        out |= ~((q[1] >= box[0, 1]) & (q[1] <= box[1, 1]))
        # The step as the points show it (outcome_of_path's last move). Not |u|: XLA recomputes
        # u in this fusion, the gradient and the rule's divisions with it (3-4x the whole map's
        # time for GD, AdaGrad and RMSprop).
        dx, dy = q[0] - p[0], q[1] - p[1]
        moved2 = dx * dx + dy * dy
        # ``entered``: -1 once the run has left the box, -2 while its point is in no minimum's
        # ball, else the first step of its current stay in one. Two consecutive points in balls
        # less than 2 tol apart are in the same ball (balls are at least 2 tol apart: tol <= a
        # quarter of the gap between minima), so neither "which minimum" nor "was the last
        # point near" needs a carry of its own.
        near = d2_nearest(q)[0] <= tol2
        stay = jnp.where((entered >= 0) & (moved2 < 4 * tol2), entered, k)
        entered = jnp.where(out | (entered == -1), -1, jnp.where(near, stay, -2))
        return (q, state, entered), moved2

    def finish(carry, moved2) -> tuple[Array, ...]:  # noqa: ANN001
        p, _, entered = carry
        best, j = d2_nearest(p)
        # The final loss in float64 whatever the run's precision: a float32 map's loss
        # overflows where the float64 loss at the same point is finite.
        loss = loss_fn(jnp.stack(p).astype(jnp.float64), consts64, data64)
        return loss, entered, jnp.where(best <= tol2, j, -1), moved2

    return init, advance, finish


class _MapProgram:
    """The jitted map of one or more entries: ``run(inputs)`` for a chunk of pixels of each.

    The entries run side by side in one scan, one step of each per step of the scan. XLA's CPU
    backend splits each loop of a step across its threads, which meet after every loop: one
    scan per entry waited there after each of its own few loops, one scan for all hands the
    threads every entry's loops at once. The nine Himmelblau entries of the bench took 0.9x the
    CPU time of nine scans at 64² and 0.8x at 256² (same programs otherwise, 2 shared cores).
    (Compiled as one kernel, as simulate's runs are, it took 0.6x the time again, but not to the
    same bits: the chaotic rules' settle steps moved on ~1% of the pixels, so it is not done.)
    ``inputs`` holds per entry ``(start, values, noise_std, consts, data, batch_idx, noise,
    minima, tol2, box, consts64, data64)``; the result per entry ``(loss, entered, near,
    moved2)`` per pixel.
    """

    def __init__(self, members: Sequence[_Member]) -> None:
        def one(inputs: tuple[tuple[Any, ...], ...]) -> list[tuple[Array, ...]]:
            pieces, carry0, xs = [], [], []
            for member, (*mine, batch_idx, noise, minima, tol2, box, c64, d64) in zip(
                members, inputs, strict=True
            ):
                init, advance, finish = _member_run(member, (*mine, minima, tol2, box, c64, d64))
                pieces.append((advance, finish))
                carry0.append(init())
                xs.append((batch_idx, noise))
            steps = inputs[0][6].shape[0]
            ks = jnp.arange(1, steps + 1, dtype=jnp.int32)

            def advance_all(carry, x):  # noqa: ANN001, ANN202
                k, own = x
                moved = [
                    advance(c, (k, idx, eps))
                    for (advance, _), c, (idx, eps) in zip(pieces, carry, own, strict=True)
                ]
                return [m[0] for m in moved], [m[1] for m in moved]

            def step(carry, x):  # noqa: ANN001, ANN202
                return advance_all(carry, x)[0], None

            every = (ks, xs)
            carry, _ = jax.lax.scan(step, carry0, jax.tree.map(lambda a: a[:-1], every))
            carry, moved2 = advance_all(carry, jax.tree.map(lambda a: a[-1], every))
            return [finish(c, m) for (_, finish), c, m in zip(pieces, carry, moved2, strict=True)]

        # Only what varies from pixel to pixel is mapped: the starts of a basin map, the two
        # hyperparameters of a stability map. A hyperparameter the same for every pixel stays a
        # scalar: mapped, Adam's b1 ** t and b2 ** t became a power per pixel and step, and Adam's
        # basin map 6x slower. (The whole scan is mapped, not each step, for the same reason:
        # the batching of a scan keeps what no mapped input reaches, Adam's step count, a
        # scalar.)
        in_axes = []
        for member in members:
            axes = dict(member.axes)
            values = {k: a for k, a in axes.items() if k != "start"}
            in_axes.append((axes["start"], values) + (None,) * 10)
        self.run = jax.jit(
            jax.vmap(one, in_axes=(tuple(in_axes),)), compiler_options=_compiler_options()
        )


@dataclass(frozen=True)
class _Job:
    """One entry's runs over a set of pixels: everything the program takes but the pixels."""

    key: tuple[object, ...]
    steps: int
    consts: Consts
    data: Batch
    batch_idx: NDArray | None
    noise: NDArray
    minima: NDArray
    tol: float
    still_tol: float
    box: NDArray
    samples: int
    values: dict[str, object]
    noise_std: float


_programs: LRU[tuple[object, ...], _MapProgram] = LRU(lambda: MAX_COMPILED)


def chunk_size(pixels: int, samples: int, entries: int = 1) -> int:
    """Pixels per compiled call and entry: a power of two (few shapes, so few compiles), at
    most ``MAX_CHUNK``, ``CALL_PIXELS / entries`` and ``CHUNK_ELEMS / samples`` (``samples``:
    all the entries' samples per gradient together), at least ``MIN_CHUNK``, and no more than
    ``pixels`` needs."""
    limit = min(MAX_CHUNK, CALL_PIXELS // max(1, entries), CHUNK_ELEMS // max(1, samples))
    limit = 1 << max(0, limit.bit_length() - 1)  # a power of two, as ``need``
    need = 1 << max(0, (pixels - 1).bit_length())
    return max(MIN_CHUNK, min(limit, need))


def _job(scene: Scene, problem: Problem, entry: OptimizerEntry, steps: int, rect: Rect) -> _Job:
    batched = (
        problem.has_data and entry.batch_size is not None and entry.batch_size < problem.n
    )  # as simulate: a batch of the whole dataset is the full batch
    batch_idx = None
    if batched:
        assert entry.batch_size is not None
        batch_idx = batch_schedule(problem.n, entry.batch_size, steps, scene.seed).rows(0, steps)
    minima = np.array([m.point for m in problem.minima], dtype=np.float64).reshape(-1, 2)
    if not len(minima):  # nothing to be near: one point no run can reach
        minima = np.full((1, 2), np.inf)
    samples = (entry.batch_size if batched else problem.n) or 1
    key = (
        problem.loss_fn,
        scene.convention,
        entry.kind,
        batched,
        steps,
        problem.n,
        entry.batch_size if batched else 0,
        len(minima),
    )
    return _Job(
        key=key,
        steps=steps,
        consts=problem.jax_consts(),
        data=problem.full_batch(),
        batch_idx=batch_idx,
        noise=noise_schedule(steps, scene.seed),
        minima=minima,
        tol=tolerance(problem, rect),
        still_tol=still_tolerance(rect),
        box=divergence_box(rect),
        samples=samples,
        values=_traced_values(entry, scene.convention, steps),
        noise_std=entry.gradient_noise,
    )


class _Result:
    """Outcome, settle step and final loss of every pixel of one entry, filled chunk by chunk."""

    def __init__(self, pixels: int) -> None:
        self.outcome = np.empty(pixels, dtype=np.int8)
        self.settle = np.empty(pixels, dtype=np.int32)
        self.loss = np.empty(pixels, dtype=np.float64)


def _classify(ends: tuple[NDArray, ...], still_tol: float) -> tuple[NDArray, NDArray, NDArray]:
    """Outcome, settle step and final loss from what the scan returns (as :func:`outcome_of_path`)."""
    loss, entered, near, last_move2 = ends
    diverged = (entered == -1) | ~np.isfinite(loss)
    still = last_move2 <= still_tol * still_tol
    outcome = np.where(near >= 0, near, np.where(still, SETTLED, NOT_SETTLED))
    outcome = np.where(diverged, DIVERGED, outcome)
    settle = np.where(outcome >= 0, entered, -1)
    return outcome, settle, np.where(diverged, np.inf, loss)


def _cast(tree: Any, dtype: np.dtype[Any]) -> Any:
    """Every floating-point array (or number) of ``tree`` as ``dtype``; integers stay."""

    def cast(a: Any) -> NDArray:
        a = np.asarray(a)
        return a.astype(dtype) if np.issubdtype(a.dtype, np.floating) else a

    return jax.tree.map(cast, tree)


@dataclass(frozen=True)
class _Plan:
    """One unit of :func:`_run_jobs` made ready: its part of a program and its arithmetic."""

    job: _Job
    starts: NDArray
    varied: Mapping[str, NDArray]
    pixels: int
    dtype: np.dtype[Any]
    member: _Member
    key: tuple[object, ...]

    def inputs(self, lo: int, chunk: int) -> tuple[Any, ...]:
        """The member's inputs for pixels ``lo`` .. ``lo + chunk`` (the last chunk padded)."""
        job, dtype = self.job, self.dtype
        take = np.minimum(np.arange(lo, lo + chunk), self.pixels - 1)
        starts = self.starts[take] if self.starts.ndim == 2 else self.starts
        values = {**job.values, **{k: v[take] for k, v in self.varied.items()}}
        noise_std, consts, data, noise, minima, tol2, box = _cast(
            (job.noise_std, job.consts, job.data, job.noise, job.minima, job.tol**2, job.box),
            dtype,
        )
        return (
            _cast(starts, dtype),
            _cast(values, dtype),
            noise_std,
            consts,
            data,
            job.batch_idx,
            noise,
            minima,
            tol2,
            box,
            job.consts,
            job.data,
        )


def _plan(job: _Job, starts: NDArray, varied: Mapping[str, NDArray], precision: Precision) -> _Plan:
    kind = job.key[2]
    assert isinstance(kind, EntryKind)
    dtype = precision
    if dtype == "auto":
        rule = RULES[kind.rule]
        dtype = "float64" if rule.adaptive or rule.needs_hessian else "float32"
    pixels = len(starts) if starts.ndim == 2 else len(next(iter(varied.values())))
    axes = {"start": 0 if starts.ndim == 2 else None}
    axes.update({k: 0 if k in varied else None for k in job.values})
    apart = ROOTS_APART and dtype == "float64" and jax.default_backend() == "cpu"
    loss_fn, convention, _, batched = job.key[:4]
    member = _Member(
        loss_fn,  # type: ignore[arg-type]
        convention,  # type: ignore[arg-type]
        kind,
        bool(batched),
        tuple(sorted(axes.items())),
        apart,
    )
    key = (*job.key, member.axes, dtype, apart)
    return _Plan(job, starts, varied, pixels, np.dtype(dtype), member, key)


def _run_jobs(
    units: Sequence[tuple[_Job, NDArray, Mapping[str, NDArray]]],
    precision: Precision,
    should_stop: StopCheck | None,
    progress: Progress | None,
) -> list[_Result]:
    """Run every ``(job, starts, varied hyperparameters)`` over its pixels, chunk by chunk.

    ``starts`` is ``(pixels, 2)``, or ``(2,)`` for one start shared by every pixel; the varied
    hyperparameters are ``(pixels,)`` each, the others the job's own scalars. Units with as
    many pixels (at least :data:`FUSE_PIXELS`) and steps share one program
    (:class:`_MapProgram`): each call runs a chunk of every one of them.
    """
    if precision not in PRECISIONS:
        raise SceneError(f"precision: one of {', '.join(PRECISIONS)}, got {precision!r}")
    plans = [_plan(job, starts, varied, precision) for job, starts, varied in units]
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, plan in enumerate(plans):
        alone = (i,) if plan.pixels < FUSE_PIXELS else ()
        groups.setdefault((plan.pixels, plan.job.steps, *alone), []).append(i)
    calls = []
    for (pixels, *_), members in groups.items():
        samples = sum(plans[i].job.samples for i in members)
        chunk = chunk_size(pixels, samples, len(members))
        program = _programs.get_or_make(
            (chunk, tuple(plans[i].key for i in members)),
            lambda members=members: _MapProgram([plans[i].member for i in members]),
        )
        calls.extend((program, members, lo, chunk) for lo in range(0, pixels, chunk))
    results = [_Result(plan.pixels) for plan in plans]
    for done, (program, members, lo, chunk) in enumerate(calls, start=1):
        if should_stop is not None and should_stop():
            raise Cancelled
        ends = program.run(tuple(plans[i].inputs(lo, chunk) for i in members))
        for i, own in zip(members, ends, strict=True):
            result, hi = results[i], min(plans[i].pixels, lo + chunk)
            own = tuple(np.asarray(a)[: hi - lo] for a in own)
            result.outcome[lo:hi], result.settle[lo:hi], result.loss[lo:hi] = _classify(
                own, plans[i].job.still_tol
            )
        if progress is not None:
            progress(done, len(calls))
    return results


def pixel_centres(lo: float, hi: float, resolution: int, scale: Scale = "linear") -> NDArray:
    """``resolution`` pixel centres spanning ``[lo, hi]`` (evenly, or evenly in log for "log")."""
    edges = np.linspace(0.0, 1.0, resolution + 1)
    t = (edges[:-1] + edges[1:]) / 2
    if scale == "log":
        return np.exp(np.log(lo) + t * (np.log(hi) - np.log(lo)))
    return lo + t * (hi - lo)


# --- basin maps -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BasinMap:
    """Where every start of a grid ends, per entry.

    Arrays are ``(entries, resolution, resolution)`` with ``[e, i, j]`` the run of entry ``e``
    from ``(xs[j], ys[i])`` (rows are y, as :class:`gdviz.core.surface.Surface`; row 0 is the
    lowest y). The pixels tile ``rect`` exactly: ``xs`` and ``ys`` are pixel centres, so an image
    of ``outcome[e]`` placed on ``rect`` puts every pixel over its start.

    Attributes:
      labels: the entries, in scene order.
      rect: the view the grid covers.
      xs, ys: ``(resolution,)`` the starts' coordinates.
      outcome: int8, a minimum's index (into ``minima``), or DIVERGED / NOT_SETTLED / SETTLED.
      settle_step: int32, the step from which the run stayed at its minimum; -1 for the other
        outcomes.
      final_loss: float64, the full-batch loss at the last point; ``inf`` for a diverged run.
      minima: ``(m, 2)`` the problem's known minima, global ones first.
      steps: steps per run.
      tol: the tolerance used (:func:`tolerance`).
    """

    labels: tuple[str, ...]
    rect: Rect
    xs: NDArray
    ys: NDArray
    outcome: NDArray
    settle_step: NDArray
    final_loss: NDArray
    minima: NDArray
    steps: int
    tol: float

    @property
    def resolution(self) -> int:
        return len(self.xs)

    def index(self, label: str) -> int:
        """The position of entry ``label`` on the first axis of the arrays."""
        try:
            return self.labels.index(label)
        except ValueError:
            raise SceneError(f"optimizer: no entry called {label!r} in this map") from None

    def fractions(self, label: str) -> dict[int, float]:
        """The share of starts per outcome of entry ``label`` (outcomes that occur only)."""
        values, counts = np.unique(self.outcome[self.index(label)], return_counts=True)
        return {
            int(v): float(c) / self.outcome[0].size for v, c in zip(values, counts, strict=True)
        }


def basins(
    scene: Scene,
    resolution: int,
    steps: int | None = None,
    labels: Sequence[str] | None = None,
    *,
    precision: Precision = PRECISION,
    should_stop: StopCheck | None = None,
    progress: Progress | None = None,
) -> BasinMap:
    """Run every entry of ``scene`` (or those in ``labels``) from every pixel of its view.

    Start overrides of the entries are ignored: the grid is the start. Every other setting of an
    entry holds (hyperparameters, batch size, gradient noise, the scene's seed and convention).
    Calls with the same structure (rules, problem, steps, batch sizes, resolution) reuse compiled
    programs; a new value of anything else (hyperparameters, problem parameters, data, view)
    never compiles.

    Args:
      scene: the scene.
      resolution: pixels per side (2 .. 2048).
      steps: steps per run (1 .. 10000); the scene's by default.
      labels: entries to map, in the order to return them; all by default.
      precision: the runs' arithmetic: "float32", "float64", or "auto" (the default) for
        float32 where the rule does not adapt its step size (see the module note on precision);
        the final loss is float64 either way.
      should_stop: asked before each call; True raises :class:`Cancelled`.
      progress: told ``(done, total)`` calls after each.

    Raises:
      SceneError: an unknown label, a resolution or step count out of range, or an unknown
        precision.
      Cancelled: ``should_stop()`` said so.
    """
    _check_int(resolution, "resolution", 2, 2048)
    steps = scene.steps if steps is None else _check_int(steps, "steps", 1, 10_000)
    problem = scene.build_problem()
    rect = scene.view_rect()
    entries = [scene.entry(label) for label in labels] if labels is not None else scene.optimizers
    (x0, x1), (y0, y1) = rect
    xs, ys = pixel_centres(x0, x1, resolution), pixel_centres(y0, y1, resolution)
    gx, gy = np.meshgrid(xs, ys, indexing="xy")
    starts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    units = [(_job(scene, problem, e, steps, rect), starts, {}) for e in entries]
    results = _run_jobs(units, precision, should_stop, progress)
    shape = (len(entries), resolution, resolution)
    return BasinMap(
        labels=tuple(e.label for e in entries),
        rect=rect,
        xs=xs,
        ys=ys,
        outcome=np.stack([r.outcome for r in results]).reshape(shape),
        settle_step=np.stack([r.settle for r in results]).reshape(shape),
        final_loss=np.stack([r.loss for r in results]).reshape(shape),
        minima=np.array([m.point for m in problem.minima], dtype=np.float64).reshape(-1, 2),
        steps=steps,
        tol=units[0][0].tol if units else tolerance(problem, rect),
    )


# --- stability maps ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class StabilityMap:
    """How one entry's run ends for every pair of two of its hyperparameters.

    Arrays are ``(resolution, resolution)`` with ``[i, j]`` the run with ``axes[0] = xs[j]`` and
    ``axes[1] = ys[i]`` (rows are the second axis, row 0 its lowest value), from ``start``.

    Attributes:
      label: the entry.
      axes: the two hyperparameters' names (x first).
      scales: "linear" or "log" per axis; ``xs`` / ``ys`` are pixel centres on that scale.
      ranges: ``((x_lo, x_hi), (y_lo, y_hi))`` the grid covers.
      xs, ys: ``(resolution,)`` the hyperparameter values.
      outcome, settle_step, final_loss: as in :class:`BasinMap`.
      start: the start point of every run.
      start_loss: the full-batch loss there.
      minima: ``(m, 2)`` the problem's known minima.
      steps: steps per run.
      tol: the tolerance used (:func:`tolerance`).
    """

    label: str
    axes: tuple[str, str]
    scales: tuple[Scale, Scale]
    ranges: tuple[tuple[float, float], tuple[float, float]]
    xs: NDArray
    ys: NDArray
    outcome: NDArray
    settle_step: NDArray
    final_loss: NDArray
    start: tuple[float, float]
    start_loss: float
    minima: NDArray
    steps: int
    tol: float

    @property
    def converged(self) -> NDArray:
        """Where the run ended at a known minimum."""
        return self.outcome >= 0


def default_range(entry: OptimizerEntry, convention: Convention, name: str) -> tuple[float, float]:
    """A stability map's default range for hyperparameter ``name`` of ``entry``.

    A log-scale hyperparameter (the learning rate, eps) spans from 1/100 to 10 times the entry's
    value, a linear one (momentum, the decays) its whole allowed range; both within the allowed
    range. Scene files carry no range of their own (yet): this is the one default.
    """
    spec = RULES[entry.rule].spec(name)
    if spec is None:
        raise SceneError(
            f"{name}: {entry.label} ({entry.rule}) has no such hyperparameter; "
            f"one of: {', '.join(h.name for h in RULES[entry.rule].hyperparams)}"
        )
    if spec.scale == "log":
        value = entry.resolved_hyperparams(convention)[name]
        return max(spec.low, value / 100.0), min(spec.high, value * 10.0)
    return spec.low, spec.high


def stability(
    scene: Scene,
    label: str,
    axes: tuple[str, str] = ("learning_rate", "momentum"),
    ranges: tuple[tuple[float, float] | None, tuple[float, float] | None] | None = None,
    resolution: int = 128,
    scales: tuple[Scale, Scale] | None = None,
    steps: int | None = None,
    *,
    precision: Precision = PRECISION,
    should_stop: StopCheck | None = None,
    progress: Progress | None = None,
) -> StabilityMap:
    """Run entry ``label`` of ``scene`` from its start for every pair of two hyperparameters.

    Every other hyperparameter keeps the entry's value; batches and gradient noise are the
    scene's seeded ones. Same compiled program as :func:`basins`: a new range, start or value
    never compiles.

    Args:
      scene: the scene.
      label: the entry.
      axes: the two hyperparameters, x first (names as optax's: ``learning_rate``, ``momentum``,
        ``b1``, ...).
      ranges: ``(x_range, y_range)``; None (or a None in it) for :func:`default_range`. Ranges
        must lie within the hyperparameters' allowed ranges (a log axis: above 0).
      resolution: pixels per side (2 .. 2048).
      scales: "log" or "linear" per axis; by default each hyperparameter's own slider scale.
      steps: steps per run; the scene's by default.
      precision, should_stop, progress: as in :func:`basins`.

    Raises:
      SceneError: an unknown label or hyperparameter, a range out of bounds, a bad resolution.
      Cancelled: ``should_stop()`` said so.
    """
    _check_int(resolution, "resolution", 2, 2048)
    steps = scene.steps if steps is None else _check_int(steps, "steps", 1, 10_000)
    entry = scene.entry(label)
    if len(axes) != 2 or axes[0] == axes[1]:
        raise SceneError(f"axes: two different hyperparameters, got {list(axes)}")
    rule = RULES[entry.rule]
    given = ranges if ranges is not None else (None, None)
    spans = []
    scale_of = []
    for i, name in enumerate(axes):
        default = default_range(entry, scene.convention, name)  # refuses an unknown name
        spec = rule.spec(name)
        assert spec is not None
        scale = scales[i] if scales is not None else spec.scale
        if scale not in ("linear", "log"):
            raise SceneError(f"scales: 'linear' or 'log', got {scale!r}")
        lo, hi = given[i] if given[i] is not None else default
        lo, hi = float(lo), float(hi)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise SceneError(
                f"{name}: a range must be two finite numbers, low < high; got {lo:g}, {hi:g}"
            )
        if lo < spec.low or hi > spec.high:
            raise SceneError(
                f"{name}: the range [{lo:g}, {hi:g}] leaves the allowed [{spec.low:g}, {spec.high:g}]"
            )
        if scale == "log" and lo <= 0:
            raise SceneError(f"{name}: a log axis needs a range above 0, got [{lo:g}, {hi:g}]")
        spans.append((lo, hi))
        scale_of.append(scale)
    problem = scene.build_problem()
    rect = scene.view_rect()
    xs = pixel_centres(*spans[0], resolution, scale_of[0])
    ys = pixel_centres(*spans[1], resolution, scale_of[1])
    gx, gy = np.meshgrid(xs, ys, indexing="xy")
    varied = {axes[0]: gx.ravel().copy(), axes[1]: gy.ravel().copy()}
    start = scene.start_of(entry)
    job = _job(scene, problem, entry, steps, rect)
    starts = np.asarray(start, dtype=np.float64)
    (result,) = _run_jobs([(job, starts, varied)], precision, should_stop, progress)
    shape = (resolution, resolution)
    return StabilityMap(
        label=label,
        axes=(axes[0], axes[1]),
        scales=(scale_of[0], scale_of[1]),
        ranges=(spans[0], spans[1]),
        xs=xs,
        ys=ys,
        outcome=result.outcome.reshape(shape),
        settle_step=result.settle.reshape(shape),
        final_loss=result.loss.reshape(shape),
        start=start,
        start_loss=problem.loss(start),
        minima=np.array([m.point for m in problem.minima], dtype=np.float64).reshape(-1, 2),
        steps=steps,
        tol=job.tol,
    )


def _check_int(value: object, key: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SceneError(f"{key}: must be an integer in [{low}, {high}], got {value!r}")
    return value


def momentum_boundary(eigenvalues: Sequence[float], momentum: NDArray) -> NDArray:
    """Heavy-ball momentum's largest stable learning rate on a quadratic, per momentum value.

    optax's (and torch.optim's) momentum, ``v ← μ v + g; θ ← θ − η v``, is Polyak's heavy ball
    ``θ' = θ − η g + μ (θ − θ_prev)``; on a quadratic with Hessian eigenvalue λ each eigen-
    direction follows ``z² − (1 + μ − η λ) z + μ = 0``, whose roots lie inside the unit circle iff
    ``|μ| < 1`` and ``0 < η λ < 2 (1 + μ)``. So the run converges iff ``η < 2 (1 + μ) / λ_max``.
    """
    return 2.0 * (1.0 + np.asarray(momentum, dtype=np.float64)) / max(eigenvalues)


def quadratic_eigenvalues(problem: Problem) -> tuple[float, float] | None:
    """The Hessian's eigenvalues of a ``quadratic`` problem (1 and its condition), else None."""
    if problem.name != "quadratic":
        return None
    return 1.0, float(problem.consts["condition"])


def describe(outcome: int, minima: Mapping[int, str] | None = None) -> str:
    """How an outcome reads: a minimum's name from ``minima`` (or "minimum k"), or its state."""
    if outcome >= 0:
        return (minima or {}).get(outcome, f"minimum {outcome + 1}")
    return OUTCOME_NAMES[outcome]
