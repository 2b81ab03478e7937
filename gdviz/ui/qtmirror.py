"""pyqtgraph's Qt mirrors, filled on first use rather than at import.

pyqtgraph keeps its own ``pyqtgraph.Qt.QtCore``, ``QtGui`` and ``QtWidgets`` modules (so that its
patches stay out of PySide6's) and fills them at import by copying every attribute of PySide6's:
``for o in dir(src): if not hasattr(dst, o): setattr(dst, o, getattr(src, o))``. PySide6 builds
its classes lazily, on first access; that loop builds all ~720 of them: 215 ms of ``getattr``
over the three modules, ~40% of importing pyqtgraph. The window needs only some of them before
it is shown: with the mirrors it was shown 15-90 ms sooner (medians of two runs of 12
alternating quiet launches, linear-regression: 1.55 -> 1.46 s and 1.47 -> 1.455 s); importing
pyqtgraph took 0.28-0.39 s instead of 0.44-0.50 s, and building the window a little longer.

:func:`install` puts mirrors in place before pyqtgraph is imported. Each answers that copy loop
(a name PySide6 has is there; nothing is built) and hands out PySide6's class on first use,
keeping it: ``pyqtgraph.Qt.QtCore.QObject is PySide6.QtCore.QObject``, as before. What pyqtgraph
sets on a mirror stays on the mirror. Anything else that asks gets the real attribute.

If pyqtgraph is already imported, or its loop is not recognised (another version), nothing
changes but the time its import takes (tests/ui/test_qtmirror.py checks that it is recognised).
``dir()``, ``__all__`` (a star import) and ``__file__`` read as a copy's did.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

_MIRRORED = ("QtCore", "QtGui", "QtWidgets")


class _Mirror(ModuleType):
    """``pyqtgraph.Qt.<name>``: PySide6's module of that name, read through on first use."""

    def __init__(self, name: str, folder: Path | None = None) -> None:
        """``folder``: pyqtgraph's ``Qt`` package, whose ``<name>/__init__.py`` this stands for."""
        super().__init__(f"pyqtgraph.Qt.{name}")
        self.__dict__["_source_name"] = f"PySide6.{name}"
        if folder is not None:  # as pyqtgraph's own module has (the copy loop would give PySide6's)
            self.__file__ = str(folder / name / "__init__.py")
            self.__path__ = [str(folder / name)]

    def _source(self) -> ModuleType:
        return importlib.import_module(self.__dict__["_source_name"])

    def __dir__(self) -> list[str]:
        return sorted(set(dir(self._source())) | set(self.__dict__))

    def __getattr__(self, name: str) -> object:
        if name == "__all__":  # ``from pyqtgraph.Qt.QtCore import *``: everything, as a copy had
            return [n for n in self.__dir__() if not n.startswith("_")]
        if name.startswith("__"):
            raise AttributeError(name)
        caller = sys._getframe(1)  # noqa: SLF001 (the only way to know who asks)
        if caller.f_code.co_name == "_copy_attrs" and (
            caller.f_globals.get("__name__") == "pyqtgraph.Qt"
        ):
            # pyqtgraph's copy loop asks ``hasattr(mirror, name)`` of every name PySide6 has:
            # it is there, to be built when someone uses it.
            names = self.__dict__.get("_source_names")
            if names is None:
                names = self.__dict__["_source_names"] = frozenset(dir(self._source()))
            if name in names:
                return None
            raise AttributeError(name)
        value = getattr(self._source(), name)
        setattr(self, name, value)
        return value


def install() -> None:
    """Put the mirrors in place, unless pyqtgraph is imported already (or not installed)."""
    if "pyqtgraph" in sys.modules:
        return
    spec = importlib.util.find_spec("pyqtgraph")  # found, not imported
    if spec is None or not spec.submodule_search_locations:
        return
    folder = Path(next(iter(spec.submodule_search_locations))) / "Qt"
    for name in _MIRRORED:
        sys.modules.setdefault(f"pyqtgraph.Qt.{name}", _Mirror(name, folder))
