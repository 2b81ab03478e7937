"""Teaching overlays: what each optimizer's next step is made of, drawn at its head.

- gradient: the direction of steepest descent, ``−g`` (fixed length: the direction is the point);
- update: the step actually taken, ``u``, to scale (it ends where the next point is);
- velocity: the displacement momentum carries, ``−η v`` (momentum and Nesterov);
- look-ahead: Nesterov's look-ahead point ``θ − η μ v``;
- scale: the adaptive rules' effective step size per axis, as an axis-aligned ellipse whose
  semi-axes are that step size times the path's first gradient norm: it shrinks as AdaGrad's
  accumulator grows, and stretches along the axis whose gradients have been small.

Sizes are capped at a fraction of the view, so no shape ever hides the surface.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gdviz.core.teaching import StepParts, step_parts
from gdviz.ui.controller import Controller

KINDS = ("gradient", "update", "velocity", "lookahead", "scale")
TITLES = {
    "gradient": "Gradient (−g)",
    "update": "Update applied (u)",
    "velocity": "Momentum / velocity (−ηv)",
    "lookahead": "Nesterov's look-ahead point",
    "scale": "Adaptive step size per axis",
}
STYLES = {
    "gradient": ("solid", 2.2),
    "update": ("solid", 4.0),
    "velocity": ("dash", 2.6),
    "lookahead": ("ring", 2.5),
    "scale": ("dot", 2.2),
}
"""How each kind is stroked in the 2-D view, in the optimizer's own colour: the stroke says
which overlay it is (a thin arrow the gradient, a thick one the update, a dashed one the
velocity, a ring the look-ahead point, a dotted ellipse the step size)."""

COLORS = {
    "gradient": "#C00000",
    "update": "#111111",
    "velocity": "#6A3D9A",
    "lookahead": "#6A3D9A",
    "scale": "#2B2B2B",
}
GRADIENT_LENGTH = 0.1  # of the view's width
SCALE_CAP = 0.12  # an ellipse's semi-axis, at most, as a fraction of the view's width
HEAD_PX = 11  # arrowhead size in pixels


def arrow(start: np.ndarray, end: np.ndarray, px: tuple[float, float]) -> np.ndarray:
    """A polyline: the shaft, then a two-stroke head of ``HEAD_PX`` pixels (NaN-separated)."""
    d = (end - start) / np.asarray(px)
    n = float(np.hypot(*d))
    if n < 1e-9:
        return np.empty((0, 2))
    d /= n
    pts = [start, end, [np.nan, np.nan]]
    for angle in (np.radians(155), np.radians(-155)):
        c, s = np.cos(angle), np.sin(angle)
        w = np.array([c * d[0] - s * d[1], s * d[0] + c * d[1]]) * HEAD_PX * np.asarray(px)
        pts += [end, end + w, [np.nan, np.nan]]
    return np.array(pts, dtype=float)


def ellipse(center: np.ndarray, axes: np.ndarray, points: int = 48) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, points)
    return np.column_stack([center[0] + axes[0] * np.cos(t), center[1] + axes[1] * np.sin(t)])


def head_parts(controller: Controller) -> list[tuple[str, StepParts]]:
    """The next step's parts of every visible entry at the playback step."""
    out = []
    for entry in controller.scene.optimizers:
        path = controller.results.get(entry.label)
        if not entry.visible or path is None or path.steps == 0:
            continue
        k = min(controller.step, path.steps - 1)
        if path.diverged_at is not None and k >= path.diverged_at - 1:
            continue  # no step is taken from a refused point
        out.append((entry.label, step_parts(path, entry, controller.scene.convention, k)))
    return out


def geometry_by_entry(
    controller: Controller,
    rect: tuple[tuple[float, float], tuple[float, float]],
    px: tuple[float, float],
    kinds: set[str],
) -> dict[str, dict[str, np.ndarray]]:
    """For each enabled kind and each visible entry, the NaN-separated polyline (or points, for
    look-ahead) to draw at that entry's head, in that entry's colour."""
    (x0, x1), _ = rect
    width = x1 - x0
    out: dict[str, dict[str, np.ndarray]] = {kind: {} for kind in kinds}
    for label, p in head_parts(controller):
        path = controller.results[label]
        if "gradient" in kinds:
            g = float(np.hypot(*p.grad))
            if g > 0:
                end = p.point - p.grad / g * GRADIENT_LENGTH * width
                out["gradient"][label] = arrow(p.point, end, px)
        if "update" in kinds:
            out["update"][label] = arrow(p.point, p.point + p.update, px)
        if "velocity" in kinds and p.velocity is not None:
            out["velocity"][label] = arrow(p.point, p.point + p.velocity, px)
        if "lookahead" in kinds and p.lookahead is not None:
            out["lookahead"][label] = p.lookahead[None, :]
        if "scale" in kinds and p.adaptive:  # the rule's own flag
            g0 = float(np.hypot(*path.grads[0])) or 1.0
            axes = np.minimum(p.scale * g0, SCALE_CAP * width)
            out["scale"][label] = ellipse(p.point, axes)
    return out


def geometry(
    controller: Controller,
    rect: tuple[tuple[float, float], tuple[float, float]],
    px: tuple[float, float],
    kinds: set[str],
) -> dict[str, np.ndarray]:
    """For each enabled kind, every entry's shape in one NaN-separated polyline (or points)."""
    gap = np.array([[np.nan, np.nan]])
    out = {}
    for kind, shapes in geometry_by_entry(controller, rect, px, kinds).items():
        chunks = [
            c
            for shape in shapes.values()
            for c in ((shape,) if kind == "lookahead" else (shape, gap))
        ]
        out[kind] = np.concatenate(chunks) if chunks else np.empty((0, 2))
    return out


class OverlaySet:
    """Which overlays are on, shared by the 2-D and 3-D views; each view redraws on change."""

    def __init__(self) -> None:
        self.enabled: set[str] = set()
        self.listeners: list[Callable[[], None]] = []

    def set(self, kind: str, on: bool) -> None:
        (self.enabled.add if on else self.enabled.discard)(kind)
        for listener in self.listeners:
            listener()
