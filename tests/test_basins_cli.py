"""``gdviz basins`` and ``gdviz stability``: pictures and arrays written, and refused cleanly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gdviz.cli import main
from gdviz.core import load_scene
from gdviz.core.basins import basins, stability
from gdviz.ui.maps import DIVERGED_COLOR, minimum_color
from gdviz.ui.theme import rgb

SMALL = ["--resolution", "12", "--steps", "40"]


def _pixels(path: Path) -> np.ndarray:
    from PySide6.QtGui import QImage

    from gdviz.ui.recording import qimage_to_array

    image = QImage(str(path))
    assert not image.isNull()
    return qimage_to_array(image)


def _count(image: np.ndarray, color: str) -> int:
    return int((np.abs(image.astype(int) - np.array(rgb(color))).max(axis=2) <= 6).sum())


def test_basins_png_has_the_size_asked_and_every_panels_colours(tmp_path: Path, qapp) -> None:  # noqa: ANN001
    out = tmp_path / "b.png"
    assert main(["basins", "himmelblau-basins", "-o", str(out), "--size", "960x540", *SMALL]) == 0
    image = _pixels(out)
    assert image.shape == (540, 960, 3)
    scene = load_scene("himmelblau-basins")
    from gdviz.ui.theme import LIGHT, entry_color

    for i, e in enumerate(scene.optimizers):  # each panel's bar in its optimizer's colour
        assert _count(image, entry_color(i, e.color, LIGHT)) > 200, e.label
    for k in range(4):  # every minimum's colour (its fastest starts) and the legend
        assert _count(image, minimum_color(k)) > 50, k
    assert _count(image, DIVERGED_COLOR) > 20  # the legend's swatch at least


def test_npz_holds_the_documented_arrays(tmp_path: Path) -> None:
    out = tmp_path / "b.npz"
    assert main(["basins", "himmelblau-basins", "-o", str(out), *SMALL]) == 0
    with np.load(out) as data:
        assert set(data.files) == {
            "labels",
            "outcome",
            "settle_step",
            "final_loss",
            "x",
            "y",
            "minima",
            "axis_names",
            "steps",
            "tol",
        }
        m = basins(load_scene("himmelblau-basins"), 12, 40)
        assert list(data["labels"]) == list(m.labels)
        assert data["outcome"].shape == (2, 12, 12)
        np.testing.assert_array_equal(data["outcome"], m.outcome)
        np.testing.assert_array_equal(data["settle_step"], m.settle_step)
        np.testing.assert_array_equal(data["x"], m.xs)
        assert list(data["axis_names"]) == ["x", "y"] and int(data["steps"]) == 40

    st = tmp_path / "s.npz"
    args = ["stability", "momentum-stability", "--optimizer", "Momentum", "-o", str(st)]
    assert main([*args, *SMALL, "--x-range", "0.01,0.2", "--y-range", "0,0.9"]) == 0
    with np.load(st) as data:
        s = stability(
            load_scene("momentum-stability"),
            "Momentum",
            ranges=((0.01, 0.2), (0, 0.9)),
            resolution=12,
            steps=40,
        )
        np.testing.assert_array_equal(data["outcome"], s.outcome)
        np.testing.assert_allclose(data["x"], s.xs)
        assert list(data["axes"]) == ["learning_rate", "momentum"]
        assert list(data["scales"]) == ["log", "linear"]


def test_stability_png_and_no_overwrite_without_force(tmp_path: Path, qapp) -> None:  # noqa: ANN001
    out = tmp_path / "s.png"
    args = ["stability", "momentum-stability", "--optimizer", "Momentum", "-o", str(out)]
    assert main([*args, "--size", "800x600", *SMALL]) == 0
    image = _pixels(out)
    assert image.shape == (600, 800, 3)
    assert _count(image, "#000000") > 500  # diverged settings
    assert _count(image, "#FFFFFF") > 1000  # the paper, and the theory curve's dashes
    before = out.read_bytes()
    assert main([*args, "--size", "640x480", *SMALL]) == 2  # exists: refused
    assert out.read_bytes() == before
    assert main([*args, "--size", "640x480", *SMALL, "--force"]) == 0
    assert _pixels(out).shape == (480, 640, 3)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["basins", "no-such-scene", "-o", "x.png"], ["no such scene"]),
        (["basins", "himmelblau", "-o", "missing-dir/x.png"], ["cannot write", "missing-dir"]),
        (["basins", "himmelblau", "-o", "x.gif"], [".png or .npz"]),
        (["stability", "himmelblau", "--optimizer", "Nobody", "-o", "x.png"], ["Nobody"]),
        (["stability", "himmelblau", "--optimizer", "GD", "-o", "x.npz"], ["momentum"]),
        (["basins", "himmelblau", "-o", "x.png", "--resolution", "0"], ["resolution"]),
        (["stability", "himmelblau", "--optimizer", "GD", "-o", "x.npz", "--y", "rho"], ["rho"]),
    ],
)
def test_user_errors_are_one_line_exit_2_and_leave_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    words: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("gdviz: error: "), err
    for word in words:
        assert word in err[-1]
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_target_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "folder.png").mkdir()  # a folder where the file should go
    result = subprocess.run(
        [sys.executable, "-m", "gdviz", "basins", "himmelblau", "-o", str(tmp_path / "folder.png")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "it is a folder" in lines[0], result.stderr
