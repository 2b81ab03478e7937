"""Saves that keep what the user wrote (issue 16, item 4): a scene read from a file is saved as
that file's text with only the changed values changed; a new scene is written cleanly."""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path

from gdviz.core import Scene, load_scene, parse_scene, save_scene
from gdviz.core.scene import OptimizerEntry, dumps_scene

HAND_WRITTEN = """\
# A hand-written scene: comments above and beside keys, blank lines, its own key order.
title = "Rosenbrock, by hand"   # shown above the plot

# How long, and from where.
start = [
    -1.5,  # x
    2.0,   # y
]
steps = 150
convention = "optax"

[problem]
name = "rosenbrock"   # the banana
b = 100.0             # steepness

# --- the racers ---

# The plain one.
[[optimizer]]
label = "GD"   # plain gradient descent
name = "sgd"
learning_rate = 0.001

# Heavy ball: removed below, with this comment.
[[optimizer]]
name = "momentum"
label = "Momentum"
learning_rate = 0.0005  # small: it overshoots

# Adaptive.
[[optimizer]]
name = "adam"
label = "Adam"
learning_rate = 0.02

# end of file
"""


def _changes(before: str, after: str) -> tuple[list[str], list[str]]:
    """The lines only in ``before`` and the lines only in ``after`` (a line diff)."""
    gone, added = [], []
    for line in difflib.ndiff(before.splitlines(), after.splitlines()):
        if line.startswith("- "):
            gone.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return gone, added


def test_an_unedited_save_is_byte_identical(tmp_path: Path) -> None:
    path = tmp_path / "hand.toml"
    path.write_text(HAND_WRITTEN, "utf-8")
    scene = load_scene(path)
    save_scene(scene, path)
    assert path.read_bytes() == HAND_WRITTEN.encode()
    # Built-in scenes are files too: saved unedited, they are their own text.
    builtin = load_scene("rosenbrock")
    assert builtin.source is not None and dumps_scene(builtin) == builtin.source.text


def test_edits_change_only_their_own_lines(tmp_path: Path) -> None:
    path = tmp_path / "hand.toml"
    path.write_text(HAND_WRITTEN, "utf-8")
    scene = load_scene(path)
    edited = (
        scene.replace_entry("Adam", hyperparams={"learning_rate": 0.05})
        .with_start((0.5, 2.0))
        .with_problem_param("b", 50.0)
        .with_entry_renamed("GD", "Plain GD")
        .without_entry("Momentum")
    )
    edited, added_label = edited.with_entry_added("rmsprop")
    assert edited.source == scene.source  # every edit keeps the text it came from
    save_scene(edited, path)
    text = path.read_text("utf-8")
    assert load_scene(path) == edited
    gone, added = _changes(HAND_WRITTEN, text)
    assert gone == [
        "    -1.5,  # x",
        "b = 100.0             # steepness",
        'label = "GD"   # plain gradient descent',
        "",
        "# Heavy ball: removed below, with this comment.",
        "[[optimizer]]",
        'name = "momentum"',
        'label = "Momentum"',
        "learning_rate = 0.0005  # small: it overshoots",
        "learning_rate = 0.02",
    ]
    assert added == [
        "    0.5,  # x",
        "b = 50.0             # steepness",
        'label = "Plain GD"   # plain gradient descent',
        "learning_rate = 0.05",
        "",
        "[[optimizer]]",
        'name = "rmsprop"',
        f'label = "{added_label}"',
    ]
    # The new table comes last, before the comment that ends the file.
    assert text.endswith(f'label = "{added_label}"\n\n# end of file\n')


def test_reordered_entries_carry_their_comments() -> None:
    scene = parse_scene(HAND_WRITTEN)
    adam, gd, momentum = (scene.entry(x) for x in ("Adam", "GD", "Momentum"))
    text = dumps_scene(scene.replace(optimizers=(adam, gd, momentum)))
    assert parse_scene(text) == scene.replace(optimizers=(adam, gd, momentum))
    # The comment right above a header moves with its table; the section heading stays first.
    racers = text.split("# --- the racers ---\n\n")[1]
    assert racers.startswith('# Adaptive.\n[[optimizer]]\nname = "adam"')
    assert racers.index("# The plain one.\n[[optimizer]]") < racers.index("# Heavy ball")
    assert sorted(text.splitlines()) == sorted(HAND_WRITTEN.splitlines())  # the same lines
    # Without the first entry, its comment goes with it and the heading stays.
    text = dumps_scene(scene.without_entry("GD"))
    assert "# The plain one." not in text
    assert "# --- the racers ---\n\n# Heavy ball" in text


INLINE = """\
title = "Inline tables"
steps = 40
start = [0.5, 0.5]

problem = { name = "expression", expr = "x**2 + 3*y**2" }  # a formula, inline
view = { x = [-2.0, 2.0], y = [
  -1.0,
  1.0,  # the top
] }

[[optimizer]]
name = "adam"
"""


def test_inline_tables_and_default_labels_are_kept() -> None:
    scene = parse_scene(INLINE)
    assert dumps_scene(scene) == INLINE
    edited = scene.replace(view=((-2.0, 2.0), (-1.0, 1.5))).with_expression("x**2 + y**2")
    text = dumps_scene(edited)
    assert parse_scene(text) == edited
    gone, added = _changes(INLINE, text)
    assert gone == [
        'problem = { name = "expression", expr = "x**2 + 3*y**2" }  # a formula, inline',
        "  1.0,  # the top",
    ]
    assert added == [
        'problem = { name = "expression", expr = "x**2 + y**2" }  # a formula, inline',
        "  1.5,  # the top",
    ]
    # The entry's label was left to its default ("Adam"): still left out.
    assert "label" not in text


def test_a_removed_entry_that_renumbers_default_labels_still_reads_back() -> None:
    # Two unlabelled Adams are "Adam" and "Adam 2"; without the first, the second would read
    # back as "Adam": the save writes its label.
    text = INLINE + '\n[[optimizer]]\nname = "adam"  # the second\n'
    scene = parse_scene(text)
    assert [e.label for e in scene.optimizers] == ["Adam", "Adam 2"]
    edited = scene.without_entry("Adam")
    saved = dumps_scene(edited)
    assert parse_scene(saved) == edited
    assert 'name = "adam"  # the second' in saved and "# a formula, inline" in saved


def test_formulas_with_quotes_and_backslashes_and_inline_data_round_trip(tmp_path: Path) -> None:
    formula = parse_scene(INLINE).with_expression('x**2 + y**2 + 0*x  # "quoted" \\ not a comment')
    assert parse_scene(dumps_scene(formula)) == formula
    tomllib.loads(dumps_scene(formula))  # valid TOML whatever the formula holds
    path = tmp_path / "data.toml"
    path.write_text(
        '# own points\n[problem]\nname = "linear_regression"\n'
        "data = [[0.0, 1.0], [1.0, 3.0],  # two\n  [2.0, 5.5]]\n\n"
        '[[optimizer]]\nname = "sgd"\nlearning_rate = 0.1\n',
        "utf-8",
    )
    scene = load_scene(path)
    moved = scene.with_point_moved(1, 1.0, 2.5)
    save_scene(moved, path)
    assert load_scene(path) == moved
    assert path.read_text("utf-8").startswith("# own points\n")
    assert "[1.0, 2.5],  # two" in path.read_text("utf-8")


def test_a_new_scene_is_written_cleanly_and_reopens_equal(tmp_path: Path) -> None:
    scene = Scene(
        problem="rosenbrock",
        optimizers=(OptimizerEntry("adam", "Adam", {"learning_rate": 0.02}),),
        title="New",
        start=(-1.0, 1.5),
    )
    assert scene.source is None
    path = tmp_path / "new.toml"
    save_scene(scene, path)
    assert path.read_text("utf-8") == (
        'title = "New"\ncaption = ""\nsteps = 200\nseed = 0\nstart = [-1.0, 1.5]\n'
        'convention = "optax"\n\n[problem]\nname = "rosenbrock"\n\n'
        '[[optimizer]]\nname = "adam"\nlabel = "Adam"\nlearning_rate = 0.02\n'
    )
    assert load_scene(path) == scene
