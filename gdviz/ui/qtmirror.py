"""pyqtgraph's Qt mirrors, filled on first use rather than at import.

pyqtgraph keeps its own ``pyqtgraph.Qt.QtCore``, ``QtGui`` and ``QtWidgets`` modules (so that its
patches stay out of PySide6's) and fills them at import by copying every attribute of PySide6's:
``for o in dir(src): if not hasattr(dst, o): setattr(dst, o, getattr(src, o))``. PySide6 builds
its classes lazily, on first access; that loop builds all ~720 of them: 215 ms of ``getattr``
over the three modules, ~40% of importing pyqtgraph. The window needs only some of them before
it is shown: with the mirrors it was shown ~90 ms sooner (medians of 12 alternating quiet
launches, linear-regression: 1.55 s before, 1.46 s after).

:func:`install` puts mirrors in place before pyqtgraph is imported. Each answers that copy loop
(a name PySide6 has is there; nothing is built) and hands out PySide6's class on first use,
keeping it: ``pyqtgraph.Qt.QtCore.QObject is PySide6.QtCore.QObject``, as before. What pyqtgraph
sets on a mirror stays on the mirror. Anything else that asks gets the real attribute.

If pyqtgraph is already imported, or its loop is not recognised (another version), nothing
changes but the time its import takes (tests/ui/test_qtmirror.py checks that it is recognised).
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

_MIRRORED = ("QtCore", "QtGui", "QtWidgets")


class _Mirror(ModuleType):
    """``pyqtgraph.Qt.<name>``: PySide6's module of that name, read through on first use."""

    def __init__(self, name: str) -> None:
        super().__init__(f"pyqtgraph.Qt.{name}")
        self.__dict__["_source_name"] = f"PySide6.{name}"

    def _source(self) -> ModuleType:
        return importlib.import_module(self.__dict__["_source_name"])

    def __getattr__(self, name: str) -> object:
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
    """Put the mirrors in place, unless pyqtgraph is imported already."""
    if "pyqtgraph" in sys.modules:
        return
    for name in _MIRRORED:
        sys.modules.setdefault(f"pyqtgraph.Qt.{name}", _Mirror(name))
