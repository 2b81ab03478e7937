"""The hand-written marching squares: contours lie on their level and close around a bowl."""

from __future__ import annotations

import numpy as np

from gdviz.ui.items import contour_lines


def test_contours_of_a_bowl_are_circles_on_their_levels() -> None:
    xs = np.linspace(-2.0, 2.0, 81)
    ys = np.linspace(-1.5, 2.5, 81)
    gx, gy = np.meshgrid(xs, ys)
    values = gx**2 + (gy - 0.5) ** 2
    for level in (0.25, 1.0, 1.9):
        x, y = contour_lines(values, xs, ys, np.array([level]))
        pts = np.column_stack([x, y])
        pts = pts[np.isfinite(pts).all(axis=1)]
        radius = np.hypot(pts[:, 0], pts[:, 1] - 0.5)
        # Linear interpolation along cell edges: within a fraction of a cell of the true circle.
        assert np.abs(radius - np.sqrt(level)).max() < 0.02
        # The circle is closed: the segments cover every direction around the centre.
        angles = np.arctan2(pts[:, 1] - 0.5, pts[:, 0])
        assert np.histogram(angles, bins=36, range=(-np.pi, np.pi))[0].min() > 0


def test_no_level_inside_the_range_gives_an_empty_line() -> None:
    xs = ys = np.linspace(0.0, 1.0, 5)
    x, y = contour_lines(np.zeros((5, 5)), xs, ys, np.array([1.0]))
    assert len(x) == 1 and np.isnan(x[0]) and np.isnan(y[0])
