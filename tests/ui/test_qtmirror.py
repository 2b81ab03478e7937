"""pyqtgraph's Qt mirrors are filled on first use (gdviz.ui.qtmirror), and hand out PySide6's own
classes, as pyqtgraph's copy did."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types

import pytest

from gdviz.ui import qtmirror

PROBE = """
import json, sys
import PySide6.QtWidgets
import gdviz.ui
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets
def star(module):
    space = {}
    exec(f"from {module.__name__} import *", space)
    return space
before = {n: len(vars(sys.modules["pyqtgraph.Qt." + n])) for n in ("QtCore", "QtGui", "QtWidgets")}
everything = {n: len(dir(getattr(PySide6, n))) for n in ("QtCore", "QtGui", "QtWidgets")}
app = QtWidgets.QApplication([])
plot = pg.PlotWidget()
plot.plot([1.0, 2.0, 4.0])
print(json.dumps({
    "kind": type(QtWidgets).__name__,
    "before": before,
    "everything": everything,
    "same": [QtCore.QObject is PySide6.QtCore.QObject, QtGui.QPen is PySide6.QtGui.QPen,
             QtWidgets.QWidget is PySide6.QtWidgets.QWidget, pg.QtCore.Qt is PySide6.QtCore.Qt],
    "opengl": QtWidgets.QOpenGLWidget.__name__,
    "kept_apart": hasattr(PySide6.QtWidgets, "QOpenGLWidget"),
    "dir": sorted(set(dir(PySide6.QtWidgets)) - set(dir(QtWidgets))),
    "star": sorted(set(n for n in dir(PySide6.QtWidgets) if not n.startswith("_"))
                   - set(star(QtWidgets))),
    "file": __import__("pathlib").Path(QtCore.__file__).parts[-4:],
}))
"""


def test_the_mirrors_build_no_class_at_import_and_hand_out_pyside_s_own() -> None:
    """In a fresh interpreter (pyqtgraph is imported once per process): after ``import
    pyqtgraph`` the mirrors hold a fraction of PySide6's names (the copy loop built every
    class), and what they hand out is PySide6's, with pyqtgraph's own additions on the
    mirror only. Whoever lists them (``dir``, a star import) gets every name."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["kind"] == "_Mirror"
    for name, count in seen["before"].items():
        # Recognised pyqtgraph's loop: only what pyqtgraph's import used was built.
        assert count < 0.5 * seen["everything"][name], (name, count)
    assert seen["same"] == [True, True, True, True]
    assert seen["opengl"] == "QOpenGLWidget"
    assert not seen["kept_apart"]
    # dir(), a star import and __file__ read as pyqtgraph's copy did.
    assert seen["dir"] == [] and seen["star"] == []
    assert seen["file"] == ["pyqtgraph", "Qt", "QtCore", "__init__.py"]


def test_a_mirror_answers_the_copy_loop_without_building_and_reads_through_after() -> None:
    """A source module that builds its classes on first access (as PySide6's do): the copy
    loop, run as pyqtgraph.Qt's ``_copy_attrs``, builds nothing; a later read builds and keeps."""
    built: list[str] = []
    pen = object()
    source = types.ModuleType("PySide6.QtGui")
    source.__dir__ = lambda: ["QPen"]  # type: ignore[method-assign]
    source.__getattr__ = lambda name: built.append(name) or {"QPen": pen}[name]  # type: ignore[attr-defined]
    mirror = qtmirror._Mirror("QtGui")
    mirror.__dict__["_source"] = lambda: source

    def _copy_attrs(src: object, dst: object) -> None:  # pyqtgraph's loop, under its name
        for o in ("QPen", "QNothing"):
            if not hasattr(dst, o):
                setattr(dst, o, "copied")

    loop = types.FunctionType(_copy_attrs.__code__, {"__name__": "pyqtgraph.Qt"})
    loop(source, mirror)
    assert built == []  # answered from the names alone
    assert vars(mirror)["QNothing"] == "copied"  # (not PySide6's: copied, as before)
    assert "QPen" not in vars(mirror)
    assert mirror.QPen is pen  # read through on first use, and kept
    assert built == ["QPen"] and vars(mirror)["QPen"] is pen
    with pytest.raises(AttributeError):  # what no module has
        _ = qtmirror._Mirror("QtCore").__wrapped__
