"""A review of every built-in scene at the data level: what a picture of it can show.

A scene is a lesson shown to a room. Each path an entry draws must stay inside the scene's view,
clear of its border, at every step (a line that touches the edge looks as if it ran off the
picture), unless leaving is the lesson; and the losses the loss plot draws must span something an
axis can label.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

import numpy as np
import pytest

from gdviz.core import builtin_scene_names, load_scene, simulate, weightspace

MARGIN = 0.03
"""Clearance from the view's border, as a fraction of the view's width (x) and height (y)."""

_SADDLE = (
    "x² − y² has no bottom: a rule that leaves the ridge along y runs off for good (SGD, momentum "
    "and Nesterov until their loss is refused as diverged); leaving is the lesson"
)
MEANT_TO_LEAVE: dict[tuple[str, str], str] = {
    ("saddle-point", label): _SADDLE
    for label in ("SGD", "Momentum", "Nesterov", "AdaGrad", "AdaDelta", "RMSprop", "Adam")
}
"""Entries that leave their view or diverge on purpose, with the reason. Every other entry stays."""

NON_POSITIVE_LOSS: dict[str, str] = {
    "saddle-point": (
        "x² − y² starts at 2.25, crosses 0 between steps 26 and 60 (SGD and momentum linger "
        "within 1e-5 of it at the saddle), then falls to about -2.1e6 (SGD, momentum, Nesterov "
        "until stopped as diverged, AdaDelta) or -5.6 .. -37 (RMSprop, AdaGrad, Adam): a log axis "
        "cannot hold it and a linear one shows only the plunge; the loss plot needs a scale that "
        "crosses zero over many decades (symmetric log, or loss − loss at start on a log scale)"
    ),
}
"""Scenes whose drawn losses reach 0 or below, so a log axis cannot show them."""

FLAT_ON_PURPOSE: dict[tuple[str, str], str] = {
    ("spirals-lr", "Adam, lr 0.01"): (
        "the too-small rate sits on the spirals' plateau (0.69 to 0.64 in 1000 steps) while the "
        "rate ten times larger drops below 0.05: the flat curve is the lesson"
    ),
}
"""Entries whose drawn loss falls by less than 10% on purpose, with the reason."""

MIN_LOSS_RATIO = 3.0
"""The drawn losses of a scene on a log axis span at least this factor (max / min)."""


@functools.cache
def _run(name: str):  # noqa: ANN202
    scene = load_scene(name)
    if scene.is_network:
        # Trained in weight space and drawn on its plane, as the window shows it: the paths are
        # the projections (their true losses), and the view is the picture's.
        pic = weightspace.picture(scene)
        paths = {
            label: SimpleNamespace(
                params=pic.coords[label], loss=p.loss, diverged_at=p.diverged_at, steps=p.steps
            )
            for label, p in pic.paths.items()
        }
        return scene.replace(view=pic.view), paths
    return scene, simulate(scene)


def _clearance(scene, params: np.ndarray) -> np.ndarray:  # noqa: ANN001
    """Per step: the distance to the nearest border, as a fraction of the view's size."""
    (x0, x1), (y0, y1) = scene.view_rect()
    w, h = x1 - x0, y1 - y0
    x, y = params[:, 0], params[:, 1]
    return np.minimum.reduce([(x - x0) / w, (x1 - x) / w, (y - y0) / h, (y1 - y) / h])


def _drawn_loss(path) -> np.ndarray:  # noqa: ANN001
    """The losses the loss plot draws: every step up to the last sound one."""
    end = path.steps if path.diverged_at is None else path.diverged_at - 1
    return path.loss[: end + 1]


NAMES = builtin_scene_names()


def test_the_exceptions_name_real_scenes_and_entries() -> None:
    for name, label in MEANT_TO_LEAVE:
        assert label in {e.label for e in load_scene(name).optimizers}, (name, label)
    assert set(NON_POSITIVE_LOSS) <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_path_stays_clear_of_the_view_border(name: str) -> None:
    scene, paths = _run(name)
    problems = []
    for label, path in paths.items():
        clear = _clearance(scene, path.params)
        if (name, label) in MEANT_TO_LEAVE:
            # The exception must still be true, or it hides nothing and should go.
            assert path.diverged_at is not None or clear.min() < 0, (name, label)
            continue
        if path.diverged_at is not None:
            problems.append(f"{label} diverges at step {path.diverged_at}")
        k = int(np.argmin(clear))
        if clear[k] < MARGIN:
            problems.append(
                f"{label} at step {k} is at {tuple(np.round(path.params[k], 3))}, "
                f"{clear[k]:.1%} of the view from its border (needs {MARGIN:.0%})"
            )
    assert not problems, f"{name}: " + "; ".join(problems)


@pytest.mark.parametrize("name", NAMES)
def test_the_loss_plot_has_something_to_show(name: str) -> None:
    _, paths = _run(name)
    drawn = {label: _drawn_loss(p) for label, p in paths.items()}
    for label, loss in drawn.items():
        assert np.all(np.isfinite(loss)), (name, label)
        # Every curve moves: a flat line says nothing (unless it is the lesson, and still flat).
        moves = loss.min() < loss[0] - 0.1 * abs(loss[0])
        assert moves != ((name, label) in FLAT_ON_PURPOSE), (name, label)
    low = min(float(v.min()) for v in drawn.values())
    high = max(float(v.max()) for v in drawn.values())
    if name in NON_POSITIVE_LOSS:
        assert low <= 0.0, f"{name} is listed as reaching 0 or below, but its lowest loss is {low}"
        # What the plot has to show: a fall through zero over many decades.
        assert high > 0.0 and -low / high > 1e3, (low, high)
        return
    assert low > 0.0, f"{name}: a loss of {low} cannot go on a log axis; list the scene and why"
    assert high / low >= MIN_LOSS_RATIO, f"{name}: losses {low:.3g} .. {high:.3g} span too little"
