"""Cyclic garbage is collected on the GUI thread only while a window lives (a collection on the
maps' worker finalised Qt objects and crashed a CI run)."""

from __future__ import annotations

import gc
import weakref

from PySide6.QtCore import QObject

from gdviz.ui import gcguard


class _Cycle:
    pass


def test_the_gui_thread_collects_while_an_owner_lives_and_gives_it_back(qtbot) -> None:  # noqa: ANN001
    owner = QObject()
    gcguard.hold(owner)
    assert gcguard.active() and not gc.isenabled()
    cycle = _Cycle()
    cycle.me = cycle
    ref = weakref.ref(cycle)
    del cycle
    junk = [[i] for i in range(5000)]  # past generation 0's threshold: the next tick collects
    qtbot.waitUntil(lambda: ref() is None, timeout=5000)
    del junk
    holders = gcguard._holders  # (other windows' deferred deletions ran during the wait)
    del owner  # a parentless QObject: destroyed now, and its hold released
    assert gcguard._holders == holders - 1
    assert gc.isenabled() == (gcguard._holders == 0)


def test_a_window_holds_it(qapp) -> None:  # noqa: ANN001
    from tests.ui.windows import quiet_window

    with quiet_window(qapp, "saddle-point"):
        assert gcguard.active()
