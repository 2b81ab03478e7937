"""The scene review, as pictures: every built-in scene rendered as a recording shows it.

The data-level half (paths clear of the border, captions' claims) is tests/core; here the frame a
lecturer records is checked: every optimizer's colour shows on the surface in the final frame,
minimum markers sit above the heads, a path that leaves the view is marked where it leaves, and
the loss axis carries a few readable labels.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRect, Qt

from gdviz.core import builtin_scene_names, load_scene

SIZE = (1280, 720)


@pytest.fixture(scope="module")
def app():  # noqa: ANN201
    from gdviz.ui.app import _application

    return _application()


def _lecture(name: str):  # noqa: ANN202
    from gdviz.ui.recording import LectureView, video_theme

    scene = load_scene(name)
    lecture = LectureView(scene, video_theme(SIZE[1]))
    lecture.setFixedSize(*SIZE)
    lecture.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    lecture.show()
    lecture.surface.fit_view()
    return scene, lecture


def _region(image: np.ndarray, widget, top) -> np.ndarray:  # noqa: ANN001
    r = QRect(widget.mapTo(top, QPoint(0, 0)), widget.size())
    return image[r.top() : r.bottom(), r.left() : r.right()]


def _hex_rgb(color: str) -> np.ndarray:
    h = color.lstrip("#")
    return np.array([int(h[i : i + 2], 16) for i in (0, 2, 4)], dtype=float)


@pytest.mark.parametrize("name", builtin_scene_names())
def test_every_scene_reads_in_its_final_frame(app, name: str) -> None:  # noqa: ANN001
    scene, lecture = _lecture(name)
    try:
        image = lecture.frame(scene.steps)
        ctl = lecture.controller
        view = lecture.surface
        surface = _region(image, view.viewport(), lecture).reshape(-1, 3).astype(float)
        # Every optimizer's colour is on the surface: no path is wholly hidden by another.
        for label, color in ctl.colors(view.theme).items():
            if not ctl.scene.entry(label).visible:
                continue
            near = np.abs(surface - _hex_rgb(color)).max(axis=1) < 24
            assert near.sum() >= 40, (name, label, int(near.sum()))
        # A reached minimum stays visible: its marker is drawn above the heads.
        assert view.minima.zValue() > view.heads.zValue()
        # A path that leaves the view is marked on the border where it leaves.
        (x0, x1), (y0, y1) = view.visible_rect()
        leaving = 0
        for path in ctl.results.values():
            p = path.params
            inside = (p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 1] >= y0) & (p[:, 1] <= y1)
            leaving += bool(inside[0] and not inside.all())
        marks = view.exits.getData()
        assert len(marks[0]) == leaving, name
        for x, y in zip(*marks, strict=True):
            on_border = min(abs(x - x0), abs(x - x1), abs(y - y0), abs(y - y1))
            assert on_border < 1e-9 * max(1.0, abs(x1 - x0)), (name, x, y)
        # The loss axis: three or more readable labels, plain numbers.
        loss = lecture.loss
        lo, hi = loss.plot.getViewBox().viewRange()[1]
        labels = [
            s
            for spacing, values in loss.axis.tickValues(lo, hi, loss.height())
            for s in loss.axis.tickStrings(values, 1.0, spacing)
            if s
        ]
        assert len(labels) >= 3, (name, labels)
    finally:
        lecture.close()
        lecture.deleteLater()


def test_the_saddle_marks_its_escapes_and_its_losses_fall_through_zero(app) -> None:  # noqa: ANN001
    scene, lecture = _lecture("saddle-point")
    try:
        lecture.frame(scene.steps)
        assert len(lecture.surface.exits.getData()[0]) >= 3
        assert lecture.loss.scale == "symlog"  # losses below zero: a symmetric log axis
        lo, hi = lecture.loss.plot.getViewBox().viewRange()[1]
        labels = [
            s
            for spacing, values in lecture.loss.axis.tickValues(lo, hi, 400)
            for s in lecture.loss.axis.tickStrings(values, 1.0, spacing)
            if s
        ]
        assert "0" in labels and any(s.startswith("−") for s in labels), labels
    finally:
        lecture.close()
        lecture.deleteLater()
