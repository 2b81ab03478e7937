"""The core stays pure: importing it (and the CLI's headless paths) loads no Qt."""

from __future__ import annotations

import subprocess
import sys

import pytest

QT = ("PySide6", "pyqtgraph", "shiboken6")


@pytest.mark.parametrize("module", ["gdviz", "gdviz.core", "gdviz.cli", "gdviz.bench"])
def test_importing_loads_no_qt(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {QT!r})\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_core_sources_do_not_name_qt_or_the_ui() -> None:
    from pathlib import Path

    import gdviz.core

    for path in Path(gdviz.core.__file__).parent.rglob("*.py"):
        text = path.read_text()
        for word in ("PySide6", "pyqtgraph", "gdviz.ui", "imageio"):
            assert f"import {word}" not in text and f"from {word}" not in text, (path, word)
