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
