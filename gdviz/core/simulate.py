"""Trajectories: every optimizer entry of a scene run with ``jax.lax.scan`` under ``jit``.

One compiled function per (rule, convention, loss function); start points, hyperparameters,
problem constants and data are traced arguments, so a drag or a slider edit reuses the compiled
code and only a new shape (steps, dataset size, batch size) compiles again.

Divergence: the first point with a non-finite loss, parameter, gradient, update or optimizer
state, a loss past ``LOSS_GROWTH`` times the starting loss, or parameters beyond ``PARAM_LIMIT`` is
refused. The trajectory records that step in ``diverged_at`` and stays at its last sound point from
then on, with zero gradient and update, so no NaN or inf ever reaches a caller. Starts are finite
and within ±MAX_COORD (``Scene`` refuses others); a start whose own loss is not finite is refused
with ``SceneError`` rather than returned.

Each step of the scan is a named record (:class:`Record`: params, grad, update, state and the
loss where the step started, with the entries on the leading axis); ``lax.scan`` stacks the
records over the steps, the divergence check turns them into :class:`Paths` (named,
Trajectory-shaped arrays), and the whole pytree reaches the host at once (:func:`_to_host`: one
``device_get``, or views on the CPU backend).

Speed (a drag recomputes every path at each pointer move): the whole run is compiled as ONE
kernel (:func:`_one_kernel`) instead of XLA's default of one kernel per fused op, handed between
threads at every step; entries that read the same data take their gradients in one vmapped
call; and the forward pass of a full-batch gradient gives that point's loss, so only the
mini-batch entries' losses are computed afterwards. Nine entries x 500 steps take 0.5-0.9 ms
on the closed-form surfaces and 1.3-2.3 ms on the data problems here (their sigmoids and tanhs
over the padded batch are most of it).

Memory is bounded over a long session: compiled programs live in an LRU of ``MAX_COMPILED``
entries, one program per structure *and* shape, and mini-batch schedules are drawn lazily (see
:class:`BatchSchedule`), so no ``steps x n`` table is ever built or kept.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from gdviz.core.deferred import jax, jnp, register_pytree_node_class
from gdviz.core.lru import LRU
from gdviz.core.optimizers import RULES, Convention, EntryKind, entry_transform, make_transform
from gdviz.core.problems import Problem, data_capacity
from gdviz.core.scene import OptimizerEntry, Scene, SceneError
from gdviz.core.schedules import schedule_values
from gdviz.core.types import Array, Batch, Consts, LossFn, NDArray

LOSS_GROWTH = 1e6
"""A loss above this many times max(|starting loss|, 1) counts as diverged."""

PARAM_LIMIT = 1e6
"""A parameter beyond this magnitude counts as diverged."""


@dataclass(frozen=True, eq=False)
class Trajectory:
    """One optimizer's run, as numpy arrays indexed by step.

    Attributes:
      label: the entry's label.
      params: ``(steps + 1, 2)`` points, the start first.
      loss: ``(steps + 1,)`` full-batch loss at each point.
      grads: ``(steps, 2)`` the gradient used by step ``k`` (taken at ``params[k]``; the mini-batch
        gradient, plus any gradient noise, for stochastic runs).
      updates: ``(steps, 2)`` the update applied: ``params[k + 1] = params[k] + updates[k]``.
      state: named ``(steps, 2)`` vectors of the optimizer state after each step (``trace`` for
        momentum, ``mu``/``nu`` for Adam, ``sum_of_squares`` for AdaGrad, ...).
      batches: ``(steps, batch_size)`` sample indices of each step's batch (data problems only), as
        a lazy :class:`BatchSchedule`: ``batches[k]`` is an array, ``np.asarray(batches)`` the table.
      diverged_at: the first step that was refused, or None. ``params[diverged_at:]`` all equal
        the last finite point.
      learning_rates: ``(steps,)`` the learning rate step ``k`` used (its schedule's value; the
        entry's learning rate throughout when it has none).
      decay: ``(steps, 2)`` the decoupled weight decay's part of each update, ``−η_k λ θ_k``
        (already inside ``updates``; the overlays draw it as its own arrow), zero from a refused
        step on; None without decoupled decay.

    With an ``l2`` term the gradients are those of the regularised loss (``+ l2 · θ``); with
    ``clip_norm`` they are the clipped gradients the rule used. ``loss`` is always the problem's
    own loss, without the L2 term, so entries compare on one measure.
    """

    label: str
    params: NDArray
    loss: NDArray
    grads: NDArray
    updates: NDArray
    state: Mapping[str, NDArray]
    batches: BatchSchedule | None
    diverged_at: int | None
    learning_rates: NDArray | None = None
    decay: NDArray | None = None

    @property
    def steps(self) -> int:
        return int(self.grads.shape[0])


MAX_STATE_VECTORS = 2
"""Per-parameter state vectors recorded per entry (Adam's mu and nu; AdaDelta's e_g and e_x)."""


def _state_vectors(state: object) -> dict[str, Array]:
    """The optimizer state's per-parameter vectors, named by their field (``mu``, ``nu``, ...)."""
    named: dict[str, Array] = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(state)[0]:
        if getattr(leaf, "shape", None) != (2,):
            continue
        names = [k.name for k in path if isinstance(k, jax.tree_util.GetAttrKey)]
        name = names[-1] if names else f"s{len(named)}"
        while name in named:
            name += "_"
        named[name] = leaf
    return named


def _recorded(rule: str, state: object) -> dict[str, Array]:
    """The state vectors a rule records, by name, in column order (at most MAX_STATE_VECTORS)."""
    named = _state_vectors(state)
    wanted = RULES[rule].recorded_state
    if wanted is not None:
        named = {k: named[k] for k in wanted}
    return dict(list(named.items())[:MAX_STATE_VECTORS])


def _state_list(rule: str, state: object) -> list[Array]:
    """The ``MAX_STATE_VECTORS`` state vectors in :func:`state_names` order, zero-padded."""
    vectors = list(_recorded(rule, state).values())
    return vectors + [jnp.zeros(2)] * (MAX_STATE_VECTORS - len(vectors))


@register_pytree_node_class
class Record:
    """One step of every entry, as the scan body returns it, read by field name.

    Fields (entries on the leading axis; ``lax.scan`` stacks the records of all steps, adding a
    leading ``steps`` axis): ``params`` ``(entries, 2)`` the point after the step, ``grad`` the
    gradient it used, ``update`` the update it applied, ``state`` ``(entries, MAX_STATE_VECTORS,
    2)`` the optimizer state after it (named by :func:`state_names`, zero-padded), and
    ``loss_before`` ``(entries,)`` the full-batch loss at the point the step started from, for
    the entries whose gradient is the full batch's (the forward pass of their gradient gives it;
    zero for the others). The record of the start has the start point, a zero gradient, update
    and loss, and the initial state.

    A pytree with ONE leaf: the fields sit side by side on the last axis of ``data``, at the
    offsets of :data:`_FIELDS` (the only place that knows them), so the scan writes one buffer
    per step. Four separate leaves (a NamedTuple) measured 20-35% slower per ``simulate`` here:
    on CPU each output of the scan body costs a kernel per step whatever its size.
    """

    __slots__ = ("data",)

    def __init__(self, data: Array) -> None:
        self.data = data

    @classmethod
    def of(
        cls,
        params: Array,
        grad: Array,
        update: Array,
        state: Sequence[Array],
        loss_before: Array | None = None,
    ) -> Record:
        """A record from its fields; ``state`` is the ``MAX_STATE_VECTORS`` vectors ``(..., 2)``,
        ``loss_before`` ``(...,)`` (None: zero).

        One concatenate, so the scan body spends a single op on its record.
        """
        if loss_before is None:
            loss_before = jnp.zeros(params.shape[:-1])
        return cls(jnp.concatenate([params, grad, update, *state, loss_before[..., None]], axis=-1))

    @classmethod
    def stack(cls, records: list[Record]) -> Record:
        """Records of the entries, stacked on a new leading axis."""
        return cls(jnp.stack([r.data for r in records]))

    def _field(self, name: str) -> Array:
        start, stop = _FIELDS[name]
        return self.data[..., start:stop]

    @property
    def params(self) -> Array:
        return self._field("params")

    @property
    def grad(self) -> Array:
        return self._field("grad")

    @property
    def update(self) -> Array:
        return self._field("update")

    @property
    def state(self) -> Array:
        flat = self._field("state")
        return flat.reshape(*flat.shape[:-1], MAX_STATE_VECTORS, 2)

    @property
    def loss_before(self) -> Array:
        return self._field("loss_before")[..., 0]

    def tree_flatten(self) -> tuple[tuple[Array], None]:
        return (self.data,), None

    @classmethod
    def tree_unflatten(cls, aux: None, children: tuple[Array]) -> Record:
        del aux
        return cls(*children)


_FIELDS = {
    "params": (0, 2),
    "grad": (2, 4),
    "update": (4, 6),
    "state": (6, 6 + 2 * MAX_STATE_VECTORS),
    "loss_before": (6 + 2 * MAX_STATE_VECTORS, 7 + 2 * MAX_STATE_VECTORS),
}
"""Where each field of a :class:`Record` sits on its storage's last axis."""


_LOSS = _FIELDS["loss_before"][0]
"""The column of :class:`Paths`' table holding each row's own full-batch loss (in a
:class:`Record`, the same column holds the loss where the step started)."""

_MOVES = np.zeros(_FIELDS["loss_before"][1], dtype=bool)
_MOVES[_FIELDS["grad"][0] : _FIELDS["update"][1]] = True
"""The columns of a step's move (gradient and update): zero, not frozen, once refused."""


@register_pytree_node_class
class Paths:
    """Every entry's whole run after the divergence check: a :class:`Trajectory` per entry.

    One table and the divergence steps (two arrays to bring to the host, which the
    Trajectories then view): ``table`` ``(steps + 1, entries, columns)``, row ``k`` the point
    after step ``k - 1`` (row 0: the start) with the gradient, update and optimizer state that
    made it (the columns of a :class:`Record`) and the full-batch loss at the point (column
    :data:`_LOSS`), frozen at the last sound row from a refused step on, with a zero gradient
    and update. ``diverged_at`` ``(entries,)`` is the first refused step, or -1.

    Read by field, entries first: ``params`` ``(entries, steps + 1, 2)``, ``loss`` ``(entries,
    steps + 1)``, ``grads`` and ``updates`` ``(entries, steps, 2)`` (those of step ``k``),
    ``state`` ``(entries, steps, MAX_STATE_VECTORS, 2)`` (after step ``k``): views of the
    table on the host, slices of it when traced.
    """

    __slots__ = ("diverged_at", "table")

    def __init__(self, table: Array, diverged_at: Array) -> None:
        self.table = table
        self.diverged_at = diverged_at

    def _columns(self, name: str, first_row: int = 0) -> Array:
        start, stop = _FIELDS[name]
        return self.table[first_row:, :, start:stop].swapaxes(0, 1)

    @property
    def params(self) -> Array:
        return self._columns("params")

    @property
    def loss(self) -> Array:
        return self.table[:, :, _LOSS].swapaxes(0, 1)

    @property
    def grads(self) -> Array:
        return self._columns("grad", 1)

    @property
    def updates(self) -> Array:
        return self._columns("update", 1)

    @property
    def state(self) -> Array:
        flat = self._columns("state", 1)
        return flat.reshape(*flat.shape[:-1], MAX_STATE_VECTORS, 2)

    def tree_flatten(self) -> tuple[tuple[Array, Array], None]:
        return (self.table, self.diverged_at), None

    @classmethod
    def tree_unflatten(cls, aux: None, children: tuple[Array, Array]) -> Paths:
        del aux
        return cls(*children)


def _finish(
    loss_fn: LossFn,
    consts: Consts,
    data: Batch,
    first: Record,
    rows: Record,
    known: tuple[int, ...] = (),
) -> Paths:
    """Full-batch losses and divergence for every entry at once.

    Args:
      first: the record of the start, fields ``(entries, ...)``.
      rows: the scan's stacked records, fields ``(steps, entries, ...)``.
      known: the entries whose records carry their losses (``loss_before``: full-batch
        gradients); only their last point's loss is computed here. The others' losses are all
        computed, vectorised over steps and entries.
    """
    # (steps + 1, entries, columns): row k is the point after step k - 1 with the gradient,
    # update and state that made it (row 0: the start). Kept step-major, as the scan wrote it:
    # one pass makes the table (an entry-major copy measured ~0.3 ms of a 2 ms run).
    path = jnp.concatenate([first.data[None], rows.data])
    total, entries = path.shape[:2]
    params = path[:, :, slice(*_FIELDS["params"])]
    each = jax.vmap(loss_fn, in_axes=(0, None, None))
    others = tuple(i for i in range(entries) if i not in known)
    parts = []
    if known:
        # Row k + 1 holds the loss at point k; the last point's is computed here.
        recorded = path[1:, np.array(known), _LOSS]
        last = each(params[-1, np.array(known)], consts, data)
        parts.append(jnp.concatenate([recorded, last[None]]))
    if others:
        by_step = jax.vmap(each, in_axes=(1, None, None), out_axes=1)
        parts.append(by_step(params[:, np.array(others)], consts, data))
    loss = _in_entry_order([p.T for p in parts], known + others).T  # (steps + 1, entries)
    # The first point that is non-finite, too far out or too high is refused, and everything
    # from it on is frozen at the last sound point (optimizer state included). All of a row
    # must be finite for its point to count.
    limit = LOSS_GROWTH * jnp.maximum(jnp.abs(loss[:1]), 1.0)
    sound = jnp.isfinite(loss) & (jnp.abs(loss) <= limit)
    sound &= jnp.max(jnp.abs(params), axis=2) <= PARAM_LIMIT
    sound &= jnp.all(jnp.isfinite(path[:, :, :_LOSS]), axis=2)  # every field of the record
    all_sound = sound.all(axis=0)
    first_bad = jnp.argmin(sound, axis=0)
    diverged_at = jnp.where(all_sound, -1, first_bad)
    # A refused start (first_bad = 0) has no earlier point: index 0 stands in, never -1 (which
    # would wrap to the last row); simulate() then refuses the whole run.
    last_good = jnp.where(all_sound, total - 1, jnp.maximum(first_bad - 1, 0))  # (entries,)
    table = jnp.concatenate([path[:, :, :_LOSS], loss[:, :, None]], axis=2)
    # Rows up to last_good are kept. Later ones repeat row last_good's point, state and loss,
    # and move nothing: the gradient and update of step k (row k + 1) are kept while that
    # point is sound, zero from the refused step on.
    held = (jnp.arange(total)[:, None] <= last_good[None, :])[:, :, None]
    at_last = table[last_good, jnp.arange(entries)]  # (entries, columns)
    return Paths(jnp.where(held, table, jnp.where(_MOVES, 0.0, at_last[None])), diverged_at)


def _in_entry_order(parts: list[Array], order: Sequence[int]) -> Array:
    """The rows of ``parts`` (stacked on axis 0: entries ``order[0]``, ``order[1]``, ...) put
    back in entry order."""
    stacked = jnp.concatenate(parts) if len(parts) > 1 else parts[0]
    if list(order) == sorted(order):
        return stacked
    return stacked[np.argsort(order)]


MAX_COMPILED = 16
"""Compiled programs kept (least recently used first out). One program serves one structure and
shape (loss, rules, convention, steps, dataset and batch sizes); an XLA CPU executable of a scene
takes ~1-2 MB, so the cache stays within a few tens of MB however many edits a lecture makes."""

BATCH_TABLE_ELEMS = 4_000_000
"""The most mini-batch indices held at once while simulating (16 MB as int32). A run whose batch
tables would be larger is scanned in chunks of steps, carrying the optimizer state across."""


ONE_KERNEL_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": ""}
"""XLA options of the programs compiled as one kernel (:func:`_one_kernel`): no YNNPACK fusions,
which the one-kernel emitter cannot compile ("Fusion kind not implemented")."""

_NOT_IN_ONE_KERNEL = (
    "dot_general",
    "ragged_dot",
    "conv_general_dilated",
    "scatter",
    "sort",
    "fft",
    "ffi_call",
    "pure_callback",
    "io_callback",
    "debug_callback",
    "eig",
    "svd",
    "lu",
    "qr",
    "householder_product",
    "cholesky",
    "triangular_solve",
    "schur",
    "hessenberg",
    "tridiagonal",
    "rng_",
    "random_",
    "top_k",
    "approx_top_k",
    "psum",
    "pmax",
    "pmin",
    "ppermute",
    "all_gather",
    "all_to_all",
    "reduce_scatter",
    "infeed",
    "outfeed",
)
"""Primitives (by name prefix) that XLA's one-kernel emitter does not take: matrix products and
convolutions (they call Eigen with a thread pool), scatters, sorts and FFTs, library and custom
calls, host callbacks, random bits, collectives. A program holding any of them runs as ordinary
kernels. (None occurs in the built-in problems and rules: elementwise maths, reductions,
gathers, scans.)"""


def _fits_one_kernel(jaxpr: jax.extend.core.Jaxpr) -> bool:
    """Whether no primitive of ``jaxpr`` (nested ones included) is in _NOT_IN_ONE_KERNEL."""
    for eqn in jaxpr.eqns:
        if eqn.primitive.name.startswith(_NOT_IN_ONE_KERNEL):
            return False
        for sub in _jaxprs_in(eqn.params):
            if not _fits_one_kernel(sub):
                return False
    return True


def _jaxprs_in(params: Mapping[str, object]) -> Iterator[jax.extend.core.Jaxpr]:
    """The jaxprs among an equation's parameters (a scan's body, a cond's branches, ...), as
    ``jax.extend.core.jaxprs_in_params`` finds them: a jaxpr, or a closed one's. Not that
    function: importing ``jax.extend`` pulls in pallas, 30-45 ms of the window's first paths."""
    for value in params.values():
        for v in value if isinstance(value, tuple) else (value,):
            inner = getattr(v, "jaxpr", v)  # a ClosedJaxpr's jaxpr, or a Jaxpr itself
            if hasattr(inner, "eqns") and hasattr(inner, "outvars"):
                yield inner


def _one_kernel(fn: Callable[..., object]) -> Callable[..., object]:
    """``fn`` as a call that XLA's CPU backend compiles into ONE kernel (when it can).

    Why: XLA's CPU runtime runs a program as a sequence of kernels, one per (fused) op, and
    hands them to its thread pool, each waiting for its inputs. A scan body of nine entries is
    ~60 kernels of a few 2-vectors each, run at every step: the hand-offs cost far more than the
    arithmetic (~120 ns per kernel here, much more when other processes load the cores). A
    call carrying the frontend attributes ``xla_cpu_small_call`` (and ``inlineable = false``, so
    it survives inlining) is emitted whole as one function, loops included: the mechanism XLA's
    own SmallWhileLoopHoistingPass uses for small loops. Measured per ``simulate`` on this 2-core
    machine (load ~2, before -> after, same run), nine entries: linear regression (300 steps)
    3.3 -> 0.86 ms, Rosenbrock (500) 2.9 -> 0.75 ms, the 1-2-1 tanh network (500) 9.1 -> 1.3 ms;
    compile 2.3-2.5 s -> 1.2-1.9 s.

    A program with a primitive that emitter does not take (:data:`_NOT_IN_ONE_KERNEL`), or on a
    backend other than the CPU, is left as ordinary kernels; the caller compiles with
    :data:`ONE_KERNEL_OPTIONS` and falls back to ordinary kernels should that fail (see
    :func:`_run`). Attributes an XLA version does not know are ignored: the program then runs as
    before, to the same numbers. The results equal the ordinary kernels' to rounding (the
    tests compare them), and the persistent compilation cache keeps the one kernel like any.
    """
    from jax.experimental.xla_metadata import set_xla_metadata

    inner = jax.jit(fn, inline=False)

    @functools.wraps(fn)
    def call(*args: object) -> object:
        out = inner(*args)
        if jax.default_backend() != "cpu" or not _fits_one_kernel(inner.trace(*args).jaxpr.jaxpr):
            return out  # (the trace is jit's cached one)
        return set_xla_metadata(out, xla_cpu_small_call="true", inlineable="false")

    return call


def _take(a: Array, rows: NDArray) -> Array:
    """Rows ``rows`` (static indices) of ``a``."""
    return jnp.take(a, rows, axis=0, mode="clip")


class _Programs:
    """The jitted programs for one structure and shape: a whole run, or init / chunk / finish.

    ``run`` is the whole run compiled as one kernel (:func:`_one_kernel`), what simulate calls;
    ``run_all`` the same computation as ordinary kernels (for callers that trace it inside
    programs of their own, like the learning-rate tuner, and the fallback should ``run`` not
    compile); ``init``, ``scan`` and ``finish`` its parts, for runs scanned in chunks.
    """

    def __init__(
        self,
        loss_fn: LossFn,
        convention: Convention,
        kinds: tuple[EntryKind, ...],
        batched: tuple[bool, ...],
    ) -> None:
        # Two parameters make forward mode the natural autodiff here: jacfwd pushes two tangents
        # through the loss, and measured 1.5-2x faster than reverse mode for a 100-point MSE on
        # CPU. Its forward pass gives the loss at the same point too (aux), so the full-batch
        # entries' losses cost no second pass (half the work of a network's run).
        def with_value(p, c, d):  # noqa: ANN001, ANN202
            value = loss_fn(p, c, d)
            return value, value

        grad_and_loss = jax.jacfwd(with_value, has_aux=True)
        # Newton's rules alone take the exact Hessian (forward over forward: two parameters).
        hess_fn = jax.jacfwd(jax.jacfwd(loss_fn))
        hessian = tuple(RULES[k.rule].needs_hessian for k in kinds)
        known = tuple(i for i, b in enumerate(batched) if not b)

        def transforms(hyperparams):  # noqa: ANN001, ANN202
            return [
                entry_transform(k, convention, h) for k, h in zip(kinds, hyperparams, strict=True)
            ]

        def init(starts: Array, hyperparams: tuple[dict[str, Array], ...]):  # noqa: ANN202
            txs = transforms(hyperparams)
            starts = jnp.asarray(starts, dtype=jnp.float64)
            states0 = tuple(tx.init(starts[i]) for i, tx in enumerate(txs))
            zero = jnp.zeros(2)
            first = Record.stack(
                [
                    Record.of(starts[i], zero, zero, _state_list(kinds[i].rule, s))
                    for i, s in enumerate(states0)
                ]
            )
            return (starts, states0), first

        def scan(carry, hyperparams, noise_stds, consts, data, batch_idx, noise):  # noqa: ANN001, ANN202
            txs = transforms(hyperparams)
            # Entries that read the same data (the full batch, or mini-batches of one size)
            # take their gradients in one vmapped call.
            groups: dict[int | None, list[int]] = {}
            for i in range(len(kinds)):
                groups.setdefault(batch_idx[i].shape[-1] if batched[i] else None, []).append(i)
            plan = tuple((width, np.array(members)) for width, members in groups.items())
            order = [int(i) for _, members in plan for i in members]
            tables = tuple(
                None if width is None else jnp.stack([batch_idx[i] for i in members], axis=1)
                for width, members in plan
            )

            def gradients(P, rows):  # noqa: ANN001, ANN202
                """Every entry's raw gradient, its loss where that is the full batch's (else
                0), and the Hessians of Newton's entries, by entry."""
                grads, losses, hessians = [], [], {}
                for (width, members), idx in zip(plan, rows, strict=True):
                    if width is None:
                        batch, axes = data, (0, None, None)
                    else:
                        batch, axes = tuple(a[idx] for a in data), (0, None, 0)
                    g, value = jax.vmap(grad_and_loss, in_axes=axes)(
                        _take(P, members), consts, batch
                    )
                    grads.append(g)
                    losses.append(value if width is None else jnp.zeros_like(value))
                    newton = np.array([j for j, i in enumerate(members) if hessian[i]], dtype=int)
                    if len(newton):
                        sub = batch if width is None else tuple(_take(b, newton) for b in batch)
                        h = jax.vmap(hess_fn, in_axes=axes)(_take(P, members[newton]), consts, sub)
                        hessians.update({int(members[j]): h[n] for n, j in enumerate(newton)})
                return _in_entry_order(grads, order), _in_entry_order(losses, order), hessians

            def step(carry, xs):  # noqa: ANN001, ANN202
                P, states = carry
                rows, eps = xs
                G, L, hessians = gradients(P, rows)
                new_ps, new_states, records = [], [], []
                for i, tx in enumerate(txs):
                    kind, h, p = kinds[i], hyperparams[i], P[i]
                    g = G[i] + noise_stds[i] * eps
                    # Modifiers enter the scan body only for the entries that use them: a scene
                    # without them compiles to the same body as before they existed.
                    if kind.l2:
                        g = g + h["l2"] * p
                    if kind.clip:
                        g = _clip(g, h["clip_norm"])
                    if hessian[i]:
                        hess = hessians[i]
                        if kind.l2:
                            hess = hess + h["l2"] * jnp.eye(2)
                        u, state = tx.update(g, states[i], p, hessian=hess)
                    else:
                        u, state = tx.update(g, states[i], p)
                    new_ps.append(p + u)
                    new_states.append(state)
                    records.append(Record.of(p + u, g, u, _state_list(kind.rule, state), L[i]).data)
                return (jnp.stack(new_ps), tuple(new_states)), Record(jnp.stack(records))

            return jax.lax.scan(step, carry, (tables, noise))

        def finish(consts, data, first, rows):  # noqa: ANN001, ANN202
            return _finish(loss_fn, consts, data, first, rows, known)

        def run_all(starts, hyperparams, noise_stds, consts, data, batch_idx, noise):  # noqa: ANN001, ANN202
            carry0, first = init(starts, hyperparams)
            _, rows = scan(carry0, hyperparams, noise_stds, consts, data, batch_idx, noise)
            return finish(consts, data, first, rows)

        self.run = jax.jit(_one_kernel(run_all), compiler_options=ONE_KERNEL_OPTIONS)
        self.run_all = jax.jit(run_all)
        self.init = jax.jit(init)
        self.scan = jax.jit(scan)
        self.finish = jax.jit(finish)
        self.one_kernel_failed = False
        """Set when ``run`` did not compile here: simulate uses ``run_all`` from then on."""


def _clip(g: Array, max_norm: Array) -> Array:
    """``optax.clip_by_global_norm``'s rule for one vector: ``g · min(1, c / |g|)``."""
    norm = jnp.sqrt(jnp.sum(g * g))
    return jnp.where(norm < max_norm, g, g * max_norm / norm)


_compiled: LRU[tuple[object, ...], _Programs] = LRU(lambda: MAX_COMPILED)


def compiled_scene(
    loss_fn: LossFn,
    convention: Convention,
    rules: tuple[str | EntryKind, ...],
    batched: tuple[bool, ...],
    shape: tuple[object, ...] = (),
) -> _Programs:
    """The jitted programs that run every entry of a scene of this structure in a single scan.

    The structure (the loss, the rules, which entries take mini-batches) and ``shape`` (steps,
    dataset size, batch sizes) key an LRU cache of at most :data:`MAX_COMPILED` entries, so each
    cached program holds the executables of one shape and an evicted one takes its compiled code
    with it. Start points, hyperparameters, constants and data are traced arguments, so a drag or
    a slider edit reuses the compiled code. On this CPU every op costs per step whatever its
    size, so one scan carrying every entry, and post-processing vectorised over entries, beat one
    scan per entry by ~2x in run time and ~6x in compile time.
    """
    kinds = tuple(EntryKind(r) if isinstance(r, str) else r for r in rules)
    key = (loss_fn, convention, kinds, batched, shape)
    return _compiled.get_or_make(key, lambda: _Programs(loss_fn, convention, kinds, batched))


def compiled_count() -> int:
    """How many compiled programs the LRU holds now (at most MAX_COMPILED)."""
    return len(_compiled)


CHECKPOINT_EPOCHS = 16
"""A :class:`BatchSchedule` keeps its generator's state every this many epochs."""

TABLE_CACHE_BYTES = 64 * 2**20
"""Whole batch tables kept for reuse (a drag re-runs the same schedule), least recently used
first out: at most 64 MB in all, and a table over a quarter of that is never kept."""

_tables: OrderedDict[tuple[int, int, int, int], NDArray] = OrderedDict()
_tables_lock = threading.Lock()


def _cached_table(key: tuple[int, int, int, int], make: Callable[[], NDArray]) -> NDArray:
    with _tables_lock:
        table = _tables.get(key)
        if table is not None:
            _tables.move_to_end(key)
            return table
    table = make()
    if table.nbytes <= TABLE_CACHE_BYTES // 4:
        table.flags.writeable = False
        with _tables_lock:
            _tables[key] = table
            while sum(t.nbytes for t in _tables.values()) > TABLE_CACHE_BYTES:
                _tables.popitem(last=False)
    return table


def cached_table_bytes() -> int:
    """Bytes of whole batch tables kept now (at most TABLE_CACHE_BYTES)."""
    with _tables_lock:
        return sum(t.nbytes for t in _tables.values())


class BatchSchedule:
    """Sample indices of each step's batch, ``(steps, batch_size)``, drawn on demand.

    Without replacement within an epoch: a fresh seeded permutation per epoch, ``n // batch_size``
    batches each, a remainder dropped. The schedule depends only on ``(n, batch_size, steps,
    seed)``, so entries with the same batch size see the same batches (common random numbers:
    only the update rule differs). Indices are sorted within a batch, which is a set.

    Drawn with numpy's seeded PCG64 rather than ``jax.random``: ``jax.random.permutation``
    compiled for about 0.5 s per batch size here, a stall on every batch-size edit.

    Memory: the object keeps no table of its own. It holds the generator's state every
    :data:`CHECKPOINT_EPOCHS` epochs (a few hundred bytes each, at most ``steps / 16`` of them)
    and the last epoch's permutation (``n`` indices); ``batches[k]`` replays at most 16
    permutations from the nearest state. ``chunks(size)`` streams the table ``size`` steps at a
    time (how ``simulate`` feeds runs past :data:`BATCH_TABLE_ELEMS`), and ``table()`` /
    ``np.asarray(schedule)`` build the whole ``steps x batch_size`` table, kept for reuse only in
    the shared LRU bounded by :data:`TABLE_CACHE_BYTES` (64 MB for all schedules together).
    Thread-safe: every draw uses its own generator.
    """

    def __init__(self, n: int, batch_size: int, steps: int, seed: int) -> None:
        if not 1 <= batch_size <= n:
            raise ValueError(f"batch_size must be in [1, {n}], got {batch_size}")
        self.n, self.batch_size, self.steps, self.seed = n, batch_size, steps, seed
        self.per_epoch = n // batch_size
        self._states: dict[int, object] = {0: self._fresh().bit_generator.state}
        self._lock = threading.Lock()
        self._last: tuple[int, NDArray] | None = None

    def __reduce__(self) -> tuple[type[BatchSchedule], tuple[int, int, int, int]]:
        """Pickled as what decides it (the start-up process hands paths to the window)."""
        return (BatchSchedule, (self.n, self.batch_size, self.steps, self.seed))

    def _fresh(self) -> np.random.Generator:
        return np.random.default_rng([self.seed, 0, self.n, self.batch_size])

    @property
    def shape(self) -> tuple[int, int]:
        return (self.steps, self.batch_size)

    def __len__(self) -> int:
        return self.steps

    def _epochs(self, first: int) -> Iterator[tuple[int, NDArray]]:
        """``(e, permutation of epoch e)`` for e = first, first + 1, ... from the nearest state."""
        with self._lock:
            known = max(e for e in self._states if e <= first)
            state = self._states[known]
        rng = np.random.Generator(np.random.PCG64())
        rng.bit_generator.state = state
        e = known
        while True:
            if e % CHECKPOINT_EPOCHS == 0 and e not in self._states:
                with self._lock:
                    self._states[e] = rng.bit_generator.state
            perm = rng.permutation(self.n)
            if e >= first:
                self._last = (e, perm)
                yield e, perm
            e += 1

    def _epoch_batches(self, perm: NDArray) -> NDArray:
        width = self.per_epoch * self.batch_size
        return np.sort(perm[:width].reshape(self.per_epoch, self.batch_size), axis=1).astype(
            np.int32
        )

    def table(self) -> NDArray:
        """The whole ``(steps, batch_size)`` table, read-only (kept in a bounded LRU)."""
        return _cached_table(
            (self.n, self.batch_size, self.steps, self.seed), lambda: self._rows(0, self.steps)
        )

    def rows(self, start: int, stop: int) -> NDArray:
        """The batches of steps ``start`` to ``stop - 1``, ``(stop - start, batch_size)`` int32."""
        start, stop = max(0, start), min(self.steps, stop)
        if start == 0 and stop == self.steps:
            return self.table()
        return self._rows(start, stop)

    def _rows(self, start: int, stop: int) -> NDArray:
        out = np.empty((max(0, stop - start), self.batch_size), dtype=np.int32)
        if stop <= start:
            return out
        first_epoch = start // self.per_epoch
        last = self._last
        epochs = (
            iter([last])
            if last is not None
            and last[0] == first_epoch
            and (stop - 1) // self.per_epoch == first_epoch
            else self._epochs(first_epoch)
        )
        k = start
        for e, perm in epochs:
            batches = self._epoch_batches(perm)
            lo, hi = k - e * self.per_epoch, min(stop - e * self.per_epoch, self.per_epoch)
            out[k - start : k - start + hi - lo] = batches[lo:hi]
            k += hi - lo
            if k >= stop:
                break
        return out

    def chunks(self, size: int) -> Iterator[NDArray]:
        """The table ``size`` steps at a time, in order, drawing every permutation once."""
        epochs = self._epochs(0)
        pending: list[NDArray] = []
        have = 0
        for k in range(0, self.steps, size):
            need = min(size, self.steps - k)
            while have < need:
                _, perm = next(epochs)
                batches = self._epoch_batches(perm)
                pending.append(batches)
                have += len(batches)
            block = np.concatenate(pending) if len(pending) > 1 else pending[0]
            yield block[:need]
            rest = block[need:]
            pending, have = ([rest] if len(rest) else []), len(rest)

    def __getitem__(self, index: int | slice) -> NDArray:
        if isinstance(index, slice):
            start, stop, stride = index.indices(self.steps)
            return self.rows(start, stop)[::stride] if stride > 0 else np.asarray(self)[index]
        k = int(index)
        if k < 0:
            k += self.steps
        if not 0 <= k < self.steps:
            raise IndexError(f"step {index} outside 0..{self.steps - 1}")
        return self.rows(k, k + 1)[0]

    def __array__(self, dtype: object = None, copy: object = None) -> NDArray:
        table = self.table()
        return table.copy() if dtype is None else table.astype(dtype)


@functools.lru_cache(maxsize=64)
def batch_schedule(n: int, batch_size: int, steps: int, seed: int) -> BatchSchedule:
    """The (lazy) batch schedule of ``(n, batch_size, steps, seed)``; see :class:`BatchSchedule`.

    Cached (64 schedules, each a few kB): entries with one batch size share one object.
    """
    return BatchSchedule(n, batch_size, steps, seed)


@functools.lru_cache(maxsize=16)
def noise_schedule(steps: int, seed: int) -> NDArray:
    """Standard normal draws ``(steps, 2)`` shared by every entry (common random numbers)."""
    out = np.random.default_rng([seed, 1]).standard_normal((steps, 2))
    out.flags.writeable = False
    return out


@functools.cache
def state_names(rule: str, convention: Convention) -> tuple[str, ...]:
    """Names of the state vectors a rule records (``("mu", "nu")`` for Adam), in column order."""
    tx = make_transform(rule, convention, RULES[rule].defaults(convention))
    return tuple(_recorded(rule, tx.init(jnp.zeros(2))))


def _to_trajectory(
    label: str,
    names: tuple[str, ...],
    paths: Paths,
    i: int,
    batches: BatchSchedule | None,
    learning_rates: NDArray | None = None,
    weight_decay: float = 0.0,
) -> Trajectory:
    """Entry ``i`` of host-side ``paths``, as a Trajectory (views, not copies).

    ``weight_decay``: λ of a decoupled decay, whose term ``−η_k λ θ_k`` is then recorded (from
    the points and rates: exact to rounding, and nothing added to the scan).
    """
    diverged_at = int(paths.diverged_at[i])
    rows = paths.table[:, i]  # (steps + 1, columns)
    params = rows[:, slice(*_FIELDS["params"])]
    decay = None
    if weight_decay and learning_rates is not None:
        # As in _finish: step k moved while k < diverged_at - 1 (zero from then on).
        steps = rows.shape[0] - 1
        stop = steps if diverged_at < 0 else diverged_at - 1
        moving = (np.arange(steps) < stop)[:, None]
        decay = np.where(moving, -learning_rates[:, None] * weight_decay * params[:-1], 0.0)
    state = _FIELDS["state"][0]
    return Trajectory(
        label=label,
        params=params,
        loss=rows[:, _LOSS],
        grads=rows[1:, slice(*_FIELDS["grad"])],
        updates=rows[1:, slice(*_FIELDS["update"])],
        state={name: rows[1:, state + 2 * j : state + 2 * j + 2] for j, name in enumerate(names)},
        batches=batches,
        diverged_at=None if diverged_at < 0 else diverged_at,
        learning_rates=learning_rates,
        decay=decay,
    )


def _to_host(out: Paths) -> Paths:
    """``out`` as numpy arrays: one transfer of the whole pytree (``jax.device_get``), or, on
    the CPU backend, where results already sit in host memory, read-only views of them
    (``jax.device_get`` costs ~20 us per array there)."""
    if jax.default_backend() == "cpu":
        return Paths(np.asarray(out.table), np.asarray(out.diverged_at))
    return jax.device_get(out)


def structure_key(scene: Scene, problem: Problem | None = None) -> tuple[object, ...]:
    """What decides whether ``simulate(scene)`` needs a compilation: structure and shapes.

    Two scenes with the same key reuse one compiled function; the UI compiles a new key off the
    GUI thread and computes a known one at once. ``problem``: the scene's problem if built
    already (a deferred one during a drag: only its loss and size matter here).
    """
    problem = problem or scene.build_problem(minima="defer")
    return (
        problem.loss_fn,
        scene.convention,
        scene.steps,
        _rows(problem),
        tuple((e.kind, e.batch_size if problem.has_data else None) for e in scene.optimizers),
    )


def _plan(scene: Scene, problem: Problem) -> tuple[tuple[bool, ...], tuple[object, ...], int]:
    """Which entries take mini-batches, the compile key's shape part, and the chunk length."""
    # An entry takes mini-batches when its batch is a strict subset; batch_size = n is one batch of
    # every sample per epoch, which is exactly the full-batch computation.
    batched = tuple(
        problem.has_data and e.batch_size is not None and e.batch_size < problem.n
        for e in scene.optimizers
    )
    sizes = tuple(e.batch_size if b else 0 for e, b in zip(scene.optimizers, batched, strict=True))
    per_step = sum(sizes)
    chunk = scene.steps
    if per_step * scene.steps > BATCH_TABLE_ELEMS:
        chunk = max(1, BATCH_TABLE_ELEMS // per_step)
    return batched, (scene.steps, _rows(problem), sizes, chunk), chunk


def _rows(problem: Problem) -> int:
    """Rows of the problem's (padded) full batch: what shapes the programs, not ``n`` itself."""
    return data_capacity(problem.n) if problem.has_data else 0


def is_compiled(scene: Scene, problem: Problem | None = None) -> bool:
    """Whether ``simulate(scene)`` would reuse a compiled program (no compile stall).

    ``problem``: the scene's problem if built already; else it is built with its minima
    deferred (the loss and the data size decide, not the minima).
    """
    problem = problem or scene.build_problem(minima="defer")
    batched, shape, _ = _plan(scene, problem)
    key = (
        problem.loss_fn,
        scene.convention,
        tuple(e.kind for e in scene.optimizers),
        batched,
        shape,
    )
    return key in _compiled


@dataclass(frozen=True, eq=False)
class _Prepared:
    """What ``simulate`` derives from a scene's entries, steps, seed, convention and problem:
    everything but the start points, so a drag (a new start each time) builds only those.

    The program's other arguments wait on the device: handing ~30 host numbers and tables to a
    compiled program cost ~0.1 ms more per call than passing them in place (CPU backend). It
    holds no compiled program (the LRU of :func:`compiled_scene` decides what stays compiled)
    and no batch table over :data:`PREPARED_TABLE_BYTES` (those stay in their own bounded cache).
    """

    entries: tuple[OptimizerEntry, ...]
    problem: Problem
    key: tuple[object, ...]
    """The compile key of :func:`compiled_scene`."""
    chunk: int
    schedules: tuple[BatchSchedule | None, ...]
    args: tuple[object, ...] | None
    """``(hyperparams, noise_stds, consts, data, tables, noise)`` as the program takes them after
    the starts, on the device; None when the run is chunked or its tables are too large."""
    hyperparams: tuple[dict[str, object], ...]
    noise_stds: NDArray
    consts: Consts
    learning_rates: tuple[NDArray, ...]
    """Each entry's rate per step (read-only; every Trajectory of this scene shares them)."""
    names: tuple[tuple[str, ...], ...]
    weight_decays: tuple[float, ...]


PREPARED_TABLE_BYTES = 2**20
"""Batch tables up to this size (all entries together) are kept on the device with a prepared
scene; larger ones are drawn from their cache at each run, as before."""

_prepared: LRU[tuple[object, ...], _Prepared] = LRU(lambda: 8)


def _prepare(scene: Scene, problem: Problem) -> _Prepared:
    """The :class:`_Prepared` of ``scene`` on ``problem``, made once per entries tuple (edits
    make a new one; ``Scene.with_start`` keeps it) and problem object."""
    entries = scene.optimizers
    key = (id(entries), id(problem), scene.convention, scene.steps, scene.seed)
    prepared = _prepared.get(key)
    if prepared is not None and prepared.entries is entries and prepared.problem is problem:
        return prepared
    batched, shape, chunk = _plan(scene, problem)
    hyperparams = tuple(_traced_values(e, scene.convention, scene.steps) for e in entries)
    rates = []
    for e, h in zip(entries, hyperparams, strict=True):
        lr = _entry_learning_rates(e, scene.convention, scene.steps, h)
        lr.flags.writeable = False
        rates.append(lr)
    schedules = tuple(
        batch_schedule(problem.n, e.batch_size, scene.steps, scene.seed) if b else None
        for e, b in zip(entries, batched, strict=True)
    )
    noise_stds = np.array([e.gradient_noise for e in entries], dtype=np.float64)
    consts = problem.jax_consts()
    args = None
    table_bytes = sum(4 * s.steps * s.batch_size for s in schedules if s is not None)
    if chunk >= scene.steps and table_bytes <= PREPARED_TABLE_BYTES:
        tables = tuple(None if s is None else s.rows(0, scene.steps) for s in schedules)
        noise = noise_schedule(scene.steps, scene.seed)
        args = jax.device_put(
            (hyperparams, noise_stds, consts, problem.full_batch(), tables, noise)
        )
    prepared = _Prepared(
        entries=entries,
        problem=problem,
        key=(problem.loss_fn, scene.convention, tuple(e.kind for e in entries), batched, shape),
        chunk=chunk,
        schedules=schedules,
        args=args,
        hyperparams=hyperparams,
        noise_stds=noise_stds,
        consts=consts,
        learning_rates=tuple(rates),
        names=tuple(state_names(e.rule, scene.convention) for e in entries),
        weight_decays=tuple(
            e.effective_weight_decay(scene.convention) if RULES[e.rule].takes_weight_decay else 0.0
            for e in entries
        ),
    )
    _prepared.put(key, prepared)
    return prepared


def simulate(scene: Scene, problem: Problem | None = None) -> dict[str, Trajectory]:
    """Run every optimizer entry of ``scene``; returns ``{label: Trajectory}`` in scene order.

    Every array returned is finite (see the module's note on divergence).

    Args:
      scene: the scene to run.
      problem: the scene's problem if already built, with or without its minima (paths do
        not depend on them); ``scene.build_problem(minima="defer")`` otherwise.

    Raises:
      SceneError: the loss (or its gradient) at an entry's start is not finite.
    """
    problem = problem or scene.build_problem(minima="defer")
    prep = _prepare(scene, problem)
    entries = prep.entries
    _, convention, kinds, batched, _ = prep.key
    programs = _compiled.get_or_make(
        prep.key, lambda: _Programs(problem.loss_fn, convention, kinds, batched)
    )
    starts = np.array([scene.start_of(e) for e in entries], dtype=np.float64)
    if prep.args is not None:
        out = _run(programs, (starts, *prep.args))
    else:
        data, noise = problem.full_batch(), noise_schedule(scene.steps, scene.seed)
        if prep.chunk >= scene.steps:
            tables = tuple(None if s is None else s.rows(0, scene.steps) for s in prep.schedules)
            args = (starts, prep.hyperparams, prep.noise_stds, prep.consts, data, tables, noise)
            out = _run(programs, args)
            del tables, args
        else:
            out = _run_in_chunks(
                programs,
                prep.chunk,
                scene.steps,
                prep.schedules,
                starts,
                prep.hyperparams,
                prep.noise_stds,
                prep.consts,
                data,
                noise,
            )
    paths = _to_host(out)
    for i, e in enumerate(entries):
        if paths.diverged_at[i] == 0:
            raise SceneError(
                f"{e.label}: the loss at the start {scene.start_of(e)} is not finite; "
                "choose another start"
            )
    return {
        e.label: _to_trajectory(
            e.label,
            prep.names[i],
            paths,
            i,
            prep.schedules[i],
            prep.learning_rates[i],
            prep.weight_decays[i],
        )
        for i, e in enumerate(entries)
    }


def _run(programs: _Programs, args: tuple[object, ...]) -> Paths:
    """``programs.run(*args)``, or ``run_all`` where the one-kernel program does not compile."""
    if not programs.one_kernel_failed:
        try:
            return programs.run(*args)
        except jax.errors.JaxRuntimeError:
            programs.one_kernel_failed = True
    return programs.run_all(*args)


def _traced_values(entry: OptimizerEntry, convention: Convention, steps: int) -> dict[str, object]:
    """What ``entry_transform`` and the scan read of an entry, as float64 scalars (traced)."""
    values: dict[str, object] = {
        k: np.float64(v) for k, v in entry.resolved_hyperparams(convention).items()
    }
    kind = entry.kind
    if kind.schedule != "constant":
        values["schedule"] = {k: np.float64(v) for k, v in entry.resolved_schedule(steps).items()}
    if kind.decay:
        values["weight_decay"] = np.float64(entry.weight_decay)
    if kind.l2:
        values["l2"] = np.float64(entry.l2)
    if kind.clip:
        values["clip_norm"] = np.float64(entry.clip_norm)
    return values


@functools.cache
def _schedule_program():  # noqa: ANN202 (a jitted fn)
    """:func:`schedule_values` jitted, made on first use (the module imports without JAX)."""
    return jax.jit(schedule_values, static_argnames=("name", "steps"))


def _entry_learning_rates(
    entry: OptimizerEntry,
    convention: Convention,
    steps: int,
    values: Mapping[str, object] | None = None,
) -> NDArray:
    """The entry's rate per step; ``values``: its :func:`_traced_values` if made already."""
    if values is None:
        values = entry.resolved_hyperparams(convention)
    lr = float(values["learning_rate"])  # type: ignore[arg-type]
    if entry.schedule == "constant":
        return np.full(steps, lr)
    values = {k: np.float64(v) for k, v in entry.resolved_schedule(steps).items()}
    return np.asarray(_schedule_program()(entry.schedule, np.float64(lr), values, steps))


def learning_rates(scene: Scene, label: str) -> NDArray:
    """``(steps,)`` the learning rate entry ``label`` uses at each step (for the lr strip).

    The schedule's values with the entry's learning rate as the peak (or initial) value; a
    constant array without a schedule. Editing a schedule's parameter reuses the compiled
    function; a new kind or step count compiles once (~20 ms).

    Raises:
      SceneError: no entry is labelled ``label``.
    """
    return _entry_learning_rates(scene.entry(label), scene.convention, scene.steps)


def _run_in_chunks(
    programs: _Programs,
    chunk: int,
    steps: int,
    schedules: tuple[BatchSchedule | None, ...],
    starts: NDArray,
    hyperparams: tuple[dict[str, np.float64], ...],
    noise_stds: NDArray,
    consts: Consts,
    data: Batch,
    noise: NDArray,
) -> Paths:
    """The scan ``chunk`` steps at a time: at most ``chunk x sum(batch sizes)`` indices at once.

    Every chunk has the same length (the last is padded with batch 0 and its extra rows dropped),
    so one executable serves them all.
    """
    carry, first = programs.init(starts, hyperparams)
    streams = [None if s is None else s.chunks(chunk) for s in schedules]
    parts = []
    for k in range(0, steps, chunk):
        need = min(chunk, steps - k)
        idx = []
        for stream in streams:
            if stream is None:
                idx.append(None)
                continue
            block = next(stream)
            if need < chunk:
                block = np.concatenate([block, np.repeat(block[:1], chunk - need, axis=0)])
            idx.append(block)
        eps = noise[k : k + need]
        if need < chunk:
            eps = np.concatenate([eps, np.zeros((chunk - need, 2))])
        carry, rows = programs.scan(carry, hyperparams, noise_stds, consts, data, tuple(idx), eps)
        parts.append(jax.device_get(rows).data[:need])
    return programs.finish(consts, data, first, Record(np.concatenate(parts)))
