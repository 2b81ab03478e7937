"""The command line, run as a user runs it: in a subprocess."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gdviz.cli import main
from gdviz.core import load_scene, simulate


def gdviz(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gdviz", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def test_trajectories_csv_has_every_step_at_full_precision(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    result = gdviz("trajectories", "rosenbrock", "-o", str(out))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["optimizer", "step", "x", "y", "loss"]
    paths = simulate(load_scene("rosenbrock"))
    assert len(rows) == sum(p.params.shape[0] for p in paths.values())
    adam = [r for r in rows if r["optimizer"] == "Adam"]
    xy = np.array([[float(r["x"]), float(r["y"])] for r in adam])
    np.testing.assert_array_equal(xy, paths["Adam"].params)  # repr round-trips floats exactly


def test_trajectories_from_a_file_with_a_new_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scene = tmp_path / "s.toml"
    scene.write_text(
        'steps = 3\n[problem]\nname = "beale"\n[[optimizer]]\nname = "adam"\nlabel = "A, b"\n'
    )
    assert main(["trajectories", str(scene), "-o", "-", "--start", "1", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "optimizer,step,x,y,loss"
    assert lines[1].startswith('"A, b",0,1.0,1.0,')
    assert len(lines) == 5


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["trajectories", "no-such-scene", "-o", "x.csv"], ["no such scene file"]),
        (
            ["trajectories", "linear-regression", "-o", "missing-dir/x.csv"],
            ["cannot write", "missing-dir"],
        ),
        (["screenshot", "-o", "x.png", "--size", "big"], ["--size"]),
    ],
)
def test_user_errors_print_one_line_and_exit_2(
    tmp_path: Path, args: list[str], words: list[str]
) -> None:
    result = gdviz(*args, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gdviz: error: "), result.stderr
    for word in words:
        assert word in lines[0]
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_broken_scene_file_is_one_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'steps = 3\n[problem]\nname = "beale"\n[[optimizer]]\nname = "adam"\nlearning_rate = -1\n'
    )
    result = gdviz("trajectories", str(bad), "-o", str(tmp_path / "o.csv"))
    assert result.returncode == 2
    assert "optimizer[0].learning_rate" in result.stderr and "Traceback" not in result.stderr


def test_scenes_version_and_help() -> None:
    scenes = gdviz("scenes")
    assert scenes.returncode == 0
    assert any(line.startswith("linear-regression ") for line in scenes.stdout.splitlines())
    assert gdviz("--version").stdout.strip().startswith("gdviz ")
    help_text = gdviz("--help").stdout
    for command in ("scenes", "trajectories", "bench", "screenshot"):
        assert command in help_text
