"""Windows shared by the tests of one module."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest


@contextlib.contextmanager
def quiet_window(qapp, scene_name: str) -> Iterator:  # noqa: ANN001
    """A window on a built-in scene for a whole module, whose message boxes are collected in
    ``win.messages`` (and checked where expected) instead of stopping a test as modal dialogs."""
    from PySide6.QtWidgets import QMessageBox

    from gdviz.core import load_scene
    from gdviz.ui.main_window import MainWindow

    win = MainWindow(load_scene(scene_name), background=False)
    win.resize(1400, 900)
    win.show()
    qapp.processEvents()
    with pytest.MonkeyPatch.context() as patch:
        win.messages = []
        patch.setattr(QMessageBox, "warning", lambda parent, title, text: win.messages.append(text))
        patch.setattr(
            QMessageBox, "information", lambda parent, title, text: win.messages.append(text)
        )
        yield win
    win.controller.shutdown()
    win.close()
    win.deleteLater()
