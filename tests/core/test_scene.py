"""Scene files: what loads, what is refused (and how it is said), and round trips."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gdviz.core import (
    RULES,
    OptimizerEntry,
    Scene,
    SceneError,
    builtin_scene_names,
    dumps_scene,
    load_scene,
    parse_scene,
    save_scene,
    scene_from_dict,
)
from gdviz.core.scene import MAX_STEPS

GOOD = """
title = "t"
steps = 50
start = [1.0, 2.0]

[problem]
name = "linear_regression"
n = 20

[[optimizer]]
name = "sgd"
learning_rate = 0.1
batch_size = 4
"""


def test_a_good_scene_loads_with_defaults_filled_in() -> None:
    scene = parse_scene(GOOD, "good.toml")
    assert scene.steps == 50 and scene.seed == 0 and scene.convention == "optax"
    assert scene.problem_params == {"n": 20}
    (entry,) = scene.optimizers
    assert entry.label == "Mini-batch GD (4)"
    assert entry.resolved_hyperparams("optax") == {"learning_rate": 0.1}


def _with(extra: str = "", replace: tuple[str, str] | None = None) -> str:
    text = GOOD if replace is None else GOOD.replace(*replace)
    return text + extra


# (case, scene text, words the message must contain)
BROKEN = [
    ("toml syntax", "title = ", ["not valid TOML"]),
    (
        "unknown top key",
        _with("\nspeed = 3\n", ("title", "speed = 3\ntitle")),
        ["speed", "unknown key"],
    ),
    ("wrong type", _with(replace=("steps = 50", 'steps = "many"')), ["steps", "integer"]),
    ("zero steps", _with(replace=("steps = 50", "steps = 0")), ["steps", f"{MAX_STEPS}"]),
    ("absurd steps", _with(replace=("steps = 50", "steps = 10000000")), ["steps"]),
    ("start too short", _with(replace=("start = [1.0, 2.0]", "start = [1.0]")), ["start", "pair"]),
    ("start far away", _with(replace=("start = [1.0, 2.0]", "start = [1e9, 0.0]")), ["start"]),
    (
        "start nan",
        _with(replace=("start = [1.0, 2.0]", "start = [nan, 0.0]")),
        ["start[0]", "finite"],
    ),
    (
        "no problem",
        GOOD.replace('[problem]\nname = "linear_regression"\nn = 20\n', ""),
        ["problem"],
    ),
    (
        "unknown problem",
        _with(replace=('"linear_regression"', '"banana"')),
        ["problem.name", "banana", "rosenbrock"],
    ),
    (
        "unknown problem key",
        _with(replace=("n = 20", "n = 20\nwidth = 3")),
        ["problem.width", "noise"],
    ),
    ("problem value out of range", _with(replace=("n = 20", "n = 1")), ["problem.n", "[2, 10000]"]),
    (
        "unknown rule",
        _with(replace=('name = "sgd"', 'name = "lion"')),
        ["optimizer[0].name", "lion", "adam"],
    ),
    (
        "negative learning rate",
        _with(replace=("learning_rate = 0.1", "learning_rate = -0.1")),
        ["optimizer[0].learning_rate", "[1e-05, 10]"],
    ),
    (
        "hyperparameter of another rule",
        _with(replace=("learning_rate = 0.1", "learning_rate = 0.1\nb1 = 0.9")),
        ["optimizer[0].b1", "unknown key"],
    ),
    (
        "batch larger than data",
        _with(replace=("batch_size = 4", "batch_size = 21")),
        ["optimizer[0].batch_size", "[1, 20]"],
    ),
    (
        "batch on a function",
        'steps = 5\n[problem]\nname = "beale"\n[[optimizer]]\nname = "adam"\nbatch_size = 2\n',
        ["optimizer[0].batch_size", "no data", "gradient_noise"],
    ),
    ("no optimizer", 'steps = 5\n[problem]\nname = "beale"\n', ["optimizer", "at least one"]),
    (
        "optimizer not a table array",
        'optimizer = 3\n[problem]\nname = "beale"\n',
        ["optimizer", "array of tables"],
    ),
    (
        "duplicate labels",
        _with(
            '\n[[optimizer]]\nname = "adam"\nlabel = "A"\n',
            ('name = "sgd"', 'name = "sgd"\nlabel = "A"'),
        ),
        ["optimizer[1].label", "twice"],
    ),
    (
        "bad colour",
        _with(replace=("batch_size = 4", 'batch_size = 4\ncolor = "red"')),
        ["optimizer[0].color", "#0072B2"],
    ),
    (
        "bad convention",
        _with(replace=("steps = 50", 'steps = 50\nconvention = "keras"')),
        ["convention", "pytorch"],
    ),
    (
        "view upside down",
        _with("\n[view]\nx = [1.0, 0.0]\ny = [0.0, 1.0]\n"),
        ["view.x", "min < max"],
    ),
    ("view missing axis", _with("\n[view]\nx = [0.0, 1.0]\n"), ["view.y", "missing"]),
    (
        "visible not bool",
        _with(replace=("batch_size = 4", "batch_size = 4\nvisible = 1")),
        ["optimizer[0].visible"],
    ),
]


@pytest.mark.parametrize(("case", "text", "words"), BROKEN, ids=[c[0] for c in BROKEN])
def test_broken_scenes_raise_one_scene_error_naming_the_key(
    case: str, text: str, words: list[str]
) -> None:
    with pytest.raises(SceneError) as info:
        parse_scene(text, "broken.toml")
    message = str(info.value)
    assert message.startswith("broken.toml: "), message
    for word in words:
        assert word in message, (case, message)


def test_missing_file_and_unknown_name(tmp_path: Path) -> None:
    with pytest.raises(SceneError, match="no such scene file.*linear-regression"):
        load_scene("not-a-scene")
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\xfe title")
    with pytest.raises(SceneError, match="bad.toml"):
        load_scene(bad)


# A fuzz of scene-shaped dicts: every failure must be a SceneError, nothing else may escape.
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
_keys = [
    "name",
    "label",
    "learning_rate",
    "momentum",
    "b1",
    "eps",
    "batch_size",
    "start",
    "color",
    "visible",
    "gradient_noise",
    "rho",
]
_entry = st.dictionaries(
    st.sampled_from(_keys),
    st.one_of(_values, st.sampled_from(list(RULES)), st.floats(1e-4, 1.0)),
    max_size=6,
)
_problem = st.dictionaries(
    st.sampled_from(["name", "n", "noise", "condition", "a", "b", "x"]),
    st.one_of(
        _values, st.sampled_from(["beale", "linear_regression", "quadratic"]), st.integers(1, 300)
    ),
    max_size=4,
)
_scene = st.fixed_dictionaries(
    {},
    optional={
        "title": _values,
        "steps": st.one_of(_values, st.integers(-5, 20)),
        "seed": _values,
        "start": st.one_of(_values, st.lists(st.floats(-10, 10), min_size=2, max_size=2)),
        "convention": st.one_of(_values, st.sampled_from(["optax", "pytorch"])),
        "problem": st.one_of(_values, _problem),
        "view": _values,
        "optimizer": st.one_of(_values, st.lists(_entry, max_size=3)),
        "extra": _values,
    },
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_scene)
def test_fuzzed_scene_dicts_fail_only_with_scene_error(data: dict) -> None:
    try:
        scene = scene_from_dict(data, "fuzz")
    except SceneError as exc:
        assert str(exc).startswith("fuzz")
        return
    assert isinstance(scene, Scene) and scene.optimizers
    assert all(math.isfinite(v) for e in scene.optimizers for v in e.hyperparams.values())


@pytest.mark.parametrize("name", builtin_scene_names())
def test_builtin_scenes_load_and_round_trip(name: str, tmp_path: Path) -> None:
    scene = load_scene(name)
    assert scene.title and scene.caption
    assert parse_scene(dumps_scene(scene)) == scene
    path = tmp_path / "s.toml"
    save_scene(scene, path)
    assert load_scene(path) == scene


def test_every_field_survives_a_round_trip() -> None:
    scene = Scene(
        problem="linear_regression",
        problem_params={"n": 30, "noise": 1.25, "data_seed": 4},
        optimizers=(
            OptimizerEntry(
                "adam",
                'Adam "fast"',
                {"learning_rate": 0.3, "b2": 0.99},
                batch_size=5,
                start=(0.5, -1.0),
                color="#CC79A7",
                visible=False,
                gradient_noise=0.5,
            ),
            OptimizerEntry("rmsprop", "RMSprop"),
        ),
        title="Ünïcode ✓ title",
        caption="line one\nline two",
        steps=77,
        seed=9,
        start=(-1.5, 2.25),
        convention="pytorch",
        view=((-3.0, 5.0), (-2.0, 4.0)),
    )
    assert parse_scene(dumps_scene(scene)) == scene


def test_with_start_is_a_new_immutable_scene() -> None:
    scene = load_scene("linear-regression")
    moved = scene.with_start((0.5, 0.25))
    assert moved.start == (0.5, 0.25) and scene.start != moved.start
    with pytest.raises(AttributeError):
        scene.steps = 3  # type: ignore[misc]


def test_save_to_an_unwritable_place_raises_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        save_scene(load_scene("linear-regression"), tmp_path / "missing" / "s.toml")
    assert list(tmp_path.iterdir()) == []


def test_titles_with_control_characters_survive_a_round_trip() -> None:
    # Found by the hypothesis round trip: TOML forbids a raw DEL in a string, JSON does not escape it.
    scene = load_scene("linear-regression").replace(title='a\x7fb\x00c\t"d\\')
    assert parse_scene(dumps_scene(scene)) == scene
