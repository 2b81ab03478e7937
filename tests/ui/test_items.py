"""The drawing items' own arithmetic: thinning paths, the light curve's bounds and breaks."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from hypothesis import given, settings
from hypothesis import strategies as st

from gdviz.ui.items import Curve, thin_indices, thin_path, thinned_prefix


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 80),
    seed=st.integers(0, 2**16),
    spacing=st.sampled_from([0.0, 0.01, 0.3, 2.0]),
)
def test_a_thinned_prefix_is_the_prefix_thinned(n: int, seed: int, spacing: float) -> None:
    rng = np.random.default_rng(seed)
    xy = np.cumsum(rng.normal(scale=rng.choice([0.01, 0.5]), size=(n, 2)), axis=0)
    kept = thin_indices(xy, spacing)
    for k in range(n):
        np.testing.assert_array_equal(thinned_prefix(xy, kept, k), thin_path(xy[: k + 1], spacing))


def test_thinning_keeps_the_ends_and_drops_points_piled_on_a_pixel() -> None:
    xy = np.concatenate([np.linspace([0, 0], [1, 0], 11), np.full((200, 2), [1.0, 0.0])])
    thin = thin_path(xy, 0.05)
    assert len(thin) == 12  # eleven along the line, and the last point
    np.testing.assert_array_equal(thin[0], xy[0])
    np.testing.assert_array_equal(thin[-1], xy[-1])


def test_curve_bounds_follow_the_finite_data_and_non_finite_points_break_it(qtbot) -> None:  # noqa: ANN001
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    curve = Curve(pg.mkPen("#0072B2", width=4))
    plot.addItem(curve)
    curve.setData([0.0, 1.0, np.nan, 3.0, 4.0], [1.0, 2.0, 5.0, -1.0, np.inf])
    assert curve.dataBounds(0) == (0.0, 3.0)  # (nan, 5) and (4, inf) are not points
    assert curve.dataBounds(1) == (-1.0, 2.0)
    x, y = curve.getData()
    assert len(x) == len(y) == 5
    # Two runs: (0, 1)-(1, 2) and the lone (3, -1); nothing is drawn through the gap.
    path = curve._path
    moves = [i for i in range(path.elementCount()) if path.elementAt(i).isMoveTo()]
    assert len(moves) == 2
    rect = curve.boundingRect()
    assert rect.left() < 0.0 and rect.right() > 3.0  # padded by the pen's half width
    curve.setData([], [])
    assert curve.dataBounds(0) == (None, None)
    assert curve.boundingRect().isEmpty()


def test_heads_are_painted_at_their_points_in_their_colours_at_a_fixed_pixel_size(qtbot) -> None:  # noqa: ANN001
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QColor

    from gdviz.ui.items import Heads

    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.resize(400, 400)
    plot.setRange(xRange=(0, 10), yRange=(0, 10), padding=0)
    heads = Heads()
    plot.addItem(heads)
    plot.show()
    qtbot.waitExposed(plot)
    heads.setData(pos=np.array([[2.0, 2.0], [7.0, 8.0]]), brush=["#D55E00", "#0072B2"], size=14)
    image = plot.grab().toImage()
    vb = plot.getViewBox()
    for (x, y), colour in (((2.0, 2.0), "#d55e00"), ((7.0, 8.0), "#0072b2")):
        at = plot.mapFromScene(vb.mapViewToScene(QPointF(x, y)))
        assert QColor(image.pixel(at.x(), at.y())).name() == colour
        # 14 px across whatever the zoom: 4 px off the centre is still the head, 12 px is not.
        assert QColor(image.pixel(at.x() + 4, at.y())).name() == colour
        assert QColor(image.pixel(at.x() + 12, at.y())).name() != colour
    assert heads.boundingRect().contains(QPointF(7.0, 8.0))
    heads.setData([])
    assert len(heads.getData()[0]) == 0 and heads.boundingRect().isEmpty()
