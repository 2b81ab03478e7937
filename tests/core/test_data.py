"""Own data points: inline and CSV, limits and messages, edits, saving, speed without recompiles."""

from __future__ import annotations

import os
import time
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

from gdviz.core import Scene, SceneError, load_scene, parse_scene, save_scene, simulate
from gdviz.core.datafile import MAX_POINTS, DataError, load_data_csv
from gdviz.core.problems import data_capacity
from gdviz.core.scene import dumps_scene
from gdviz.core.simulate import is_compiled
from tests.core.test_simulate import count_compilations

SCENE = """
title = "own points"
steps = 40
start = [-1.0, 2.0]

[problem]
name = "linear_regression"
{problem}

[[optimizer]]
name = "sgd"
label = "GD"
learning_rate = 0.1

[[optimizer]]
name = "adam"
label = "Adam (batch 3)"
learning_rate = 0.1
batch_size = 3
"""


def _scene(problem: str, folder: Path | None = None) -> Scene:
    return parse_scene(SCENE.format(problem=problem), "test.toml", folder)


def _lstsq(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    design = np.stack([x, np.ones_like(x)], axis=1)
    return np.linalg.lstsq(design, y, rcond=None)[0]


# --- CSV files ------------------------------------------------------------------------------------

GOOD = {
    "header.csv": "x,y\n0,1\n1,3\n2,5.5\n",
    "plain.csv": "0,1\n1,3\n2,5.5",
    "semicolons.csv": "x;y\r\n0;1\r\n1;3\r\n2;5.5\r\n",
    "spaces.txt": "# comment\n\n0 1\n1\t3\n  2   5.5  \n\n",
    "quoted.csv": '"x","y"\n"0","1"\n"1","3"\n"2","5.5"\n',
    "bom.csv": "\ufeffx,y\n0,1\n1,3\n2,5.5\n",
}


@pytest.mark.parametrize("name", GOOD)
def test_good_csv_files_read_the_same_points(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(GOOD[name], encoding="utf-8")
    x, y = load_data_csv(path)
    np.testing.assert_array_equal(x, [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(y, [1.0, 3.0, 5.5])


BAD = [
    ("text.csv", "x,y\n0,1\n1,abc\n", "line 3: column 2: 'abc' is not a number"),
    ("missing.csv", "0,1\n1,\n", "line 2: column 2 is empty (a missing value)"),
    ("one.csv", "x\n1\n2\n", "line 2: one column"),
    ("three.csv", "0,1,2\n", "line 1: 3 columns"),
    ("nan.csv", "x,y\n0,1\n1,nan\n", "line 3: column 2: 'nan': values must be finite"),
    ("inf.csv", "0,1\n-inf,2\n", "line 2: column 1: '-inf': values must be finite"),
    ("huge.csv", "0,1\n1e7,2\n", "line 2: column 1: '1e7': values must lie within ±1e+06"),
    ("comma.csv", "x;y\n1,5;2\n", "line 2: column 1: '1,5' is not a number (write decimals"),
    ("empty.csv", "\n\n# nothing\n", "no data points"),
    ("header_only.csv", "x,y\n", "no data points"),
    ("latin1.csv", b"x,y\n0,1\n1,\xe92\n", "line 3: not UTF-8 text"),
    (
        "rows.csv",
        "".join(f"{i},{i}\n" for i in range(MAX_POINTS + 1)),
        "line 10,001: more than 10,000",
    ),
]


@pytest.mark.parametrize(("name", "content", "words"), BAD, ids=[b[0] for b in BAD])
def test_each_bad_csv_file_gets_its_message_with_file_and_line(
    tmp_path: Path, name: str, content: str | bytes, words: str
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as raised:
        load_data_csv(path)
    assert isinstance(raised.value, SceneError)
    assert str(raised.value).startswith(str(path)), str(raised.value)
    assert words in str(raised.value), str(raised.value)


def test_a_million_rows_are_refused_quickly_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "million.csv"
    path.write_text("x,y\n" + "1,2\n" * 1_000_000)
    t0 = time.perf_counter()
    with pytest.raises(DataError, match=r"line 10,002: more than 10,000 points"):
        load_data_csv(path)
    assert time.perf_counter() - t0 < 1.0
    long_lines = tmp_path / "long.csv"
    long_lines.write_text("1," + "1" * 3_000_000 + "\n")
    with pytest.raises(DataError, match="too large"):
        load_data_csv(long_lines)


def test_a_fifo_a_folder_and_a_missing_file_are_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    t0 = time.perf_counter()
    with pytest.raises(DataError, match="FIFO"):
        load_data_csv(fifo)
    with pytest.raises(DataError, match="folder"):
        load_data_csv(tmp_path)
    with pytest.raises(DataError, match="cannot read"):
        load_data_csv(tmp_path / "nowhere.csv")
    assert time.perf_counter() - t0 < 1.0
    # Through a scene file too, naming the key.
    (tmp_path / "s.toml").write_text(SCENE.format(problem='data_csv = "pipe.csv"'))
    with pytest.raises(
        SceneError, match=r"s\.toml: problem\.data_csv: .*pipe\.csv: cannot read: it is a FIFO"
    ):
        load_scene(tmp_path / "s.toml")


# --- scenes with their own points ----------------------------------------------------------------


def test_inline_data_replace_the_generated_ones() -> None:
    scene = _scene("data = [[0, 1], [1, 3], [2, 5.5], [3, 7], [4, 9.5]]")
    assert scene.data_source == "inline"
    problem = scene.build_problem()
    assert problem.n == 5
    np.testing.assert_allclose(problem.minima[0].point, _lstsq(problem.x, problem.y), atol=1e-12)
    assert simulate(scene)["GD"].loss[-1] < simulate(scene)["GD"].loss[0]


@pytest.mark.parametrize(
    ("problem", "words"),
    [
        (
            "data = [[0, 1], [1, 3], [2, 5]]\nn = 3",
            "problem.n: the scene gives its own points (data)",
        ),
        ("data = [[0, 1], [1, 3], [2, 5]]\nnoise = 0.1", "problem.noise: the scene gives its own"),
        ('data = [[0, 1], [1, 3], [2, 5]]\ndata_csv = "p.csv"', "give data or data_csv, not both"),
        ("data = [[0, 1]]", "data: must hold 2 to 10,000 points, got 1"),
        ("data = [[0, 1], [1, nan], [2, 5]]", "data[1]: y is nan; values must be finite"),
        ("data = [[0, 1], [1, 2, 3], [2, 5]]", "data[1]: must be a pair [x, y] of numbers"),
        ('data = [[0, 1], [1, "a"], [2, 5]]', "data[1]: must be a pair"),
        ("data = 3", "data: must be an array of [x, y] pairs"),
        ("data = [[0, 1], [0.000001, 100], [0, 2]]", "these data points"),  # slope ~1e8
    ],
)
def test_bad_inline_data_name_the_key(problem: str, words: str) -> None:
    with pytest.raises(SceneError) as raised:
        _scene(problem)
    assert str(raised.value).startswith("test.toml: problem")
    assert words in str(raised.value), str(raised.value)


def test_data_csv_is_relative_to_the_scene_file_and_saves_round_trip(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "points.csv").write_text("x,y\n0,1\n1,3\n2,5.5\n3,7\n")
    path = tmp_path / "scene.toml"
    path.write_text(SCENE.format(problem='data_csv = "data/points.csv"'))
    scene = load_scene(path)
    assert scene.data_source == "csv" and scene.data_csv == tmp_path / "data" / "points.csv"
    # Saved elsewhere: the file is named relative to the new scene file, and reopens equal.
    (tmp_path / "sub").mkdir()
    again = tmp_path / "sub" / "copy.toml"
    save_scene(scene, again)
    assert 'data_csv = "../data/points.csv"' in again.read_text()
    assert load_scene(again) == scene
    # Once the file changes, saving writes the points inline (what the scene holds).
    (tmp_path / "data" / "points.csv").write_text("x,y\n0,1\n1,3\n2,5.5\n3,8\n")
    save_scene(scene, again)
    text = again.read_text()
    assert "data_csv" not in text
    assert "[3.0, 7.0]" in text
    reopened = load_scene(again)
    np.testing.assert_array_equal(reopened.points()[1], [1.0, 3.0, 5.5, 7.0])
    assert reopened.data_source == "inline"


def test_edited_data_save_inline_and_reopen_equal(tmp_path: Path) -> None:
    scene = load_scene("linear-regression").with_point_moved(3, 1.25, -0.5)
    assert scene.data_source == "inline"
    assert not any(k in scene.problem_params for k in ("n", "noise", "data_seed"))
    path = tmp_path / "edited.toml"
    save_scene(scene, path)
    assert load_scene(path) == scene
    assert parse_scene(dumps_scene(scene)) == scene


def test_with_data_csv_and_its_errors_keep_the_scene(tmp_path: Path) -> None:
    scene = load_scene("linear-regression")
    good = tmp_path / "good.csv"
    good.write_text("1,2\n2,4.5\n3,6\n")
    loaded = scene.with_data_csv(good)
    assert loaded.data_source == "csv" and loaded.points()[0].tolist() == [1.0, 2.0, 3.0]
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2\n2,x\n")
    with pytest.raises(DataError, match=r"bad\.csv: line 2: column 2: 'x' is not a number"):
        scene.with_data_csv(bad)
    assert scene.data_source == "generated"  # immutable: nothing was lost


def test_the_minimum_follows_a_moved_point_as_least_squares_says() -> None:
    scene = load_scene("linear-regression")
    x, y = scene.points()
    moved = scene.with_point_moved(7, 1.9, 9.0).with_point_moved(20, 0.1, -3.0)
    xs, ys = moved.points()
    assert (xs[7], ys[7], xs[20], ys[20]) == (1.9, 9.0, 0.1, -3.0)
    assert np.array_equal(np.delete(xs, [7, 20]), np.delete(x, [7, 20]))
    np.testing.assert_allclose(moved.build_problem().minima[0].point, _lstsq(xs, ys), atol=1e-10)
    assert moved.build_problem().minima[0].point != scene.build_problem().minima[0].point


def test_point_edits_check_their_arguments() -> None:
    scene = load_scene("linear-regression")
    with pytest.raises(DataError, match="no point 100"):
        scene.with_point_moved(100, 0.0, 0.0)
    with pytest.raises(DataError, match="finite"):
        scene.with_point_moved(0, float("nan"), 0.0)
    two = scene.with_data([0.0, 1.0], [1.0, 2.0])
    with pytest.raises(DataError, match="2 to 10,000 points, got 1"):
        two.with_point_removed(0)
    with pytest.raises(DataError, match="takes no data"):
        load_scene("rosenbrock").with_point_added(0.0, 0.0)
    with pytest.raises(SceneError, match="problem.noise: the scene has its own data"):
        two.with_problem_param("noise", 1.0)
    back = two.without_data()
    assert back.data_source == "generated" and back.build_problem().n == 100


def test_batch_sizes_shrink_with_the_data_and_schedules_stay_valid() -> None:
    scene = _scene("n = 20").replace_entry("Adam (batch 3)", batch_size=8)
    small = scene.with_data([0.0, 0.5, 1.0, 1.5], [1.0, 2.0, 2.9, 4.2])
    assert [e.batch_size for e in small.optimizers] == [None, 4]
    smaller = small.with_point_removed(0)
    assert [e.batch_size for e in smaller.optimizers] == [None, 3]
    # Adding points back does not grow the batches again; the schedule draws from all of them.
    grown = smaller.with_point_added(2.0, 5.1).with_point_added(2.5, 6.0)
    assert [e.batch_size for e in grown.optimizers] == [None, 3]
    paths = simulate(grown)
    table = np.asarray(paths["Adam (batch 3)"].batches)
    assert table.shape == (40, 3) and table.min() == 0 and table.max() == 4
    assert all(len(set(row)) == 3 for row in table)  # without replacement within a batch
    # Seeded: the same scene repeats exactly, another seed differs.
    np.testing.assert_array_equal(
        simulate(grown)["Adam (batch 3)"].params, paths["Adam (batch 3)"].params
    )
    other = simulate(grown.replace(seed=1))["Adam (batch 3)"]
    assert not np.array_equal(other.params, paths["Adam (batch 3)"].params)


def test_a_network_takes_own_data_with_its_minima_found_or_deferred() -> None:
    # FACTS.md: six points where one sigmoid neuron has a global and a local minimum.
    scene = load_scene("neuron").with_data(
        [-3.41, -2.03, 0.89, 1.17, 1.70, 1.73], [0.0, 0.0, 1.0, 1.0, 0.0, 1.0]
    )
    deferred = scene.build_problem(minima="defer")
    assert deferred.minima_pending and deferred.minima == ()
    problem = scene.build_problem()
    assert not problem.minima_pending
    best = problem.minima[0]
    assert best.kind == "global"
    np.testing.assert_allclose(best.point, (0.879, 0.021), atol=2e-3)
    assert best.loss == pytest.approx(0.148, abs=1e-3)
    # Its local minimum, (-4.305, 7.457), lies outside the searched view (b up to 6).
    assert all(abs(m.point[0]) <= 6 and abs(m.point[1]) <= 6 for m in problem.minima)
    assert scene.build_problem(minima="defer") is problem  # the full one, once it exists


# --- speed: nothing recompiles while a point moves, or while points are added ---------------------


def test_moving_or_adding_a_point_never_recompiles() -> None:
    scene = _scene("n = 100")
    simulate(scene)
    moved = scene.with_point_moved(5, 1.0, 2.0)
    with count_compilations() as compiled:
        problem = moved.build_problem()
        paths = simulate(moved, problem)
    assert compiled == []
    assert not np.array_equal(
        paths["Adam (batch 3)"].params, simulate(scene)["Adam (batch 3)"].params
    )
    added = moved.with_point_added(0.7, 2.2)
    assert data_capacity(101) == data_capacity(100) == 128
    assert is_compiled(added)
    with count_compilations() as compiled:
        simulate(added)
    assert compiled == []


def test_padded_losses_equal_the_plain_mean() -> None:
    scene = _scene("n = 100").with_point_added(0.7, 2.2)
    problem = scene.build_problem()
    x, y = problem.x, problem.y
    assert len(problem.full_batch()[0]) == 128 and problem.n == 101
    for path in simulate(scene).values():
        plain = [np.mean((m * x + b - y) ** 2) for m, b in path.params[::10]]
        np.testing.assert_allclose(path.loss[::10], plain, rtol=1e-12)
        direct = problem.loss_fn(jnp.asarray(path.params[-1]), {}, (jnp.asarray(x), jnp.asarray(y)))
        assert float(direct) == pytest.approx(path.loss[-1], rel=1e-12)
