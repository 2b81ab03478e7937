"""The start-up card: what it reads and says before the core is loaded."""

from __future__ import annotations

from pathlib import Path

from gdviz.ui.splash import MAX_TITLE_BYTES, StartupCard, scene_title


def test_the_card_names_the_scene_from_its_file_or_falls_back_to_the_reference(
    tmp_path: Path,
) -> None:
    assert scene_title("linear-regression") == "Linear regression: the bowl over (m, b)"
    good = tmp_path / "mine.toml"
    good.write_text('title = "My bowl"\n[problem]\nname = "quadratic"\n', encoding="utf-8")
    assert scene_title(str(good)) == "My bowl"
    broken = tmp_path / "broken.toml"
    broken.write_text("title = \n", encoding="utf-8")
    assert scene_title(str(broken)) == str(broken)  # the loader says what is wrong, later
    huge = tmp_path / "huge.toml"
    huge.write_text('title = "x"\n' + "#" * MAX_TITLE_BYTES, encoding="utf-8")
    assert scene_title(str(huge)) == "huge.toml"  # not read just for a title
    assert scene_title(str(tmp_path / "gone.toml")) == "gone.toml"
    assert scene_title("no-such-scene") == "no-such-scene"
    (tmp_path / "folder.toml").mkdir()
    assert scene_title(str(tmp_path / "folder.toml")) == "folder.toml"


def test_the_card_says_what_start_up_is_doing(qtbot) -> None:  # noqa: ANN001
    card = StartupCard("Linear regression: the bowl over (m, b)")
    qtbot.addWidget(card)
    card.show()
    card.say("Loading JAX and optax…")
    assert card.message == "Loading JAX and optax…"
    image = card.grab().toImage()
    assert (image.width(), image.height()) == StartupCard.SIZE
    # The message is painted: the band where it goes is no longer plain background.
    w, h = StartupCard.SIZE
    colours = {image.pixel(x, y) for x in range(38, 240) for y in range(h - 50, h - 28)}
    assert len(colours) > 2


def test_the_card_goes_once_the_window_is_on_screen_or_when_clicked(qtbot) -> None:  # noqa: ANN001
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtWidgets import QWidget

    card = StartupCard("Saddle")
    qtbot.addWidget(card)
    card.show()
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    card.finish(window)  # waits for the window's first expose, then closes
    assert window.windowHandle().isExposed() and not card.isVisible()
    card.show()
    qtbot.mouseClick(card, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    assert not card.isVisible()  # a click hides it, as a splash screen's does


def test_hidden_parts_are_made_when_first_needed_and_show_the_state_of_then(window) -> None:  # noqa: ANN001
    """Start-up builds what is on screen: the stability tab's view, the equations panel, the
    network view and each row's closed "More" section are made when first opened, with the
    values of that moment."""
    from gdviz.ui.maps_view import StabilityView

    assert window._stability is None and window._network_view is None
    assert window._equations is None and not window.equation_dock.isVisible()
    rows = window.optimizers.rows
    assert all(row._more is None for row in rows.values())  # no entry here uses them
    # (A row whose entry uses them opens made: tests/ui/test_schedules_window.py.)
    adam = rows["Adam"]
    adam.more_button.setChecked(True)  # opened by hand: made now, showing the entry
    assert adam.more.isVisible() and adam.schedule_box.currentData() == "constant"
    assert set(adam.modifier_spins) == {"weight_decay", "l2", "clip_norm"}
    adam.more_button.setChecked(False)
    assert not adam.more.isVisible()

    tabs = window.view_tabs
    assert tabs.tabText(2) == "Stability" and not isinstance(tabs.widget(2), StabilityView)
    window.show_view("stability")  # opening the tab makes the view, in the tab's place
    assert isinstance(tabs.currentWidget(), StabilityView)
    assert tabs.currentWidget() is window.stability and tabs.tabText(2) == "Stability"
    assert window.stability.isVisible() and window.stability.label is not None
    window.show_view("2d")

    window.equation_dock.show()  # E: the dock opens with its panel, made now
    assert window._equations is not None and window.equation_dock.widget() is window.equations
    assert window.equations.isVisible() and "Adam" in window.equations.text.toPlainText()
    window.equation_dock.hide()


def test_launch_opens_the_window_on_the_named_scene_or_refuses_a_bad_file(
    qapp, tmp_path: Path, capsys
) -> None:  # noqa: ANN001
    """What ``gdviz`` runs before its event loop (and ``gdviz bench`` times): the card, then
    the window, shown, on the scene named; a file that cannot be read is refused with status 2
    and the loader's message, and no window."""
    from PySide6.QtWidgets import QSplashScreen

    from gdviz.ui.app import launch
    from gdviz.ui.main_window import MainWindow

    bad = tmp_path / "bad.toml"
    bad.write_text('title = "Bad"\n[problem]\nname = "no-such-problem"\n', encoding="utf-8")
    assert launch(str(bad), remember=False) == 2
    assert "gdviz: error:" in capsys.readouterr().err
    window = launch("saddle-point", remember=False)
    try:
        assert isinstance(window, MainWindow) and window.isVisible()
        assert window.controller.scene.title == scene_title("saddle-point")
        assert not window.remember  # nothing written to the user's settings
        assert not any(
            isinstance(w, QSplashScreen) and w.isVisible() for w in qapp.topLevelWidgets()
        )
    finally:
        window.close()  # shuts its workers down: the first paths, if not asked for yet, never are
        window.deleteLater()


def test_a_window_with_a_worker_computes_its_first_paths_once_it_is_on_screen(qtbot) -> None:  # noqa: ANN001
    """The first paths' JAX tracing on the worker would hold the GIL through the window's
    construction: the window asks for them after its first frame, and they come."""
    from gdviz.core import load_scene
    from gdviz.ui.main_window import MainWindow

    window = MainWindow(load_scene("saddle-point"))  # a worker, as the app runs
    qtbot.addWidget(window)
    ctl = window.controller
    try:
        qtbot.wait(50)  # events run, the window still unseen: nothing computed yet
        assert not ctl.results and ctl.busy  # busy: its first frame says the paths are coming
        assert window.surface._surface_rect is not None and window.surface.image.image is None
        window.show()
        qtbot.waitExposed(window)
        qtbot.waitUntil(lambda: bool(ctl.results), timeout=60_000)
        assert set(ctl.results) == {e.label for e in ctl.scene.optimizers}
        assert not ctl.busy
        qtbot.waitUntil(lambda: window.surface.image.image is not None)  # the surface follows
    finally:
        ctl.shutdown()
        window.map_runner.shutdown()


FIRST_FRAME = """
import json, sys
from PySide6.QtCore import QEvent, QEventLoop, QObject
from gdviz.ui.app import _bare_application, launch

app = _bare_application()
seen = {}


class FirstFrame(QObject):
    def eventFilter(self, obj, event):  # the main window's first expose: what it shows
        if seen or event.type() != QEvent.Type.Expose or not obj.isWindowType():
            return False
        for w in app.topLevelWidgets():
            if type(w).__name__ == "MainWindow" and w.windowHandle() is obj and obj.isExposed():
                obj.event(event)  # painted and flushed
                seen.update(
                    jax="jax" in sys.modules or "optax" in sys.modules,
                    notice=w.surface.waiting.isVisible() and w.surface.waiting.text(),
                    rows=sorted(w.optimizers.rows),
                    docks=[d.isVisible() for d in (w.optimizer_dock, w.problem_dock)],
                    surface=w.surface.image.image is not None,
                    colorbar=w.surface.colorbar.opacity(),
                )
                return True
        return False


frame = FirstFrame()
app.installEventFilter(frame)
window = launch(sys.argv[1], remember=False)
ctl = window.controller
while not ctl.results:
    app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 10)
seen["ends"] = {k: t.params[-1].tolist() for k, t in ctl.results.items()}
for _ in range(6000):  # the surface follows the paths (from the start-up process, or the window)
    if window.surface.image.image is not None:
        break
    app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 10)
seen["surface_after"] = window.surface.image.image is not None
seen["colorbar_after"] = window.surface.colorbar.opacity()
import gc
for _ in range(3000):  # start-up ends once the window's own compile is in
    if gc.get_freeze_count():
        break
    app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 10)
seen["frozen"] = gc.get_freeze_count()  # start-up's objects, out of the collector's way
first = window._first_picture
seen["first_picture"] = first is not None
seen["first_ended"] = first is not None and not first.running
seen["pending"] = ctl.jax_pending
seen["same"] = {k: t.params[-1].tolist() for k, t in ctl.results.items()} == seen["ends"]
print(json.dumps(seen))
window.map_runner.shutdown()
ctl.shutdown()
"""


def test_the_window_is_on_screen_before_jax_is_imported_and_its_paths_come_after() -> None:
    """``gdviz``'s launch in a fresh process: the window's first frame shows the whole window
    (docks, a row per entry) saying "Computing the paths…", with JAX not imported yet; then
    the paths come (equal to a fresh computation here) and the surface with them."""
    import json
    import subprocess
    import sys

    import numpy as np

    from gdviz.core import load_scene, simulate

    out = subprocess.run(
        [sys.executable, "-c", FIRST_FRAME, "saddle-point"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    scene = load_scene("saddle-point")
    labels = sorted(e.label for e in scene.optimizers)
    assert seen["jax"] is False
    assert seen["notice"] == "Computing the paths…"
    assert seen["rows"] == labels and seen["docks"] == [True, True]
    assert seen["surface"] is False and seen["surface_after"] is True
    assert seen["colorbar"] == 0.0 and seen["colorbar_after"] == 1.0  # no scale before a surface
    assert seen["frozen"] > 50_000  # a full collection then skips JAX's, Qt's, pyqtgraph's
    # The start-up process ran beside the window and has ended; whichever paths came first,
    # the window's own computation left them as they were, and nothing waits for JAX.
    assert seen["first_picture"] and seen["first_ended"]
    assert seen["same"] and seen["pending"] is False
    fresh = simulate(scene)
    assert sorted(seen["ends"]) == labels
    for label, end in seen["ends"].items():
        np.testing.assert_allclose(end, fresh[label].params[-1], rtol=1e-12, atol=1e-12)
