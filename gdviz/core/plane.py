"""A plane through a network's weight space: where the paths are drawn, and how faithful that is.

A network's loss lives over hundreds of weights; a picture has two axes. The plane is
``origin + a · d₁ + b · d₂`` for coordinates ``(a, b)``, and it is chosen one of three ways
(:class:`PlaneSpec`, the scene's ``[plane]`` table):

- ``pca``: spanned by the top two principal directions of all paths together, taken about the
  origin: the right singular vectors of every recorded weight vector minus the origin, stacked
  (numpy's SVD). That is the plane through the origin closest to the paths in least squares.
  Orthonormal.
- ``random``: two seeded Gaussian directions, filter-normalized per layer as in Li, Xu, Taylor,
  Studer & Goldstein, "Visualizing the Loss Landscape of Neural Nets" (NeurIPS 2018): each row of
  a layer's weight matrix in a direction (one unit's incoming weights: a "filter") is rescaled to
  the norm of that row in the weights at the origin, and the biases' entries are 0 (their code's
  default, ``ignore='biasbn'``). So a step of 1 along a direction changes every unit by as much
  as it weighs, whatever the layer's scale. NOT orthonormal.
- ``minima``: through the initial weights and the end points of two chosen entries, orthonormal
  by Gram-Schmidt: the first entry's end on the positive ``a`` axis, the second's at ``b > 0``.

The origin (``through``) is the common initial weights (``"init"``), the mean of the entries'
end points (``"end"``: the common end point when all end together), or one entry's end point
(its label). A ``minima`` plane always goes through the init.

Coordinates: a point's ``(a, b)`` are the least-squares solution of ``origin + a d₁ + b d₂ ≈
w``: the orthogonal projection onto the plane, written in the plane's own basis. For an
orthonormal basis they are the dot products with ``d₁``, ``d₂``; for a random plane they are
in units of the filter-normalized directions (as Li et al. draw them), and the plane's own grid
points project back to themselves exactly (to rounding). :meth:`Plane.lift` is the inverse on
the plane.

Faithfulness (:func:`faithfulness`): the share of the paths that the plane holds
(``Σ |P(w − o)|² / Σ |w − o|²`` over every recorded point, ``P`` the orthogonal projection: for
``pca`` this is ``(s₁² + s₂²) / Σ sᵢ²`` of the SVD), and per entry the largest gap between its
true loss and the loss at its projected point, i.e. what the surface shows under the path.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from gdviz.core.deferred import jax, jnp
from gdviz.core.mlp import Arch, Network
from gdviz.core.specs import SceneError
from gdviz.core.types import Array, NDArray

__all__ = [
    "PLANE_KINDS",
    "Faithfulness",
    "Plane",
    "PlaneSpec",
    "PlaneSurface",
    "faithfulness",
    "filter_normalized",
    "fit_plane",
    "plane_from_table",
    "surface",
    "view_of",
]

PlaneKind = Literal["pca", "random", "minima"]
PLANE_KINDS: tuple[PlaneKind, ...] = ("pca", "random", "minima")

Rect = tuple[tuple[float, float], tuple[float, float]]

MAX_RESOLUTION = 512
"""Grid points per axis of a surface at most (512² = 262,144 full-batch losses)."""

_KEYS = ("kind", "through", "entries", "seed")


@dataclass(frozen=True)
class PlaneSpec:
    """How a network scene's plane is chosen (the ``[plane]`` table; every key optional).

    Attributes:
      kind: ``pca``, ``random`` or ``minima`` (see the module's note).
      through: the origin: ``"init"``, ``"end"`` (the mean of the end points) or an entry's
        label (its end point); ``minima`` planes go through the init only. ``"init"`` and
        ``"end"`` are read as these even when an entry has that label.
      entries: the two entries whose end points span a ``minima`` plane (only there).
      seed: the seed of a ``random`` plane's directions (only there).
    """

    kind: PlaneKind = "pca"
    through: str = "init"
    entries: tuple[str, str] | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in PLANE_KINDS:
            raise SceneError(
                f"plane.kind: must be one of {', '.join(PLANE_KINDS)}, got {self.kind!r:.60}"
            )
        if not isinstance(self.through, str) or not self.through.strip():
            raise SceneError('plane.through: must be "init", "end" or an entry\'s label')
        if self.kind == "minima":
            if self.through != "init":
                raise SceneError(
                    "plane.through: a minima plane goes through the init and two end points; "
                    'remove through (or set "init")'
                )
            if self.entries is None:
                raise SceneError("plane.entries: a minima plane needs two entries' labels")
        if self.entries is not None:
            if self.kind != "minima":
                raise SceneError("plane.entries: only a minima plane takes entries")
            if (
                not isinstance(self.entries, tuple)
                or len(self.entries) != 2
                or not all(isinstance(e, str) for e in self.entries)
                or self.entries[0] == self.entries[1]
            ):
                raise SceneError(
                    f"plane.entries: must be two different entries' labels, got {self.entries!r:.60}"
                )
        if (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, int)
            or not 0 <= self.seed < 2**31
        ):
            raise SceneError(
                f"plane.seed: must be an integer in [0, {2**31 - 1}], got {self.seed!r:.60}"
            )
        if self.seed and self.kind != "random":
            raise SceneError("plane.seed: only a random plane takes a seed")

    def labels(self) -> tuple[str, ...]:
        """The entry labels it names (which the scene must hold)."""
        named = () if self.through in ("init", "end") else (self.through,)
        return named + (self.entries or ())

    def to_table(self) -> dict[str, object]:
        """The ``[plane]`` table: the keys that differ from the defaults (``kind`` always)."""
        table: dict[str, object] = {"kind": self.kind}
        if self.through != "init":
            table["through"] = self.through
        if self.entries is not None:
            table["entries"] = list(self.entries)
        if self.seed:
            table["seed"] = self.seed
        return table


def plane_from_table(table: object) -> PlaneSpec:
    """The :class:`PlaneSpec` of a scene file's ``[plane]`` table.

    Raises:
      SceneError: an unknown key or a bad value, naming ``plane.<key>``.
    """
    if not isinstance(table, Mapping):
        raise SceneError(f"plane: must be a table, got {type(table).__name__}")
    extra = sorted(set(table) - set(_KEYS))
    if extra:
        raise SceneError(f"plane.{extra[0]:.60}: unknown key; allowed here: {', '.join(_KEYS)}")
    entries = table.get("entries")
    if entries is not None:
        if not isinstance(entries, list):
            raise SceneError(f"plane.entries: must be two entries' labels, got {entries!r:.60}")
        entries = tuple(entries)
    kind = table.get("kind", "pca")
    through = table.get("through", "init")
    if not isinstance(kind, str):
        raise SceneError(f"plane.kind: must be one of {', '.join(PLANE_KINDS)}, got {kind!r:.60}")
    if not isinstance(through, str):
        raise SceneError(
            f'plane.through: must be "init", "end" or an entry\'s label, got {through!r:.60}'
        )
    return PlaneSpec(kind, through, entries, table.get("seed", 0))  # type: ignore[arg-type]


# --- the fitted plane -----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Plane:
    """``origin + a · directions[0] + b · directions[1]``.

    Attributes:
      kind: how it was chosen.
      origin: ``(P,)`` the point at ``(0, 0)``.
      directions: ``(2, P)`` the basis the coordinates are written in (orthonormal for ``pca``
        and ``minima``; filter-normalized for ``random``).
    """

    kind: PlaneKind
    origin: NDArray
    directions: NDArray
    _solve: NDArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        d = self.directions
        gram = d @ d.T
        if abs(np.linalg.det(gram)) <= 1e-12 * max(float(np.trace(gram)) ** 2, 1e-300):
            raise SceneError(f"plane: the two {self.kind} directions are parallel; no plane")
        # (P, 2): coordinates = (w - origin) @ _solve, the least-squares solution.
        object.__setattr__(self, "_solve", d.T @ np.linalg.inv(gram))

    @property
    def orthonormal(self) -> bool:
        d = self.directions
        return bool(np.allclose(d @ d.T, np.eye(2), atol=1e-10))

    def project(self, points: NDArray) -> NDArray:
        """``(..., 2)`` coordinates of ``(..., P)`` weight vectors (least squares: see the note)."""
        return (np.asarray(points) - self.origin) @ self._solve

    def lift(self, coords: NDArray) -> NDArray:
        """``(..., P)`` the plane's points at ``(..., 2)`` coordinates."""
        return self.origin + np.asarray(coords) @ self.directions

    def explained(self, points: NDArray) -> float:
        """The share of ``Σ |w − origin|²`` over ``points`` ``(k, P)`` that lies in the plane
        (1.0 when every point is the origin)."""
        rel = np.asarray(points) - self.origin
        total = float(np.sum(rel * rel))
        if total == 0.0:
            return 1.0
        inside = self.lift(self.project(points)) - self.origin
        return float(np.sum(inside * inside)) / total


def filter_normalized(direction: NDArray, weights: NDArray, arch: Arch) -> NDArray:
    """``direction`` with each weight-matrix row rescaled to the norm of that row of ``weights``
    and its biases' entries 0 (Li et al. 2018, filter normalization with ``ignore='biasbn'``).

    A row of ``direction`` that is all zeros stays zero (their code adds 1e-10 to the norm)."""
    out = np.zeros_like(direction)
    for L in arch.layers:
        d = direction[L.weights].reshape(L.fan_out, L.fan_in)
        w = weights[L.weights].reshape(L.fan_out, L.fan_in)
        scale = np.linalg.norm(w, axis=1) / (np.linalg.norm(d, axis=1) + 1e-10)
        out[L.weights] = (d * scale[:, None]).ravel()
    return out


def _origin(spec: PlaneSpec, init: NDArray, ends: Mapping[str, NDArray]) -> NDArray:
    if spec.through == "init":
        return init
    if spec.through == "end":
        return np.mean(np.stack(list(ends.values())), axis=0)
    if spec.through not in ends:
        raise SceneError(f"plane.through: no entry called {spec.through!r:.60}")
    return ends[spec.through]


def fit_plane(
    spec: PlaneSpec, network: Network, paths: Mapping[str, NDArray], init: NDArray | None = None
) -> Plane:
    """The plane ``spec`` asks for, through ``paths`` (``{label: (steps + 1, P) weights}``).

    Args:
      init: the common initial weights (``network.init`` when None).

    Raises:
      SceneError: a label it names is not a path, or the directions are parallel (two ``minima``
        end points on one line through the init; paths that never move).
    """
    init = network.init if init is None else np.asarray(init)
    ends = {label: np.asarray(w)[-1] for label, w in paths.items()}
    origin = np.array(_origin(spec, init, ends), dtype=np.float64)
    if spec.kind == "pca":
        stacked = np.concatenate([np.asarray(w) for w in paths.values()]) - origin
        _, _, vt = np.linalg.svd(stacked, full_matrices=False)
        directions = vt[:2]
    elif spec.kind == "random":
        rng = np.random.default_rng([spec.seed, 18])
        raw = rng.standard_normal((2, network.n_weights))
        directions = np.stack([filter_normalized(d, origin, network.arch) for d in raw])
    else:
        a, b = spec.entries  # type: ignore[misc]
        for label in (a, b):
            if label not in ends:
                raise SceneError(f"plane.entries: no entry called {label!r:.60}")
        u, v = ends[a] - init, ends[b] - init
        nu = np.linalg.norm(u)
        if nu == 0.0:
            raise SceneError(f"plane.entries: {a!r} ends where it started; no direction")
        d1 = u / nu
        v = v - (v @ d1) * d1
        nv = np.linalg.norm(v)
        if nv <= 1e-9 * max(np.linalg.norm(ends[b] - init), 1e-300):
            raise SceneError(
                f"plane.entries: {a!r} and {b!r} end on one line through the init; no plane"
            )
        directions = np.stack([d1, v / nv])
    if directions.shape[0] < 2:  # one recorded point only: nothing spans a plane
        raise SceneError("plane: the paths span no plane (one point)")
    return Plane(spec.kind, origin, np.ascontiguousarray(directions))


def view_of(coords: Sequence[NDArray], margin: float = 0.2) -> Rect:
    """A rectangle around every projected point ``(k, 2)``, ``margin`` of its size on each side,
    square in plane units (so that distances look like distances), never empty."""
    pts = np.concatenate([np.asarray(c).reshape(-1, 2) for c in coords])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    centre = 0.5 * (lo + hi)
    half = 0.5 * float(np.max(hi - lo)) * (1.0 + 2 * margin)
    half = max(half, 1e-3 * max(float(np.abs(pts).max()), 1.0))
    return (
        (float(centre[0] - half), float(centre[0] + half)),
        (float(centre[1] - half), float(centre[1] + half)),
    )


# --- the loss on the plane ------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PlaneSurface:
    """The full-batch loss over a grid on a plane.

    Attributes:
      xs, ys: the grid's ``a`` and ``b`` coordinates.
      loss: ``(len(ys), len(xs))``, ``loss[i, j]`` at ``(xs[j], ys[i])`` (``meshgrid`` order,
        as :class:`gdviz.core.surface.Surface`); non-finite values are NaN.
    """

    xs: NDArray
    ys: NDArray
    loss: NDArray


@functools.lru_cache(maxsize=8)
def _grid_program(arch: Arch):  # noqa: ANN202
    """``(origin, directions, a, b, x, y) -> loss (len(b), len(a))``: rows one at a time
    (``lax.map``), the points of a row at once (``vmap``), so that the activations held are one
    row's (``r x n x width``), not the whole grid's (16,384 x 200 x 8 floats for 128²)."""

    def at(origin, directions, a, b, x, y):  # noqa: ANN001, ANN202
        return arch.loss_fn(origin + a * directions[0] + b * directions[1], x, y)

    row = jax.vmap(at, in_axes=(None, None, 0, None, None, None))

    def grid(origin, directions, xs, ys, x, y):  # noqa: ANN001, ANN202
        return jax.lax.map(lambda b: row(origin, directions, xs, b, x, y), ys)

    return jax.jit(grid)


def surface(network: Network, plane: Plane, view: Rect, resolution: int = 128) -> PlaneSurface:
    """The network's full-batch loss over a ``resolution``² grid of ``view`` on ``plane``.

    Raises:
      SceneError: a resolution outside 2..MAX_RESOLUTION, or an empty view.
    """
    if isinstance(resolution, bool) or not isinstance(resolution, int):
        raise SceneError(f"resolution: must be an integer, got {resolution!r:.60}")
    if not 2 <= resolution <= MAX_RESOLUTION:
        raise SceneError(f"resolution: must be in [2, {MAX_RESOLUTION}], got {resolution}")
    (x0, x1), (y0, y1) = view
    if not (np.isfinite([x0, x1, y0, y1]).all() and x0 < x1 and y0 < y1):
        raise SceneError(f"view: must be finite with min < max on both axes, got {view}")
    xs, ys = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    # float32: a surface is a picture. 128² on a 2-8-8-1 net with 200 points took 176 ms in
    # float32 and 664 ms in float64 (one run, machine loaded; float64's tanh is ~4x dearer),
    # the values agreeing to ~4e-7. Paths, projections and the faithfulness gaps stay float64.
    args = (plane.origin, plane.directions, xs, ys, network.x, network.y)
    z = _grid_program(network.arch)(*(np.asarray(a, dtype=np.float32) for a in args))
    z = np.asarray(z, dtype=np.float64)
    return PlaneSurface(xs, ys, np.where(np.isfinite(z), z, np.nan))


@functools.lru_cache(maxsize=8)
def _losses_program(arch: Arch):  # noqa: ANN202
    # 64 weight vectors at a time: the activations of 64 x n x width, whatever the count.
    def losses(ws: Array, x: Array, y: Array) -> Array:
        return jax.lax.map(lambda w: arch.loss_fn(w, x, y), ws, batch_size=64)

    return jax.jit(losses)


def losses_at(network: Network, weights: NDArray) -> NDArray:
    """The full-batch loss at each of ``(k, P)`` weight vectors."""
    return np.asarray(_losses_program(network.arch)(jnp.asarray(weights), network.x, network.y))


@dataclass(frozen=True, eq=False)
class Faithfulness:
    """How far to trust the picture.

    Attributes:
      explained: the share of all paths' squared distance from the origin that lies in the
        plane (1.0: every recorded point is on it).
      explained_by_entry: the same per entry.
      gap_by_entry: the largest ``|true loss − loss at the projected point|`` over the entry's
        steps: how far the surface under the drawn path can be from the loss it had.
      gap_step_by_entry: the step of that largest gap.
      plane_loss: ``{label: (steps + 1,)}`` the loss at each projected point (what the surface
        shows under the path; the recorded loss is the path's own).
      gaps_pending: the gaps were not worked out (``faithfulness(..., gaps=False)``): the three
        maps above are empty.
    """

    explained: float
    explained_by_entry: Mapping[str, float]
    gap_by_entry: Mapping[str, float]
    gap_step_by_entry: Mapping[str, int]
    plane_loss: Mapping[str, NDArray]
    gaps_pending: bool = False

    @property
    def max_gap(self) -> float:
        """The largest gap of any entry."""
        return max(self.gap_by_entry.values(), default=0.0)


def faithfulness(
    network: Network,
    plane: Plane,
    weights: Mapping[str, NDArray],
    loss: Mapping[str, NDArray],
    *,
    gaps: bool = True,
) -> Faithfulness:
    """The readout for paths ``{label: (steps + 1, P)}`` whose true losses are ``loss``.

    ``gaps=False``: the shares alone (a projection); the gaps need the loss at every projected
    point, a forward pass over the data per step of every path, which cost about as much as the
    training itself (moons, 3 x 300 steps: 17 of a 44 ms drag update)."""
    labels = list(weights)
    stacked = np.concatenate([np.asarray(weights[k]) for k in labels])
    if not gaps:
        shares = {label: plane.explained(np.asarray(weights[label])) for label in labels}
        return Faithfulness(plane.explained(stacked), shares, {}, {}, {}, gaps_pending=True)
    projected = plane.lift(plane.project(stacked))
    on_plane = losses_at(network, projected)
    plane_loss, gaps, steps, shares = {}, {}, {}, {}
    k = 0
    for label in labels:
        count = len(weights[label])
        mine = on_plane[k : k + count]
        k += count
        gap = np.abs(np.asarray(loss[label]) - mine)
        gap = np.where(np.isfinite(gap), gap, np.inf)
        plane_loss[label] = mine
        steps[label] = int(np.argmax(gap))
        gaps[label] = float(gap[steps[label]])
        shares[label] = plane.explained(np.asarray(weights[label]))
    return Faithfulness(plane.explained(stacked), shares, gaps, steps, plane_loss)
