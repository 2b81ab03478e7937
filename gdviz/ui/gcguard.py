"""Python's cyclic garbage collector runs on the GUI thread only, while a window is open.

The window computes on two Python threads (the compile pool, the maps' worker). When a collection
starts on one of them it may finalise Qt objects that belong to the GUI thread, and Qt crashes:
a CI run segfaulted "Garbage-collecting" inside a basin map's trace on the maps' worker. pyqtgraph's
``GarbageCollector`` turns automatic collection off and collects on a GUI-thread timer instead;
this holds it while any window lives and gives automatic collection back after the last one.
"""

from __future__ import annotations

import gc

import shiboken6
from pyqtgraph.util.garbage_collector import GarbageCollector
from PySide6.QtCore import QObject

INTERVAL_S = 0.5
"""How often the GUI thread collects (pyqtgraph's check: a generation only when it is due)."""

_collector: GarbageCollector | None = None
_holders = 0


def hold(owner: QObject) -> None:
    """Collect on the GUI thread only until ``owner`` is destroyed (call on the GUI thread)."""
    global _collector, _holders
    if _collector is None:
        _collector = GarbageCollector(interval=INTERVAL_S)
    _holders += 1
    owner.destroyed.connect(_release)


def _release(*_: object) -> None:
    global _collector, _holders
    _holders -= 1
    if _holders <= 0 and _collector is not None:
        # At interpreter exit PySide deletes the timer (it has no parent) before a window that
        # was still open goes: stopping it then raised "Internal C++ object already deleted".
        if shiboken6.isValid(_collector.timer):
            _collector.timer.stop()
        _collector = None
        _holders = 0
        gc.enable()


def active() -> bool:
    """Whether automatic collection is off and the GUI thread collects."""
    return _collector is not None and not gc.isenabled()
