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


def test_hidden_parts_are_made_when_first_needed_and_show_the_state_of_then(window) -> None:  # noqa: ANN001
    """Start-up builds what is on screen: the stability tab's view, the network view and each
    row's closed "More" section are made when first opened, with the values of that moment."""
    from gdviz.ui.maps_view import StabilityView

    ctl = window.controller
    assert window._stability is None and window._network_view is None
    rows = window.optimizers.rows
    assert all(row._more is None for row in rows.values())  # no entry here uses them
    ctl.set_entry_field("Momentum", "l2", 0.25)  # used: its row opens, made with the value
    row = rows["Momentum"]
    assert row.more_button.isChecked() and row._more is not None and row.more.isVisible()
    assert row.modifier_spins["l2"].value() == 0.25
    ctl.set_entry_field("Momentum", "l2", 0.0)
    adam = rows["Adam"]
    assert adam._more is None
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
