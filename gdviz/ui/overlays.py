"""Teaching overlays: what each optimizer's next step is made of, drawn at its head.

- gradient: the direction of steepest descent, ``−g`` (fixed length: the direction is the point);
- update: the step actually taken, ``u``, to scale (it ends where the next point is);
- velocity: the displacement momentum carries, ``−η v`` (momentum and Nesterov);
- look-ahead: Nesterov's look-ahead point ``θ − η μ v``;
- scale: the adaptive rules' effective step size per axis, as an axis-aligned ellipse whose
  semi-axes are that step size times the path's first gradient norm: it shrinks as AdaGrad's
  accumulator grows, and stretches along the axis whose gradients have been small;
- decay: the decoupled weight decay's part of the update, ``−η λ θ`` (AdamW, Lion, any entry
  with ``weight_decay``): a pull straight toward the origin, to scale with an open head;
- model: Newton's local quadratic model ``m(θ) = f + gᵀ(θ − θ_k) + ½ (θ − θ_k)ᵀ M (θ − θ_k)``,
  drawn as its level set through the head, ``m(θ) = f(θ_k)``: an ellipse centred on the model's
  minimum (where the step with η = 1 lands, marked +), its axes along M's eigenvectors. The
  model agrees with the loss's slope at the head, so the ellipse touches the loss's own contour
  there; how far its shape is from the real contours is how far Newton's step is from the
  truth. An indefinite M (undamped Newton by a saddle) has a saddle for a model: its level set
  is a hyperbola, and the + its saddle point, where the step heads.

Sizes are capped at a fraction of the view, so no shape ever hides the surface.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gdviz.core.teaching import StepParts, quadratic_model, step_parts
from gdviz.ui.controller import Controller

KINDS = ("gradient", "update", "velocity", "lookahead", "scale", "decay", "model")
TITLES = {
    "gradient": "Gradient (−g)",
    "update": "Update applied (u)",
    "velocity": "Momentum / velocity (−ηv)",
    "lookahead": "Nesterov's look-ahead point",
    "scale": "Adaptive step size per axis",
    "decay": "Weight decay's pull (−ηλθ)",
    "model": "Newton's quadratic model",
}
KEYS = {
    "gradient": "G",
    "update": "U",
    "velocity": "M",
    "lookahead": "L",
    "scale": "A",
    "decay": "W",
    "model": "H",
}
"""Each kind's key in View > Overlays (W: weight decay; H: the Hessian's model)."""

STYLES = {
    "gradient": ("solid", 2.2),
    "update": ("solid", 4.0),
    "velocity": ("dash", 2.6),
    "lookahead": ("ring", 2.5),
    "scale": ("dot", 2.2),
    "decay": ("dashdot", 2.6),
    "model": ("dashdot", 2.0),
}
"""How each kind is stroked in the 2-D view, in the optimizer's own colour: the stroke says
which overlay it is (a thin arrow the gradient, a thick one the update, a dashed one the
velocity, a ring the look-ahead point, a dotted ellipse the step size, a dash-dot arrow with an
open triangular head the weight decay, a dash-dot ellipse with a + Newton's model)."""

GRADIENT_LENGTH = 0.1  # of the view's width
SCALE_CAP = 0.12  # an ellipse's semi-axis, at most, as a fraction of the view's width
HEAD_PX = 11  # arrowhead size in pixels
DECAY_MIN_PX = 36
"""The decay arrow's least length on screen. Its true size, η λ |θ|, is often under a pixel
(AdamW's λ = 10⁻⁴ at η = 0.1 and |θ| = 2: 2·10⁻⁵); drawn shorter than its head it would be a
dot. Shorter ones are drawn this long, pointing the same way (their size is in the equations)."""
MODEL_CAP = 1.5
"""The model's level set, at most this many view widths across (semi-axis): far from the
minimum the ellipse through the head can be huge, and a polyline of it would cut across the
view as straight chords. A larger one is drawn shrunk about its centre: the same shape."""
MODEL_POINTS = 160
CENTRE_PX = 7  # half the size of the + at the model's centre, in pixels


def arrow(
    start: np.ndarray, end: np.ndarray, px: tuple[float, float], *, open_head: bool = False
) -> np.ndarray:
    """A polyline: the shaft, then a head of ``HEAD_PX`` pixels (NaN-separated): two strokes,
    or with ``open_head`` an outlined triangle (the decay's arrow: told apart from the others)."""
    d = (end - start) / np.asarray(px)
    n = float(np.hypot(*d))
    if n < 1e-9:
        return np.empty((0, 2))
    d /= n
    pts = [start, end, [np.nan, np.nan]]
    wings = []
    for angle in (np.radians(155), np.radians(-155)):
        c, s = np.cos(angle), np.sin(angle)
        w = np.array([c * d[0] - s * d[1], s * d[0] + c * d[1]]) * HEAD_PX * np.asarray(px)
        wings.append(end + w)
    if open_head:  # three strokes, each shorter than a dash: a dashed pen draws them whole
        for a, b in ((end, wings[0]), (wings[0], wings[1]), (wings[1], end)):
            pts += [a, b, [np.nan, np.nan]]
    else:
        for wing in wings:
            pts += [end, wing, [np.nan, np.nan]]
    return np.array(pts, dtype=float)


def ellipse(center: np.ndarray, axes: np.ndarray, points: int = 48) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, points)
    return np.column_stack([center[0] + axes[0] * np.cos(t), center[1] + axes[1] * np.sin(t)])


def decay_arrow(point: np.ndarray, decay: np.ndarray, px: tuple[float, float]) -> np.ndarray:
    """The decay's pull ``−η λ θ`` at ``point``: to scale, or ``DECAY_MIN_PX`` long if shorter."""
    d = np.asarray(decay, dtype=float)
    on_screen = float(np.hypot(*(d / np.asarray(px))))
    if not np.isfinite(on_screen) or on_screen < 1e-9:
        return np.empty((0, 2))
    if on_screen < DECAY_MIN_PX:
        d = d * (DECAY_MIN_PX / on_screen)
    return arrow(point, point + d, px, open_head=True)


def model_curve(
    point: np.ndarray, centre: np.ndarray, curvature: np.ndarray, cap: float
) -> np.ndarray:
    """The level set through ``point`` of the quadratic ``½ (θ − centre)ᵀ M (θ − centre)``.

    With ``M = V diag(λ) Vᵀ`` (``np.linalg.eigh``) and ``e = Vᵀ(θ − centre)``, the level through
    ``point`` is ``λ₁ e₁² + λ₂ e₂² = 2c``, ``2c = (point − centre)ᵀ M (point − centre)``: an
    ellipse with semi-axes ``√(2c / λᵢ)`` when both λ are positive, a hyperbola (both branches,
    out to ``cap`` from the centre) when they differ in sign. Semi-axes over ``cap`` are
    shrunk about the centre (same shape). Empty when M is singular or the level is 0.
    """
    m = 0.5 * (np.asarray(curvature, dtype=float) + np.asarray(curvature, dtype=float).T)
    lam, vecs = np.linalg.eigh(m)
    offset = np.asarray(point, dtype=float) - centre
    level = float(offset @ m @ offset)  # 2c
    scale = float(np.max(np.abs(lam)))
    if not np.isfinite(level) or scale == 0 or np.min(np.abs(lam)) < 1e-12 * scale:
        return np.empty((0, 2))
    if abs(level) < 1e-300:
        return np.empty((0, 2))
    if lam[0] > 0 or lam[1] < 0:  # a bowl (or, undamped by a peak, a dome): an ellipse
        t = np.linspace(0, 2 * np.pi, MODEL_POINTS)
        axes = np.sqrt(level / lam)
        shrink = min(1.0, cap / float(axes.max()))
        local = np.column_stack([axes[0] * np.cos(t), axes[1] * np.sin(t)]) * shrink
        return centre + local @ vecs.T
    # λ₀ < 0 < λ₁: λ₁ e₁² − |λ₀| e₀² = 2c. The axis whose term has the level's sign is the
    # one the branches cross; the other runs along the hyperbola.
    across, along = (1, 0) if level > 0 else (0, 1)
    a = np.sqrt(abs(level / lam[across]))  # the branches' vertices: ±a on the crossing axis
    b = np.sqrt(abs(level / lam[along]))
    reach = max(min(np.arccosh(max(cap / a, 1.0)), np.arcsinh(cap / b)), 0.5)
    s = np.linspace(-reach, reach, MODEL_POINTS // 2)
    pieces = []
    for sign in (1.0, -1.0):
        local = np.zeros((len(s), 2))
        local[:, across] = sign * a * np.cosh(s)
        local[:, along] = b * np.sinh(s)
        pieces += [centre + local @ vecs.T, np.full((1, 2), np.nan)]
    return np.concatenate(pieces[:-1])


def plus(centre: np.ndarray, px: tuple[float, float]) -> np.ndarray:
    """A + of ``CENTRE_PX`` pixels at ``centre`` (NaN-separated strokes)."""
    dx, dy = CENTRE_PX * px[0], CENTRE_PX * px[1]
    x, y = centre
    return np.array([[x - dx, y], [x + dx, y], [np.nan, np.nan], [x, y - dy], [x, y + dy]])


def _model(parts: StepParts) -> tuple[np.ndarray, np.ndarray] | None:
    """Newton's model at the head; None for other rules and for a singular M (no centre)."""
    try:
        return quadratic_model(parts)
    except np.linalg.LinAlgError:
        return None


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
        if "decay" in kinds and p.decay is not None:
            shape = decay_arrow(p.point, p.decay, px)
            if len(shape):
                out["decay"][label] = shape
        if "model" in kinds and (model := _model(p)) is not None:
            centre, curvature = model
            if np.all(np.isfinite(centre)):
                curve = model_curve(p.point, centre, curvature, MODEL_CAP * width)
                gap = np.full((1, 2), np.nan)
                out["model"][label] = np.concatenate([curve, gap, plus(centre, px)])
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
