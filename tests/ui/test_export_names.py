"""The file an export writes, from the name typed into its save dialog."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from gdviz.ui.dialogs import confirm_target


@pytest.fixture
def warnings(qtbot, monkeypatch: pytest.MonkeyPatch) -> list[str]:  # noqa: ANN001
    said: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: said.append(text))
    return said


def test_a_name_of_another_export_kind_is_refused_with_the_way_to_make_it(
    tmp_path: Path, warnings: list[str]
) -> None:
    # The video export once wrote "talk.gif.mp4" for "talk.gif".
    assert confirm_target(None, str(tmp_path / "talk.gif"), "mp4") is None
    assert "talk.gif names a GIF file" in warnings[0]
    assert confirm_target(None, str(tmp_path / "talk.svg"), "mp4") is None
    assert "talk.svg names an SVG file" in warnings[1]
    assert "File > Export GIF… for a GIF" in warnings[0] and ".mp4" in warnings[0]
    assert not list(tmp_path.iterdir())  # nothing written, nothing asked


def test_the_kinds_own_suffix_is_kept_and_a_bare_name_gets_it(
    tmp_path: Path, warnings: list[str]
) -> None:
    assert confirm_target(None, str(tmp_path / "talk.MP4"), "mp4") == tmp_path / "talk.MP4"
    assert confirm_target(None, str(tmp_path / "talk"), "mp4") == tmp_path / "talk.mp4"
    # A suffix that is no export kind is part of the name.
    assert confirm_target(None, str(tmp_path / "week.3"), "gif") == tmp_path / "week.3.gif"
    assert confirm_target(None, "", "gif") is None
    assert warnings == []
