"""File > Export in the window: every format, the last choices offered again, no silent overwrite."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def window(qtbot):  # noqa: ANN001, ANN201
    from gdviz.core import parse_scene
    from gdviz.ui.app import _application
    from gdviz.ui.main_window import MainWindow

    _application()
    scene = parse_scene(
        'title = "bowl"\nsteps = 20\nstart = [1.0, 1.0]\n[problem]\nname = "quadratic"\n'
        '[[optimizer]]\nname = "sgd"\nlearning_rate = 0.1\n'
    )
    win = MainWindow(scene, background=False)
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()  # notices go to the status bar (a hidden one would make them modal boxes)
    return win


def test_the_file_menu_offers_every_format(window) -> None:  # noqa: ANN001
    file_menu = window.menuBar().actions()[0].menu()
    texts = " ".join(a.text().replace("&", "") for a in file_menu.actions())
    for fmt in ("MP4", "GIF", "PNG", "SVG", "PDF", "CSV"):
        assert fmt in texts


def test_an_svg_export_asks_before_replacing_and_remembers_the_choices(
    window,  # noqa: ANN001
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    from gdviz.ui.dialogs import ExportDialog

    offered: list[tuple[str, int]] = []
    answers: list[QMessageBox.StandardButton] = []

    def accept(dialog: ExportDialog) -> int:
        offered.append((dialog.size.currentText(), dialog.fps.value()))
        dialog.size.setCurrentText("960x540")
        dialog.fps.setValue(12)
        return ExportDialog.DialogCode.Accepted

    def save_as(parent, title, default, pattern):  # noqa: ANN001, ANN202
        return str(tmp_path / "fig"), pattern  # typed without the suffix

    def question(*args: object) -> QMessageBox.StandardButton:
        return answers.pop(0)

    monkeypatch.setattr(ExportDialog, "exec", accept)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(save_as))
    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    errors: list[str] = []
    monkeypatch.setattr(window, "show_error", errors.append)
    target = tmp_path / "fig.svg"
    target.write_text("keep me")
    answers.append(QMessageBox.StandardButton.No)
    window.export("SVG")
    assert target.read_text() == "keep me" and answers == []  # asked, and declined
    answers.append(QMessageBox.StandardButton.Yes)
    window.export("SVG")
    assert target.read_bytes().startswith(b"<?xml")
    assert window.statusBar().currentMessage().startswith("Wrote fig.svg (vector figure, 960x540")
    window.export("GIF")  # the size is offered again; a GIF's frame rate is its own
    assert offered[-1] == ("960x540", 15)
    assert (tmp_path / "fig.gif").exists()
    answers.append(QMessageBox.StandardButton.Yes)  # fig.gif exists now: asked again
    window.export("GIF")
    assert offered[-1] == ("960x540", 12) and answers == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.gif", "fig.svg"]
    assert errors == []
