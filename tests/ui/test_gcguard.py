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


def test_the_last_owner_may_go_after_qt_deleted_the_timer(qtbot, monkeypatch) -> None:  # noqa: ANN001
    """At interpreter exit PySide deletes the collector's parentless timer before a window that
    was still open: releasing the hold then must not raise (it did: "already deleted")."""
    import shiboken6

    was_enabled = gc.isenabled()
    monkeypatch.setattr(gcguard, "_collector", None)  # a hold of its own (others' windows live)
    monkeypatch.setattr(gcguard, "_holders", 0)
    owner = QObject()
    gcguard.hold(owner)
    timer = gcguard._collector.timer
    shiboken6.delete(timer)  # as Qt's own teardown does at exit
    assert not shiboken6.isValid(timer)
    errors: list[BaseException] = []
    monkeypatch.setattr("sys.excepthook", lambda kind, value, tb: errors.append(value))
    del owner  # destroyed now: the release runs from its destroyed signal
    assert errors == [] and gcguard._collector is None and gc.isenabled()
    if not was_enabled:
        gc.disable()  # the windows of other tests still collect on their timer
