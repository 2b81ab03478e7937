"""gdviz render: real files, read back; deterministic; bad paths leave nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import imageio.v2 as iio
import numpy as np
import pytest

ENV = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
SCENE = 'title = "tiny"\ncaption = "a. b."\nsteps = 30\nstart = [-1.0, 1.5]\n[problem]\nname = "rosenbrock"\n[[optimizer]]\nname = "adam"\nlearning_rate = 0.1\n[[optimizer]]\nname = "momentum"\nlearning_rate = 0.001\n'


def render(tmp_path: Path, out: str, *extra: str) -> subprocess.CompletedProcess[str]:
    scene = tmp_path / "tiny.toml"
    scene.write_text(SCENE)
    return subprocess.run(
        [sys.executable, "-m", "gdviz", "render", str(scene), "-o", str(tmp_path / out), *extra],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
    )


def frames_of(path: Path) -> list[np.ndarray]:
    with iio.get_reader(str(path), "ffmpeg") as reader:
        return [np.asarray(f) for f in reader]


def test_mp4_has_the_frames_and_size_asked_for_and_is_deterministic(tmp_path: Path) -> None:
    result = render(tmp_path, "a.mp4", "--fps", "10", "--seconds", "1.5", "--size", "640x360")
    assert result.returncode == 0, result.stderr
    frames = frames_of(tmp_path / "a.mp4")
    assert len(frames) == 15  # --seconds is the whole length: 1.5 s at 10 fps, hold included
    assert frames[0].shape == (360, 640, 3)
    assert np.abs(frames[0].astype(int) - frames[9].astype(int)).mean() > 0.5  # it moves
    # The hold: the last third (1 s would be 10 frames), the same picture up to H.264 noise.
    for k in range(10, 14):
        assert np.abs(frames[k].astype(int) - frames[14].astype(int)).mean() < 0.2
    assert np.abs(frames[5].astype(int) - frames[14].astype(int)).mean() > 0.2
    again = render(tmp_path, "b.mp4", "--fps", "10", "--seconds", "1.5", "--size", "640x360")
    assert again.returncode == 0
    for a, b in zip(frames, frames_of(tmp_path / "b.mp4"), strict=True):
        np.testing.assert_array_equal(a, b)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4", "b.mp4", "tiny.toml"]


def test_gif_is_animated_and_small(tmp_path: Path) -> None:
    result = render(tmp_path, "a.gif", "--fps", "8", "--seconds", "2", "--size", "480x270")
    assert result.returncode == 0, result.stderr
    path = tmp_path / "a.gif"
    frames = iio.mimread(str(path))
    assert len(frames) == 16 and frames[0].shape[:2] == (270, 480)  # 2 s at 8 fps, whole length
    assert path.stat().st_size < 1_500_000


def test_png_is_one_frame_of_the_asked_size_and_step(tmp_path: Path) -> None:
    result = render(tmp_path, "a.png", "--size", "800x450", "--step", "5")
    assert result.returncode == 0, result.stderr
    image = iio.imread(str(tmp_path / "a.png"))
    assert image.shape[:2] == (450, 800)
    last = render(tmp_path, "b.png", "--size", "800x450")
    assert not np.array_equal(image, iio.imread(str(tmp_path / "b.png")))
    assert last.returncode == 0


@pytest.mark.parametrize("out", ["missing/x.mp4", "x.avi"])
def test_bad_paths_fail_cleanly(tmp_path: Path, out: str) -> None:
    result = render(tmp_path, out)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("gdviz: error: cannot write")
    assert "Traceback" not in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.toml"]


def test_a_cancelled_export_leaves_nothing(tmp_path: Path, qapp) -> None:  # noqa: ANN001
    from gdviz.core import parse_scene
    from gdviz.export.video import ExportError
    from gdviz.ui.recording import render as render_scene

    calls = []

    def cancel_after_three(done: int, total: int) -> bool:
        calls.append(done)
        return done < 3

    with pytest.raises(ExportError, match="cancelled"):
        render_scene(
            parse_scene(SCENE),
            tmp_path / "c.mp4",
            (320, 180),
            10,
            2.0,
            None,
            None,
            cancel_after_three,
        )
    assert calls == [1, 2, 3]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("total", "fps", "seconds", "frames", "hold"),
    [
        (300, 30, 8.0, 240, 30),  # --seconds 8 is 8 s, the 1 s hold inside it
        (30, 10, 1.5, 15, 5),  # a short video: the hold takes at most a third
        (300, 30, None, 300 + 30, 30),  # default: 30 steps a second, then the hold
        (5, 30, 0.1, 3, 1),
    ],
)
def test_frame_steps_make_the_whole_length_asked_for(
    total: int, fps: float, seconds: float | None, frames: int, hold: int
) -> None:
    from gdviz.export.video import frame_steps
    from gdviz.ui.controller import BASE_STEPS_PER_SECOND

    steps = frame_steps(total, fps, seconds, BASE_STEPS_PER_SECOND)
    assert len(steps) == frames
    assert steps[0] == 0 and steps[-hold - 1 :] == [total] * (hold + 1)
    assert steps[-hold - 2] < total
    assert steps == sorted(steps)


API_SCRIPT = """
import asyncio, json, sys
from pathlib import Path
import gdviz

folder = Path(sys.argv[1])

async def main():
    # Inside a running event loop, as in Jupyter: the calls must neither need nor break it.
    from PySide6.QtWidgets import QApplication
    out = {}
    out["mp4"] = str(gdviz.render(folder / "tiny.toml", folder / "a.mp4", size=(320, 180), fps=10, seconds=1.2))
    app = QApplication.instance()
    out["gif"] = str(gdviz.render("saddle-point", folder / "a.gif", size=(240, 200), fps=5, seconds=1, theme="dark"))
    out["png"] = str(gdviz.render(gdviz.load_scene(folder / "tiny.toml"), folder / "a.png", size=(400, 300), step=3))
    out["jpg"] = str(gdviz.screenshot(folder / "tiny.toml", folder / "w.jpg", size=(900, 600), step=10))
    out["same_app"] = QApplication.instance() is app
    out["shown"] = [w.objectName() or type(w).__name__ for w in app.topLevelWidgets() if w.isVisible()]
    await asyncio.sleep(0)
    return out

print(json.dumps(asyncio.run(main())))
"""


def test_the_python_api_writes_each_format_in_one_process_inside_an_event_loop(
    tmp_path: Path,
) -> None:
    import json

    (tmp_path / "tiny.toml").write_text(SCENE)
    env = {k: v for k, v in ENV.items() if k != "QT_QPA_PLATFORM"}  # the API chooses offscreen
    result = subprocess.run(
        [sys.executable, "-c", API_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["same_app"] is True and out["shown"] == []  # one QApplication, no window
    frames = frames_of(Path(out["mp4"]))
    assert len(frames) == 12 and frames[0].shape == (180, 320, 3)
    gif = iio.mimread(out["gif"])
    assert len(gif) == 5 and gif[0].shape[:2] == (200, 240)
    assert gif[0][..., :3].mean() < 100  # the dark theme
    assert iio.imread(out["png"]).shape[:2] == (300, 400)
    assert iio.imread(out["jpg"]).shape[:2] == (600, 900)


def test_the_python_api_refuses_to_overwrite_without_force(tmp_path: Path, qapp) -> None:  # noqa: ANN001
    import gdviz
    from gdviz.core import parse_scene
    from gdviz.export.files import ExportError

    scene = parse_scene(SCENE)
    target = tmp_path / "fig.svg"
    target.write_text("mine")
    for call in (gdviz.render, gdviz.screenshot):
        with pytest.raises(ExportError, match="exists"):
            call(scene, target, size=(400, 300))
        assert target.read_text() == "mine"
    assert gdviz.render(scene, target, size=(400, 300), force=True) == target
    assert target.read_bytes().lstrip().startswith(b"<?xml")
    with pytest.raises(ExportError, match="size must be between"):
        gdviz.render(scene, tmp_path / "x.png", size=(10, 10))
    with pytest.raises(ExportError, match="2-D view"):
        gdviz.render(scene, tmp_path / "x.pdf", view="3d")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.svg"]


def test_the_command_line_writes_a_vector_figure_at_a_step(tmp_path: Path) -> None:
    result = render(tmp_path, "fig.pdf", "--size", "800x450", "--step", "5")
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout
    assert (tmp_path / "fig.pdf").read_bytes().startswith(b"%PDF-")
