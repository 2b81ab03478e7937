"""A network scene as the window draws it: its plane as a two-parameter problem, its paths as
trajectories over the plane's coordinates, and the texts that say how far to trust the picture.

The window's views were made for a loss over two parameters. A network's loss lives over
hundreds of weights (:mod:`gdviz.core.weightspace` trains every entry there and fits a plane
through the paths, :mod:`gdviz.core.plane`), so rather than a second set of views the window is
given what its views already read:

- a :class:`PlaneProblem`: the loss ``L(origin + a·d₁ + b·d₂)`` over the plane's coordinates
  ``(a, b)``, a :class:`gdviz.core.problems.Problem` whose hover readout (value and gradient at
  a point) works as for any problem, and whose data (``n``) set the batch-size fields;
- :class:`gdviz.core.simulate.Trajectory` per entry whose ``params`` are the path projected onto
  the plane and whose ``loss`` is the TRUE full-weight-space loss (so the loss plot shows the
  real training curves, not the surface under the projected points);
- the surface itself is computed here (:func:`gdviz.core.plane.surface`: row by row, float32),
  never by :func:`gdviz.core.surface.surface`, which evaluates a whole grid at once: 512² points
  x 200 samples x 8 units is gigabytes for a network.

A projected path has no 2-D gradient, update rule state or Hessian: the trajectories' ``grads``
and ``state`` are zeros, ``updates`` the steps between projected points, and every tool that
reads them (overlays, step-by-step equations, basins, stability, tuning, the 3-D view) is
switched off for network scenes by the window, with a tooltip saying why.
"""

from __future__ import annotations

import dataclasses
import functools
import html
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from gdviz.core.deferred import jax
from gdviz.core.mlp import Arch, Network
from gdviz.core.plane import (
    Plane,
    PlaneSpec,
    PlaneSurface,
    faithfulness,
    fit_plane,
    surface,
    view_of,
)
from gdviz.core.problems import Problem
from gdviz.core.scene import Scene, SceneError
from gdviz.core.simulate import Trajectory
from gdviz.core.types import Array, Batch, Consts, LossFn, NDArray
from gdviz.core.weightspace import Picture, WeightPath, picture, train

Rect = tuple[tuple[float, float], tuple[float, float]]

SURFACE_RESOLUTION = 128
"""Grid points per axis of a network's surface. 128² on the moons net: 0.21 s warm (one run,
machine loaded), 2-3x that on the 2-16-16-1 spirals net; one resolution, so one compiled grid
per architecture (a zoom reuses it)."""


@functools.lru_cache(maxsize=16)
def plane_loss(arch: Arch) -> LossFn:
    """``loss(p, consts, batch)`` of ``arch`` at ``origin + p₀ d₁ + p₁ d₂`` (consts ``origin``,
    ``d1``, ``d2``; batch ``(x, y)``): one function object per architecture, the key of the
    compiled point functions (:func:`gdviz.core.surface.loss_and_grad_at`)."""

    def loss(p: Array, c: Consts, batch: Batch) -> Array:
        x, y = batch[0], batch[1]
        return arch.loss_fn(c["origin"] + p[0] * c["d1"] + p[1] * c["d2"], x, y)

    return loss


@dataclass(frozen=True, eq=False)
class PlaneProblem(Problem):
    """A network's loss over a plane's coordinates (see the module's note).

    Its data stay the network's (``x`` is ``(n, 2)`` for classes, which the two-parameter data
    view does not draw): ``x`` and ``y`` are None, ``has_data`` and ``n`` say what the batch
    sizes need, ``full_batch`` is the network's ``(x, y)``.
    """

    network: Network | None = None
    plane: Plane | None = None

    @property
    def has_data(self) -> bool:
        return self.network is not None

    @property
    def n(self) -> int:
        return 0 if self.network is None else self.network.n

    def full_batch(self) -> Batch:
        return self._batch

    @functools.cached_property
    def _batch(self) -> Batch:
        assert self.network is not None
        return (jax.numpy.asarray(self.network.x), jax.numpy.asarray(self.network.y))

    def jax_consts(self) -> Consts:
        return self._consts

    @functools.cached_property
    def _consts(self) -> Consts:
        assert self.plane is not None
        d = self.plane.directions
        return {
            "origin": jax.numpy.asarray(self.plane.origin),
            "d1": jax.numpy.asarray(d[0]),
            "d2": jax.numpy.asarray(d[1]),
        }


def axis_names(spec: PlaneSpec) -> tuple[str, str]:
    """What the plane's two coordinates are, in words."""
    if spec.kind == "pca":
        return ("PCA direction 1 of the paths", "PCA direction 2")
    if spec.kind == "random":
        return (f"random direction 1 (seed {spec.seed})", "random direction 2")
    a, b = spec.entries or ("", "")
    return (f"towards {a}'s end", f"towards {b}'s end (⊥)")


def plane_problem(network: Network, plane: Plane, spec: PlaneSpec, view: Rect) -> PlaneProblem:
    return PlaneProblem(
        name="mlp",
        title=network.title,
        loss_fn=plane_loss(network.arch),
        consts={},
        axis_names=axis_names(spec),
        view=view,
        minima=(),
        params=dict(network.params),
        network=network,
        plane=plane,
    )


def trajectories(pic: Picture) -> dict[str, Trajectory]:
    """Each entry's path as a :class:`Trajectory` over the plane: ``params`` its projection,
    ``loss`` its true loss; zero ``grads`` and ``state`` (see the module's note)."""
    out = {}
    for label, path in pic.paths.items():
        coords = np.ascontiguousarray(pic.coords[label])
        steps = path.steps
        out[label] = Trajectory(
            label=label,
            params=coords,
            loss=path.loss,
            grads=np.zeros((steps, 2)),
            updates=np.diff(coords, axis=0),
            state={},
            batches=path.batches,
            diverged_at=path.diverged_at,
            learning_rates=path.learning_rates,
        )
    return out


@dataclass(frozen=True, eq=False)
class NetworkPicture:
    """Everything the window draws of a network scene, computed together off the GUI thread.

    Attributes:
      scene: the scene it was computed for.
      picture: the trained paths on their plane (:class:`gdviz.core.weightspace.Picture`).
      surface: the loss over ``SURFACE_RESOLUTION``² points of the picture's view.
      problem: the plane as a two-parameter problem (see :class:`PlaneProblem`).
      results: ``{label: Trajectory}`` over the plane (see :func:`trajectories`).
      init: the common initial weights every entry started from.
      fitted: whether the plane was fitted to these paths (False: the paths of a drag,
        projected onto the plane fitted before it).
    """

    scene: Scene
    picture: Picture
    surface: PlaneSurface
    problem: PlaneProblem
    results: dict[str, Trajectory]
    init: NDArray
    fitted: bool

    @property
    def paths(self) -> Mapping[str, WeightPath]:
        return self.picture.paths

    @property
    def start(self) -> tuple[float, float]:
        """The initial weights' coordinates on the plane (where the start handle sits)."""
        a, b = self.picture.plane.project(self.init)
        return (float(a), float(b))


def compute(
    scene: Scene,
    init: NDArray | None = None,
    previous: NetworkPicture | None = None,
    *,
    gaps: bool = True,
) -> NetworkPicture:
    """Train ``scene`` from ``init`` (None: its seeded initial weights) and picture it.

    ``previous``: keep its plane, view and surface (a drag of the start handle: the paths are
    projected onto the SAME plane, so the picture does not jump per pointer move); None fits
    the plane the scene asks for through these paths. ``gaps=False`` leaves the faithfulness
    gaps of a kept plane to :func:`judged` (a fitted plane's are always worked out).

    Raises:
      SceneError: the core refuses the scene (a loss not finite at the start, a plane that
        cannot be fitted).
    """
    network = scene.build_network()
    if init is not None:
        network = dataclasses.replace(network, init=np.asarray(init, dtype=np.float64))
    paths = train(scene, network)
    if previous is None or previous.scene.build_network().arch != network.arch:
        pic = picture(scene, paths, network=network)
        surf = surface(network, pic.plane, pic.view, SURFACE_RESOLUTION)
        problem = plane_problem(network, pic.plane, scene.plane_spec, pic.view)
        fitted = True
    else:
        plane, view = previous.picture.plane, previous.picture.view
        weights = {label: p.weights for label, p in paths.items()}
        coords = {label: plane.project(w) for label, w in weights.items()}
        losses = {k: p.loss for k, p in paths.items()}
        judged = faithfulness(network, plane, weights, losses, gaps=gaps)
        pic = Picture(network, paths, plane, coords, view, judged)
        surf, problem, fitted = previous.surface, previous.problem, False
    return NetworkPicture(scene, pic, surf, problem, trajectories(pic), network.init, fitted)


def judged(pic: NetworkPicture) -> NetworkPicture:
    """``pic`` with its faithfulness gaps worked out (itself if they are)."""
    if not pic.picture.faithfulness.gaps_pending:
        return pic
    p = pic.picture
    weights = {label: path.weights for label, path in p.paths.items()}
    losses = {label: path.loss for label, path in p.paths.items()}
    whole = faithfulness(p.network, p.plane, weights, losses)
    return dataclasses.replace(pic, picture=dataclasses.replace(p, faithfulness=whole))


def provisional_problem(scene: Scene) -> PlaneProblem:
    """The problem a network scene shows before its first paths are in: a random plane
    through the initial weights (no training needed), with no surface drawn on it yet."""
    network = scene.build_network()
    spec = PlaneSpec("random")
    plane = fit_plane(spec, network, {"init": network.init[None]})
    view = view_of([np.array([[-1.0, -1.0], [1.0, 1.0]])], margin=0.0)
    return plane_problem(network, plane, scene.plane_spec, view)


def refuse_reason(scene: Scene) -> str | None:
    """Why ``scene`` cannot be shown, checked cheaply (no training), or None."""
    try:
        scene.build_network()
    except SceneError as exc:
        return str(exc)
    return None


# --- words -----------------------------------------------------------------------------------------


def faithfulness_html(
    pic: NetworkPicture, colors: Mapping[str, str], visible: set[str], foreground: str
) -> str:
    """The readout drawn on the view: the share of the paths' movement the plane holds, and
    per visible entry the largest gap between its true loss and the surface under its
    projected point (where the surface can mislead about that path)."""
    f = pic.picture.faithfulness
    kind = {"pca": "PCA", "random": "Random", "minima": "Minima"}[pic.picture.plane.kind]
    ink = f"color:{foreground}"
    lines = [
        f"<span style='{ink}'>{kind} plane: <b>{f.explained:.0%}</b> of the movement</span>",
        f"<span style='{ink}'>max |path loss − surface|:</span>",
    ]
    if not pic.fitted:  # its own line: on the first it ran into the colour bar
        lines.insert(1, f"<span style='{ink}'><i>(plane kept while dragging)</i></span>")

    def entry(label: str, text: str) -> str:
        return (
            f"<span style='color:{colors.get(label, foreground)}'>■</span>"
            f"<span style='{ink}'> {html.escape(label)}: {text}</span>"
        )

    if f.gaps_pending:  # the handle is on the move: worked out when it rests
        lines += [entry(label, "…") for label in pic.paths if label in visible]
    for label, gap in f.gap_by_entry.items():
        if label not in visible:
            continue
        start = float(pic.paths[label].loss[0])
        share = gap / max(abs(start), 1e-12)
        lines.append(entry(label, f"{gap:.2g} ({share:.0%} of L₀)" if np.isfinite(gap) else "∞"))
    return "<br>".join(lines)


def status_text(path: WeightPath, step: int) -> tuple[str, str]:
    """``(kind, words)`` of a network entry at ``step``: diverged, or its train accuracy (classes)
    or loss trend (regression); ``kind`` picks the status colour."""
    k = int(np.clip(step, 0, path.steps))
    if path.diverged_at is not None and k >= path.diverged_at:
        return "diverged", f"diverged at step {path.diverged_at}"
    if path.accuracy is not None:
        acc = float(path.accuracy[k])
        kind = "converged" if acc >= 0.95 else "converging"
        return kind, f"train accuracy {acc:.1%}"
    return "converging", "training"


# --- drawing ---------------------------------------------------------------------------------------


def network_surface(pic: NetworkPicture | None, rect: Rect) -> PlaneSurface | None:
    """The loss over ``rect`` of the picture's plane: the picture's own surface when ``rect``
    is its view, else computed now (a zoom or pan: ~0.2 s at 128² on the moons net); None
    before the first picture."""
    if pic is None:
        return None
    (x0, x1), (y0, y1) = pic.picture.view
    span = max(x1 - x0, y1 - y0)
    if np.allclose(np.ravel(rect), [x0, x1, y0, y1], rtol=0.0, atol=1e-6 * span):
        return pic.surface
    return surface(pic.picture.network, pic.picture.plane, rect, SURFACE_RESOLUTION)


class FaithfulnessReadout:
    """How far to trust a network's picture, in the surface view's top-left corner (pinned to
    the view box, not to plane coordinates: it stays put through zooms, and recordings show it
    as the window does). Hidden for two-parameter scenes."""

    def __init__(self, view) -> None:  # noqa: ANN001 (a SurfaceView; it imports this module)
        import pyqtgraph as pg

        self.view = view
        self.item = pg.TextItem(anchor=(0, 0))
        self.item.setParentItem(view.vb)
        self.item.setPos(6, 6)
        self.item.setZValue(60)
        ctl = view.controller
        ctl.results_changed.connect(self.refresh)
        ctl.entries_changed.connect(self.refresh)
        self.refresh()

    def text(self) -> str:
        """The readout's HTML ("" for a two-parameter scene or before the first picture)."""
        ctl = self.view.controller
        pic = ctl.network if ctl.is_network else None
        if pic is None:
            return ""
        theme = self.view.theme
        visible = {e.label for e in ctl.scene.optimizers if e.visible}
        return faithfulness_html(pic, ctl.colors(theme), visible, theme.foreground)

    def refresh(self) -> None:
        import pyqtgraph as pg
        from PySide6.QtGui import QColor, QFont

        text = self.text()
        self.item.setVisible(bool(text))
        if not text:
            return
        theme = self.view.theme
        fill = QColor(theme.background)
        fill.setAlpha(215)
        self.item.fill = pg.mkBrush(fill)
        self.item.border = pg.mkPen(theme.foreground, width=1)
        font = QFont()
        font.setPointSizeF(max(theme.plot_font_pt - 1, 7))
        self.item.setFont(font)
        self.item.setHtml(f"<div style='font-size:{font.pointSizeF():g}pt'>{text}</div>")
