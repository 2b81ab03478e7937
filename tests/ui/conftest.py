"""Window fixtures: offscreen, synchronous computing, no mouse-rate limit."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def window(qtbot):  # noqa: ANN001, ANN201
    import pyqtgraph as pg

    from gdviz.core import load_scene
    from gdviz.ui.app import _application
    from gdviz.ui.main_window import MainWindow

    _application()
    # pyqtgraph drops mouse moves closer than 10 ms apart; synthetic drags are faster than that.
    pg.setConfigOptions(mouseRateLimit=-1)
    win = MainWindow(load_scene("linear-regression"), background=False)
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    win.controller.pause()
    win.controller.set_step(win.controller.steps)
    yield win
    win.controller.shutdown()
